"""Spike-coded neurons: [OC19]'s codings and [Lin24]'s Sigma-Delta neuron.

As in docs/model.md, "Neuron models".
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
from flax import struct

from stochep_jax import activations, checks
from stochep_jax import noise as noise_lib
from stochep_jax.neurons.base import NEURONS, Array, NeuronModel, _check_surrogate, spike


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
  """Spiking EP neuron with [OC19]'s encoder/decoder pairs.

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

  Surrogate gradient for BPTT (``surrogate()``; docs/model.md, "Neuron models")
  **[choice]**: the threshold s^t = [h > V_th], h = V^{t-1} + a^t, gets the
  pseudo-derivative ``spike_grad`` (``spike``): by default the straight-through
  ∂s/∂h = 1, so ∂V^t/∂h = 0 and the backward pass is that of the spike-free
  network s^t = a^t (``spikes=False``), evaluated along the spiking trajectory;
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
    own = type(self).__name__
    checks.choice(own, 'coding', self.coding, OC19_CODINGS)
    checks.number(own, 'eps', self.eps, 0.0, 1.0, lo_open=True)
    checks.number(own, 'eta', self.eta, 0.0)
    checks.number(own, 'lam', self.lam, 0.0, 1.0, lo_open=True)
    checks.number(own, 'v_th', self.v_th, 0.0, lo_open=True)
    activations.check(own, 'rho', self.rho)
    checks.choice(own, 'noise_bits', self.noise_bits, noise_lib.BITS_CHOICES)
    checks.choice(own, 'generator', self.generator, noise_lib.GENERATORS)
    checks.boolean(own, 'spikes', self.spikes)
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
  """Sigma-Delta predictive-coding spiking neuron [Lin24, eq. 10].

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
