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

from stochep_jax import activations
from stochep_jax import noise as noise_lib
from stochep_jax import registry

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
  u: Array   # membrane potential
  p: Array   # firing probability ρ(κ u)
  s: Array   # last spike (0/1), or p for the mean-field network


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
  """

  decay: float = 0.5
  kappa: float = 1.0
  rho: str = 'hard_sigmoid'
  stochastic: bool = True
  straight_through: bool = False
  noise_bits: int = 32

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
    return noise_lib.uniform(key, shape, self.noise_bits, dtype)

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
