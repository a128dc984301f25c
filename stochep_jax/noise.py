"""Uniform noise for Bernoulli draws, in one place.

A Bernoulli draw ``s ~ Bernoulli(p)`` is ``s = U < p`` with ``U`` uniform on
[0, 1): exactly ``jax.random.bernoulli``. Generating ``U`` dominates the cost of
a stochastic step on CPUs (threefry takes ~10 ns per 32-bit word here), so the
resolution of ``U`` is a documented, configurable choice:

* ``bits=32`` (default): ``jax.random.uniform``; spikes are bit-identical to
  ``jax.random.bernoulli(key, p)``.
* ``bits=8``: one 32-bit word of threefry output gives four uniforms
  ``(k + 0.5) / 256``; the firing probability is effectively quantised to 1/256
  (bias at most 1/512). Four times fewer random words.

Every draw is a pure function of (key, shape, bits).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax import lax

Array = jax.Array

VALID_BITS = (8, 32)


def uniform(key: Array, shape: tuple[int, ...], bits: int = 32, dtype=jnp.float32) -> Array:
  """Uniform noise on [0, 1) of the given shape.

  Args:
    key: a JAX PRNG key (typed or raw).
    shape: output shape.
    bits: resolution of each uniform, 32 or 8 (see module docstring).
    dtype: floating dtype of the result.

  Returns:
    An array of ``shape`` and ``dtype``.
  """
  if bits == 32:
    return jax.random.uniform(key, shape, dtype=dtype)
  if bits == 8:
    n = math.prod(shape)
    words = jax.random.bits(key, ((n + 3) // 4,), dtype=jnp.uint32)
    bytes_ = lax.bitcast_convert_type(words, jnp.uint8).reshape(-1)[:n]
    return ((bytes_.astype(dtype) + 0.5) * (1.0 / 256.0)).reshape(shape)
  raise ValueError(f'bits must be one of {VALID_BITS}, got {bits}')
