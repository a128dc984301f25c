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

and the protocol every model answers for itself (defaults on ``NeuronModel``):

* ``stochastic``: whether ``step`` draws noise (``noise`` returns an array);
* ``mean_field() -> model``: the deterministic counterpart (StochEP with
  s = p; a deterministic model returns itself);
* ``surrogate() -> model``: the model BPTT differentiates (SPEC 5): the same
  forward pass with a pseudo-derivative for its spikes (``spike``); a model
  whose step is already differentiable returns itself, a stochastic model
  without one raises ValueError;
* ``membrane(state) -> array``: the state value called its membrane
  potential, which ``stability`` measures.

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


SPIKE_GRADS = ('straight_through', 'fast_sigmoid')


def _check_surrogate(model) -> None:
  if model.spike_grad not in SPIKE_GRADS:
    raise ValueError(f'spike_grad must be one of {SPIKE_GRADS}, got {model.spike_grad!r}')
  if model.surrogate_slope <= 0:
    raise ValueError(f'surrogate_slope must be > 0, got {model.surrogate_slope}')


def _smooth(z: Array, grad: str, slope: float) -> Array:
  """g(z) whose derivative is the pseudo-derivative (see ``spike``)."""
  if grad == 'straight_through':
    return z
  return z / (1.0 + slope * jnp.abs(z))


def spike(hard: Array, z: Array, grad: str | None = None, slope: float = 5.0) -> Array:
  """A 0/1 spike with an optional pseudo-derivative in the backward pass.

  The forward value is ``hard`` exactly (``hard + (g(z) − stop_gradient(g(z)))``
  adds an exact 0); the backward pass gets ∂s/∂z = g'(z), with z the distance
  of the spiking variable above its threshold (``hard = [z > 0]``):

  * ``'straight_through'``: g(z) = z, ∂s/∂z = 1;
  * ``'fast_sigmoid'`` (SuperSpike, Zenke & Ganguli 2018): g(z) = z/(1 + k|z|),
    ∂s/∂z = 1/(1 + k|z|)², k = ``slope``, peak 1 at the threshold;
  * None: no gradient (a comparison), what EP runs.

  Args:
    hard: the spikes, 0/1.
    z: the value whose sign decides them.
    grad: None or one of ``SPIKE_GRADS``.
    slope: k of the fast sigmoid.
  """
  if grad is None:
    return hard
  g = _smooth(z, grad, slope)
  return hard + (g - jax.lax.stop_gradient(g))


class NeuronModel:
  """Shared behaviour of the neuron models (see the module docstring).

  The protocol's defaults describe a deterministic model whose step is
  differentiable as it stands (CRNN, Hopfield).
  """

  dt: float = 1.0
  stochastic: bool = False

  def mean_field(self):
    """The deterministic counterpart: ``self`` for a deterministic model."""
    if self.stochastic:
      raise ValueError(f'neuron model {type(self).__name__} is stochastic and has no mean_field()')
    return self

  def surrogate(self):
    """The model BPTT differentiates: ``self`` for a differentiable model."""
    if self.stochastic:
      raise ValueError(
        f'BPTT cannot differentiate neuron model {type(self).__name__}: it is stochastic'
        ' and defines no surrogate()'
      )
    return self

  def membrane(self, state: State) -> Array:
    """The state value called the membrane potential (``stability``)."""
    del state
    raise NotImplementedError(f'neuron model {type(self).__name__} names no membrane(state)')

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

  def membrane(self, state):
    """s: the CRNN keeps no membrane apart from its state ρ(I)."""
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

  def membrane(self, state):
    """s, the state before ρ."""
    return state.s

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
    straight_through: ∂s/∂p = 1 in the backward pass (the surrogate of SNN
      BPTT, SPEC 5; ``spike``), forward values exactly the spikes; set by
      ``surrogate()``, leave False for EP.
    noise_bits: resolution of the uniforms (``noise.uniform``): 32 or 8.
    generator: the uniforms' generator (``noise.uniform``): ``'threefry'``
      (``jax.random``) or ``'hash'`` (a keyed integer hash, several times cheaper).

  Protocol: ``stochastic`` is the field; ``mean_field()`` sets it False;
  ``surrogate()`` sets ``straight_through``; ``membrane`` is u (p = ρ(κu) is
  its image, the firing probability).
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

  def membrane(self, state):
    return state.u

  def mean_field(self):
    if not self.stochastic:
      return self
    return dataclasses.replace(self, stochastic=False, straight_through=False)

  def surrogate(self):
    if not self.stochastic:
      return self
    return dataclasses.replace(self, straight_through=True)

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
      grad = 'straight_through' if self.straight_through else None
      s = spike((noise < p).astype(p.dtype), p - noise, grad)
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


