"""The experiment configuration: every field ``experiment.train_and_evaluate`` reads.

``base_config()`` returns them all with the defaults of the main job
(StochEP 784-512-10 on Fashion-MNIST); a config file under
``experiments/configs/`` starts from it and changes what its experiment
needs, so every launcher run records the same set of fields in
``metrics.json``::

    def get_config(arg=None):
      c = config.base_config()
      c.network = config.network_config('2c2fc', channels=(128, 256), fc=(512,))
      c.ep.update(t_free=350, t_nudge=50, beta=0.2)
      if config.variant(arg) == 'smoke':
        ...
      return c

Fields:

* data: ``dataset`` (a name in ``data.DATASETS``), ``data_dir`` (the folder of
  the original files), ``tfds_dir`` ('' = ~/.cache/stochep_jax/tfds),
  ``train_subset`` / ``test_subset`` (0 = whole split), ``augment`` (names in
  ``experiment.AUGMENTATIONS``);
* ``network``: ``architecture`` (a name in ``ARCHITECTURES``) and its keyword
  arguments;
* ``neuron``: ``name`` (a name in ``NEURONS``) and the fields of every neuron
  model; each model takes the fields it knows, so one block switches models;
* ``input``: the encoder (``ENCODERS``); ``simulator``: ``Simulator`` fields;
* ``method`` (``ESTIMATORS``: 'ep' or 'bptt') and ``ep`` (phases, β,
  nudging, k_avg, noise sharing; ``checkpoint`` for BPTT);
* ``optimizer``: ``training.make_optimizer`` (one learning rate per layer);
* loop: ``batch_size``, ``eval_batch_size``, ``num_epochs``,
  ``stop_after_epoch`` (> 0: stop there and resume later), ``seed``, ``dtype``
  ('bfloat16' for accelerators), ``log_every_steps``.
"""

from __future__ import annotations

import ml_collections

VARIANTS = ('smoke',)


def network_config(architecture: str, **kwargs) -> ml_collections.ConfigDict:
  """The ``network`` block: an architecture name and its arguments (MSE readout, N_perclass 1)."""
  return ml_collections.ConfigDict(
    dict(architecture=architecture, readout='mse', n_perclass=1, init_scale=1.0, **kwargs)
  )


def base_config() -> ml_collections.ConfigDict:
  """Every field with the main job's defaults (see the module docstring)."""
  c = ml_collections.ConfigDict()
  c.dataset = 'fashion_mnist'
  c.data_dir = '/usr/share/datasets/fashion-mnist'  # the original IDX files
  c.tfds_dir = ''  # '' = ~/.cache/stochep_jax/tfds
  c.train_subset = 0  # 0 = the whole split
  c.test_subset = 0
  c.augment = ()  # e.g. ('flip', 'crop')

  c.network = network_config('dense', hidden=(512,))
  # One block for every neuron model (each takes the fields it knows): StochEP's decay
  # and kappa, Sigma-Delta's lam, eps and v_th, O'Connor's encoder and eta.
  c.neuron = ml_collections.ConfigDict(
    dict(
      name='stochep',
      decay=0.5,
      kappa=1.0,
      rho='hard_sigmoid',
      noise_bits=32,
      lam=0.6,
      eps=1.0,
      v_th=0.5,
      encoder='predictive',
      eta=0.0,
    )
  )
  c.input = ml_collections.ConfigDict(dict(name='analog', noise_bits=32))
  c.simulator = ml_collections.ConfigDict(dict(rate='output', chunk=25, unroll=1))

  c.method = 'ep'  # or 'bptt' (CRNN / SNN surrogate)
  c.ep = ml_collections.ConfigDict(
    dict(
      t_free=100,
      t_nudge=40,
      beta=0.5,
      nudging='symmetric',
      k_avg=30,
      shared_noise=True,
      checkpoint=False,
    )
  )  # BPTT only: jax.checkpoint each step
  c.optimizer = ml_collections.ConfigDict(
    dict(
      learning_rates=(0.2, 0.1),
      momentum=0.0,
      nesterov=False,
      weight_decay=0.0,
      schedule='cosine',
      final_lr_fraction=0.0,
    )
  )

  c.batch_size = 128
  c.eval_batch_size = 1000
  c.num_epochs = 30
  c.stop_after_epoch = 0  # > 0: stop there, resume later
  c.seed = 0
  c.dtype = 'float32'  # 'bfloat16' for GPU/TPU runs
  c.log_every_steps = 100
  return c


def variant(arg: str | None) -> str | None:
  """The config-file argument (``--config=file.py:smoke``), checked: None or 'smoke'."""
  if arg and arg not in VARIANTS:
    raise ValueError(f'unknown config variant {arg!r}; use "smoke" or nothing')
  return arg or None
