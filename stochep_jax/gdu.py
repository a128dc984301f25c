"""The GDU check [Ern19]: EP's step-by-step updates against BPTT's gradients.

As in docs/model.md, "References by backpropagation".

Time indexing. The free phase runs T steps from the zero state,

    s_{t+1} = F(x, s_t, θ_{t+1}),   t = 0..T−1,

where θ_{t+1} is the copy of θ used by the transition s_t → s_{t+1} (every copy
equals θ), and the loss is L = Σ_b C_b(s_T; θ_T): a cross-entropy readout's
own parameters, which enter only the cost, count as part of θ_T. BPTT (with
per-step copies of θ and per-step state perturbations over the last K steps)
gives the sensitivities ∂L/∂θ_{T−t} and ∂L/∂s_{T−t}, t = 0..K−1.

EP nudges from s^β_0 = s_T. With Φ_β = Φ − β Σ_b C_b (``Network.nudged_phi``,
so readout parameters are covered), evaluated at what neighbours see (the
neurons' means: ρ(s) for Hopfield, s for the CRNN, p for StochEP), and with
β_0 = 0 for the free state s^β_0 and β_t = β for t ≥ 1 (as ``ep_update``
evaluates the free rates at β = 0),

    Δ^EP_θ(t) = (1/β)(∂Φ_β/∂θ(s^β_{t+1}) − ∂Φ_{β_t}/∂θ(s^β_t))
    Δ^EP_s(t) = (s^β_{t+1} − s^β_t)/(β·dt)         (dt: the neuron's step size)

and the GDU property is Δ^EP_θ(t) → −∂L/∂θ_{T−t}, Δ^EP_s(t) → −∂L/∂s_{T−t}
as β → 0, exactly when the dynamics derive from a scalar function (the
continuous-time Hopfield neuron, s_{t+1} = s_t − dt ∂E_β/∂s) and the free
phase has converged (s_t = s* over the last K steps). The weight updates are
reported per example-averaged loss (divided by the batch size B, as
``ep_update``); the neuron updates per example (L summed over the batch).

Nudgings: ``'one_sided'`` (+β) and ``'symmetric'`` (the average of the +β and
−β trajectories' updates, i.e. their difference over 2β). A stochastic
StochEP network is compared with its deterministic mean-field network
(``stochastic=False``): its EP updates are averaged over ``draws`` noise draws
(each with its own free phase), both nudged phases of a draw sharing the noise.

Metrics per layer (``compare``), over all t and elements of a layer:

    rel_rmse   = √Σ(EP − BPTT)² / max(√ΣEP², √ΣBPTT²)
    sign_error = fraction of entries with sign(EP) ≠ sign(BPTT), among those
                 with |BPTT| > 1e-6·max|BPTT| (exact zeros have no sign)
    cosine     = cos(Σ_t EP(t), Σ_t BPTT(t))   (the summed update)

Neuron updates are compared for neuron models with a single state variable
(CRNN, Hopfield); StochEP's state (u, p, s) is compared through θ only. In
the prototypical setting (CRNN, s_{t+1} = ρ(I(s_t))) the weight updates match
as β → 0 but a saturated unit (ρ' = 0) cannot move under EP: there
Δ^EP_s(t) = −ρ' ⊙ ∂L/∂s_{T−t}, so the neuron comparison is also reported over
the responsive units only (``s<i>_responsive``).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from stochep_jax import checks, dynamics, energy, estimators
from stochep_jax import keys as keys_lib

Array = jax.Array
Params = Any

NUDGINGS = ('symmetric', 'one_sided')
SIGN_TOL = 1e-6


@dataclasses.dataclass(frozen=True)
class GDU:
  """Settings of the GDU check.

  Attributes:
    t_free: T, free-phase steps.
    k: K ≤ T, compared steps (the last K of the free phase, the first K
      nudged). With K = T, Σ_t ∂L/∂θ_{T−t} is the whole BPTT gradient.
    beta: nudging strength β > 0.
    nudging: ``'symmetric'`` or ``'one_sided'``.
    draws: M, noise draws averaged for a stochastic network.
  """

  t_free: int = 400
  k: int = 40
  beta: float = 1e-3
  nudging: str = 'symmetric'
  draws: int = 1

  def __post_init__(self):
    checks.integer('GDU', 't_free', self.t_free, 1)
    checks.integer('GDU', 'k', self.k, 1, self.t_free)
    checks.number('GDU', 'beta', self.beta, 0.0, lo_open=True)
    checks.choice('GDU', 'nudging', self.nudging, NUDGINGS)
    checks.integer('GDU', 'draws', self.draws, 1)


def mean_field(sim: dynamics.Simulator) -> dynamics.Simulator:
  """The deterministic network BPTT differentiates: a stochastic neuron's mean field."""
  if not sim.encoder.static:
    raise ValueError('the GDU check needs a static input (AnalogInput)')
  return sim.mean_field()


