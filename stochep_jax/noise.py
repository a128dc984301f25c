"""Uniform noise for Bernoulli draws, in one place.

A Bernoulli draw ``s ~ Bernoulli(p)`` is ``s = U < p`` with ``U`` uniform on
[0, 1): exactly ``jax.random.bernoulli``. Generating ``U`` dominates the cost of
a stochastic step on CPUs, so two things are documented, configurable choices:

Resolution (``bits``):

* ``bits=32`` (default): with ``generator='threefry'``, ``jax.random.uniform``
  (the top 23 bits of a word); spikes are bit-identical to
  ``jax.random.bernoulli(key, p)``. With ``'hash'``, ``U = ⌊w / 2^8⌋ · 2^-24``
  (the top 24 bits; for bfloat16 the top 8), exactly representable, < 1.
* ``bits=8``: one 32-bit word gives four uniforms ``U = (k + 0.5) / 256``,
  ``k`` a byte. ``U < p`` then is exactly Bernoulli(q(p)) with
  q(p) = #{k : k + 0.5 < 256 p} / 256 = ⌈256 p − ½⌉ / 256 (clipped to [0, 1]),
  p rounded to the 1/256 grid: |q − p| ≤ 1/512. Four times fewer words.

Generator (``generator``) of the 32-bit words, both counter-based: word j of a
draw is a pure function of (key, j), so a draw depends on its key and shape
only, never on the batch, the chunk or the device it is computed in:

* ``'threefry'``: ``jax.random.bits`` (Threefry-2x32, 20 rounds [Sal11]).
* ``'hash'`` **[choice]**: a keyed integer hash of the word index ``j``,
  two rounds of MurmurHash3's 32-bit finalizer ``fmix32`` with the key's two
  words injected before each round (``hash32``)::

      h = fmix32(fmix32(j · φ + k₀) ⊕ k₁),   φ = 0x9E3779B9

  about 18 integer operations per word against Threefry's ~60. Measured on
  our 2-core CPU (``experiments/noise_speed.py``, interleaved in one
  process): 28-38× threefry's uniforms per second, and the demo's StochEP
  train step 2.6-2.8× faster than with threefry at 32 bits (1.5-1.8×
  faster than threefry at 8 bits). On GPUs it is plausibly faster too (fewer
  operations, fused elementwise), not measured here. With ``'hash'``, 8-bit
  packing is slower than 32 bits on CPU (unpacking bytes costs more than the
  hashing it saves), so ``bits=32`` is both the exact and the fast choice;
  an integer threshold ``w >> 8 < ⌈p · 2^24⌉`` gives the same decisions as
  ``U < p`` and measured only ~1.1× faster, so the float form is kept.
  For a fixed key it is a
  bijection of ``j`` (no repeated words within a draw); across keys, the
  keys themselves come from Threefry's ``fold_in`` (per example, step and
  layer, see ``dynamics``), so different draws use unrelated (k₀, k₁). It is
  not a cryptographic generator; ``tests/test_noise.py`` checks uniformity,
  Bernoulli means and correlations across neurons, steps and examples at the
  sample sizes a training run draws.

XLA's ``RngBitGenerator`` (``jax.random.key(seed, impl='rbg')`` or
``'unsafe_rbg'``) is not offered: under ``vmap`` it draws every example's bits
from the first key of the batch (its batching rule), so an example's spikes
would depend on its batch; and on CPU even one unbatched draw measured 0.24×
threefry's uniforms per second.

Every draw is a pure function of (key, shape, bits, generator): the randomness
of one step, as ``dynamics`` requires (a chunk of steps drawn at once equals
drawing them step by step).

References:
  [Sal11] Salmon, Moraes, Dror, Shaw, *Parallel random numbers: as easy as
  1, 2, 3* (SC 2011). MurmurHash3: Appleby (2011), public domain.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from stochep_jax import checks

Array = jax.Array

VALID_BITS = (8, 32)
BITS_CHOICES = (32, 8)  # the same, default first (for messages)
GENERATORS = ('threefry', 'hash')

_GOLDEN = np.uint32(0x9E3779B9)  # 2^32 / φ, odd: j ↦ j·φ is a bijection
_M1, _M2 = np.uint32(0x85EBCA6B), np.uint32(0xC2B2AE35)  # MurmurHash3 fmix32


def fmix32(x: Array) -> Array:
  """MurmurHash3's 32-bit finalizer (a bijection of uint32 with full avalanche)."""
  x = x ^ (x >> 16)
  x = x * _M1
  x = x ^ (x >> 13)
  x = x * _M2
  return x ^ (x >> 16)


def hash32(k0: Array, k1: Array, counter: Array) -> Array:
  """The ``'hash'`` generator's word: ``fmix32(fmix32(counter·φ + k0) ⊕ k1)``, uint32."""
  return fmix32(fmix32(counter * _GOLDEN + k0) ^ k1)


def _key_words(key: Array) -> tuple[Array, Array]:
  """Two uint32 words of a key's data (typed or raw; longer keys are xor-folded)."""
  if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
    key = jax.random.key_data(key)
  data = key.reshape(-1).astype(jnp.uint32)
  if data.shape[0] % 2:
    data = jnp.concatenate([data, jnp.zeros((1,), jnp.uint32)])
  pairs = data.reshape(-1, 2)
  k0, k1 = pairs[0, 0], pairs[0, 1]
  for i in range(1, pairs.shape[0]):
    k0, k1 = k0 ^ pairs[i, 0], k1 ^ pairs[i, 1]
  return k0, k1


def random_bits(key: Array, n: int, generator: str = 'threefry') -> Array:
  """``n`` random 32-bit words (uint32 [n]) from ``key``."""
  if generator == 'threefry':
    return jax.random.bits(key, (n,), dtype=jnp.uint32)
  if generator == 'hash':
    k0, k1 = _key_words(key)
    return hash32(k0, k1, lax.iota(jnp.uint32, n))
  checks.fail(
    'noise.random_bits', 'generator', generator, f'must be {checks.alternatives(GENERATORS)}'
  )


def uniform(
  key: Array, shape: tuple[int, ...], bits: int = 32, dtype=jnp.float32, generator: str = 'threefry'
) -> Array:
  """Uniform noise on [0, 1) of the given shape.

  Args:
    key: a JAX PRNG key (typed or raw).
    shape: output shape.
    bits: resolution of each uniform, 32 or 8 (see module docstring).
    dtype: floating dtype of the result.
    generator: ``'threefry'`` or ``'hash'`` (see module docstring).

  Returns:
    An array of ``shape`` and ``dtype``.
  """
  checks.choice('noise.uniform', 'bits', bits, BITS_CHOICES)
  checks.choice('noise.uniform', 'generator', generator, GENERATORS)
  n = math.prod(shape)
  if bits == 32:
    if generator == 'threefry':
      return jax.random.uniform(key, shape, dtype=dtype)
    # U = ⌊w / 2^(32-m)⌋ · 2^-m with m = min(mantissa + 1, 32): exact in ``dtype``, < 1.
    m = min(jnp.finfo(dtype).nmant + 1, 32)
    words = random_bits(key, n, generator) >> np.uint32(32 - m)
    return (words.astype(dtype) * (2.0**-m)).reshape(shape)
  words = random_bits(key, (n + 3) // 4, generator)
  bytes_ = lax.bitcast_convert_type(words, jnp.uint8).reshape(-1)[:n]
  return ((bytes_.astype(dtype) + 0.5) * (1.0 / 256.0)).reshape(shape)
