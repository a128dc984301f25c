"""One builder: a config's simulator, gradient function, evaluation and optimiser.

``build(config)`` returns an ``Assembled``: everything a run needs, built once
(``validate.check_config`` calls it, so each piece's constructor checks its own
arguments and a refusal names the config field). The pieces, also usable alone
by launchers with their own configs, from the names the registries know:

* ``simulator(config)``: network (``ARCHITECTURES``) under the precision policy
  (``config.precision``, ``precision.Precision``), neuron model
  (``NEURONS``, the sub-block ``config.neuron[config.neuron.name]``), input
  encoder (``ENCODERS``) and ``Simulator`` fields; ``make_simulator`` takes the
  blocks directly (launchers with their own configs use it);
* ``gradient_fn(config, sim)``: the estimator ``config.method`` (EP or BPTT)
  with its settings, behind the augmentations of ``config.augment``;
* ``eval_fn(config, sim)``: the free phase as inference;
* ``optimizer(config, params, steps_per_epoch)``: per-layer SGD, a cosine
  schedule over the whole run;
* ``used_config(config)``: the config without the sub-blocks the run does not
  use (what ``metrics.json`` records).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections

from stochep_jax import (
  architectures,
  data,
  dynamics,
  estimators,
  inputs,
  keys,
  neurons,
  precision,
  training,
)

AUGMENTATIONS = {'flip': data.random_flip, 'crop': data.random_crop}
# Fields of the ``ep`` block that BPTT uses (the rest are EP's).
BPTT_PHASE_FIELDS = ('t_free', 'k_avg')


def as_dict(block) -> dict:
  """A config block as a plain dict (lists as tuples are handled by the registries)."""
  if isinstance(block, ml_collections.ConfigDict):
    return block.to_dict()
  return dict(block or {})


def _sub_block(block, kind: str) -> tuple[str, dict]:
  """``(name, fields)`` of a block ``{name, <model>: {...}, ...}``."""
  block = as_dict(block)
  name = block['name']
  if name not in block:
    raise ValueError(f'config.{kind}.name={name!r} has no sub-block config.{kind}.{name}')
  return name, as_dict(block[name])


def make_neuron(block):
  """The neuron model of a ``neuron`` block (``name`` and per-model sub-blocks)."""
  name, fields = _sub_block(block, 'neuron')
  return neurons.NEURONS.make(name, **fields)


def make_encoder(block, t_free: int):
  """The input encoder of an ``input`` block; ``t_free`` goes to encoders that take it."""
  name, fields = _sub_block(block, 'input')
  if 't_free' in inputs.ENCODERS.fields(name):
    fields['t_free'] = t_free
  return inputs.ENCODERS.make(name, **fields)


def make_network(block, input_shape, n_classes: int):
  """The network of a ``network`` block (``architecture`` and its keyword arguments)."""
  fields = as_dict(block)
  return architectures.ARCHITECTURES.make(
    fields.pop('architecture'), input_shape=input_shape, n_classes=n_classes, **fields
  )


def make_precision(block) -> precision.Precision:
  """The precision policy of a ``precision`` block (None or missing: float32 throughout)."""
  return precision.Precision(**as_dict(block))


def make_simulator(
  network, neuron_block, input_block=None, simulator_block=None, *, t_free: int = 0
) -> dynamics.Simulator:
  """A ``Simulator`` from a network and config blocks (each launcher's one way to build it)."""
  encoder = inputs.AnalogInput() if input_block is None else make_encoder(input_block, t_free)
  return dynamics.Simulator(network, make_neuron(neuron_block), encoder, **as_dict(simulator_block))


def simulator(config: ml_collections.ConfigDict) -> dynamics.Simulator:
  """Network, neuron model and input encoder named by an experiment config."""
  spec = data.DATASETS[config.dataset]
  network = make_network(config.network, spec.image_shape, spec.num_classes)
  network = make_precision(config.get('precision')).apply(network)
  return make_simulator(
    network, config.neuron, config.input, config.simulator, t_free=config.ep.t_free
  )


def estimator_settings(config: ml_collections.ConfigDict) -> dict[str, Any]:
  """The settings ``ESTIMATORS.make(config.method, ...)`` takes."""
  ep = as_dict(config.ep)
  if config.method == 'bptt':
    return {**{k: ep[k] for k in BPTT_PHASE_FIELDS}, **as_dict(config.get('bptt'))}
  return ep


def estimator(config: ml_collections.ConfigDict):
  """The settings object of ``config.method`` (``estimators.EP`` or ``BPTT``), checked."""
  return estimators.make_settings(config.method, **estimator_settings(config))


def gradient_fn(config: ml_collections.ConfigDict, sim: dynamics.Simulator):
  """``gradient_fn`` of the estimator ``config.method``, on augmented inputs."""
  fn = estimators.ESTIMATORS.make(config.method, sim=sim, **estimator_settings(config))
  return augmented(
    fn, tuple(config.get('augment') or ()), crop_padding=config.get('crop_padding', 4)
  )


def augmented(gradient_fn, names: tuple[str, ...], *, crop_padding: int = 4):
  """``gradient_fn`` applied to augmented images (inside the jitted train step).

  Augmentation j of example i uses ``keys.augment_keys(batch key, index, j)``:
  it depends on the batch key and the example's global index only. ``crop_padding``
  is the zero padding (pixels on each side) of 'crop': shifts of up to that many
  pixels.
  """
  unknown = set(names) - set(AUGMENTATIONS)
  if unknown:
    raise ValueError(
      f'unknown augmentations {sorted(unknown)}; choose from {sorted(AUGMENTATIONS)}'
    )
  if not names:
    return gradient_fn

  def fn(params, x, labels, key, indices=None):
    idx = jnp.arange(x.shape[0]) if indices is None else indices
    for j, name in enumerate(names):
      kwargs = {'padding': crop_padding} if name == 'crop' else {}
      x = AUGMENTATIONS[name](keys.augment_keys(key, idx, j), x, **kwargs)
    return gradient_fn(params, x, labels, key, indices)

  return fn


def eval_fn(config: ml_collections.ConfigDict, sim: dynamics.Simulator):
  """Inference: the free phase -> (scores, per-example cost, rates)."""
  t_free, k_avg = config.ep.t_free, config.ep.k_avg
  t_warm = config.ep.get('t_warm', 0)

  def free_fn(params, x, labels, key, indices):
    rates = dynamics.free_phase(
      sim, params, x, key, t_free=t_free, k_avg=k_avg, indices=indices, t_warm=t_warm
    ).rates
    net = sim.network
    return net.scores(params, rates), net.cost(params, rates, labels), rates

  return free_fn


def optimizer(config: ml_collections.ConfigDict, params, steps_per_epoch: int):
  """``training.make_optimizer`` from ``config.optimizer``; 'cosine' spans all epochs."""
  opt = as_dict(config.optimizer)
  schedule = opt.pop('schedule', 'constant')
  if schedule == 'cosine':
    opt['decay_steps'] = config.num_epochs * steps_per_epoch
  elif schedule != 'constant':
    raise ValueError(f"config.optimizer.schedule={schedule!r}: use 'constant' or 'cosine'")
  return training.make_optimizer(params, opt.pop('learning_rates'), **opt)


@dataclasses.dataclass(frozen=True)
class Assembled:
  """Everything a run needs, built once from its config (``build``).

  Attributes:
    config: the experiment config.
    simulator: network (under the precision policy), neuron model, encoder.
    gradient_fn: the estimator ``config.method`` behind the augmentations:
      ``gradient_fn(params, x, labels, key, indices) -> (grads, aux)``.
    eval_fn: inference, ``eval_fn(params, x, labels, key, indices) -> (scores, cost, rates)``.
  """

  config: ml_collections.ConfigDict
  simulator: dynamics.Simulator
  gradient_fn: Callable
  eval_fn: Callable

  def init_params(self, key: jax.Array):
    """Fresh parameters in ``config.dtype``."""
    return self.simulator.network.init(key, jnp.dtype(self.config.dtype))

  def optimizer(self, params, steps_per_epoch: int):
    """The run's optimiser (``optimizer``): its cosine schedule spans all epochs."""
    return optimizer(self.config, params, steps_per_epoch)

  def train_step(self, optimizer_):
    """``train_step(state, batch, key) -> (state, metrics)`` (``training.make_train_step``)."""
    return training.make_train_step(self.gradient_fn, optimizer_)

  def eval_step(self):
    """``eval_step(params, batch, key) -> sums`` (``training.make_eval_step``)."""
    return training.make_eval_step(self.eval_fn)

  def train_state(self, key: jax.Array, steps_per_epoch: int) -> tuple[training.TrainState, Any]:
    """``(state, optimizer)``: fresh parameters and the optimiser's state."""
    params = self.init_params(key)
    opt = self.optimizer(params, steps_per_epoch)
    return training.init_train_state(params, opt), opt  # as training.start, with the schedule


def _call(field: str, fn, block=None):
  del field, block
  return fn()


def build(config: ml_collections.ConfigDict, guard=_call) -> Assembled:
  """Builds everything a run needs from an experiment config, once.

  Args:
    config: an experiment config (``experiments/configs/base.py``).
    guard: ``guard(field, fn, block)`` runs each constructor ``fn``; the
      default calls it. ``validate.check_config`` passes one that turns a
      constructor's refusal into a one-line ``ConfigError`` naming ``config.<field>``.
  """
  c = config
  neuron = guard(
    f'neuron.{c.neuron.name}', lambda: make_neuron(c.neuron), c.neuron.get(c.neuron.name)
  )
  encoder = guard(
    f'input.{c.input.name}', lambda: make_encoder(c.input, c.ep.t_free), c.input.get(c.input.name)
  )
  spec = data.DATASETS[c.dataset]

  def network():
    net = make_network(c.network, spec.image_shape, spec.num_classes)
    return make_precision(c.get('precision')).apply(net)

  net = guard('network', network, c.network)
  sim = guard(
    'simulator',
    lambda: dynamics.Simulator(net, neuron, encoder, **as_dict(c.simulator)),
    c.simulator,
  )
  where = ('ep', c.ep) if c.method == 'ep' else ('method', None)
  grad = guard(where[0], lambda: gradient_fn(c, sim), where[1])
  return Assembled(c, sim, grad, eval_fn(c, sim))


def used_config(config: ml_collections.ConfigDict) -> dict[str, Any]:
  """The config as a dict, keeping only the neuron's and the encoder's own sub-blocks.

  What ``metrics.json`` records; ``ml_collections.ConfigDict(used_config(c))``
  builds the same simulator again (``simulator`` reads only the named blocks).
  """
  out = config.to_dict()
  for kind in ('neuron', 'input'):
    block = out.get(kind)
    if isinstance(block, dict) and 'name' in block:
      name = block['name']
      out[kind] = {'name': name, name: block.get(name, {})}
  if out.get('method') != 'bptt':
    out.pop('bptt', None)
  else:
    out['ep'] = {k: v for k, v in out['ep'].items() if k in BPTT_PHASE_FIELDS}
  return out