def _single_state(sim: dynamics.Simulator) -> bool:
  """Whether the neuron state is one array (then neuron updates are compared)."""
  return len(jax.tree_util.tree_leaves(sim.neuron.init_state((1,)))) == 1


def _state_arrays(sim, states) -> tuple | None:
  """Each layer's state array (single-state models), else None."""
  if not _single_state(sim):
    return None
  return tuple(jax.tree_util.tree_leaves(s)[0] for s in states)


def ep_step_updates(
  sim: dynamics.Simulator, gdu: GDU, params: Params, x: Array, labels: Array, key: Array | None
) -> tuple[Params, tuple | None]:
  """EP's step-by-step updates of one draw: Δ^EP_θ(t) and Δ^EP_s(t), t = 0..K−1.

  Keys follow ``ep_update``: the free phase uses phase FREE, both nudged phases
  phase PLUS (shared noise).

  Returns:
    ``(d_theta, d_s)``: d_theta shaped like params with a leading axis K
    (divided by B); d_s a tuple of [K, B, ...] per layer, or None.
  """
  b, k, net = x.shape[0], gdu.k, sim.network
  free = dynamics.free_phase(sim, params, x, key, t_free=gdu.t_free)
  keys = keys_lib.phase_keys(keys_lib.batch_example_keys(key, b), keys_lib.PLUS)
  x_rate = sim.encoder.mean(x)
  dphi = jax.grad(net.nudged_phi)

  def one(beta):
    res = sim.run_phase(
      params,
      x,
      keys,
      free.states,
      steps=k,
      t0=gdu.t_free,
      beta=beta,
      labels=labels,
      trace_fn=lambda st: st,
    )
    traj = jax.tree_util.tree_map(
      lambda s0, tr: jnp.concatenate([s0[None], tr]), free.states, res.trace
    )
    betas = jnp.full((k + 1,), beta, x.dtype).at[0].set(0.0)
    g = jax.vmap(lambda st, bt: dphi(params, x_rate, sim.means(st), labels, bt))(traj, betas)
    d_theta = jax.tree_util.tree_map(lambda a: (a[1:] - a[:-1]) / (beta * b), g)
    states = _state_arrays(sim, traj)
    d_s = (
      None if states is None else tuple((s[1:] - s[:-1]) / (beta * sim.neuron.dt) for s in states)
    )
    return d_theta, d_s

  if gdu.nudging == 'one_sided':
    return one(gdu.beta)
  return jax.tree_util.tree_map(lambda p, m: 0.5 * (p + m), one(gdu.beta), one(-gdu.beta))


