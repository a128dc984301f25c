"""StochEP 784-512-10 on Fashion-MNIST: the default experiment (``make demo``).

    python experiments/train.py --config=experiments/configs/fashion_mnist.py \
        --workdir=runs/fmnist_stochep
    # smoke variant (a subset, seconds on a CPU):
    python experiments/train.py --config=experiments/configs/fashion_mnist.py:smoke \
        --workdir=/tmp/smoke

The demo's settings (the best of the sweep in BUILD_NOTES 4.1, over the base
config): rates for learning from the firing probabilities over the whole nudge
phase (``simulator.rate='mean'``, ``ep.k_avg=40``), 4 output units per class,
Adam (lr 7e-4 for layer 1, 3.5e-4 for the readout, cosine to 0), 26 epochs: the
count that fits ``make demo`` into 10 minutes on a 2-core CPU.

Override any field on the command line, e.g. ``--config.neuron.stochep.kappa=2.0``;
``--config.neuron.name=crnn`` gives the deterministic CRNN of the same shape.
"""

import ml_collections

from experiments.configs import base


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  c = base.base_config()  # every field; the demo's choices below
  c.simulator.rate = 'mean'
  c.ep.k_avg = 40
  c.network.n_perclass = 4
  c.optimizer.update(dict(name='adam', momentum=0.0, learning_rates=(0.0007, 0.00035)))
  c.num_epochs = 26
  if base.variant(arg) == 'smoke':
    c.train_subset, c.test_subset = 2048, 500
    c.batch_size, c.eval_batch_size = 64, 250
    c.num_epochs = 2
    c.network.hidden = (64,)
    c.ep.update(dict(t_free=40, t_nudge=20, k_avg=10))
    c.log_every_steps = 0
  return c
