"""GDU check [Ern19]: EP's step-by-step updates against BPTT, no dataset needed.

    python experiments/gradcheck.py --workdir=runs/gradcheck                 # ~1 min
    python experiments/gradcheck.py --config=experiments/configs/gradcheck.py:crnn \
        --workdir=runs/gradcheck_crnn
    python experiments/gradcheck.py --config=experiments/configs/gradcheck.py:smoke \
        --workdir=/tmp/gc                                                    # seconds

Default: the energy-based setting (continuous-time Hopfield neurons, logistic
ρ, Euler step dt = 0.2, the Hopfield energy of docs/model.md, "Network and
primitive function") on 784-512-10, a batch of 16 uniform random inputs with
random labels, float64, symmetric nudging with β = 1e-3, T = 500 free steps,
K = 30 compared steps. The argument is a comma-separated list of variants:

* ``crnn``: the prototypical setting (deterministic CRNN, hard sigmoid);
* ``stochep``: the StochEP spiking network (λ = 0.9, κ = 1, β = 0.1), EP
  averaged over M = 16 draws against its mean-field network's BPTT;
* ``one_sided``: one-sided nudging;
* ``3fc``: 784-500-500-500-10 (T = 800; 2000 for the CRNN, which converges
  slowly there);
* ``smoke``: a 20-16-5 net, T = 100, K = 10.

Override any field on the command line, e.g. ``--config.gdu.beta=1e-2``.
"""

import ml_collections

from experiments.configs import base

VARIANTS = ('crnn', 'stochep', 'one_sided', '3fc', 'smoke')


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.input_shape = (784,)
  c.n_classes = 10
  c.batch_size = 16
  c.seed = 0
  c.x64 = True  # float64: the energy-based match is then exact to O(β²)

  c.network = base.network_config('dense', hidden=(512,))
  c.neuron = base.neuron_config('hopfield', dt=0.2, rho='logistic')
  c.neuron.stochep.update(dict(decay=0.9, kappa=1.0, noise_bits=32))
  c.simulator = ml_collections.ConfigDict(dict(chunk=25))
  c.gdu = ml_collections.ConfigDict(dict(t_free=500, k=30, beta=1e-3, nudging='symmetric', draws=1))
  c.plot_units = 3  # neurons and synapses plotted per layer

  variants = [v for v in (arg or '').split(',') if v]
  unknown = set(variants) - set(VARIANTS)
  if unknown:
    raise ValueError(f'unknown variants {sorted(unknown)}; use {", ".join(VARIANTS)}')
  for variant in (v for v in VARIANTS if v in variants):  # a fixed order
    if variant == 'crnn':
      c.neuron.name, c.neuron.crnn.rho = 'crnn', 'hard_sigmoid'
      c.gdu.t_free = 200
    elif variant == 'stochep':
      c.neuron.name, c.neuron.stochep.rho = 'stochep', 'hard_sigmoid'
      c.x64 = False
      c.gdu.t_free, c.gdu.k, c.gdu.beta, c.gdu.draws = 200, 100, 0.1, 16
    elif variant == 'one_sided':
      c.gdu.nudging = 'one_sided'
    elif variant == '3fc':
      c.network.hidden = (500, 500, 500)
      # the synchronous CRNN converges slowly here (residual 2e-4 at T = 800)
      c.gdu.t_free = 2000 if c.neuron.name == 'crnn' else max(c.gdu.t_free, 800)
    elif variant == 'smoke':
      c.input_shape, c.n_classes, c.batch_size = (20,), 5, 8
      c.network.hidden = (16,)
      c.gdu.t_free, c.gdu.k = 100, 10
  return c
