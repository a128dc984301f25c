"""Gradient estimators over one simulated system: EP and its BPTT references.

EP (docs/model.md, "Phases and the EP update"). From the zero state, a free
phase of T_free steps (β = 0) reaches s*; from s*, nudged phases of T_nudge
steps at +β and −β reach r^{+β}, r^{−β} (rates for spiking models, states for
the CRNN). With the nudged primitive Φ_β = Φ − β Σ_b C_b
(``energy.Network.nudged_phi``), the update

    Δθ = 1/(β₁ − β₂) · (∂Φ_{β₁}/∂θ (r^{β₁}) − ∂Φ_{β₂}/∂θ (r^{β₂}))

estimates −dC/dθ. The nudgings:

* ``'symmetric'`` [Lab21]: β₁ = +β, β₂ = −β;
* ``'one_sided'``: β₁ = β, β₂ = 0 with r^0 = the free phase's rates;
* ``'random_sign'``: one-sided with β₁ = ±β, the sign drawn per batch.

For a dense layer Δθ is the contrastive Hebbian rule
(r_ℓ r_{ℓ-1}ᵀ)^{β₁} − (r_ℓ r_{ℓ-1}ᵀ)^{β₂} over (β₁ − β₂). Everything here is a
difference of ``jax.grad`` of Φ_β with respect to θ: EP needs no stored
trajectory, so its memory does not grow with the number of steps.

Keys: example i uses ``fold_in(key, index_i)``; phase p then folds in p (free
0, +β 1, −β 1 or 2). By default both nudged phases reuse the same noise
(**[choice]**, common random numbers: the +β/−β difference then reflects β,
not the draw), ``shared_noise=False`` gives them independent noise.

BPTT (docs/model.md, "References by backpropagation"): ``bptt_gradient``
differentiates the mean cost at the free phase's rates by ``jax.grad`` through
its ``lax.scan`` (optionally ``jax.checkpoint``-ed per step): CRNN BPTT for
deterministic neuron models, SNN BPTT for the stochastic StochEP neuron, which
then gets the straight-through surrogate ∂s/∂p = 1 automatically
(``bptt_simulator``). Its memory grows linearly with the number of steps; EP's
does not.

Both are registered in ``ESTIMATORS`` (``'ep'``, ``'bptt'``), so a config's
``method`` selects one; they share the config's ``ep`` block (BPTT reads
``t_free``, ``k_avg`` and ``checkpoint``). The GDU check lives in ``gdu``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from stochep_jax import checks, dynamics, registry
from stochep_jax import keys as keys_lib

Array = jax.Array
Params = Any

# Gradient estimators by name, for configs: ESTIMATORS.make(name, sim=..., **settings)
# returns gradient_fn(params, x, labels, key, indices) -> (grads, aux).
ESTIMATORS = registry.Registry('gradient estimator')

NUDGINGS = ('symmetric', 'one_sided', 'random_sign')


@dataclasses.dataclass(frozen=True)
class EP:
  """Settings of the EP phases (docs/model.md, "Phases and the EP update").

  Attributes:
    t_free: free-phase steps.
    t_nudge: steps of each nudged phase.
    beta: nudging strength β > 0.
    nudging: ``'symmetric'``, ``'one_sided'`` or ``'random_sign'``.
    k_avg: rates average the last k_avg steps of each phase (1 = final state).
    shared_noise: nudged phases reuse the same noise (common random numbers).
    t_warm: mean-field steps before the free phase (``dynamics.free_phase``'s
      warm start; 0 = none, the free phase starts from the zero state).
    batch_nudges: run symmetric nudging's two phases as one phase over twice
      the batch (``ep_phases``): T_nudge sequential steps instead of 2·T_nudge,
      each weight read once a step for both, larger matrix products. Every
      example's dynamics, keys and β are those of the two separate phases,
      equal to float rounding (products over another batch size may round
      differently). Off by default: on a 2-core CPU the configs' training
      steps gain nothing measurable from it, conv steps with a small
      per-device batch 4-15 % (BUILD_NOTES.md 4.2); it is meant for
      accelerators, where a step's kernels are too small to fill the device.
  """

  t_free: int = 250
  t_nudge: int = 25
  beta: float = 0.2
  nudging: str = 'symmetric'
  k_avg: int = 1
  shared_noise: bool = True
  t_warm: int = 0
  batch_nudges: bool = False

  def __post_init__(self):
    checks.integer('EP', 't_free', self.t_free, 1)
    checks.integer('EP', 't_nudge', self.t_nudge, 1)
    checks.number('EP', 'beta', self.beta, 0.0, lo_open=True)
    checks.choice('EP', 'nudging', self.nudging, NUDGINGS)
    checks.integer('EP', 'k_avg', self.k_avg, 1, min(self.t_free, self.t_nudge))
    checks.boolean('EP', 'shared_noise', self.shared_noise)
    checks.integer('EP', 't_warm', self.t_warm, 0)
    checks.boolean('EP', 'batch_nudges', self.batch_nudges)


class EPPhases(NamedTuple):
  """The phases of one EP step, as ``ep_update`` runs them (``ep_phases``).

  Attributes:
    free: the free phase from the zero state (β = 0).
    plus: the nudged phase at ``beta1`` from the free phase's final state
      (β₁ = +β; under ``'random_sign'`` its sign is the batch's draw).
    minus: the nudged phase at ``beta2`` = −β (``'symmetric'`` only), else None:
      one-sided EP runs no second phase, the free phase stands in for it.
    beta1, beta2: the two nudging strengths of the update (β₂ = 0 one-sided);
      Python floats except β₁ under random-sign nudging (a traced scalar).
  """

  free: dynamics.PhaseResult
  plus: dynamics.PhaseResult
  minus: dynamics.PhaseResult | None
  beta1: Array | float
  beta2: float

  def second(self) -> dynamics.PhaseResult:
    """The phase at β₂: ``minus``, or the free phase for one-sided nudging."""
    return self.free if self.minus is None else self.minus


def phase_numbers(ep: EP) -> dict[str, int]:
  """The key tree's phase number of each phase EP runs (``keys``): free, plus and, symmetric, minus."""
  out = {'free': keys_lib.FREE, 'plus': keys_lib.PLUS}
  if ep.nudging == 'symmetric':
    out['minus'] = keys_lib.minus_phase(ep.shared_noise)
  return out


def ep_phases(
  sim: dynamics.Simulator,
  ep: EP,
  params: Params,
  x: Array,
  labels: Array,
  key: Array | None,
  indices: Array | None = None,
  trace_fn=None,
) -> EPPhases:
  """The phases of one EP step: the one schedule that EP's update, the operation
  counts (``opcount``), the stability measurement (``stability``) and the
  figures all run.

  The free phase (``dynamics.free_phase``: T_free steps from the zero state, or
  from ``ep.t_warm`` mean-field steps),
  then from its final state a nudged phase of T_nudge steps at β₁ and, for
  symmetric nudging, one at β₂ = −β, each with the key tree's phase keys
  (``phase_numbers``) and starting at the global step T_free. With
  ``ep.batch_nudges`` (and no ``trace_fn``) the two symmetric phases run as one
  phase over the batch paired example by example, then are split again.

  Args:
    sim: the simulated system.
    ep: phase settings.
    params: network parameters.
    x: batched input [B, ...].
    labels: integer labels [B].
    key: the batch's PRNG key (None for deterministic systems).
    indices: global example indices [B] for per-example keys (default 0..B-1).
    trace_fn: optional per-step recording of every phase (``Simulator.run_phase``).

  Returns:
    An ``EPPhases``.
  """
  checks.batch('ep_phases', x, labels, indices)
  keys = keys_lib.batch_example_keys(key, x.shape[0], indices)
  numbers = phase_numbers(ep)
  free = dynamics.free_phase(
    sim,
    params,
    x,
    key,
    t_free=ep.t_free,
    k_avg=ep.k_avg,
    indices=indices,
    trace_fn=trace_fn,
    t_warm=ep.t_warm,
  )

  def nudge(beta, phase_keys, x=x, labels=labels, states=free.states):
    return sim.run_phase(
      params,
      x,
      phase_keys,
      states,
      steps=ep.t_nudge,
      t0=ep.t_free,
      k_avg=ep.k_avg,
      beta=beta,
      labels=labels,
      trace_fn=trace_fn,
    )

  plus_keys = keys_lib.phase_keys(keys, numbers['plus'])

  b1 = ep.beta
  if ep.nudging == 'random_sign':
    if key is None:
      raise ValueError('random_sign nudging needs a key')
    sign = jax.random.rademacher(keys_lib.sign_key(key), (), jnp.int32)
    b1 = sign.astype(jnp.float32) * ep.beta
  if ep.nudging != 'symmetric':
    return EPPhases(free, nudge(b1, plus_keys), None, b1, 0.0)
  minus_keys = keys_lib.phase_keys(keys, numbers['minus'])
  if not ep.batch_nudges or trace_fn is not None:
    return EPPhases(free, nudge(b1, plus_keys), nudge(-ep.beta, minus_keys), b1, -ep.beta)
  # Both nudged phases as one, example-major (example i at +β then at −β): pairing
  # along the batch axis keeps a batch-sharded array's examples on their device. A
  # trace_fn sees a whole batch, so traced runs keep two phases.
  pair = lambda a, b: jnp.stack([a, b], axis=1).reshape((-1,) + a.shape[1:])
  both = nudge(
    jnp.tile(jnp.asarray([b1, -ep.beta], jnp.float32), x.shape[0]),
    None if keys is None else pair(plus_keys, minus_keys),
    x=pair(x, x),
    labels=pair(labels, labels),
    states=jax.tree_util.tree_map(lambda s: pair(s, s), free.states),
  )
  halves = jax.tree_util.tree_map(lambda a: a.reshape((-1, 2) + a.shape[1:]), both)
  plus, minus = (jax.tree_util.tree_map(lambda a, i=i: a[:, i], halves) for i in (0, 1))
  return EPPhases(free, plus, minus, b1, -ep.beta)


def ep_update(
  sim: dynamics.Simulator,
  ep: EP,
  params: Params,
  x: Array,
  labels: Array,
  key: Array | None,
  indices: Array | None = None,
) -> tuple[Params, dict]:
  """EP's update Δθ (an estimate of −dC/dθ, averaged over the batch).

  Returns:
    ``(delta, aux)``: delta shaped like params; aux holds the free phase's
    ``scores`` [B, n_classes], per-example ``loss`` [B] at the free rates,
    the free ``rates`` of every layer and the ``beta`` used.
  """
  checks.batch('ep_gradient', x, labels, indices)
  phases = ep_phases(sim, ep, params, x, labels, key, indices)
  free, b1, b2 = phases.free, phases.beta1, phases.beta2
  r1, r2 = phases.plus.rates, phases.second().rates
  x_rate = sim.encoder.mean(x)
  net = sim.network

  def contrast(theta):
    return net.nudged_phi(theta, x_rate, r1, labels, b1) - net.nudged_phi(
      theta, x_rate, r2, labels, b2
    )

  scale = 1.0 / ((b1 - b2) * x.shape[0])
  delta = jax.tree_util.tree_map(lambda g: g * scale, jax.grad(contrast)(params))
  aux = {
    'scores': net.scores(params, free.rates),
    'loss': net.cost(params, free.rates, labels),
    'rates': free.rates,
    'beta': jnp.asarray(b1),
  }
  return delta, aux


def ep_gradient(
  sim: dynamics.Simulator,
  ep: EP,
  params: Params,
  x: Array,
  labels: Array,
  key: Array | None,
  indices: Array | None = None,
) -> tuple[Params, dict]:
  """EP's estimate of dL/dθ (L = mean cost): −Δθ, ready for an optax update.

  Args:
    sim: the simulated system (network, neuron model, input encoder).
    ep: phase settings.
    params: network parameters.
    x: batched input [B, ...].
    labels: integer labels [B] (float labels are refused: a TypeError).
    key: the batch's PRNG key (None for deterministic systems).
    indices: global example indices [B] for per-example keys (default 0..B-1).

  Returns:
    ``(grads, aux)``: grads shaped like params; aux as in ``ep_update``.
  """
  delta, aux = ep_update(sim, ep, params, x, labels, key, indices)
  return jax.tree_util.tree_map(jnp.negative, delta), aux


def _gradient_fn_factory(settings_cls, estimate):
  """``make(sim, **settings) -> gradient_fn`` for an estimator and its settings class."""

  def make(sim: dynamics.Simulator, **settings):
    chosen = registry.call_strict(settings_cls, settings, f'{settings_cls.__name__} settings')

    def gradient_fn(params, x, labels, key, indices=None):
      return estimate(sim, chosen, params, x, labels, key, indices)

    return gradient_fn

  make.__doc__ = (
    f'``gradient_fn`` of {estimate.__name__} with ``{settings_cls.__name__}'
    '(**settings)`` (an unknown setting is a ValueError).'
  )
  return make


ESTIMATORS.register('ep')(_gradient_fn_factory(EP, ep_gradient))


# --------------------------------------------------------------------------
# BPTT references (docs/model.md, "References by backpropagation")
# --------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class BPTT:
  """Settings of the BPTT reference: ``jax.grad`` through the free phase.

  As in docs/model.md, "References by backpropagation".

  The loss is L = (1/B) Σ_b C_b(r), the mean cost at the free phase's rates r
  (the mean over its last ``k_avg`` steps, as EP's ``aux['loss']``).

  Attributes:
    t_free: free-phase steps, all of them differentiated.
    k_avg: rates average the last k_avg steps.
    checkpoint: ``jax.checkpoint`` each step: the backward pass recomputes a
      step's internals and keeps only its carried state (less memory, still
      linear in t_free; the gradient is unchanged).
  """

  t_free: int = 250
  k_avg: int = 1
  checkpoint: bool = False

  def __post_init__(self):
    checks.integer('BPTT', 't_free', self.t_free, 1)
    checks.integer('BPTT', 'k_avg', self.k_avg, 1, self.t_free)
    checks.boolean('BPTT', 'checkpoint', self.checkpoint)


class _RematSimulator(dynamics.Simulator):
  """A ``Simulator`` whose step is ``jax.checkpoint``-ed (rematerialised)."""

  def step(self, params, drive, states, outs, layer_noise, beta=0.0, labels=None):
    return jax.checkpoint(super().step)(params, drive, states, outs, layer_noise, beta, labels)


def bptt_simulator(sim: dynamics.Simulator, checkpoint: bool = False) -> dynamics.Simulator:
  """The system BPTT differentiates: ``sim`` with its neuron's ``surrogate()``.

  The neuron model answers (``neurons`` protocol): StochEP gets the
  straight-through ∂s/∂p = 1 (SNN BPTT), the thresholded models
  (Sigma-Delta, O'Connor, the LIF baselines) their pseudo-derivative; the
  forward pass still spikes exactly. Differentiable models (CRNN, Hopfield,
  mean-field StochEP) are unchanged (CRNN BPTT). A model without a surrogate
  is refused with a ValueError naming it.

  Args:
    sim: the simulated system.
    checkpoint: ``jax.checkpoint`` every step.
  """
  neuron = sim.neuron.surrogate()
  if neuron is not sim.neuron:
    sim = dataclasses.replace(sim, neuron=neuron)
  if checkpoint:
    sim = _RematSimulator(**{f.name: getattr(sim, f.name) for f in dataclasses.fields(sim)})
  return sim


def bptt_gradient(
  sim: dynamics.Simulator,
  bptt: BPTT,
  params: Params,
  x: Array,
  labels: Array,
  key: Array | None,
  indices: Array | None = None,
) -> tuple[Params, dict]:
  """dL/dθ by backpropagation through time through the free phase's ``lax.scan``.

  CRNN BPTT for deterministic models; SNN BPTT (straight-through surrogate,
  see ``bptt_simulator``) for the stochastic StochEP neuron, whose forward pass
  uses the same keys as EP's free phase.

  Args:
    sim: the simulated system (as for EP; the surrogate is applied here).
    bptt: settings.
    params: network parameters.
    x: batched input [B, ...].
    labels: integer labels [B] (float labels are refused: a TypeError).
    key: the batch's PRNG key (None for deterministic systems).
    indices: global example indices [B] for per-example keys (default 0..B-1).

  Returns:
    ``(grads, aux)``: grads = dL/dθ shaped like params (same convention as
    ``ep_gradient``); aux holds the free phase's ``scores``, per-example
    ``loss`` [B] and ``rates``.
  """
  checks.batch('bptt_gradient', x, labels, indices)
  sim = bptt_simulator(sim, bptt.checkpoint)

  def loss(theta):
    rates = dynamics.free_phase(
      sim, theta, x, key, t_free=bptt.t_free, k_avg=bptt.k_avg, indices=indices
    ).rates
    cost = sim.network.cost(theta, rates, labels)
    return jnp.mean(cost), (cost, rates)

  (_, (cost, rates)), grads = jax.value_and_grad(loss, has_aux=True)(params)
  aux = {'scores': sim.network.scores(params, rates), 'loss': cost, 'rates': rates}
  return grads, aux


ESTIMATORS.register('bptt')(_gradient_fn_factory(BPTT, bptt_gradient))

# Each estimator's settings class, by the name ``ESTIMATORS`` registers it under.
SETTINGS = {'ep': EP, 'bptt': BPTT}


def make_settings(method: str, **fields):
  """The settings object of estimator ``method`` (``EP`` or ``BPTT``): its constructor
  checks every field; an unknown field is a ValueError naming it."""
  cls = SETTINGS[method]
  return registry.call_strict(cls, fields, f'{cls.__name__} settings')