def bptt_step_gradients(
  sim: dynamics.Simulator, gdu: GDU, params: Params, x: Array, labels: Array
) -> tuple[Params, tuple | None, dict]:
  """−∂L/∂θ_{T−t} and −∂L/∂s_{T−t}, t = 0..K−1, of a deterministic network.

  The first T−K steps run without being differentiated; the last K steps are a
  ``lax.scan`` over per-step parameter copies θ_{T−K+1..T} and additive state
  perturbations δ_{T−K..T} (all zero), differentiated by ``jax.grad``.

  Returns:
    ``(g_theta, g_s, aux)``: g_theta shaped like params with a leading axis K
    (L averaged over the batch); g_s a tuple of [K, B, ...] per layer (L
    summed over the batch), or None; aux holds ``residual`` [K, L], per step
    of the last K and per layer the max over the batch of ‖out_{t+1} − out_t‖
    (its last row is the residual at the end of the free phase), and
    ``responsive``, per layer the units of s_T whose next state responds to
    their input current (see ``responsive``), or None.
  """
  b, k, net = x.shape[0], gdu.k, sim.network
  start = (
    sim.init_states(b, x.dtype)
    if gdu.t_free == k
    else dynamics.free_phase(sim, params, x, None, t_free=gdu.t_free - k).states
  )
  no_noise = (None,) * net.num_layers

  def total_cost(thetas, deltas):
    def body(st, xs):
      theta, d = xs
      st = jax.tree_util.tree_map(jnp.add, st, d)
      outs = sim.outputs(st)
      st, new = sim.step(theta, net.input_drive(theta, x), st, outs, no_noise)
      res = jnp.stack(
        [jnp.max(jnp.linalg.norm((n - o).reshape(b, -1), axis=-1)) for n, o in zip(new, outs)]
      )
      return st, res

    head = jax.tree_util.tree_map(lambda d: d[:-1], deltas)
    st, res = lax.scan(body, start, (thetas, head))
    st = jax.tree_util.tree_map(lambda s, d: s + d[-1], st, deltas)
    last = jax.tree_util.tree_map(lambda th: th[-1], thetas)
    return jnp.sum(net.cost(last, sim.means(st), labels)), (res, st)

  thetas = jax.tree_util.tree_map(lambda p: jnp.broadcast_to(p, (k,) + p.shape), params)
  deltas = jax.tree_util.tree_map(lambda s: jnp.zeros((k + 1,) + s.shape, s.dtype), start)
  (g_theta, g_s), (res, final) = jax.grad(total_cost, argnums=(0, 1), has_aux=True)(thetas, deltas)
  g_theta = jax.tree_util.tree_map(lambda g: -g[::-1] / b, g_theta)  # t ↔ θ_{T−t}
  states = _state_arrays(sim, g_s)
  g_s = None if states is None else tuple(-g[1:][::-1] for g in states)  # t ↔ s_{T−t}
  active = None if states is None else responsive(sim, params, x, final)
  return g_theta, g_s, {'residual': res, 'responsive': active}


def responsive(sim: dynamics.Simulator, params: Params, x: Array, states) -> tuple:
  """Per layer, the units whose next state responds to their input current.

  ∂s_{t+1}/∂I ≠ 0 elementwise at ``states`` (a neuron is elementwise, so one
  JVP with a vector of ones gives the diagonal). A saturated hard-sigmoid CRNN
  unit (ρ' = 0) does not respond: EP cannot move it, and in the prototypical
  setting Δ^EP_s(t) = −ρ'(I) ⊙ ∂L/∂s_{T−t} exactly as β → 0, so such units
  hold BPTT sensitivities that EP's neuron updates do not carry.
  """
  net = sim.network
  currents = net.currents(params, net.input_drive(params, x), sim.outputs(states))

  def one(state, current):
    update = lambda c: jax.tree_util.tree_leaves(sim.neuron.update(state, c)[0])[0]
    return jax.jvp(update, (current,), (jnp.ones_like(current),))[1] != 0

  return tuple(one(s, c) for s, c in zip(states, currents))


def _flat_groups(net, theta: Params, s: tuple | None) -> dict[str, Array]:
  """Per-layer [K, n] arrays: parameter groups ``layer1``.. ``readout``, neurons ``s1``.."""
  del net
  out = {}
  for name, g in energy.param_groups(theta).items():
    out[name] = jnp.concatenate(
      [a.reshape(a.shape[0], -1) for a in jax.tree_util.tree_leaves(g)], axis=1
    )
  for i, a in enumerate(s or ()):
    out[f's{i + 1}'] = a.reshape(a.shape[0], -1)
  return out


