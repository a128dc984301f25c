"""Connections F_ℓ between consecutive layers: parameter init and apply.

A connection maps the (batched) state of layer ℓ-1 to the *forward input* of
layer ℓ. Φ (``energy.py``) sums ⟨F_ℓ(s_{ℓ-1}), s_ℓ⟩ over connections; every
backward current and every weight update is then a ``jax.grad`` of Φ, so a
connection only has to implement its forward map. SPEC 1:

* dense: F(s) = W vec(s) + b  (a conv layer's output is flattened first).

A connection is a frozen dataclass (hashable, so it can sit in static jit
arguments) with:

* ``out_shape(in_shape) -> tuple``: per-example output shape;
* ``init(key, in_shape, dtype) -> params`` (a dict pytree);
* ``apply(params, s) -> array``: batched, ``s`` has shape ``[B, *in_shape]``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Protocol

import jax
import jax.numpy as jnp
from flax.linen import initializers

Array = jax.Array
Params = Any


class Connection(Protocol):
  """The interface every connection implements."""

  def out_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]:
    ...

  def init(self, key: Array, in_shape: tuple[int, ...], dtype=jnp.float32) -> Params:
    ...

  def apply(self, params: Params, s: Array) -> Array:
    ...


def torch_default_init(scale: float = 1.0):
  """U(-scale/√fan_in, scale/√fan_in): PyTorch's default, used by most EP code."""
  return initializers.variance_scaling(scale**2 / 3.0, 'fan_in', 'uniform')


@dataclasses.dataclass(frozen=True)
class Dense:
  """Dense connection F(s) = vec(s) W + b.

  Attributes:
    features: number of output units.
    use_bias: whether b is present.
    init_scale: weights and biases are U(-a, a) with a = init_scale/√fan_in.
  """

  features: int
  use_bias: bool = True
  init_scale: float = 1.0

  def out_shape(self, in_shape):
    return (self.features,)

  def init(self, key, in_shape, dtype=jnp.float32):
    fan_in = math.prod(in_shape)
    kw, kb = jax.random.split(key)
    params = {'w': torch_default_init(self.init_scale)(kw, (fan_in, self.features), dtype)}
    if self.use_bias:
      bound = self.init_scale / math.sqrt(fan_in)
      params['b'] = jax.random.uniform(kb, (self.features,), dtype, -bound, bound)
    return params

  def apply(self, params, s):
    s = s.reshape(s.shape[0], -1)
    y = s @ params['w']
    if self.use_bias:
      y = y + params['b']
    return y
