"""Train state, optimiser with per-layer learning rates, jitted train/eval steps.

Training takes arrays (batches of ``{'image', 'label', 'index'}``) and a
*gradient function*; it knows neither the dataset's file format nor how the
gradient is estimated (EP or BPTT):

    gradient_fn(params, x, labels, key, indices) -> (grads, aux)

with ``grads`` an estimate of dL/dθ shaped like params and ``aux`` holding at
least ``scores`` [B, C] and ``loss`` [B] (``estimators.ep_gradient`` is one).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

from stochep_jax import checks, energy, keys

Array = jax.Array
Params = Any
GradientFn = Callable[..., tuple[Params, dict]]


@struct.dataclass
class TrainState:
  step: Array
  params: Params
  opt_state: Any


OPTIMIZERS = ('sgd', 'adam')


def make_optimizer(
  params: Params,
  learning_rates: Sequence[float],
  *,
  name: str = 'sgd',
  momentum: float = 0.0,
  nesterov: bool = False,
  weight_decay: float | Sequence[float] = 0.0,
  decay_steps: int = 0,
  final_lr_fraction: float = 0.0,
  clip_norm: float = 0.0,
) -> optax.GradientTransformation:
  """One learning rate per parameter group, plain SGD by default.

  As in docs/model.md, "Phases and the EP update".

  Args:
    params: the parameters (their structure gives the groups).
    learning_rates: one per connection, then one for a cross-entropy readout if
      the network has one.
    name: ``'sgd'`` (``optax.sgd``, with ``momentum``/``nesterov``) or
      ``'adam'`` (``optax.adam`` with its default moments; ``momentum`` and
      ``nesterov`` must then be left at 0 / False).
    momentum: SGD momentum (0 = none).
    nesterov: Nesterov momentum.
    weight_decay: decoupled L2 weight decay, scaled by each group's rate: one number
      for every group, or one per group like ``learning_rates`` (0 leaves a group
      undecayed; per-group rates can differ by orders of magnitude, and so would one
      decay scaled by them).
    decay_steps: if > 0, every rate follows a cosine decay over this many steps
      down to ``final_lr_fraction`` of its initial value; 0 = constant rates.
    final_lr_fraction: see ``decay_steps``.
    clip_norm: if > 0, the whole gradient is first scaled down to this global
      L2 norm when it is longer (``optax.clip_by_global_norm``, over every group
      together); 0 = no clipping.
  """
  own = 'make_optimizer'
  checks.choice(own, 'name', name, OPTIMIZERS)
  checks.number(own, 'momentum', momentum, 0.0, 1.0)
  checks.boolean(own, 'nesterov', nesterov)
  if name == 'adam' and (momentum or nesterov):
    checks.fail(own, 'momentum', momentum, "must be 0 (and nesterov False) with name='adam'")
  checks.integer(own, 'decay_steps', decay_steps, 0)
  checks.number(own, 'final_lr_fraction', final_lr_fraction, 0.0, 1.0)
  checks.number(own, 'clip_norm', clip_norm, 0.0)
  groups = list(energy.param_groups(params))
  lrs = _per_group(own, 'learning_rates', learning_rates, groups, broadcast=False)
  wds = _per_group(own, 'weight_decay', weight_decay, groups, broadcast=True)

  def group_opt(lr, wd):
    if decay_steps:
      lr = optax.cosine_decay_schedule(lr, decay_steps, alpha=final_lr_fraction)
    if name == 'adam':  # decoupled weight decay, scaled by the rate (AdamW)
      return optax.adamw(lr, weight_decay=wd)
    parts = []
    if wd:
      parts.append(optax.add_decayed_weights(wd))
    parts.append(optax.sgd(lr, momentum=momentum or None, nesterov=nesterov))
    return optax.chain(*parts)

  per_group = optax.multi_transform(
    {g: group_opt(lr, wd) for g, lr, wd in zip(groups, lrs, wds)}, energy.param_labels
  )
  return _clipped(per_group, clip_norm) if clip_norm else per_group


def _per_group(
  own: str, name: str, value, groups: Sequence[str], *, broadcast: bool
) -> tuple[float, ...]:
  """``value`` as one non-negative number per parameter group, or a one-line error.

  A tuple or list must name one number per group; a single number is repeated for every
  group when ``broadcast``, and refused otherwise.
  """
  values = tuple(value) if isinstance(value, (tuple, list)) else value
  single = not isinstance(values, tuple)
  if (single and not broadcast) or (not single and len(values) != len(groups)):
    count = f'one number or {len(groups)}' if broadcast else f'{len(groups)}'
    checks.fail(own, name, values, f'need {count} (one per group: {", ".join(groups)})')
  if single:
    values = (values,) * len(groups)
  for v in values:
    checks.number(own, name, v, 0.0)
  return values


def _clipped(inner: optax.GradientTransformation, max_norm: float) -> optax.GradientTransformation:
  """``inner`` after ``optax.clip_by_global_norm(max_norm)``, with ``inner``'s state alone.

  The clip is stateless, so leaving it out of the state (unlike ``optax.chain``) lets a
  checkpoint carry over when only ``clip_norm`` changes (a recorded config change).
  """
  clip = optax.clip_by_global_norm(max_norm)

  def update(updates, state, params=None):
    updates, _ = clip.update(updates, clip.init(params), params)
    return inner.update(updates, state, params)

  return optax.GradientTransformation(inner.init, update)


def init_train_state(params: Params, optimizer: optax.GradientTransformation) -> TrainState:
  return TrainState(step=jnp.zeros((), jnp.int32), params=params, opt_state=optimizer.init(params))


def batch_metrics(
  scores: Array, loss: Array, labels: Array, rates: Sequence[Array], mask: Array | None = None
) -> dict[str, Array]:
  """Sums over the (masked) batch: count, correct, loss, and per-layer firing rate."""
  mask = jnp.ones(labels.shape, jnp.float32) if mask is None else mask.astype(jnp.float32)
  correct = (jnp.argmax(scores, -1) == labels).astype(jnp.float32)
  out = {'count': jnp.sum(mask), 'correct': jnp.sum(correct * mask), 'loss': jnp.sum(loss * mask)}
  for i, r in enumerate(rates):
    out[f'rate{i + 1}'] = jnp.sum(jnp.mean(r.reshape(r.shape[0], -1), -1) * mask)
  return out


def make_train_step(gradient_fn: GradientFn, optimizer: optax.GradientTransformation):
  """``train_step(state, batch, key) -> (state, metric sums)`` (pure; jit it).

  The batch key is ``keys.batch_key(key, state.step)``; example i then uses
  ``fold_in(batch key, batch['index'][i])`` (see ``stochep_jax.keys``).
  """

  def train_step(state: TrainState, batch: dict, key: Array):
    step_key = keys.batch_key(key, state.step)
    grads, aux = gradient_fn(state.params, batch['image'], batch['label'], step_key, batch['index'])
    updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    metrics = batch_metrics(aux['scores'], aux['loss'], batch['label'], aux['rates'])
    norm = optax.global_norm(grads)  # before any clipping: what the estimator gave
    metrics.update(grad_norm=norm * metrics['count'], grad_norm_max=norm)
    return TrainState(state.step + 1, params, opt_state), metrics

  return train_step


def start(
  gradient_fn: GradientFn, params: Params, learning_rates: Sequence[float], **optimizer_kw
) -> tuple[Callable, TrainState, optax.GradientTransformation]:
  """``(train_step, state, optimizer)``: the train step of ``gradient_fn`` under
  ``make_optimizer(params, learning_rates, **optimizer_kw)`` and its initial state: the
  one sequence every run and benchmark starts from (``assembly.Assembled.train_state``
  for config runs)."""
  optimizer = make_optimizer(params, learning_rates, **optimizer_kw)
  return make_train_step(gradient_fn, optimizer), init_train_state(params, optimizer), optimizer


def make_eval_step(free_fn: Callable[..., tuple[Array, Array, Sequence[Array]]]):
  """``eval_step(params, batch, key) -> metric sums``; ``batch['mask']`` marks padding.

  Args:
    free_fn: ``(params, x, labels, key, indices) -> (scores, loss, rates)``.
  """

  def eval_step(params: Params, batch: dict, key: Array):
    scores, loss, rates = free_fn(params, batch['image'], batch['label'], key, batch['index'])
    return batch_metrics(scores, loss, batch['label'], rates, batch.get('mask'))

  return eval_step


def accumulate(sums: dict[str, Array] | None, metrics: dict[str, Array]) -> dict[str, Array]:
  """Adds a step's metrics to the running sums (``*_max`` entries keep the maximum)."""
  if sums is None:
    return metrics
  return {
    k: (jnp.maximum if k.endswith('_max') else jnp.add)(sums[k], v) for k, v in metrics.items()
  }


