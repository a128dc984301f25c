"""StochEP 784-512-10 on Fashion-MNIST: the default experiment (``make demo``).

    python experiments/train.py --config=experiments/configs/fashion_mnist.py \
        --workdir=runs/fmnist_stochep
    # smoke variant (a subset, seconds on a CPU):
    python experiments/train.py --config=experiments/configs/fashion_mnist.py:smoke \
        --workdir=/tmp/smoke

Override any field on the command line, e.g. ``--config.neuron.kappa=2.0``;
``--config.neuron.name=crnn`` gives the deterministic CRNN of the same shape.
"""

import ml_collections


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.dataset = 'fashion_mnist'
  c.data_dir = '/usr/share/datasets/fashion-mnist'   # the original IDX files
  c.tfds_dir = ''                                     # '' = ~/.cache/stochep_jax/...
  c.train_subset = 0                                  # 0 = the whole split
  c.test_subset = 0

  c.network = ml_collections.ConfigDict(dict(
      architecture='dense', hidden=(512,), readout='mse', n_perclass=1, init_scale=1.0))
  c.neuron = ml_collections.ConfigDict(dict(
      name='stochep', decay=0.5, kappa=1.0, rho='hard_sigmoid', noise_bits=32))
  c.input = ml_collections.ConfigDict(dict(name='analog', noise_bits=32))
  c.simulator = ml_collections.ConfigDict(dict(rate='output', chunk=25, unroll=1))

  c.method = 'ep'                                     # or 'bptt' (CRNN / SNN surrogate)
  c.ep = ml_collections.ConfigDict(dict(
      t_free=100, t_nudge=40, beta=0.5, nudging='symmetric', k_avg=30, shared_noise=True,
      checkpoint=False))                              # BPTT only: jax.checkpoint each step
  c.optimizer = ml_collections.ConfigDict(dict(
      learning_rates=(0.2, 0.1), momentum=0.0, nesterov=False, weight_decay=0.0,
      schedule='cosine', final_lr_fraction=0.0))

  c.batch_size = 128
  c.eval_batch_size = 1000
  c.num_epochs = 30
  c.stop_after_epoch = 0                              # > 0: stop there, resume later
  c.seed = 0
  c.dtype = 'float32'                                 # 'bfloat16' for GPU/TPU runs
  c.log_every_steps = 100

  if arg == 'smoke':
    c.train_subset, c.test_subset = 2048, 500
    c.batch_size, c.eval_batch_size = 64, 250
    c.num_epochs = 2
    c.network.hidden = (64,)
    c.ep.t_free, c.ep.t_nudge, c.ep.k_avg = 40, 20, 10
    c.log_every_steps = 0
  elif arg:
    raise ValueError(f'unknown config variant {arg!r}; use "smoke" or nothing')
  return c
