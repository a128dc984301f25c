"""StochEP 784-512-10 on Fashion-MNIST: the default experiment (``make demo``).

    python experiments/train.py --config=experiments/configs/fashion_mnist.py \
        --workdir=runs/fmnist_stochep
    # smoke variant (a subset, seconds on a CPU):
    python experiments/train.py --config=experiments/configs/fashion_mnist.py:smoke \
        --workdir=/tmp/smoke

Override any field on the command line, e.g. ``--config.neuron.stochep.kappa=2.0``;
``--config.neuron.name=crnn`` gives the deterministic CRNN of the same shape.
"""

import ml_collections

from experiments.configs import base


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  c = base.base_config()  # the main job's defaults, every field
  if base.variant(arg) == 'smoke':
    c.train_subset, c.test_subset = 2048, 500
    c.batch_size, c.eval_batch_size = 64, 250
    c.num_epochs = 2
    c.network.hidden = (64,)
    c.ep.update(dict(t_free=40, t_nudge=20, k_avg=10))
    c.log_every_steps = 0
  return c
