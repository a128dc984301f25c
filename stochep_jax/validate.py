"""Config checks that run before any data is read or anything is compiled.

``check_config(config)`` checks every field of an experiment config (type and
range) and builds the pieces the config names (so a model's own checks run
too); ``check_batches(config, n_train, n_test, devices)`` checks the batch sizes
against the split (or subset) and the device count. Each failure is a
``ConfigError`` with one line naming the field and its value::

    config.batch_size=0: must be an integer >= 1

Direct API users: the library's constructors check their own arguments; the
dataset loaders (``stochep_jax.data``) reject labels outside
``[0, num_classes)`` and non-finite images; a network applied to inputs of the
wrong width fails at trace time naming the expected shape.
"""

from __future__ import annotations

import math
import numbers
import re

import jax
import ml_collections

from stochep_jax import assembly, data, estimators, inputs, neurons

DTYPES = ('float32', 'bfloat16', 'float16', 'float64')
REFUSED_DTYPES = {
  'float16': 'float16 needs loss scaling, which EP does not use; use bfloat16 or float32'
}
MAX_SEED = 2**63 - 1  # jax.random.key takes a signed 64-bit seed
PROGRESS = ('auto', 'bar', 'lines', 'none')
SCHEDULES = ('constant', 'cosine')


class ConfigError(ValueError):
  """A config field with a bad value (the message names it)."""


def _int(c, name: str, lo: int | None = None, hi: int | None = None) -> int:
  v = _get(c, name)
  ok = isinstance(v, numbers.Integral) and not isinstance(v, bool)
  if not ok or (lo is not None and v < lo) or (hi is not None and v > hi):
    bound = f' >= {lo}' if hi is None else f' in [{lo}, {hi}]'
    raise ConfigError(f'config.{name}={v!r}: must be an integer{bound if lo is not None else ""}')
  return v


def _float(c, name: str, lo: float | None = None, *, strict: bool = False, hi=None) -> float:
  v = _get(c, name)
  ok = isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)
  if ok and lo is not None:
    ok = v > lo if strict else v >= lo
  if ok and hi is not None:
    ok = v <= hi
  if not ok:
    what = '' if lo is None else (f' > {lo}' if strict else f' >= {lo}')
    what += '' if hi is None else f' and <= {hi}'
    raise ConfigError(f'config.{name}={v!r}: must be a finite number{what}')
  return v


def _choice(c, name: str, choices) -> str:
  v = _get(c, name)
  if v not in choices:
    raise ConfigError(f'config.{name}={v!r}: choose from {sorted(choices)}')
  return v


def _bool(c, name: str) -> bool:
  v = _get(c, name)
  if not isinstance(v, bool):
    raise ConfigError(f'config.{name}={v!r}: must be True or False')
  return v


def _get(c, name: str):
  node = c
  for part in name.split('.'):
    if part not in node:
      raise ConfigError(f'config.{name} is missing (start from experiments/configs/base.py)')
    node = node[part]
  return node


# A constructor's one-line refusal: ``Owner: arg=value: what it must be``.
_REFUSAL = re.compile(r'^[\w.]+: (\w+)=(.+?): (.+)$')


def _building(name: str, fn, block=None):
  """Runs ``fn`` and turns its ValueError/TypeError into a one-line ConfigError naming
  the config field: ``config.<name>.<arg>=<value>: ...`` where the constructor names an
  argument that ``block`` (the config block it was built from) holds, else
  ``config.<name>: <message>``."""
  try:
    return fn()
  except ConfigError:
    raise
  except (ValueError, TypeError, KeyError) as e:
    text = str(e.args[0] if isinstance(e, KeyError) and e.args else e).strip()
    text = text.splitlines()[0] if text else type(e).__name__
    m = _REFUSAL.match(text)
    if m and block is not None and m.group(1) in block:
      raise ConfigError(f'config.{name}.{m.group(1)}={m.group(2)}: {m.group(3)}') from None
    raise ConfigError(f'config.{name}: {text}') from None


def _building_from(names: tuple[str, ...], fn, config):
  """``_building`` for an object built from several config blocks: a refusal names
  the first block among ``names`` that holds the refused argument."""
  try:
    return fn()
  except (ValueError, TypeError) as e:
    m = _REFUSAL.match(str(e).strip().splitlines()[0] if str(e).strip() else '')
    for name in names:
      block = config.get(name)
      if m and block is not None and m.group(1) in block:
        raise ConfigError(f'config.{name}.{m.group(1)}={m.group(2)}: {m.group(3)}') from None
    raise ConfigError(f'config.{names[0]}: {str(e).strip() or type(e).__name__}') from None


def check_config(config: ml_collections.ConfigDict) -> assembly.Assembled:
  """``check_fields``, then builds the run (``assembly.build``: the constructors check
  their own arguments, a refusal names the config field; nothing is compiled), checks
  that the encoder fits the dataset and the learning rates the parameter groups;
  returns the ``Assembled`` run."""
  check_fields(config)
  c = config
  run = assembly.build(c, guard=_building)
  sim = run.simulator
  _check_encoder_fits(c, sim.encoder)
  _check_warm_start(c, sim.encoder)
  shapes = jax.eval_shape(lambda: sim.network.init(jax.random.key(0)))  # no compilation
  # The optimiser's own rules (name, Adam without momentum, one rate per parameter group).
  _building('optimizer', lambda: run.optimizer(shapes, steps_per_epoch=1), c.optimizer)
  return run


