"""The base configuration: every field ``experiment.train_and_evaluate`` reads.

``base_config()`` returns them all with the defaults of the main job
(StochEP 784-512-10 on Fashion-MNIST); every config file in this folder
starts from it (or from another config) and changes what its experiment
needs::

    from experiments.configs import base

    def get_config(arg=None):
      c = base.base_config()
      c.network = base.network_config('2c2fc', channels=(128, 256), fc=(512,))
      c.ep.update(t_free=350, t_nudge=50, beta=0.2)
      if base.variant(arg) == 'smoke':
        ...
      return c

List every field and its default with
``python experiments/train.py --config=experiments/configs/fashion_mnist.py --print_config``.
``stochep_jax.validate.check_config`` checks every field (type and range)
before any data is read or anything compiled.

Fields:

* data: ``dataset`` (a name in ``data.DATASETS``), ``data_dir`` (the folder of
  the original files), ``tfds_dir`` ('' = ~/.cache/stochep_jax/tfds),
  ``train_subset`` / ``test_subset`` (0 = whole split), ``validation_size`` (> 0: the
  training split's last examples held out, never trained on, evaluated every epoch), ``augment`` (names in
  ``assembly.AUGMENTATIONS``), ``crop_padding`` (the largest shift of 'crop', in pixels);
* ``network``: ``architecture`` (a name in ``ARCHITECTURES``) and its keyword
  arguments (only those it takes);
* ``neuron``: ``name`` (a name in ``NEURONS``) and one sub-block per model
  with that model's fields (``neuron.stochep.kappa``, ``neuron.sigma_delta.lam``,
  ...); a run uses, and ``metrics.json`` records, only the named one;
* ``input``: ``name`` (``ENCODERS``) and one sub-block per encoder;
  ``simulator``: ``Simulator`` fields;
* ``method`` (``ESTIMATORS``: 'ep' or 'bptt'); ``ep``: the phases (t_free,
  t_nudge, β, nudging, k_avg, noise sharing, t_warm: mean-field steps before
  the free phase, batch_nudges: the two nudged phases as one over twice the
  batch; BPTT uses t_free and k_avg);
  ``bptt``: BPTT's own fields (``checkpoint``);
* ``optimizer``: ``training.make_optimizer`` (``name`` 'sgd' or 'adam', one
  learning rate per layer, ``clip_norm`` > 0 clipping the gradient's global norm);
* loop: ``batch_size``, ``eval_batch_size``, ``num_epochs``,
  ``stop_after_epoch`` (> 0: stop there and resume later), ``seed``, ``dtype``
  ('bfloat16' for accelerators), ``log_every_steps`` (also how often the loss
  is checked for NaN), ``chance_warning_epochs`` (warn when training accuracy
  stays at chance this many epochs; 0 = never), ``progress`` ('auto': a bar
  on a terminal, lines otherwise; 'bar', 'lines', 'none'), ``tensorboard``.
"""

from __future__ import annotations

import ml_collections

from stochep_jax import data, inputs, neurons

VARIANTS = ('smoke',)


def network_config(architecture: str, **kwargs) -> ml_collections.ConfigDict:
  """The ``network`` block: an architecture name and its arguments (MSE readout, N_perclass 1)."""
  return ml_collections.ConfigDict(
    dict(architecture=architecture, readout='mse', n_perclass=1, init_scale=1.0, **kwargs)
  )


def _block(fields: dict) -> ml_collections.ConfigDict:
  return ml_collections.ConfigDict({k: v for k, v in fields.items() if v is not None})


def neuron_config(name: str, **overrides) -> ml_collections.ConfigDict:
  """The ``neuron`` block: ``name`` and one sub-block per registered model (its defaults)."""
  block = ml_collections.ConfigDict({'name': name})
  for model in neurons.NEURONS.names():
    block[model] = _block(neurons.NEURONS.fields(model))
  block[name].update(overrides)
  return block


def input_config(name: str, **overrides) -> ml_collections.ConfigDict:
  """The ``input`` block: ``name`` and one sub-block per encoder (``t_free`` comes from ``ep``)."""
  block = ml_collections.ConfigDict({'name': name})
  for encoder in inputs.ENCODERS.names():
    fields = inputs.ENCODERS.fields(encoder)
    fields.pop('t_free', None)
    block[encoder] = _block(fields)
  block[name].update(overrides)
  return block


