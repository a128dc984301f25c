"""The static accounting of a connection: synapses, fan-out and fan-in, FLOPs and GEMM shapes.

``synapse_fanout`` / ``synapse_fanin`` / ``num_synapses`` are what
``opcount`` charges each sent value with (exact at convolution borders);
``flops`` / ``gemm_shape`` are the arithmetic of F(s) as the simulator
computes it, which ``experiments/benchmark.py`` divides by the step time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from stochep_jax import connections as conn_lib


# --------------------------------------------------------------------------
# Fan-out and fan-in of a connection
# --------------------------------------------------------------------------
def _pairs(v, n: int = 2) -> tuple:
  return tuple(v) if isinstance(v, Sequence) else (v,) * n


def conv_pads(conv: conn_lib.Conv, in_shape: Sequence[int]) -> tuple[tuple[int, int], ...]:
  """The ((top, bottom), (left, right)) zero padding ``conv`` applies to ``in_shape`` (``Conv.pads``)."""
  return conv.pads(in_shape[:2])


def _conv_counts(conv: conn_lib.Conv, in_shape):
  """(fan-out [H, W], fan-in of a conv output [H', W'], used-output mask [H', W'])."""
  h, w = in_shape[:2]
  kernel, strides = _pairs(conv.kernel_size), _pairs(conv.strides)
  pads = conv_pads(conv, in_shape)
  ones_k = jnp.ones((*kernel, 1, 1), jnp.float32)

  def count(s):  # how many in-bounds taps of s each output position sums
    return lax.conv_general_dilated(
      s, ones_k, strides, pads, dimension_numbers=('NHWC', 'HWIO', 'NHWC')
    )

  taps, vjp = jax.vjp(count, jnp.ones((1, h, w, 1), jnp.float32))
  ho, wo = taps.shape[1:3]
  used = np.ones((ho, wo), bool)
  if conv.pool != 'none':
    f = conv.pool_size
    used[(ho // f) * f :] = False
    used[:, (wo // f) * f :] = False
  (covering,) = vjp(jnp.asarray(used, jnp.float32)[None, :, :, None])
  return np.asarray(covering)[0, :, :, 0], np.asarray(taps)[0, :, :, 0], used


def synapse_fanout(connection, in_shape: Sequence[int]) -> np.ndarray:
  """Synapses each presynaptic unit drives, shape ``in_shape`` (exact integers).

  Dense: the number of output units. Conv: (number of used convolution output
  positions whose kernel window covers the unit) × output channels: kh·kw·C_out
  in the interior, fewer at borders (see the module docstring).
  """
  in_shape = tuple(in_shape)
  if isinstance(connection, conn_lib.Dense):
    return np.full(in_shape, connection.features, np.int64)
  if isinstance(connection, conn_lib.Conv):
    covering, _, _ = _conv_counts(connection, in_shape)
    fan = np.rint(covering).astype(np.int64) * connection.features
    return np.broadcast_to(fan[:, :, None], in_shape).copy()
  raise TypeError(f'no fan-out for {type(connection).__name__}')


def synapse_fanin(connection, in_shape: Sequence[int]) -> np.ndarray:
  """Synapses each postsynaptic unit receives, shape ``out_shape(in_shape)``.

  This is the fan-out of layer ℓ's units through the transposed map (their
  backward current into layer ℓ−1). Dense: the number of inputs. Conv:
  in-bounds taps × C_in per convolution output, summed over the pooling
  window (average pooling) or the largest of it (max pooling).
  """
  in_shape = tuple(in_shape)
  if isinstance(connection, conn_lib.Dense):
    return np.full((connection.features,), math.prod(in_shape), np.int64)
  if isinstance(connection, conn_lib.Conv):
    _, taps, _ = _conv_counts(connection, in_shape)
    taps = np.rint(taps).astype(np.int64) * in_shape[-1]
    if connection.pool != 'none':
      f = connection.pool_size
      hp, wp = taps.shape[0] // f, taps.shape[1] // f
      win = taps[: hp * f, : wp * f].reshape(hp, f, wp, f)
      taps = win.sum((1, 3)) if connection.pool == 'avg' else win.max((1, 3))
    return np.broadcast_to(taps[:, :, None], (*taps.shape, connection.features)).copy()
  raise TypeError(f'no fan-in for {type(connection).__name__}')


def num_synapses(connection, in_shape: Sequence[int]) -> int:
  """S: the (input unit, output unit) pairs a weight connects (Σ fan-out)."""
  return int(synapse_fanout(connection, in_shape).sum())


# --------------------------------------------------------------------------
# FLOPs of the computation as performed (the benchmark's accounting)
# --------------------------------------------------------------------------
def _fused(conv: conn_lib.Conv) -> bool:
  return conv.fuse_pool and conv.pool == 'avg' and conv.alpha in (None, conv.pool_size**2)


def gemm_shape(connection, in_shape: Sequence[int], nominal: bool = False) -> tuple[int, int, int]:
  """(m, k, n) per example of the matrix product that computes F(s).

  Dense: (1, prod(in_shape), features). Conv: (H'·W', kh·kw·C_in, C_out) of
  the convolution as computed: with ``fuse_pool`` (exact average pooling) the
  pooled-kernel convolution's (kernel k + σ(F−1), stride σF, ``Conv``), unless
  ``nominal`` (the plain convolution before pooling).
  """
  in_shape = tuple(in_shape)
  if isinstance(connection, conn_lib.Dense):
    return (1, math.prod(in_shape), connection.features)
  if not isinstance(connection, conn_lib.Conv):
    raise TypeError(f'no GEMM shape for {type(connection).__name__}')
  (kh, kw), strides = _pairs(connection.kernel_size), _pairs(connection.strides)
  pads = conv_pads(connection, in_shape)
  if _fused(connection) and not nominal:
    f = connection.pool_size
    kh, kw = kh + strides[0] * (f - 1), kw + strides[1] * (f - 1)
    strides = (strides[0] * f, strides[1] * f)
  ho, wo = (
    (n + lo + hi - k) // st + 1 for n, (lo, hi), k, st in zip(in_shape[:2], pads, (kh, kw), strides)
  )
  return (ho * wo, kh * kw * in_shape[-1], connection.features)


def flops(connection, in_shape: Sequence[int], nominal: bool = False) -> int:
  """2 × multiply-adds of F(s) for one example as computed (bias, pooling not counted).

  ``nominal=True`` counts a conv's plain k×k convolution before pooling (what
  a non-fused simulator performs); it changes nothing for a dense layer.
  """
  m, k, n = gemm_shape(connection, in_shape, nominal)
  return 2 * m * k * n
