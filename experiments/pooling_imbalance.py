"""Max vs average pooling in a spiking conv net: forward/backward current balance [Lin24].

    python experiments/pooling_imbalance.py --workdir=runs/pooling \
        [--channels=128,256 --fc=512 --batch=32 --t_free=100 --window=50 --seeds=3]

For the same parameters and input, with pooling 'avg' and then 'max', runs the
StochEP free phase of a 2C2FC network on Fashion-MNIST test images and, at
every one of the last ``window`` steps, splits each layer's current
I_ℓ = ∂Φ/∂s_ℓ into the forward part I_f = F_ℓ(s_{ℓ-1}) and the backward part
I_b = ∂⟨F_{ℓ+1}(s_ℓ), s_{ℓ+1}⟩/∂s_ℓ (through the pooling adjoint of layer ℓ+1).
It reports per layer

* ``ratio``: RMS(I_b) / RMS(I_f), the backward-to-forward magnitude;
* ``align_b`` / ``align_f``: cosine between the time average of I_b (I_f)
  computed from the spikes and I_b (I_f) computed from the rates (the spikes'
  time average). Φ is multilinear with average pooling, so the time-averaged
  backward current is exactly the rate-based one (cosine 1, the mean-field
  property of docs/model.md, "Neuron models"); max pooling routes to the arg-max of the
  *current* spiking input, which moves from step to step;
* ``ep_cosine`` (with ``--ep``): cosine between StochEP's EP gradient
  (``--ep_beta``, ``--ep_t_nudge``, ``--ep_k_avg``, ``--ep_rate``) and the BPTT
  gradient of the mean-field network (StochEP with ``stochastic=False``) over
  all parameters.

The simulators are assembled (``stochep_jax.assembly``) from ``config``:
``base_config()`` with the flags' 2C2FC, StochEP (threefry noise) and EP fields.
Writes ``<workdir>/pooling_imbalance.json``.
"""

from __future__ import annotations

import json
import os
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import flags

import stochep_jax as sep
from experiments import launch
from experiments.configs import base
from stochep_jax import assembly, data

FLAGS = flags.FLAGS


def define_flags() -> None:
  """The launcher's flags, defined when it runs as a script (importing the module for its
  functions defines none, so it never clashes with another launcher's flags)."""
  flags.DEFINE_string('workdir', None, 'Directory for pooling_imbalance.json.')
  flags.DEFINE_string('data_dir', data.DEFAULT_FASHION_MNIST_DIR, 'Fashion-MNIST IDX files.')
  flags.DEFINE_list('channels', ['128', '256'], 'Conv channels.')
  flags.DEFINE_list('fc', ['512'], 'Hidden FC sizes.')
  flags.DEFINE_integer('batch', 32, 'Test images per seed.')
  flags.DEFINE_integer('t_free', 100, 'Free-phase steps.')
  flags.DEFINE_integer('window', 50, 'Last steps over which currents are measured.')
  flags.DEFINE_integer('seeds', 3, 'Parameter/noise seeds.')
  flags.DEFINE_float('decay', 0.5, 'StochEP λ.')
  flags.DEFINE_float('kappa', 1.0, 'StochEP κ.')
  flags.DEFINE_bool('ep', True, 'Also compare EP gradients with mean-field BPTT.')
  flags.DEFINE_float('ep_beta', 0.1, 'β of the EP comparison.')
  flags.DEFINE_integer('ep_t_nudge', 50, 'T_nudge of the EP comparison.')
  flags.DEFINE_integer('ep_k_avg', 40, 'k_avg of the EP comparison.')
  flags.DEFINE_enum('ep_rate', 'mean', ['mean', 'output'], 'Rates of the EP comparison.')
  launch.int_list('channels', 1)
  launch.int_list('fc', 1, allow_empty=True)
  for _name in ('batch', 't_free', 'window', 'seeds', 'ep_t_nudge', 'ep_k_avg'):
    launch.integer(_name, 1)
  launch.require('decay', lambda v: 0 <= v < 1, 'a number in [0, 1)')
  launch.number('kappa', 0.0, strict=True)
  launch.number('ep_beta', 0.0, strict=True)
  flags.register_multi_flags_validator(
    ['window', 't_free'],
    lambda f: f['window'] <= f['t_free'],
    message='--window must be <= --t_free',
  )
  flags.register_multi_flags_validator(
    ['ep_k_avg', 't_free', 'ep_t_nudge'],
    lambda f: f['ep_k_avg'] <= min(f['t_free'], f['ep_t_nudge']),
    message='--ep_k_avg must be <= --t_free and --ep_t_nudge',
  )
  flags.register_multi_flags_validator(
    ['batch', 'seeds'],
    lambda f: f['batch'] * f['seeds'] <= 10_000,
    message='--batch times --seeds must be <= 10000 (the test images)',
  )


