"""Stability of the membrane potentials, as numbers (docs/model.md, "Stability").

[StochEP] Fig. 3 shows membrane-potential heatmaps over time: the stochastic
neuron settles smoothly, the deterministic LIF baselines oscillate or need a
schedule. Here each phase gets two numbers per layer, from the trajectory
v^t of every unit's membrane potential (``neuron.membrane(state)``: u for
StochEP, ξ for the spike-coded models, v for the LIF baselines):

* ``mean_abs_dv``: the mean of |v^t − v^{t−1}| over the last K steps of the
  phase, all examples and units;
* ``frac_moving``: the fraction of units (example × neuron) whose mean |Δv|
  over those K steps exceeds ``tol`` **[choice]**: the mean over the window,
  not the largest step, so a unit that jumps once is not "moving".

Trajectories come from ``dynamics.Simulator.run_phase``'s ``trace_fn``.
``phase_stability`` measures the phases EP trains with, as it runs them
(``estimators.ep_phases``: the same keys, β and states): the free phase from
the zero state, then the nudged phase at β₁ and, for symmetric nudging only,
the one at −β, from its final state. ``membrane_trajectory`` records one phase
and can keep only its last steps (the phase then runs as two scans, which
gives the same states: every step's noise depends on its global index only).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from stochep_jax import dynamics, estimators

Array = jax.Array
Params = Any

__all__ = ['Stability', 'step_changes', 'membrane_trajectory', 'phase_stability']


@struct.dataclass
class Stability:
  """Per-layer stability of one phase.

  Attributes:
    mean_abs_dv: [L], mean |Δv| per step over the last K steps.
    frac_moving: [L], fraction of units whose mean |Δv| over them exceeds tol.
  """

  mean_abs_dv: Array
  frac_moving: Array


def step_changes(traj: Array, k: int, tol: float) -> tuple[Array, Array]:
  """(mean |Δv|, fraction of units moving) over the last ``k`` steps of a trajectory.

  Args:
    traj: membrane potentials [T, batch, *units], T ≥ k + 1 (entry 0 may be
      the state before the first step).
    k: K, the number of last steps (differences) measured, ≥ 1.
    tol: a unit moves if its mean |Δv| over the K steps exceeds tol.

  Returns:
    Two scalars: the mean of |v^t − v^{t−1}| over the K steps, the batch and
    the units; the fraction of (example, unit) pairs moving by more than tol.
  """
  if not 1 <= k < traj.shape[0]:
    raise ValueError(f'need 1 <= k < T = {traj.shape[0]}, got k={k}')
  dv = jnp.abs(jnp.diff(traj[-(k + 1) :], axis=0))
  per_unit = jnp.mean(dv, axis=0)
  return jnp.mean(per_unit), jnp.mean((per_unit > tol).astype(per_unit.dtype))


def membrane_trajectory(
  sim: dynamics.Simulator,
  params: Params,
  x: Array,
  keys: Array | None,
  states: tuple,
  *,
  steps: int,
  t0: int = 0,
  beta=0.0,
  labels: Array | None = None,
  last: int | None = None,
) -> tuple[dynamics.PhaseResult, tuple]:
  """One phase with every layer's membrane potential recorded.

  Args:
    sim: the simulated system.
    params: network parameters.
    x: batched input.
    keys: per-phase per-example keys (as ``run_phase``), or None.
    states: the phase's initial states.
    steps: the phase's steps.
    t0: global index of its first step.
    beta, labels: nudging, as ``run_phase``.
    last: record only the last ``last`` steps (None: all of them).

  Returns:
    ``(result, membranes)``: the ``PhaseResult`` of the whole phase (its rates
    over the recorded steps' last one only) and per layer an array
    [m + 1, B, ...]: the membrane before the recorded steps, then after each
    of the m = ``last`` (or ``steps``) recorded steps.
  """
  m = steps if last is None else last
  if not 1 <= m <= steps:
    raise ValueError(f'need 1 <= last <= steps, got last={last}, steps={steps}')
  kw = dict(beta=beta, labels=labels)
  if m < steps:
    states = sim.run_phase(params, x, keys, states, steps=steps - m, t0=t0, **kw).states
  start = tuple(sim.neuron.membrane(s) for s in states)
  res = sim.run_phase(
    params,
    x,
    keys,
    states,
    steps=m,
    t0=t0 + steps - m,
    trace_fn=lambda st: tuple(sim.neuron.membrane(s) for s in st),
    **kw,
  )
  membranes = tuple(jnp.concatenate([a[None], tr], 0) for a, tr in zip(start, res.trace))
  return res, membranes


def phase_stability(
  sim: dynamics.Simulator,
  ep: estimators.EP,
  params: Params,
  x: Array,
  labels: Array,
  key: Array | None,
  *,
  k: int,
  tol: float = 1e-3,
  indices: Array | None = None,
) -> dict[str, Stability]:
  """Stability of each phase EP runs (``estimators.ep_phases``), a ``Stability`` per phase.

  Args:
    sim: the simulated system.
    ep: phase settings.
    params: network parameters.
    x: batched input.
    labels: integer labels [B].
    key: the batch's key (None for deterministic systems).
    k: K ≤ min(t_free, t_nudge), the last steps of each phase measured.
    tol: the "moving" tolerance on a unit's mean |Δv| (default 1e-3 **[choice]**).
    indices: global example indices [B] (default 0..B-1).

  Returns:
    ``{'free': ..., 'plus': ...}`` and, for symmetric nudging, ``'minus'``;
    ``'plus'`` is the phase at β₁ (its sign drawn under random-sign nudging).
  """
  if not 1 <= k <= min(ep.t_free, ep.t_nudge):
    raise ValueError(f'need 1 <= k <= min(t_free, t_nudge), got k={k}')

  def membranes(states):
    return tuple(sim.neuron.membrane(s) for s in states)

  def measure(start, trace):
    stats = [step_changes(jnp.concatenate([a[None], tr], 0), k, tol) for a, tr in zip(start, trace)]
    return Stability(
      mean_abs_dv=jnp.stack([s[0] for s in stats]), frac_moving=jnp.stack([s[1] for s in stats])
    )

  phases = estimators.ep_phases(sim, ep, params, x, labels, key, indices, trace_fn=membranes)
  out = {'free': measure(membranes(sim.init_states(x.shape[0], x.dtype)), phases.free.trace)}
  free_end = membranes(phases.free.states)
  for name in ('plus', 'minus'):
    res = getattr(phases, name)
    if res is not None:
      out[name] = measure(free_end, res.trace)
  return out
