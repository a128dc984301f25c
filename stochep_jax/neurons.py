"""Neuron models as pure steps over typed pytrees (SPEC 3).

A neuron model is a frozen (hashable) dataclass of hyperparameters with

* ``init_state(shape, dtype) -> state``: the zero state (a pytree);
* ``output(state) -> array``: what neighbours see (a state value or a spike);
* ``mean(state) -> array``: the expected output; the cost gradient of the
  nudge is evaluated here (the firing probability for StochEP, SPEC 3.2);
* ``noise(key, shape, dtype) -> array | None``: the randomness one step needs;
* ``update(state, current, noise) -> (state, output)``: the deterministic part;
* ``step(state, current, key) -> (state, output)``: ``update`` with
  ``noise(key, ...)``: the pure step of the model.

Splitting ``step`` into ``noise`` and ``update`` lets ``dynamics.py`` draw a
chunk of steps' noise at once (one big, vectorised RNG call) while producing
exactly the spikes that step-by-step drawing produces.

Models are registered by name in ``NEURONS`` (``NEURONS.make('stochep', decay=0.9)``).

A neuron knows nothing about layers or batches: every operation is elementwise
over whatever shape ``current`` has. ``dt`` is the model's state step size
(1 for discrete maps); the GDU check divides state updates by it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from stochep_jax import activations, registry
from stochep_jax import noise as noise_lib

Array = jax.Array
State = Any

NEURONS = registry.Registry('neuron model')


class NeuronModel:
  """Shared behaviour of the neuron models (see the module docstring)."""

  dt: float = 1.0

  def noise(self, key: Array, shape: tuple[int, ...], dtype=jnp.float32) -> Array | None:
    del key, shape, dtype
    return None

  def step(self, state: State, current: Array, key: Array | None = None):
    """One pure step: ``(state, current, key) -> (state, output)``."""
    n = None if key is None else self.noise(key, current.shape, current.dtype)
    return self.update(state, current, n)


# --------------------------------------------------------------------------
# Deterministic CRNN
# --------------------------------------------------------------------------
@struct.dataclass
class CRNNState:
  s: Array


@NEURONS.register('crnn')
@dataclasses.dataclass(frozen=True)
class CRNN(NeuronModel):
  """Prototypical convergent RNN neuron [Ern19, Lab21].

      s^t = ρ(I^t),   I^t = ∂Φ/∂s (s^{t-1}) − β ∂C/∂s (s^{t-1})

  Attributes:
    rho: activation name (see ``activations.get``).
  """

  rho: str = 'hard_sigmoid'

  def init_state(self, shape, dtype=jnp.float32):
    return CRNNState(jnp.zeros(shape, dtype))

  def output(self, state):
    return state.s

  def mean(self, state):
    return state.s

  def update(self, state, current, noise=None):
    del state, noise
    s = activations.get(self.rho)(current)
    return CRNNState(s), s


# --------------------------------------------------------------------------
# Continuous-time Hopfield neuron (the energy-based setting of [Ern19])
# --------------------------------------------------------------------------
@struct.dataclass
class HopfieldState:
  s: Array


@NEURONS.register('hopfield')
@dataclasses.dataclass(frozen=True)
class Hopfield(NeuronModel):
  """Continuous-time Hopfield neuron, Euler step of size ``dt``.

      s^t = s^{t-1} + dt (−s^{t-1} + ρ'(s^{t-1}) ⊙ I^t),   output ρ(s^t)

  with I^t the current computed at the neighbours' outputs ρ(s^{t-1}). With
  E = ½‖s‖² − Φ(ρ(s)) this is gradient descent on E (plus β·C when nudged),
  so the dynamics derive from a scalar function and EP's step-by-step
  updates equal BPTT's gradients as β → 0 (the energy-based GDU setting).

  Attributes:
    dt: Euler step ε.
    rho: activation name.
  """

  dt: float = 0.2
  rho: str = 'logistic'

  def init_state(self, shape, dtype=jnp.float32):
    return HopfieldState(jnp.zeros(shape, dtype))

  def output(self, state):
    return activations.get(self.rho)(state.s)

  def mean(self, state):
    return self.output(state)

  def update(self, state, current, noise=None):
    del noise
    rho = activations.get(self.rho)
    s = state.s + self.dt * (-state.s + rho.grad(state.s) * current)
    return HopfieldState(s), rho(s)


# --------------------------------------------------------------------------
# StochEP stochastic spiking neuron
# --------------------------------------------------------------------------
@struct.dataclass
class StochEPState:
  u: Array  # membrane potential
  p: Array  # firing probability ρ(κ u)
  s: Array  # last spike (0/1), or p for the mean-field network


@NEURONS.register('stochep')
@dataclasses.dataclass(frozen=True)
class StochEP(NeuronModel):
  """StochEP probabilistic spiking neuron [StochEP], our discrete form.

      u^t = λ u^{t-1} + (1 − λ) I^t
      p^t = ρ(κ u^t)
      s^t ~ Bernoulli(p^t)      (s^t = [U^t < p^t], U^t uniform)

  I^t is computed from the neighbours' spikes s^{t-1}; the nudge term
  −β ∂C/∂s_L is evaluated at the output probabilities p^{t-1} (``mean``).
  With independence across neurons E[s] = p and, Φ being multilinear without
  self-interaction, E[I(s)] = I(p): for λ → 1 the mean rates satisfy the
  deterministic fixed point p* = ρ(κ I(p*)).

  Attributes:
    decay: λ ∈ [0, 1).
    kappa: κ > 0, the firing-probability scale.
    rho: activation name.
    stochastic: False gives the deterministic mean-field network (s = p).
    straight_through: use s = p + stop_gradient(spike − p), so ∂s/∂p = 1
      (the surrogate of SNN BPTT, SPEC 5). Forward values then equal the
      spikes only up to float rounding; leave False for EP.
    noise_bits: resolution of the uniforms (``noise.uniform``): 32 or 8.
    generator: the uniforms' generator (``noise.uniform``): ``'threefry'``
      (``jax.random``) or ``'hash'`` (a keyed integer hash, several times cheaper).
  """

  decay: float = 0.5
  kappa: float = 1.0
  rho: str = 'hard_sigmoid'
  stochastic: bool = True
  straight_through: bool = False
  noise_bits: int = 32
  generator: str = 'threefry'

  def __post_init__(self):
    if not 0.0 <= self.decay < 1.0:
      raise ValueError(f'decay must be in [0, 1), got {self.decay}')
    if self.kappa <= 0:
      raise ValueError(f'kappa must be > 0, got {self.kappa}')

  def init_state(self, shape, dtype=jnp.float32):
    z = jnp.zeros(shape, dtype)
    p = activations.get(self.rho)(self.kappa * z)
    return StochEPState(u=z, p=p, s=z if self.stochastic else p)

  def output(self, state):
    return state.s

  def mean(self, state):
    return state.p

  def noise(self, key, shape, dtype=jnp.float32):
    if not self.stochastic:
      return None
    return noise_lib.uniform(key, shape, self.noise_bits, dtype, self.generator)

  def update(self, state, current, noise=None):
    u = self.decay * state.u + (1.0 - self.decay) * current
    p = activations.get(self.rho)(self.kappa * u)
    if not self.stochastic:
      s = p
    else:
      s = (noise < p).astype(p.dtype)
      if self.straight_through:
        s = p + jax.lax.stop_gradient(s - p)
    return StochEPState(u=u, p=p, s=s), s


# --------------------------------------------------------------------------
# Spike-coded neurons: [OC19]'s encoders and [Lin24]'s Sigma-Delta neuron
# --------------------------------------------------------------------------
@struct.dataclass
class SpikeCodedState:
  d: Array  # decoded current d^t
  xi: Array  # internal state ξ^t; the value the spikes encode is ρ(ξ^t)
  v: Array  # Σ-Δ integrator V^t (unused by the stochastic encoder)
  s: Array  # last spike s^t (0/1)
  t: Array  # steps taken since the zero state (a scalar), for ε_t


OC19_ENCODERS = ('stochastic', 'sigma_delta', 'predictive')


@NEURONS.register('oconnor')
@dataclasses.dataclass(frozen=True)
class OConnor(NeuronModel):
  """Spiking EP neuron with [OC19]'s encoder/decoder pairs (SPEC 3.4).

  The neuron keeps an analog state ξ (a discretised continuous-time Hopfield
  neuron) and sends it to its neighbours as 0/1 spikes through an encoder;
  the receiving side decodes. With I^t = ∂Φ/∂s computed from the
  neighbours' spikes s^{t-1} (and β's nudging force on the output layer):

      d^t = DEC(I^t)                                           decoded current
      ξ^t = ρ((1 − ε_t) ξ^{t-1} + ε_t ρ'(ξ^{t-1}) d^t),      ε_t = ε / t^η
      s^t = ENC(ρ(ξ^t))

  Encoders (``encoder``):

  * ``'stochastic'``: s^t ~ Bernoulli(ρ(ξ^t)), identity decoder d^t = I^t.
    The spikes are unbiased but noisy; [OC19] anneal the step, ε_t = c₀/t^η
    with η ∈ (½, 1), so that ξ converges (stochastic approximation).
  * ``'sigma_delta'``: a^t = ρ(ξ^t) is Σ-Δ modulated,
    s^t = [V^{t-1} + a^t > V_th], V^t = V^{t-1} + a^t − s^t; identity decoder.
  * ``'predictive'``: the encoder sends the prediction error
    a^t = (ρ(ξ^t) − (1 − λ) ρ(ξ^{t-1}))/λ, Σ-Δ modulated as above; the
    decoder is the low-pass d^t = (1 − λ) d^{t-1} + λ I^t, which rebuilds
    ρ(ξ^t) exactly from the a^t and to within the Σ-Δ error from the spikes.

  Decoding happens on the current: the decoders are linear and every current
  is linear in the neighbours' spikes, so DEC(W s) = W DEC(s) and a neuron
  needs no per-synapse state (it still knows nothing about layers). What the
  low-pass also filters: the bias b (inside I, so d → b within a few steps),
  the static input drive and the nudging force.

  The fixed point is the CRNN's: with ρ the hard sigmoid (ρ' = 1 on [0, 1]),
  ξ* = ρ(I(ρ(ξ*))). EP's rates are the spikes averaged over the last k_avg
  steps (``rate='output'``) or ρ(ξ) (``rate='mean'``, ``mean``); the nudging
  force is evaluated at ρ(ξ_L).

  t counts the steps since the zero state (a scalar in the state), so the
  nudged phases continue the free phase's schedule **[choice]**.

  Attributes:
    encoder: ``'stochastic'``, ``'sigma_delta'`` or ``'predictive'``.
    eps: ε (= c₀ when annealed), the state's step, in (0, 1].
    eta: η, the annealing exponent; 0 keeps ε_t = ε.
    lam: λ ∈ (0, 1], the predictive coder's and decoder's constant.
    v_th: V_th, the Σ-Δ threshold (0.5 rounds: V stays in (−½, ½] when the
      encoded value is in [0, 1]).
    rho: activation name.
    noise_bits: resolution of the stochastic encoder's uniforms.
    generator: their generator (``noise.uniform``): ``'threefry'`` or ``'hash'``.
  """

  encoder: str = 'stochastic'
  eps: float = 0.5
  eta: float = 0.75
  lam: float = 0.6
  v_th: float = 0.5
  rho: str = 'hard_sigmoid'
  noise_bits: int = 32
  generator: str = 'threefry'

  def __post_init__(self):
    if self.encoder not in OC19_ENCODERS:
      raise ValueError(f'encoder must be one of {OC19_ENCODERS}, got {self.encoder!r}')
    if not 0.0 < self.eps <= 1.0:
      raise ValueError(f'eps must be in (0, 1], got {self.eps}')
    if not 0.0 < self.lam <= 1.0:
      raise ValueError(f'lam must be in (0, 1], got {self.lam}')
    if self.eta < 0:
      raise ValueError(f'eta must be >= 0, got {self.eta}')

  def init_state(self, shape, dtype=jnp.float32):
    z = jnp.zeros(shape, dtype)
    return SpikeCodedState(d=z, xi=z, v=z, s=z, t=jnp.zeros((), dtype))

  def output(self, state):
    return state.s

  def mean(self, state):
    return activations.get(self.rho)(state.xi)

  def noise(self, key, shape, dtype=jnp.float32):
    if self.encoder != 'stochastic':
      return None
    return noise_lib.uniform(key, shape, self.noise_bits, dtype, self.generator)

  def update(self, state, current, noise=None):
    rho = activations.get(self.rho)
    t = state.t + 1
    eps = self.eps * t**-self.eta if self.eta else self.eps
    if self.encoder == 'predictive':
      d = (1.0 - self.lam) * state.d + self.lam * current
    else:
      d = current
    xi = rho((1.0 - eps) * state.xi + eps * rho.grad(state.xi) * d)
    r = rho(xi)
    if self.encoder == 'stochastic':
      s, v = (noise < r).astype(r.dtype), state.v
    else:
      a = (
        r if self.encoder == 'sigma_delta' else ((r - (1.0 - self.lam) * rho(state.xi)) / self.lam)
      )
      s = (state.v + a > self.v_th).astype(r.dtype)
      v = state.v + a - s
    return SpikeCodedState(d=d, xi=xi, v=v, s=s, t=t), s


@NEURONS.register('sigma_delta')
@dataclasses.dataclass(frozen=True)
class SigmaDelta(OConnor):
  """Sigma-Delta predictive-coding spiking neuron [Lin24, eq. 10] (SPEC 3.3).

  Per layer n, with φ(s, t, n) the weighted sum of the neighbours' spikes at
  t − 1 (forward through the pooling, backward through its inverse):

      d^t = (1 − λ) d^{t-1} + λ φ(s, t, n)
      ξ^t = ρ((1 − ε) ξ^{t-1} + ε ρ'(ξ^{t-1}) (d^t + b))
      e^t = (ρ(ξ^t) − (1 − λ) ρ(ξ^{t-1})) / λ
      s^t = [V^{t-1} + e^t > V_th]
      V^t = V^{t-1} + e^t − s^t

  Here the current I = ∂Φ/∂s already contains the bias b (Φ has
  ⟨W s + b, s_n⟩), so d^t low-passes φ + b: ``d`` then equals [Lin24]'s
  d^t + b up to a transient (1 − λ)^t b. This is ``OConnor`` with the
  predictive encoder and a constant step (η = 0). [Lin24] Table I: λ 0.6,
  ε 0.9 (MNIST) / 1.0 (Fashion-MNIST).

  Attributes:
    eps: ε ∈ (0, 1].
    lam: λ ∈ (0, 1].
    v_th: V_th (default 0.5 **[choice]**: the value [Lin24] leave open;
      0.5 rounds the encoded error).
    rho: activation name.
  """

  encoder: str = dataclasses.field(default='predictive', init=False)
  eps: float = 1.0
  eta: float = dataclasses.field(default=0.0, init=False)
  lam: float = 0.6
  noise_bits: int = dataclasses.field(default=32, init=False)
