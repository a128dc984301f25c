"""5C on CIFAR-10 [StochEP Fig. 5]: five conv layers and an MSE readout, StochEP neurons.

    python experiments/train.py --config=experiments/configs/cifar10_5c.py \
        --workdir=runs/cifar10_5c --config.data_dir=/path/to/cifar-10-batches-py
    # N_perclass 10 or 100 (the paper's Fig. 5):
    ... --config.network.n_perclass=10
    # smoke variant (a subset, small widths):
    python experiments/train.py --config=experiments/configs/cifar10_5c.py:smoke \
        --workdir=/tmp/smoke_5c --config.data_dir=/path/to/cifar-10-batches-py

CIFAR-10 has no default folder on this machine: ``data_dir`` (placeholder
``~/data/cifar10``) must hold the original python-pickle batches
(``cifar-10-batches-py`` or its parent); missing files fail at once.

Only the paper's summary is available, so everything but "five conv layers,
readout, N_perclass 1/10/100, StochEP" is our **[choice]**: channels
128-256-256-512-512 (``architectures.five_conv``), 3×3, average pooling,
T_free 250, T_nudge 50 (rates over the last 25 steps), β 0.5, symmetric
nudging, SGD with momentum 0.9 and weight decay 3e-4, learning rates
0.25 0.15 0.1 0.08 0.05 0.05 with a cosine decay over the 120 epochs' steps,
batch 128, random flips and crops ([Lab21]'s training set-up). Untuned: a starting point for a GPU.
"""

import ml_collections

from experiments.configs import base


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  c = base.base_config()
  c.dataset = 'cifar10'
  c.data_dir = '~/data/cifar10'  # placeholder: the original python-pickle batches
  c.augment = ('flip', 'crop')
  c.network = base.network_config(
    '5c',
    channels=(128, 256, 256, 512, 512),
    padding=(1, 1, 1, 1, 0),
    pool=('avg', 'avg', 'none', 'avg', 'avg'),
    alpha=4.0,
  )
  c.ep.update(dict(t_free=250, t_nudge=50, beta=0.5, k_avg=25))
  c.optimizer.update(
    dict(
      learning_rates=(0.25, 0.15, 0.1, 0.08, 0.05, 0.05),
      momentum=0.9,
      weight_decay=3e-4,
      schedule='cosine',
    )
  )
  c.eval_batch_size = 500
  c.num_epochs = 120
  c.log_every_steps = 50

  if base.variant(arg) == 'smoke':
    c.train_subset, c.test_subset = 512, 256
    c.batch_size, c.eval_batch_size = 64, 128
    c.num_epochs = 1
    c.network.channels = (4, 8, 8, 8, 16)
    c.ep.update(dict(t_free=20, t_nudge=8, k_avg=4))
    c.log_every_steps = 0
  return c
