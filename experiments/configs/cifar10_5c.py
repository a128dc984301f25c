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


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.dataset = 'cifar10'
  c.data_dir = '~/data/cifar10'        # placeholder: the original python-pickle batches
  c.tfds_dir = ''
  c.train_subset = 0
  c.test_subset = 0
  c.augment = ('flip', 'crop')

  c.network = ml_collections.ConfigDict(dict(
      architecture='5c', channels=(128, 256, 256, 512, 512), padding=(1, 1, 1, 1, 0),
      pool=('avg', 'avg', 'none', 'avg', 'avg'), alpha=4.0, readout='mse', n_perclass=1,
      init_scale=1.0))
  c.neuron = ml_collections.ConfigDict(dict(
      name='stochep', decay=0.5, kappa=1.0, rho='hard_sigmoid', noise_bits=32,
      lam=0.6, eps=1.0, v_th=0.5, encoder='predictive', eta=0.0))
  c.input = ml_collections.ConfigDict(dict(name='analog', noise_bits=32))
  c.simulator = ml_collections.ConfigDict(dict(rate='output', chunk=25, unroll=1))

  c.method = 'ep'
  c.ep = ml_collections.ConfigDict(dict(
      t_free=250, t_nudge=50, beta=0.5, nudging='symmetric', k_avg=25, shared_noise=True))
  c.optimizer = ml_collections.ConfigDict(dict(
      learning_rates=(0.25, 0.15, 0.1, 0.08, 0.05, 0.05), momentum=0.9, nesterov=False,
      weight_decay=3e-4, schedule='cosine', final_lr_fraction=0.0))

  c.batch_size = 128
  c.eval_batch_size = 500
  c.num_epochs = 120
  c.seed = 0
  c.log_every_steps = 50

  if arg == 'smoke':
    c.train_subset, c.test_subset = 512, 256
    c.batch_size, c.eval_batch_size = 64, 128
    c.num_epochs = 1
    c.network.channels = (4, 8, 8, 8, 16)
    c.ep.t_free, c.ep.t_nudge, c.ep.k_avg = 20, 8, 4
    c.log_every_steps = 0
  elif arg:
    raise ValueError(f'unknown config variant {arg!r}; use "smoke" or nothing')
  return c