def summarize(sums: dict[str, Array]) -> dict[str, float]:
  """Turns metric sums into means: accuracy, loss, rate1.., and for training steps
  ``grad_norm`` (the gradient's global L2 norm, averaged over the examples' steps)
  and ``grad_norm_max`` (its largest value)."""
  count = float(sums['count'])
  out = {'accuracy': float(sums['correct']) / count, 'loss': float(sums['loss']) / count}
  out.update({k: float(v) / count for k, v in sums.items() if k.startswith('rate')})
  if 'grad_norm' in sums:
    out.update(
      grad_norm=float(sums['grad_norm']) / count, grad_norm_max=float(sums['grad_norm_max'])
    )
  return out


def compiled_memory(compiled) -> dict[str, int] | None:
  """XLA's memory analysis of a compiled program (``jit(f).lower(...).compile()``), bytes.

  Per device for a sharded program: ``argument_bytes``, ``output_bytes``,
  ``alias_bytes`` (outputs written over donated arguments), ``temp_bytes`` (the
  program's scratch) and ``total_bytes`` = argument + output − alias + temp, the
  program's peak footprint bound. None where the backend gives no analysis.
  Exact for the compiled program and independent of the machine's load.
  """
  stats = compiled.memory_analysis()
  if stats is None:
    return None
  out = {
    f'{k}_bytes': int(getattr(stats, f'{k}_size_in_bytes'))
    for k in ('argument', 'output', 'alias', 'temp')
  }
  out['total_bytes'] = (
    out['argument_bytes'] + out['output_bytes'] - out['alias_bytes'] + out['temp_bytes']
  )
  return out