def compare(ep: Array, bptt: Array) -> dict[str, float]:
  """rel_rmse, sign_error and cosine of one layer's [K, n] updates (module docstring)."""
  ep, bptt = np.asarray(ep, np.float64), np.asarray(bptt, np.float64)
  norm = max(np.sqrt(np.sum(ep**2)), np.sqrt(np.sum(bptt**2)))
  rel_rmse = float(np.sqrt(np.sum((ep - bptt) ** 2)) / norm) if norm > 0 else 0.0
  mask = np.abs(bptt) > SIGN_TOL * np.max(np.abs(bptt), initial=0.0)
  sign_error = float(np.mean(np.sign(ep[mask]) != np.sign(bptt[mask]))) if mask.any() else 0.0
  a, c = ep.sum(0), bptt.sum(0)
  den = np.linalg.norm(a) * np.linalg.norm(c)
  cosine = float(a @ c / den) if den > 0 else float(np.allclose(a, c))
  return {'rel_rmse': rel_rmse, 'sign_error': sign_error, 'cosine': cosine}


@dataclasses.dataclass
class GDUResult:
  """The step-by-step updates and their comparison.

  Attributes:
    ep: per layer, Δ^EP(t) as [K, n] (``_flat_groups`` names).
    bptt: per layer, −∂L/∂(θ or s)_{T−t} as [K, n].
    metrics: per layer, ``compare``'s rel_rmse / sign_error / cosine; for a
      neuron layer with unresponsive units (``responsive``) also
      ``s<i>_responsive``: BPTT's sensitivities restricted to responsive units.
    residual: [K, L] free-phase residual per step of the last K and per layer
      (of the mean-field network for a stochastic one).
  """

  ep: dict[str, np.ndarray]
  bptt: dict[str, np.ndarray]
  metrics: dict[str, dict[str, float]]
  residual: np.ndarray


@functools.partial(jax.jit, static_argnums=(0, 1))
def _ep_jit(sim, gdu, params, x, labels, key):
  return ep_step_updates(sim, gdu, params, x, labels, key)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _bptt_jit(sim, gdu, params, x, labels):
  return bptt_step_gradients(sim, gdu, params, x, labels)


def gdu_check(
  sim: dynamics.Simulator,
  gdu: GDU,
  params: Params,
  x: Array,
  labels: Array,
  key: Array | None = None,
) -> GDUResult:
  """Runs EP's and BPTT's step-by-step updates and compares them per layer.

  Args:
    sim: the system; a stochastic one needs ``key`` and is compared with its
      mean-field network (``mean_field``). The input encoder must be static.
    gdu: settings (T, K, β, nudging, draws M).
    params: network parameters.
    x: batched input.
    labels: integer labels [B].
    key: PRNG key of the noise (draw m uses ``fold_in(key, m)``).

  Returns:
    A ``GDUResult``.
  """
  det = mean_field(sim)
  noisy = det is not sim
  if noisy and key is None:
    raise ValueError('a stochastic network needs a key')
  # β, the nudging and M do not enter BPTT: one compilation serves them all.
  g_theta, g_s, aux = _bptt_jit(det, GDU(gdu.t_free, gdu.k), params, x, labels)
  acc = None
  for m in range(gdu.draws if noisy else 1):
    draw = _ep_jit(sim, gdu, params, x, labels, keys_lib.draw_key(key, m) if noisy else None)
    acc = draw if acc is None else jax.tree_util.tree_map(jnp.add, acc, draw)
  d_theta, d_s = jax.tree_util.tree_map(lambda a: a / (gdu.draws if noisy else 1), acc)
  ep = {n: np.asarray(a) for n, a in _flat_groups(sim.network, d_theta, d_s).items()}
  bp = {n: np.asarray(a) for n, a in _flat_groups(sim.network, g_theta, g_s).items()}
  metrics = {n: compare(ep[n], bp[n]) for n in ep}
  for i, mask in enumerate(aux['responsive'] or ()):
    mask = np.asarray(mask).reshape(1, -1)
    if not mask.all():
      name = f's{i + 1}'
      metrics[f'{name}_responsive'] = compare(ep[name], bp[name] * mask)
  return GDUResult(ep, bp, metrics, np.asarray(aux['residual']))


# --------------------------------------------------------------------------
# Alignment of the averaged stochastic EP estimate (the training estimator)
# --------------------------------------------------------------------------
def _group_vectors(theta: Params) -> dict[str, np.ndarray]:
  """Each parameter group (``energy.param_groups``) as one float64 vector."""
  return {
    name: np.concatenate(
      [np.ravel(np.asarray(a, np.float64)) for a in jax.tree_util.tree_leaves(g)]
    )
    for name, g in energy.param_groups(theta).items()
  }


