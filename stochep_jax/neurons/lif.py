"""The deterministic LIF baselines of [StochEP] Fig. 3 (docs/model.md, "Neuron models")."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
from flax import struct

from stochep_jax import checks
from stochep_jax.neurons.base import NEURONS, Array, NeuronModel, _check_surrogate, spike
from stochep_jax.neurons.spike_coded import OConnor


# --------------------------------------------------------------------------
# Deterministic LIF baselines of [StochEP] Fig. 3 (docs/model.md, "Neuron models")
# --------------------------------------------------------------------------
@struct.dataclass
class LIFState:
  v: Array  # membrane potential v^t (after the reset)
  r: Array  # low-pass spike trace r^t: what neighbours and the learning rule see
  s: Array  # last spike s^t (0/1)
  t: Array  # steps taken since the zero state (a scalar), for ε_t


@NEURONS.register('lif_lowpass')
@dataclasses.dataclass(frozen=True)
class LIFLowPass(NeuronModel):
  """LIF neuron with a low-pass spike trace, after EqSpike ([StochEP] Fig. 3 (b)).

  Source: Martin et al., *EqSpike: spike-driven equilibrium propagation for
  neuromorphic implementations*, iScience 2021; [StochEP] Fig. 3 (b). The
  exact equations of [StochEP]'s baseline are not available: this is our
  **[choice]** reconstruction. With I^t = ∂Φ/∂s computed from the
  neighbours' traces r^{t-1} (and −β ∂C/∂s_L at r_L^{t-1} on the output):

      ṽ^t = v^{t-1} + ε_t (1 − λ)(I^t − v^{t-1})     (ε_t = 1: λ v^{t-1} + (1 − λ) I^t)
      s^t = [ṽ^t > V_th]
      v^t = ṽ^t − ε_t V_th s^t                       reset by subtraction
      r^t = γ r^{t-1} + (1 − γ) s^t                  output and rate

  Here ε_t = 1 (no schedule; ``LIFSchedule`` anneals it). At a steady firing
  rate r̄ the membrane balances leak, drive and resets:
  r̄ = (1 − λ)(I − v̄)/V_th, clipped to [0, 1] by the 0/1 spikes.

  BPTT (``surrogate()``): the threshold gets the pseudo-derivative
  ``spike_grad`` (``spike``; straight-through ∂s/∂ṽ = 1 by default
  **[choice]**, or the fast sigmoid). ``membrane`` is v.

  Attributes:
    decay: λ ∈ [0, 1), the membrane's leak (StochEP's name, one config block).
    v_th: V_th > 0, the threshold (default 0.5 **[choice]**).
    gamma: γ ∈ [0, 1), the trace's decay (default 0.9 **[choice]**: a
      10-step time constant).
    spike_grad, surrogate_slope, use_surrogate: as ``OConnor``.
  """

  decay: float = 0.5
  v_th: float = 0.5
  gamma: float = 0.9
  eps: float = dataclasses.field(default=1.0, init=False)
  eta: float = dataclasses.field(default=0.0, init=False)
  spike_grad: str = 'straight_through'
  surrogate_slope: float = 5.0
  use_surrogate: bool = False

  def __post_init__(self):
    own = type(self).__name__
    checks.number(own, 'decay', self.decay, 0.0, 1.0, hi_open=True)
    checks.number(own, 'gamma', self.gamma, 0.0, 1.0, hi_open=True)
    checks.number(own, 'v_th', self.v_th, 0.0, lo_open=True)
    checks.number(own, 'eps', self.eps, 0.0, 1.0, lo_open=True)
    checks.number(own, 'eta', self.eta, 0.0)
    _check_surrogate(self)

  def init_state(self, shape, dtype=jnp.float32):
    z = jnp.zeros(shape, dtype)
    return LIFState(v=z, r=z, s=z, t=jnp.zeros((), dtype))

  def output(self, state):
    return state.r

  def mean(self, state):
    return state.r

  def membrane(self, state):
    return state.v

  def surrogate(self):
    return dataclasses.replace(self, use_surrogate=True)

  def update(self, state, current, noise=None):
    del noise
    t = state.t + 1
    eps = self.eps * t**-self.eta if self.eta else self.eps
    v = state.v + (eps * (1.0 - self.decay)) * (current - state.v)
    grad = self.spike_grad if self.use_surrogate else None
    s = spike((v > self.v_th).astype(v.dtype), v - self.v_th, grad, self.surrogate_slope)
    v = v - (eps * self.v_th) * s
    r = self.gamma * state.r + (1.0 - self.gamma) * s
    return LIFState(v=v, r=r, s=s, t=t), r


@NEURONS.register('lif_schedule')
@dataclasses.dataclass(frozen=True)
class LIFSchedule(LIFLowPass):
  """``LIFLowPass`` with the annealed step on the membrane update ([StochEP] Fig. 3 (d)).

  The equations of ``LIFLowPass`` with ε_t = c₀ / t^η, the [OC19] schedule,
  and no predictive coding; t counts the steps since the zero state (in the
  state, as ``OConnor``), so the nudged phases continue the free phase's
  schedule. **[choice]** reconstruction of [StochEP] Fig. 3 (d): the step
  scales the whole membrane update, leak and drive *and* reset,

      v^t = v^{t-1} + ε_t [(1 − λ)(I^t − v^{t-1}) − V_th s^t],

  so c₀ = 1, η = 0 is ``LIFLowPass`` exactly and the steady firing rate
  r̄ = (1 − λ)(I − v̄)/V_th does not depend on ε_t (scaling only the drive
  would silence the neuron as ε_t → 0). The membrane's steps shrink like
  ε_t; the spikes keep coming.

  Attributes:
    eps: c₀ ∈ (0, 1] (default 1: the first step is ``LIFLowPass``'s).
    eta: η ≥ 0 (default 0.75, inside [OC19]'s (½, 1)).
    decay, v_th, gamma, spike_grad, surrogate_slope, use_surrogate: as
      ``LIFLowPass``.
  """

  eps: float = 1.0
  eta: float = 0.75


@NEURONS.register('lif_predictive')
@dataclasses.dataclass(frozen=True)
class LIFPredictive(OConnor):
  """LIF with predictive coding and the annealed step ([StochEP] Fig. 3 (c)).

  [StochEP] Fig. 3 (c), the [OC19]/[Lin24] construction: ``OConnor`` with
  the predictive encoder/decoder and ε_t = c₀ / t^η (``SigmaDelta`` is the
  same neuron with a constant ε). **[choice]** reconstruction, its
  integrate-and-fire reading: the Σ-Δ integrator V is a non-leaky IF
  membrane with reset by subtraction, the decoder's low-pass is the
  leaky synaptic trace:

      d^t = (1 − λ) d^{t-1} + λ I^t
      ξ^t = ρ((1 − ε_t) ξ^{t-1} + ε_t ρ'(ξ^{t-1}) d^t),    ε_t = c₀ / t^η
      e^t = (ρ(ξ^t) − (1 − λ) ρ(ξ^{t-1})) / λ
      s^t = [V^{t-1} + e^t > V_th],   V^t = V^{t-1} + e^t − s^t

  Defaults are ``OConnor``'s (c₀ 0.5, η 0.75, λ 0.6, V_th 0.5; configured in
  ``config.neuron.lif_predictive``).

  Attributes:
    eps: c₀ ∈ (0, 1].
    eta: η ≥ 0.
    lam, v_th, rho, spikes, spike_grad, surrogate_slope, use_surrogate: as
      ``OConnor``.
  """

  coding: str = dataclasses.field(default='predictive', init=False)
  noise_bits: int = dataclasses.field(default=32, init=False)
  generator: str = dataclasses.field(default='threefry', init=False)
