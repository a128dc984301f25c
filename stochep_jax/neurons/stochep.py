"""The StochEP stochastic spiking neuron [StochEP] (docs/model.md, "Neuron models")."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
from flax import struct

from stochep_jax import activations, checks
from stochep_jax import noise as noise_lib
from stochep_jax.neurons.base import NEURONS, Array, NeuronModel, spike


# --------------------------------------------------------------------------
# StochEP stochastic spiking neuron
# --------------------------------------------------------------------------
@struct.dataclass
class StochEPState:
  """u and the last output; the firing probability p = ρ(κ u) is ``StochEP.mean``."""

  u: Array  # membrane potential
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
      BPTT; ``spike``), forward values exactly the spikes; set by
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
    own = type(self).__name__
    checks.number(own, 'decay', self.decay, 0.0, 1.0, hi_open=True)
    checks.number(own, 'kappa', self.kappa, 0.0, lo_open=True)
    activations.check(own, 'rho', self.rho)
    checks.boolean(own, 'stochastic', self.stochastic)
    checks.boolean(own, 'straight_through', self.straight_through)
    checks.choice(own, 'noise_bits', self.noise_bits, noise_lib.BITS_CHOICES)
    checks.choice(own, 'generator', self.generator, noise_lib.GENERATORS)

  def init_state(self, shape, dtype=jnp.float32):
    z = jnp.zeros(shape, dtype)
    return StochEPState(u=z, s=z if self.stochastic else self._p(z))

  def output(self, state):
    return state.s

  def _p(self, u):
    return activations.get(self.rho)(self.kappa * u)

  def mean(self, state):
    """The firing probability p = ρ(κ u) (recomputed from u: a state need not store it)."""
    return self._p(state.u)

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
    p = self._p(u)
    if not self.stochastic:
      s = p
    else:
      grad = 'straight_through' if self.straight_through else None
      s = spike((noise < p).astype(p.dtype), p - noise, grad)
    return StochEPState(u=u, s=s), s