def _cos_ratio(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
  na, nb = np.linalg.norm(a), np.linalg.norm(b)
  return (float(a @ b / (na * nb)) if na * nb > 0 else 0.0), (float(na / nb) if nb > 0 else 0.0)


def alignment(
  sim: dynamics.Simulator,
  ep,
  params: Params,
  x: Array,
  labels: Array,
  key: Array,
  draws: int,
  reference_beta: float | None = None,
) -> dict[str, dict[str, float]]:
  """Where the averaged stochastic EP estimate points, per parameter group.

  The estimate is ``estimators.ep_gradient`` (the training estimator, with its
  rates, K_avg and nudging) averaged over ``draws`` noise draws (draw m uses
  ``keys.draw_key(key, m)``). It is compared with

  * ``mf_ep``: the mean-field network's EP estimate at the same β (what the
    stochastic network's EP should approach: no noise, same finite β);
  * ``bptt``: the mean-field network's BPTT gradient of the loss at the free
    rates (``estimators.bptt_gradient`` with ``t_free`` (+ ``t_warm``) and ``k_avg``);
  * ``mf_ep_small_beta``: the mean-field EP at ``reference_beta`` (default
    β/30) against that BPTT gradient: how much of the gap to BPTT is EP's own
    finite-β effect, with no noise at all (hard-sigmoid units crossing a kink);
  * ``halves``: the first half of the draws against the second (close to 1:
    the average is not noise; near 0: more draws are needed).

  Returns ``{group: {'cos_mf_ep', 'ratio_mf_ep', 'cos_bptt', 'ratio_bptt',
  'cos_mf_ep_vs_bptt', 'cos_mf_ep_small_beta_vs_bptt', 'cos_halves'}}``; a
  ratio is the norm of the first over the second.
  """
  if draws < 2:
    raise ValueError(f'draws={draws}: need at least 2 (the halves are compared)')
  mf = mean_field(sim)
  small = dataclasses.replace(ep, beta=reference_beta or ep.beta / 30)
  one = jax.jit(lambda p, k: estimators.ep_gradient(sim, ep, p, x, labels, k)[0])
  half = draws // 2
  sums = [None, None]
  for m in range(draws):
    g = one(params, keys_lib.draw_key(key, m))
    i = int(m >= half)
    sums[i] = g if sums[i] is None else jax.tree_util.tree_map(jnp.add, sums[i], g)
  st = jax.tree_util.tree_map(lambda a, b: (a + b) / draws, *sums)
  h1 = _group_vectors(sums[0])
  h2 = _group_vectors(sums[1])
  det = jax.jit(lambda p, e: estimators.ep_gradient(mf, e, p, x, labels, None)[0], static_argnums=1)
  # The mean-field network's warm start is the same network's longer free phase.
  bptt = estimators.BPTT(t_free=ep.t_free + ep.t_warm, k_avg=ep.k_avg)
  g_bptt = jax.jit(lambda p: estimators.bptt_gradient(mf, bptt, p, x, labels, None)[0])(params)
  vs = {n: _group_vectors(t) for n, t in (('st', st), ('bptt', g_bptt))}
  vs['mf'], vs['small'] = _group_vectors(det(params, ep)), _group_vectors(det(params, small))
  out = {}
  for name in vs['st']:
    c_mf, r_mf = _cos_ratio(vs['st'][name], vs['mf'][name])
    c_bp, r_bp = _cos_ratio(vs['st'][name], vs['bptt'][name])
    out[name] = {
      'cos_mf_ep': c_mf,
      'ratio_mf_ep': r_mf,
      'cos_bptt': c_bp,
      'ratio_bptt': r_bp,
      'cos_mf_ep_vs_bptt': _cos_ratio(vs['mf'][name], vs['bptt'][name])[0],
      'cos_mf_ep_small_beta_vs_bptt': _cos_ratio(vs['small'][name], vs['bptt'][name])[0],
      'cos_halves': _cos_ratio(h1[name], h2[name])[0],
    }
  return out