def _check_warm_start(c, encoder) -> None:
  """The mean-field warm start (``ep.t_warm``) is EP's, on a static input."""
  t_warm = c.ep.get('t_warm', 0)
  if not t_warm:
    return
  if c.method != 'ep':
    raise ConfigError(
      f"config.ep.t_warm={t_warm}: the mean-field warm start is EP's; "
      f'method {c.method!r} runs its free phase from the zero state (set it to 0)'
    )
  if not encoder.static:
    raise ConfigError(
      f'config.ep.t_warm={t_warm}: the mean-field warm start needs a static input, '
      f"not config.input.name={c.input.name!r} (use 'analog' or set it to 0)"
    )


def _check_encoder_fits(c, encoder) -> None:
  """A frame encoder needs an event dataset (frames per example), the others single images."""
  spec = data.DATASETS[c.dataset]
  takes_frames = encoder.layout != 'B'
  if takes_frames and spec.frames is None:
    raise ConfigError(
      f'config.input.name={c.input.name!r}: this encoder plays a sequence of frames, but '
      f'dataset {c.dataset!r} holds one image per example; use {_encoders(False)}'
    )
  if not takes_frames and spec.frames is not None:
    raise ConfigError(
      f'config.input.name={c.input.name!r}: dataset {c.dataset!r} holds '
      f'{spec.frames.num_bins} frames per example, which this encoder does not play; '
      f'use {_encoders(True)}'
    )


def _encoders(frames: bool) -> str:
  names = [n for n in inputs.ENCODERS.names() if (inputs.ENCODERS.get(n).layout != 'B') == frames]
  return ' or '.join(repr(n) for n in names)


def check_fields(config: ml_collections.ConfigDict) -> None:
  """The fields only a config can get wrong (pure Python: safe before JAX picks its devices):
  the dataset and its folder, subsets, names of registered pieces, batch sizes, epochs,
  seed, dtype, logging; and the estimator's and precision policy's settings through their
  own constructors. The network, neuron, encoder, simulator and optimiser check their own
  arguments when ``check_config`` builds them."""
  c = config
  _choice(c, 'dataset', data.DATASETS)
  data_dir = c.get('data_dir')
  if data.DATASETS[c.dataset].default_data_dir is None and not (data_dir or '').strip():
    raise ConfigError(
      f'config.data_dir={data_dir!r}: dataset {c.dataset!r} has no default folder; '
      'pass --config.data_dir=<the folder holding its original files>'
    )
  for name in ('train_subset', 'test_subset', 'validation_size'):
    _int(c, name, 0)
  for name in c.get('augment') or ():
    if name not in assembly.AUGMENTATIONS:
      raise ConfigError(
        f'config.augment={tuple(c.augment)!r}: {name!r} is not one of '
        f'{sorted(assembly.AUGMENTATIONS)}'
      )
  _int(c, 'crop_padding', 0)
  _choice(c, 'neuron.name', _registry_names('neuron'))
  _choice(c, 'input.name', _registry_names('input'))
  _choice(c, 'method', estimators.ESTIMATORS.names())
  _get(c, 'ep')
  _building_from(('ep', 'bptt'), lambda: assembly.estimator(c), c)  # the constructor's rules
  _choice(c, 'optimizer.schedule', SCHEDULES)
  _int(c, 'batch_size', 1)
  _int(c, 'eval_batch_size', 1)
  epochs = _int(c, 'num_epochs', 1)
  _int(c, 'stop_after_epoch', 0, epochs)
  _int(c, 'seed', 0, MAX_SEED)
  dtype = _choice(c, 'dtype', DTYPES)
  if dtype in REFUSED_DTYPES:
    raise ConfigError(f'config.dtype={dtype!r}: {REFUSED_DTYPES[dtype]}')
  if 'precision' in c:
    _building('precision', lambda: assembly.make_precision(c.precision), c.precision)
  _int(c, 'log_every_steps', 0)
  _int(c, 'chance_warning_epochs', 0)
  _choice(c, 'progress', PROGRESS)
  _bool(c, 'tensorboard')


def _registry_names(kind: str):
  return (neurons.NEURONS if kind == 'neuron' else inputs.ENCODERS).names()


def check_batches(
  config: ml_collections.ConfigDict,
  n_train: int | None,
  n_test: int | None,
  devices: int,
  processes: int = 1,
) -> None:
  """The batch sizes against the (sub)set sizes and the device and process counts.

  Before the data are read, pass ``None`` for the sizes: the subsets (if set)
  stand for them; after, the actual sizes.
  """
  for name, n, split in (('batch_size', n_train, 'train'), ('eval_batch_size', n_test, 'test')):
    b = config[name]
    subset = config.get(f'{split}_subset') or 0
    n = n if n is not None else (subset or b)
    if name == 'batch_size' and b > n:
      where = f'{split}_subset={subset}' if subset and subset <= n else f'the {split} split ({n})'
      raise ConfigError(f'config.{name}={b}: larger than {where}')
    if b % devices:
      raise ConfigError(
        f'config.{name}={b}: must divide evenly over the {devices} devices '
        f'(use a multiple of {devices}, or --cpu_devices)'
      )
    if b % processes:
      raise ConfigError(f'config.{name}={b}: must divide evenly over the {processes} processes')