OC19_CODINGS = ('stochastic', 'sigma_delta', 'predictive')


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

  Spike codings (``coding``):

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

  Surrogate gradient for BPTT (``surrogate()``, SPEC 5) **[choice]**: the
  threshold s^t = [h > V_th], h = V^{t-1} + a^t, gets the pseudo-derivative
  ``spike_grad`` (``spike``): by default the straight-through ∂s/∂h = 1, so
  ∂V^t/∂h = 0 and the backward pass is that of the spike-free network
  s^t = a^t (``spikes=False``), evaluated along the spiking trajectory;
  ``'fast_sigmoid'`` gives ∂s/∂h = 1/(1 + k|h − V_th|)² instead. The
  stochastic encoder's draw [U^t < ρ(ξ^t)] gets the same pseudo-derivative
  of ρ(ξ^t) − U^t (straight-through: ∂s/∂ρ(ξ) = 1, StochEP's surrogate).

  Protocol: ``stochastic`` is True for the stochastic encoder (with spikes);
  its ``mean_field()`` sends ρ(ξ) itself (``spikes=False``: E[s] = ρ(ξ), the
  real-valued network of [OC19]); the Σ-Δ encoders are deterministic and are
  their own mean field. ``membrane`` is ξ **[choice]**: the state the neuron
  integrates; the Σ-Δ integrator V is the encoder's residual, bounded and
  cycling by construction even when ξ has converged.

  Attributes:
    coding: ``'stochastic'``, ``'sigma_delta'`` or ``'predictive'`` (how ξ becomes
      spikes; named so as not to be confused with the input encoders of ``inputs``).
    eps: ε (= c₀ when annealed), the state's step, in (0, 1].
    eta: η, the annealing exponent; 0 keeps ε_t = ε.
    lam: λ ∈ (0, 1], the predictive coder's and decoder's constant.
    v_th: V_th, the Σ-Δ threshold (0.5 rounds: V stays in (−½, ½] when the
      encoded value is in [0, 1]).
    rho: activation name.
    noise_bits: resolution of the stochastic encoder's uniforms.
    generator: their generator (``noise.uniform``): ``'threefry'`` or ``'hash'``.
    spikes: False sends the encoded value (ρ(ξ^t), or a^t for the Σ-Δ
      encoders) instead of 0/1 spikes: the spike-free counterpart.
    spike_grad: the pseudo-derivative, one of ``SPIKE_GRADS``
      (default ``'straight_through'`` **[choice]**).
    surrogate_slope: k of ``'fast_sigmoid'`` (default 5 **[choice]**).
    use_surrogate: the backward pass uses ``spike_grad`` (set by
      ``surrogate()``; False, the default, gives spikes no gradient).
  """

  coding: str = 'stochastic'
  eps: float = 0.5
  eta: float = 0.75
  lam: float = 0.6
  v_th: float = 0.5
  rho: str = 'hard_sigmoid'
  noise_bits: int = 32
  generator: str = 'threefry'
  spikes: bool = True
  spike_grad: str = 'straight_through'
  surrogate_slope: float = 5.0
  use_surrogate: bool = False

  def __post_init__(self):
    if self.coding not in OC19_CODINGS:
      raise ValueError(f'coding must be one of {OC19_CODINGS}, got {self.coding!r}')
    if not 0.0 < self.eps <= 1.0:
      raise ValueError(f'eps must be in (0, 1], got {self.eps}')
    if not 0.0 < self.lam <= 1.0:
      raise ValueError(f'lam must be in (0, 1], got {self.lam}')
    if self.eta < 0:
      raise ValueError(f'eta must be >= 0, got {self.eta}')
    _check_surrogate(self)

  @property
  def stochastic(self) -> bool:
    return self.coding == 'stochastic' and self.spikes

  def mean_field(self):
    return dataclasses.replace(self, spikes=False) if self.stochastic else self

  def surrogate(self):
    return dataclasses.replace(self, use_surrogate=True) if self.spikes else self

  def membrane(self, state):
    return state.xi

  def init_state(self, shape, dtype=jnp.float32):
    z = jnp.zeros(shape, dtype)
    return SpikeCodedState(d=z, xi=z, v=z, s=z, t=jnp.zeros((), dtype))

  def output(self, state):
    return state.s

  def mean(self, state):
    return activations.get(self.rho)(state.xi)

  def noise(self, key, shape, dtype=jnp.float32):
    if not self.stochastic:
      return None
    return noise_lib.uniform(key, shape, self.noise_bits, dtype, self.generator)

  def update(self, state, current, noise=None):
    rho = activations.get(self.rho)
    t = state.t + 1
    eps = self.eps * t**-self.eta if self.eta else self.eps
    if self.coding == 'predictive':
      d = (1.0 - self.lam) * state.d + self.lam * current
    else:
      d = current
    xi = rho((1.0 - eps) * state.xi + eps * rho.grad(state.xi) * d)
    r = rho(xi)
    grad = self.spike_grad if self.use_surrogate else None
    if self.coding == 'stochastic':
      v = state.v
      s = r
      if self.spikes:
        s = spike((noise < r).astype(r.dtype), r - noise, grad, self.surrogate_slope)
    else:
      a = r if self.coding == 'sigma_delta' else ((r - (1.0 - self.lam) * rho(state.xi)) / self.lam)
      h = state.v + a
      if self.spikes:
        s = spike((h > self.v_th).astype(r.dtype), h - self.v_th, grad, self.surrogate_slope)
      else:
        s = a
      v = h - s
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
    spikes, spike_grad, surrogate_slope, use_surrogate: as ``OConnor``
      (BPTT's surrogate gradient of the threshold: straight-through by
      default **[choice]**).
  """

  coding: str = dataclasses.field(default='predictive', init=False)
  eps: float = 1.0
  eta: float = dataclasses.field(default=0.0, init=False)
  lam: float = 0.6
  noise_bits: int = dataclasses.field(default=32, init=False)
  generator: str = dataclasses.field(default='threefry', init=False)


# --------------------------------------------------------------------------
# Deterministic LIF baselines of [StochEP] Fig. 3 (SPEC 7)
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
  """LIF neuron with a low-pass spike trace, after EqSpike (SPEC 7 (b)).

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
    if not 0.0 <= self.decay < 1.0:
      raise ValueError(f'decay must be in [0, 1), got {self.decay}')
    if not 0.0 <= self.gamma < 1.0:
      raise ValueError(f'gamma must be in [0, 1), got {self.gamma}')
    if self.v_th <= 0:
      raise ValueError(f'v_th must be > 0, got {self.v_th}')
    if not 0.0 < self.eps <= 1.0:
      raise ValueError(f'eps must be in (0, 1], got {self.eps}')
    if self.eta < 0:
      raise ValueError(f'eta must be >= 0, got {self.eta}')
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
  """``LIFLowPass`` with the annealed step on the membrane update (SPEC 7 (d)).

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
  """LIF with predictive coding and the annealed step (SPEC 7 (c)).

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
