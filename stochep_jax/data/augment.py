"""Image augmentation as pure, jit-able JAX functions on ``[B, H, W, C]`` batches.

``key`` is either ONE key (split into one key per example) or a batch of
per-example keys (e.g. ``vmap(fold_in, (None, 0))(key, batch['index'])``, which
makes the augmentation of an example independent of its batch). Both typed
keys (``jax.random.key``) and raw ``uint32`` keys (``jax.random.PRNGKey``) work.
Use different keys for different augmentations (split the key first).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ['random_crop', 'random_flip']


def _example_keys(key: jax.Array, batch: int) -> jax.Array:
  typed = jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
  single = key.ndim == (0 if typed else 1)
  if single:
    return jax.random.split(key, batch)
  if key.shape[0] != batch:
    raise ValueError(f'Got {key.shape[0]} per-example keys for a batch of {batch}.')
  return key


def random_flip(key: jax.Array, images: jax.Array) -> jax.Array:
  """Mirrors each image left-right with probability 1/2.

  Args:
    key: One key or ``[B]`` per-example keys.
    images: ``[B, H, W, C]``.

  Returns:
    Same shape and dtype; example ``b`` is flipped iff its key says so, so
    applying it twice with the same key is the identity.
  """
  keys = _example_keys(key, images.shape[0])
  flip = jax.vmap(jax.random.bernoulli)(keys)
  return jnp.where(flip[:, None, None, None], images[:, :, ::-1, :], images)


def random_crop(key: jax.Array, images: jax.Array, padding: int = 4) -> jax.Array:
  """Zero-pads each image by ``padding`` and crops it back at a random offset.

  Args:
    key: One key or ``[B]`` per-example keys.
    images: ``[B, H, W, C]``.
    padding: Pad width on each side (a static Python int); offsets are
      uniform in ``[0, 2 * padding]`` per axis; 0 is the identity.

  Returns:
    Same shape and dtype as ``images``.
  """
  padding = int(padding)
  if padding < 0:
    raise ValueError(f'padding must be >= 0, got {padding}.')
  b, h, w, c = images.shape
  keys = _example_keys(key, b)
  padded = jnp.pad(images, ((0, 0), (padding, padding), (padding, padding), (0, 0)))

  def crop_one(k: jax.Array, image: jax.Array) -> jax.Array:
    offsets = jax.random.randint(k, (2,), 0, 2 * padding + 1)
    return jax.lax.dynamic_slice(image, (offsets[0], offsets[1], 0), (h, w, c))

  return jax.vmap(crop_one)(keys, padded)
