"""Pooling for conv connections (NHWC, F×F windows with stride F, trailing rows/columns dropped).

Pooling adjoints, which ``jax.grad`` of Φ applies in the backward currents
I_b = ∂⟨F_{ℓ+1}(s_ℓ), s_{ℓ+1}⟩/∂s_ℓ and in the weight updates:

* average pooling over F×F windows: nearest-neighbour upsampling divided by
  α = F² ([Lin24]'s inverse pooling with its α). **[choice]** α is exposed;
  α ≠ F² is implemented with ``jax.custom_vjp`` and is then *not* the
  gradient of Φ: the dynamics leave the energy form (docs/model.md, "Network
  and primitive function").
* max pooling: each value is routed to the arg-max position of the current
  forward input (the first one on ties, ``lax.reduce_window``'s rule) —
  kept so that [Lin24]'s finding (it misaligns in spiking networks) can be
  reproduced.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax import lax

Array = jax.Array

__all__ = ['POOLS', 'avg_pool', 'max_pool', 'upsample']

POOLS = ('avg', 'max', 'none')


def upsample(g: Array, size: int, shape: tuple[int, ...]) -> Array:
  """Nearest-neighbour upsampling of ``g`` by ``size``, zero-padded to ``shape``.

  Every pooled value is copied to the F×F window it came from; rows and
  columns that no window covered (H or W not a multiple of F) get 0.
  """
  up = jnp.repeat(jnp.repeat(g, size, axis=1), size, axis=2)
  pad = [(0, n - m) for n, m in zip(shape, up.shape)]
  return jnp.pad(up, pad)


def _crop_windows(x: Array, size: int) -> Array:
  b, h, w, c = x.shape
  hp, wp = h // size, w // size
  return x[:, : hp * size, : wp * size].reshape(b, hp, size, wp, size, c)


@functools.partial(jax.custom_vjp, nondiff_argnums=(1, 2))
def _avg_pool_alpha(x: Array, size: int, alpha: float) -> Array:
  return _crop_windows(x, size).mean(axis=(2, 4))


def _avg_pool_alpha_fwd(x, size, alpha):
  return _avg_pool_alpha(x, size, alpha), x.shape


def _avg_pool_alpha_bwd(size, alpha, shape, g):
  return (upsample(g, size, shape) / alpha,)


_avg_pool_alpha.defvjp(_avg_pool_alpha_fwd, _avg_pool_alpha_bwd)


def avg_pool(x: Array, size: int = 2, alpha: float | None = None) -> Array:
  """F×F average pooling, whose adjoint is upsampling / α.

  Args:
    x: ``[B, H, W, C]``.
    size: F (window and stride).
    alpha: the adjoint's divisor; None or F² gives the exact adjoint (plain
      autodiff), any other value a ``jax.custom_vjp`` with that divisor.

  Returns:
    ``[B, H // F, W // F, C]``.
  """
  if alpha is None or alpha == size * size:
    return _crop_windows(x, size).mean(axis=(2, 4))
  return _avg_pool_alpha(x, size, float(alpha))


def max_pool(x: Array, size: int = 2) -> Array:
  """F×F max pooling; its adjoint routes to the (first) arg-max of each window."""
  return lax.reduce_window(x, -jnp.inf, lax.max, (1, size, size, 1), (1, size, size, 1), 'VALID')