def base_config() -> ml_collections.ConfigDict:
  """Every field with the main job's defaults (see the module docstring)."""
  c = ml_collections.ConfigDict()
  c.dataset = 'fashion_mnist'
  c.data_dir = data.DEFAULT_FASHION_MNIST_DIR  # the original IDX files (Debian package)
  c.tfds_dir = ''  # '' = ~/.cache/stochep_jax/tfds
  c.train_subset = 0  # 0 = the whole split
  c.test_subset = 0
  # > 0: the training split's last validation_size examples are held out (never trained on) and
  # evaluated every epoch (metrics.json's validation_*): model choices made on them, not the test
  c.validation_size = 0
  c.augment = ()  # e.g. ('flip', 'crop')
  c.crop_padding = 4  # 'crop' shifts by up to this many pixels (zero padding on each side)

  c.network = network_config('dense', hidden=(512,))
  # The counter-based hash generator: 2.6-2.8x faster steps, exact Bernoulli (stochep_jax.noise).
  c.neuron = neuron_config('stochep', decay=0.5, kappa=1.0, noise_bits=32, generator='hash')
  c.neuron.oconnor.update(dict(coding='predictive', eta=0.0, eps=1.0))
  c.input = input_config('analog')
  c.input.bernoulli.generator = 'hash'
  c.simulator = ml_collections.ConfigDict(dict(rate='output', chunk=25, unroll=1, fuse_noise=True))

  c.method = 'ep'  # or 'bptt' (CRNN BPTT / SNN BPTT with the neuron's surrogate)
  c.ep = ml_collections.ConfigDict(
    dict(
      t_free=100,
      t_nudge=40,
      beta=0.5,
      nudging='symmetric',
      k_avg=30,
      shared_noise=True,
      t_warm=0,  # mean-field steps before the free phase (EP only; 0 = from the zero state)
      batch_nudges=False,  # symmetric nudging's two phases as one over twice the batch
    )
  )
  c.bptt = ml_collections.ConfigDict(dict(checkpoint=False))  # jax.checkpoint each step
  c.optimizer = ml_collections.ConfigDict(
    dict(
      name='sgd',  # or 'adam' (training.OPTIMIZERS)
      learning_rates=(0.04, 0.02),  # with momentum 0.9: the sweep's best (BUILD_NOTES 4.1)
      momentum=0.9,
      nesterov=False,
      # decoupled (AdamW's), scaled by each group's rate; a config file may give one per
      # group: del c.optimizer.weight_decay, then set a tuple (runs/fmnist_1c_wd/config.py)
      weight_decay=0.0,
      schedule='cosine',
      final_lr_fraction=0.0,
      clip_norm=0.0,  # > 0: clip the whole gradient to this global L2 norm first
    )
  )

  c.batch_size = 128
  c.eval_batch_size = 1000
  c.num_epochs = 30
  c.stop_after_epoch = 0  # > 0: stop there, resume later
  c.seed = 0
  c.dtype = 'float32'  # parameters, optimiser state, membranes, EP update
  # Mixed precision (stochep_jax.precision): the dynamics' products in compute_dtype with
  # float32 accumulation, for connections with >= min_size weights ('bfloat16' on CPUs
  # with AVX-512 BF16/AMX and on GPU tensor cores).
  c.precision = ml_collections.ConfigDict(dict(compute_dtype='float32', min_size=0))
  c.log_every_steps = 100  # progress lines and the NaN check
  c.chance_warning_epochs = 3  # warn when train accuracy stays at chance; 0 = never
  c.progress = 'auto'  # 'auto' | 'bar' | 'lines' | 'none'
  c.tensorboard = True  # event files in <workdir>/tensorboard
  return c


def variant(arg: str | None) -> str | None:
  """The config-file argument (``--config=file.py:smoke``), checked: None or 'smoke'."""
  if arg and arg not in VARIANTS:
    raise ValueError(f'unknown config variant {arg!r}; use "smoke" or nothing')
  return arg or None