def config(
  *,
  channels=(128, 256),
  fc=(512,),
  pool: str = 'avg',
  t_free: int = 100,
  t_nudge: int = 50,
  beta: float = 0.1,
  k_avg: int = 40,
  decay: float = 0.5,
  kappa: float = 1.0,
  rate: str = 'output',
) -> ml_collections.ConfigDict:
  """``base_config()`` with a 2C2FC network, StochEP (threefry noise) and the EP phases."""
  c = base.base_config()
  c.network = base.network_config('2c2fc', channels=tuple(channels), fc=tuple(fc), pool=pool)
  c.neuron.stochep.update(decay=decay, kappa=kappa, generator='threefry')
  c.simulator.rate = rate
  c.ep.update(t_free=t_free, t_nudge=t_nudge, beta=beta, k_avg=k_avg)
  return c


def _cos(a, b):
  a, b = jnp.ravel(a), jnp.ravel(b)
  return jnp.vdot(a, b) / (jnp.linalg.norm(a) * jnp.linalg.norm(b) + 1e-30)


def _rms(a):
  return jnp.sqrt(jnp.mean(a * a))


def split_currents(network, params, x, outs):
  """(I_f, I_b) of every layer at the outputs ``outs`` (I = ∂Φ/∂s = I_f + I_b)."""
  below = (x,) + tuple(outs[:-1])
  fwd = tuple(c.apply(p, b) for c, p, b in zip(network.connections, params['layers'], below))
  total = network.currents(params, network.input_drive(params, x), tuple(outs))
  return fwd, tuple(t - f for t, f in zip(total, fwd))


def current_balance(sim, params, x, key, *, t_free: int, window: int) -> dict[str, list[float]]:
  """Forward/backward current statistics over the last ``window`` free-phase steps.

  Returns:
    ``{'ratio', 'align_b', 'align_f'}``, each a list over the layers that have
    a layer above them (see the module docstring).
  """
  res = sep.free_phase(sim, params, x, key, t_free=t_free, k_avg=window, trace_fn=sim.outputs)
  outs = tuple(o[-window:] for o in res.trace)  # [window, B, ...] per layer
  x_rate = sim.encoder.mean(x)
  fwd, bwd = jax.lax.map(lambda o: split_currents(sim.network, params, x_rate, o), outs)
  fwd_r, bwd_r = split_currents(sim.network, params, x_rate, res.rates)
  n = sim.network.num_layers - 1
  return {
    'ratio': [_rms(bwd[l]) / _rms(fwd[l]) for l in range(n)],
    'align_b': [_cos(bwd[l].mean(0), bwd_r[l]) for l in range(n)],
    'align_f': [_cos(fwd[l].mean(0), fwd_r[l]) for l in range(n)],
  }


