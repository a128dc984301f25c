"""The neuron protocol (``NeuronModel``), the registry ``NEURONS`` and the spike helper."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from stochep_jax import checks, registry

Array = jax.Array
State = Any

NEURONS = registry.Registry('neuron model')


SPIKE_GRADS = ('straight_through', 'fast_sigmoid')


def _check_surrogate(model) -> None:
  own = type(model).__name__
  checks.choice(own, 'spike_grad', model.spike_grad, SPIKE_GRADS)
  checks.number(own, 'surrogate_slope', model.surrogate_slope, 0.0, lo_open=True)
  checks.boolean(own, 'use_surrogate', model.use_surrogate)


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
