"""Deterministic rate neurons: the prototypical CRNN and the energy-based Hopfield neuron."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
from flax import struct

from stochep_jax import activations, checks
from stochep_jax.neurons.base import NEURONS, Array, NeuronModel


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

  def __post_init__(self):
    activations.check(type(self).__name__, 'rho', self.rho)

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

  def __post_init__(self):
    checks.number(type(self).__name__, 'dt', self.dt, 0.0, lo_open=True)
    activations.check(type(self).__name__, 'rho', self.rho)

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