def ep_vs_meanfield_bptt(
  net,
  params,
  x,
  y,
  key,
  *,
  t_free: int,
  t_nudge: int,
  beta: float,
  k_avg: int,
  decay: float,
  kappa: float,
  rate: str = 'mean',
) -> float:
  """Cosine of StochEP's EP gradient with the mean-field network's BPTT gradient."""
  c = config(t_free=t_free, t_nudge=t_nudge, beta=beta, k_avg=k_avg, decay=decay, kappa=kappa,
             rate=rate)  # fmt: skip
  spiking = assembly.make_simulator(net, c.neuron, c.input, c.simulator, t_free=t_free)
  ep_gradient = assembly.gradient_fn(c, spiking)  # EP(t_free, t_nudge, beta, k_avg), symmetric
  # The mean field: no noise, so the simulator's chunk plays no part.
  c.neuron.stochep.stochastic, c.simulator.rate = False, 'output'
  meanfield = assembly.make_simulator(net, c.neuron, c.input, c.simulator, t_free=t_free)
  g_ep, _ = ep_gradient(params, x, y, key)

  def loss(p):
    rates = sep.free_phase(meanfield, p, x, None, t_free=t_free).rates
    return jnp.mean(net.cost(p, rates, y))

  g_bp = jax.grad(loss)(params)
  flat = lambda t: jnp.concatenate([v.ravel() for v in jax.tree_util.tree_leaves(t)])
  return _cos(flat(g_ep), flat(g_bp))


def main(argv):
  del argv
  launch.check_output_folder(FLAGS.workdir)
  images, labels = data.read_original_split('fashion_mnist', 'test', FLAGS.data_dir)
  channels, fc = tuple(map(int, FLAGS.channels)), tuple(map(int, FLAGS.fc))
  results = {
    'settings': {
      k: FLAGS[k].value
      for k in (
        'channels',
        'fc',
        'batch',
        't_free',
        'window',
        'seeds',
        'decay',
        'kappa',
        'ep_beta',
        'ep_t_nudge',
        'ep_k_avg',
        'ep_rate',
      )
    }
  }
  for pool in ('avg', 'max'):
    c = config(channels=channels, fc=fc, pool=pool, decay=FLAGS.decay, kappa=FLAGS.kappa)
    sim = assembly.simulator(c)  # 2C2FC on 28×28×1 Fashion-MNIST, StochEP, chunk 25
    net = sim.network
    balance = jax.jit(
      lambda p, x, k: current_balance(sim, p, x, k, t_free=FLAGS.t_free, window=FLAGS.window)
    )
    ep_cos = jax.jit(
      lambda p, x, y, k: ep_vs_meanfield_bptt(
        net,
        p,
        x,
        y,
        k,
        t_free=FLAGS.t_free,
        t_nudge=FLAGS.ep_t_nudge,
        beta=FLAGS.ep_beta,
        k_avg=FLAGS.ep_k_avg,
        decay=FLAGS.decay,
        kappa=FLAGS.kappa,
        rate=FLAGS.ep_rate,
      )
    )
    runs = []
    for seed in range(FLAGS.seeds):
      t0 = time.time()
      # The same parameters for both poolings (the init does not depend on the pooling).
      params = net.init(jax.random.key(seed))
      sel = slice(seed * FLAGS.batch, (seed + 1) * FLAGS.batch)
      x = jnp.asarray(images[sel], jnp.float32) / 255.0
      y = jnp.asarray(labels[sel])
      key = jax.random.key(1000 + seed)
      run = {k: [float(v) for v in vs] for k, vs in balance(params, x, key).items()}
      if FLAGS.ep:
        run['ep_cosine'] = float(ep_cos(params, x, y, key))
      run['seconds'] = time.time() - t0
      print(pool, seed, json.dumps(run), flush=True)
      runs.append(run)
    results[pool] = {
      'runs': runs,
      'mean': {k: np.mean([r[k] for r in runs], 0).tolist() for k in runs[0] if k != 'seconds'},
    }
    print(pool, 'mean', json.dumps(results[pool]['mean']), flush=True)
  launch.write_json(os.path.join(FLAGS.workdir, 'pooling_imbalance.json'), results)


if __name__ == '__main__':
  define_flags()
  flags.mark_flags_as_required(['workdir'])
  launch.run(main)
