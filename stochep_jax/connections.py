"""Connections F_ℓ between consecutive layers: parameter init and apply.

A connection maps the (batched) state of layer ℓ-1 to the *forward input* of
layer ℓ. Φ (``energy.py``) sums ⟨F_ℓ(s_{ℓ-1}), s_ℓ⟩ over connections; every
backward current and every weight update is then a ``jax.grad`` of Φ, so a
connection only has to implement its forward map (docs/model.md, "Network and
primitive function"):

* dense: F(s) = W vec(s) + b  (a conv layer's output is flattened first);
* conv:  F(s) = P(W ∗ s) + b, NHWC, with P one of 2×2 average pooling
  (default), 2×2 max pooling, or identity (``Conv``).

Pooling and its adjoints are in ``pooling`` (re-exported here).

A connection is a frozen dataclass (hashable, so it can sit in static jit
arguments) with:

* ``out_shape(in_shape) -> tuple``: per-example output shape;
* ``init(key, in_shape, dtype) -> params`` (a dict pytree);
* ``apply(params, s) -> array``: batched, ``s`` has shape ``[B, *in_shape]``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence
from typing import Any, Protocol

import jax
import jax.numpy as jnp
from flax.linen import initializers
from jax import lax

from stochep_jax.pooling import POOLS, avg_pool, max_pool, upsample  # noqa: F401 (re-exported)

Array = jax.Array
Params = Any


class Connection(Protocol):
  """The interface every connection implements."""

  def out_shape(self, in_shape: tuple[int, ...]) -> tuple[int, ...]: ...

  def init(self, key: Array, in_shape: tuple[int, ...], dtype=jnp.float32) -> Params: ...

  def apply(self, params: Params, s: Array) -> Array: ...


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
    compute_dtype: operand type of the product (``matmul``; None: the
      operands' own), set by a precision policy (``precision``).
  """

  features: int
  use_bias: bool = True
  init_scale: float = 1.0
  compute_dtype: str | None = None

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

  def prepare(self, params):
    """The parameters as the dynamics use them (``Network.prepare``), outside the phase's
    loop: the weight cast once to the compute dtype (``w_eff``) and its transpose laid out
    as the backward current's product reads it (``w_t_eff``: ``matmul``'s ``w_t``)."""
    if self.compute_dtype is None:
      return params
    w = _cast(params['w'], self.compute_dtype)
    return {**{k: v for k, v in params.items() if k != 'w'}, 'w_eff': w, 'w_t_eff': transposed(w)}

  def apply(self, params, s):
    s = s.reshape(s.shape[0], -1)
    w = params['w_eff'] if 'w_eff' in params else params['w']
    y = matmul(s, w, self.compute_dtype, w_t=params.get('w_t_eff'))
    if self.use_bias:
      y = y + params['b']
    return y


def matmul(
  a: Array, w: Array, compute_dtype: str | None = None, *, w_t: Array | None = None
) -> Array:
  """``a @ w`` (``a``: [..., K], ``w``: [K, N]) under a precision policy (``precision``).

  With ``compute_dtype`` None this is ``a @ w``.
  Otherwise, mixed precision as the field trains it: the products of the
  dynamics take ``compute_dtype`` operands (e.g. bfloat16) with float32
  accumulation, forward and transposed (``∂/∂a`` = ``g @ wᵀ``, the backward
  current of the layer below), while the weight gradient ``∂/∂w = aᵀ g`` (EP's
  update at the rates) is exact in the operands' own type. The result has the
  operands' type, at least float32 (also when both operands are already in the compute
  dtype, as prepared weights and gathered spikes are); ``∂/∂a`` has ``a``'s type.

  ``w_t``: ``wᵀ`` laid out row-major (``transposed(w)``, made once outside a phase's
  loop), which ``∂/∂a`` then reads instead of ``w``: the same product, but XLA:CPU's
  bfloat16 GEMM on a transposed operand runs at about half the speed (BUILD_NOTES.md, 4.2).
  It is ignored without a ``compute_dtype``.
  """
  if compute_dtype is None:
    return a @ w
  return _mixed_matmul(a, w, w_t, jnp.dtype(compute_dtype).name)


def transposed(w: Array) -> Array:
  """``wᵀ`` as an array of its own (row-major [N, K]), kept so by an optimisation barrier:
  without it XLA folds the transpose back into the product that reads it."""
  return lax.optimization_barrier(w.T)


def _accumulator(*arrays):
  """The result type of a policy product: the operands' type, at least float32."""
  return jnp.promote_types(jnp.result_type(*arrays), jnp.float32)


@functools.partial(jax.custom_vjp, nondiff_argnums=(3,))
def _mixed_matmul(a, w, w_t, compute_dtype):
  """The policy product; its ``∂/∂a`` reads ``w_t`` (= ``wᵀ``) when given, else ``w``. The
  result does not depend on ``w_t``, so its cotangent is zero (its use in ``∂/∂a`` is
  differentiated as any product is, e.g. by BPTT through the currents)."""
  out = _accumulator(a, w)
  return jnp.matmul(
    a.astype(compute_dtype), w.astype(compute_dtype), preferred_element_type=jnp.float32
  ).astype(out)


def _mixed_matmul_fwd(a, w, w_t, compute_dtype):
  return _mixed_matmul(a, w, w_t, compute_dtype), (a, w, w_t)


def _mixed_matmul_bwd(compute_dtype, res, g):
  a, w, w_t = res
  da = jnp.matmul(
    g.astype(compute_dtype),
    (w.T if w_t is None else w_t).astype(compute_dtype),
    preferred_element_type=jnp.float32,
  )
  acc = _accumulator(a, w)
  a2, g2 = a.reshape(-1, a.shape[-1]).astype(acc), g.reshape(-1, g.shape[-1]).astype(acc)
  dw = jnp.matmul(a2.T, g2, precision=lax.Precision.HIGHEST)
  dw_t = None if w_t is None else jnp.zeros_like(w_t)
  return da.astype(a.dtype), dw.astype(w.dtype), dw_t


_mixed_matmul.defvjp(_mixed_matmul_fwd, _mixed_matmul_bwd)


def _pairs(v, n: int = 2) -> tuple:
  return tuple(v) if isinstance(v, Sequence) else (v,) * n


def conv_taps(
  s: Array,
  w: Array,
  strides: tuple[int, int],
  pads: Sequence[tuple[int, int]],
  compute_dtype: str | None = None,
) -> Array:
  """W ∗ s as a sum over the kernel taps of (strided slice of s) @ W[p, q].

      (W ∗ s)[b, i, j, k] = Σ_{p,q,c} s_pad[b, σ_h i + p, σ_w j + q, c] W[p, q, c, k]

  The same cross-correlation as ``lax.conv_general_dilated`` (NHWC, HWIO);
  its autodiff adjoint is made of pads and matrix products as well.
  ``compute_dtype``: see ``matmul``.

  Args:
    s: ``[B, H, W, C]``.
    w: ``[kh, kw, C, K]``.
    strides: (σ_h, σ_w).
    pads: ((top, bottom), (left, right)) zero padding.

  Returns:
    ``[B, H', W', K]``.
  """
  kh, kw = w.shape[:2]
  out = None
  for i, tap in enumerate(_tap_slices(_pad_nhwc(s, pads), kh, kw, strides)):
    y = matmul(tap, w[i // kw, i % kw], compute_dtype)
    out = y if out is None else out + y
  return out


def _tap_slices(s_pad: Array, kh: int, kw: int, strides: tuple[int, int]) -> list[Array]:
  """The kernel taps' strided slices of a padded ``[B, H, W, C]``, each ``[B, H', W', C]``,
  in (p, q) order: tap (p, q) holds ``s_pad[b, σ_h i + p, σ_w j + q, c]``."""
  b, h, wd, c = s_pad.shape
  ho, wo = (h - kh) // strides[0] + 1, (wd - kw) // strides[1] + 1
  return [
    lax.slice(
      s_pad,
      (0, p, q, 0),
      (b, p + strides[0] * (ho - 1) + 1, q + strides[1] * (wo - 1) + 1, c),
      (1, *strides, 1),
    )
    for p in range(kh)
    for q in range(kw)
  ]


def _taps(s_pad: Array, kh: int, kw: int, strides: tuple[int, int]) -> Array:
  """The tap slices side by side: ``[B, H', W', kh·kw·C]`` in (p, q, c) order (the columns
  of im2col)."""
  return jnp.concatenate(_tap_slices(s_pad, kh, kw, strides), axis=-1)


def conv_im2col(
  s: Array,
  w: Array,
  strides: tuple[int, int],
  pads: Sequence[tuple[int, int]],
  compute_dtype: str | None = None,
) -> Array:
  """W ∗ s as matrix products in both directions (im2col; exact, custom VJP).

  Forward: ``[B·H'·W', kh·kw·C] @ [kh·kw·C, K]``, the kernel taps' strided
  slices side by side (the same cross-correlation as ``conv_taps`` with one GEMM
  of depth kh·kw·C instead of kh·kw GEMMs of depth C). The transposed product,
  ∂/∂s (the backward current of the layer below), is one GEMM as well
  (``conv_transpose_gemm``: the cotangent against every kernel tap folded by
  stride phase in float32, the taps of the cotangent against the kernel regrouped
  by stride phase under bfloat16) instead of a scatter-add of kh·kw strided
  slices; ∂/∂w, EP's weight update, is ``colsᵀ g`` in the operands' type.
  ``compute_dtype``: the operand type of the two products of the dynamics, see
  ``matmul``.
  """
  cd = None if compute_dtype is None else jnp.dtype(compute_dtype).name
  return _conv_gemm(s, w, tuple(strides), tuple(tuple(p) for p in pads), cd)


def _cast(a: Array, compute_dtype: str | None) -> Array:
  return a if compute_dtype is None else a.astype(compute_dtype)


def _pad_nhwc(s, pads):
  return jnp.pad(s, ((0, 0), *pads, (0, 0)))


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4))
def _conv_gemm(s, w, strides, pads, compute_dtype):
  kh, kw, c, k = w.shape
  # the operands in the compute dtype before the taps: exact, and the taps move half the bytes
  cols = _taps(_pad_nhwc(_cast(s, compute_dtype), pads), kh, kw, strides)
  y = matmul(cols, w.reshape(kh * kw * c, k), compute_dtype)
  return y if compute_dtype is None else y.astype(_accumulator(s, w))


def _conv_gemm_fwd(s, w, strides, pads, compute_dtype):
  return _conv_gemm(s, w, strides, pads, compute_dtype), (s, w)


def _conv_gemm_bwd(strides, pads, compute_dtype, res, g):
  s, w = res
  kh, kw, c, k = w.shape
  ds = conv_transpose_gemm(g, w, strides, pads, s.shape[1:3], compute_dtype).astype(s.dtype)
  acc = _accumulator(s, w)
  cols = _taps(_pad_nhwc(s, pads), kh, kw, strides).reshape(-1, kh * kw * c)
  dw = jnp.matmul(cols.astype(acc).T, g.reshape(-1, k).astype(acc), precision=lax.Precision.HIGHEST)
  return ds, dw.reshape(w.shape).astype(w.dtype)


_conv_gemm.defvjp(_conv_gemm_fwd, _conv_gemm_bwd)


TRANSPOSE_METHODS = ('auto', 'fold', 'phases')


def transpose_method(compute_dtype: str | None) -> str:
  """What ``conv_transpose_gemm(method='auto')`` takes: 'fold' for float32 (or wider)
  operands, 'phases' for narrower ones (bfloat16)."""
  return 'fold' if compute_dtype is None or jnp.dtype(compute_dtype).itemsize >= 4 else 'phases'


def conv_transpose_gemm(
  g: Array,
  w: Array,
  strides: tuple[int, int],
  pads: Sequence[tuple[int, int]],
  in_hw: tuple[int, int],
  compute_dtype: str | None = None,
  method: str = 'auto',
) -> Array:
  """∂⟨W ∗ s, g⟩/∂s: the transposed convolution as one matrix product, two ways.

  ``'fold'``: every output position's cotangent against every kernel tap, exactly
  the products the forward convolution needs,

      y[b, o, o', p, q, c] = Σ_k g[b, o, o', k] W[p, q, c, k]
        ([B·H'·W', K] @ [K, kh·kw·C]),

  then folded back onto the input, ds_pad[b, σo + p, σo' + q, c] += y[b, o, o', p, q, c]:
  with p = σu + r (r < σ the stride phase), a sum of ⌈kh/σ⌉⌈kw/σ⌉ blocks of y
  shifted by (u, u') on the output grid, for every phase at once (one fused
  elementwise pass, no strided scatter).

  ``'phases'``: with m = σa + r,

      ds_pad[b, σa + r, σa' + r', c] = Σ_{u, u', k} g[b, a − u, a' − u', k] W[σu + r, σu' + r', c, k]

  so the taps of the zero-padded g times the kernel regrouped as
  ``[(u, u', k), (r, r', c)]`` give every phase at once: ``[B·A·A',
  ⌈kh/σ⌉⌈kw/σ⌉·K] @ [⌈kh/σ⌉⌈kw/σ⌉·K, σ²·C]``. Its product also runs over the zero
  border of g (2× the FLOPs of 'fold' for the 4×4/2 pooled kernel on a 5×5 output),
  but its float32 result is 4× smaller than fold's y.

  ``'auto'`` (the default) takes 'fold' for float32 operands, where the FLOPs
  decide, and 'phases' under a bfloat16 ``compute_dtype``, where the bytes of the
  float32 result do (both measured on XLA:CPU, BUILD_NOTES.md 4.2). Both are exact
  adjoints of ``conv_im2col``; the fold's result passes an optimisation barrier
  (kept out of its consumers' fusions).

  Args:
    g: cotangent of the output, ``[B, H', W', K]``.
    w: kernel ``[kh, kw, C, K]``.
    strides: (σ_h, σ_w).
    pads: the forward convolution's ((top, bottom), (left, right)) padding.
    in_hw: (H, W) of the unpadded input s.
    compute_dtype: operand type of the product (see ``matmul``).
    method: ``'auto'``, ``'fold'`` or ``'phases'``.

  Returns:
    ``[B, H, W, C]``.
  """
  if method not in TRANSPOSE_METHODS:
    raise ValueError(f'method={method!r}: choose from {TRANSPOSE_METHODS}')
  if method == 'auto':
    method = transpose_method(compute_dtype)
  (pt, pb), (pl, pr) = pads
  sh, sw = strides
  c = w.shape[2]
  # the padded input as a grid of stride phases: ≥ H' + ⌈kh/σ⌉ − 1 rows (σ(H' − 1) + kh ≤ H_pad)
  grid = (-(-(in_hw[0] + pt + pb) // sh), -(-(in_hw[1] + pl + pr) // sw))
  by_phase = (_fold if method == 'fold' else _phase_gemm)(g, w, strides, grid, compute_dtype)
  b, a_h, a_w = by_phase.shape[:3]  # [B, A, A', σ_h, σ_w, C]: interleave the phases, crop
  out = by_phase.transpose(0, 1, 3, 2, 4, 5).reshape(b, a_h * sh, a_w * sw, c)
  out = out[:, pt : pt + in_hw[0], pl : pl + in_hw[1]]
  # The fold's sum stays one pass: fused into the consumers of the current (the neurons'
  # update), XLA:CPU made the float32 conv config's step 1.14x slower (BUILD_NOTES.md 4.2).
  return lax.optimization_barrier(out) if method == 'fold' else out


def _fold(g, w, strides, grid, compute_dtype):
  """``conv_transpose_gemm``'s 'fold': ``[B, A, A', σ_h, σ_w, C]``, every stride phase."""
  kh, kw, c, k = w.shape
  (sh, sw), (a_h, a_w) = strides, grid
  b, ho, wo, _ = g.shape
  nu, nv = -(-kh // sh), -(-kw // sw)
  w_t = w.transpose(3, 0, 1, 2).reshape(k, kh * kw * c)
  y = matmul(_cast(g, compute_dtype).reshape(b * ho * wo, k), w_t, compute_dtype)
  y = y.reshape(b, ho, wo, kh, kw, c)
  y = jnp.pad(y, ((0, 0), (0, 0), (0, 0), (0, nu * sh - kh), (0, nv * sw - kw), (0, 0)))
  y = y.reshape(b, ho, wo, nu, sh, nv, sw, c)
  out = None
  for u in range(nu):
    for v in range(nv):  # tap (σu + r, σv + r') lands on phase (r, r') of row o + u
      block = y[:, :, :, u, :, v]
      block = jnp.pad(block, ((0, 0), (u, a_h - ho - u), (v, a_w - wo - v), *[(0, 0)] * 3))
      out = block if out is None else out + block
  return out


def _phase_gemm(g, w, strides, grid, compute_dtype):
  """``conv_transpose_gemm``'s 'phases': ``[B, A, A', σ_h, σ_w, C]``, every stride phase."""
  kh, kw, c, k = w.shape
  (sh, sw), (a_h, a_w) = strides, grid
  b, ho, wo, _ = g.shape
  nu, nv = -(-kh // sh), -(-kw // sw)
  wpad = jnp.pad(w, ((0, nu * sh - kh), (0, nv * sw - kw), (0, 0), (0, 0)))
  w_all = wpad.reshape(nu, sh, nv, sw, c, k).transpose(0, 2, 5, 1, 3, 4)
  w_all = w_all.reshape(nu * nv * k, sh * sw * c)
  gext = jnp.pad(_cast(g, compute_dtype), ((0, 0), (nu - 1, a_h - ho), (nv - 1, a_w - wo), (0, 0)))
  taps = [
    lax.slice(gext, (0, nu - 1 - u, nv - 1 - v, 0), (b, nu - 1 - u + a_h, nv - 1 - v + a_w, k))
    for u in range(nu)
    for v in range(nv)
  ]
  cols = jnp.concatenate(taps, axis=-1) if len(taps) > 1 else taps[0]
  return matmul(cols, w_all, compute_dtype).reshape(b, a_h, a_w, sh, sw, c)


_NHWC = ('NHWC', 'HWIO', 'NHWC')


def conv_xla(
  s: Array,
  w: Array,
  strides: tuple[int, int],
  pads: Sequence[tuple[int, int]],
  compute_dtype: str | None = None,
) -> Array:
  """W ∗ s by XLA's convolution (NHWC, HWIO); ``compute_dtype`` as in ``matmul``."""
  strides, pads = tuple(strides), tuple(tuple(p) for p in pads)
  if compute_dtype is None:
    return lax.conv_general_dilated(s, w, strides, pads, dimension_numbers=_NHWC)
  return _mixed_conv(s, w, strides, pads, jnp.dtype(compute_dtype).name)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4))
def _mixed_conv(s, w, strides, pads, compute_dtype):
  y = lax.conv_general_dilated(
    s.astype(compute_dtype),
    w.astype(compute_dtype),
    strides,
    pads,
    dimension_numbers=_NHWC,
    preferred_element_type=jnp.float32,
  )
  return y.astype(_accumulator(s, w))


def _mixed_conv_fwd(s, w, strides, pads, compute_dtype):
  return _mixed_conv(s, w, strides, pads, compute_dtype), (s, w)


def _mixed_conv_bwd(strides, pads, compute_dtype, res, g):
  s, w = res
  wc = w.astype(compute_dtype)
  _, vjp_s = jax.vjp(
    lambda v: lax.conv_general_dilated(v, wc, strides, pads, dimension_numbers=_NHWC),
    s.astype(compute_dtype),
  )
  (ds,) = vjp_s(g.astype(compute_dtype))
  _, vjp_w = jax.vjp(
    lambda v: lax.conv_general_dilated(
      s, v, strides, pads, dimension_numbers=_NHWC, precision=lax.Precision.HIGHEST
    ),
    w,
  )
  (dw,) = vjp_w(g.astype(w.dtype))
  return ds.astype(s.dtype), dw


_mixed_conv.defvjp(_mixed_conv_fwd, _mixed_conv_bwd)


def pooled_kernel(w: Array, size: int, strides: tuple[int, int]) -> Array:
  """The kernel of "F×F average pooling after a stride-σ convolution" as one convolution.

  Average pooling (window = stride = F) of W ∗ s equals W' ∗ s with stride σF
  and the (k + σ(F−1))-sized kernel

      W'[a, b] = (1/F²) Σ_{0≤i,j<F} W[a − σ_h i, b − σ_w j]

  (out-of-range taps are 0), including the dropped trailing rows/columns. The
  map W → W' is linear, so ``jax.grad`` through it gives the exact pooling
  adjoint (upsampling / F²) for the currents and the weight update.
  """
  kh, kw = w.shape[:2]
  sh, sw = strides
  out = None
  for i in range(size):
    for j in range(size):
      shifted = jnp.pad(
        w, ((sh * i, sh * (size - 1 - i)), (sw * j, sw * (size - 1 - j)), (0, 0), (0, 0))
      )
      out = shifted if out is None else out + shifted
  return out / (size * size)


CONV_IMPLS = ('auto', 'taps', 'im2col', 'xla')


@dataclasses.dataclass(frozen=True)
class Conv:
  """Convolutional connection F(s) = P(W ∗ s) + b, NHWC.

  W ∗ s is a cross-correlation (as in PyTorch and flax), W of shape
  (kh, kw, C_in, features), computed by ``conv_taps`` or XLA's convolution
  (``impl``); the bias is added after
  pooling (one value per output channel). The backward current into s is the
  transposed convolution of the pooling adjoint of s_{ℓ+1}; ``jax.grad`` of Φ
  computes it (docs/model.md, "Network and primitive function").

  Attributes:
    features: output channels.
    kernel_size: kernel height and width (an int or a pair).
    strides: convolution strides (an int or a pair).
    padding: zero padding: an int, a pair of ints, ``'VALID'`` or ``'SAME'``.
    pool: ``'avg'`` (default), ``'max'`` or ``'none'``.
    pool_size: F, the pooling window and stride.
    alpha: divisor of the average-pooling adjoint (None = F², exact).
    use_bias: whether b is present.
    init_scale: weights and biases are U(-a, a), a = init_scale/√fan_in with
      fan_in = kh·kw·C_in (PyTorch's default).
    impl: ``'im2col'`` (``conv_im2col``: one matrix product over all taps),
      ``'taps'`` (``conv_taps``: one matrix product per kernel tap),
      ``'xla'`` (``lax.conv_general_dilated``) or ``'auto'`` (im2col on CPU,
      XLA's convolution elsewhere). All agree to float rounding. On XLA:CPU
      a convolution inside ``lax.scan`` (every phase) runs 4–16× slower than
      the same convolution outside a loop; the GEMM forms do not (measured in
      BUILD_NOTES.md).
    fuse_pool: with exact average pooling (α None or F²), compute P(W ∗ s)
      as one convolution of stride σF with ``pooled_kernel(W)``: the same
      map (to float rounding) at about (k+σ(F−1))²/(F²k²) of the
      multiply-adds (16/36 for 3×3 kernels and 2×2 pooling), and so the
      same currents and EP updates. Ignored for other pools and α.
    compute_dtype: operand type of the convolution's products (``matmul``,
      ``conv_xla``; None: the operands' own), set by a precision policy
      (``precision``).
  """

  features: int
  kernel_size: int | tuple[int, int] = 3
  strides: int | tuple[int, int] = 1
  padding: int | str | tuple[int, int] = 0
  pool: str = 'avg'
  pool_size: int = 2
  alpha: float | None = None
  use_bias: bool = True
  init_scale: float = 1.0
  impl: str = 'auto'
  fuse_pool: bool = True
  compute_dtype: str | None = None

  def __post_init__(self):
    if self.impl not in CONV_IMPLS:
      raise ValueError(f'impl must be one of {CONV_IMPLS}, got {self.impl!r}')
    if self.pool not in POOLS:
      raise ValueError(f'pool must be one of {POOLS}, got {self.pool!r}')
    if self.alpha is not None and self.pool != 'avg':
      raise ValueError('alpha applies to average pooling only')

  def _kernel_shape(self, in_shape):
    if len(in_shape) != 3:
      raise ValueError(f'Conv needs a per-example (H, W, C) input, got shape {in_shape}')
    return (*_pairs(self.kernel_size), in_shape[-1], self.features)

  def out_shape(self, in_shape):
    def run():
      params = self.init(jax.random.key(0), tuple(in_shape))
      return self.apply(params, jnp.zeros((1, *in_shape), jnp.float32))

    return tuple(jax.eval_shape(run).shape[1:])

  def _fused(self) -> bool:
    return (
      self.fuse_pool
      and self.pool == 'avg'
      and (self.alpha is None or self.alpha == self.pool_size**2)
    )

  def init(self, key, in_shape, dtype=jnp.float32):
    shape = self._kernel_shape(in_shape)
    kw, kb = jax.random.split(key)
    params = {'w': torch_default_init(self.init_scale)(kw, shape, dtype)}
    if self.use_bias:
      bound = self.init_scale / math.sqrt(math.prod(shape[:-1]))
      params['b'] = jax.random.uniform(kb, (self.features,), dtype, -bound, bound)
    return params

  def prepare(self, params):
    """The parameters as the dynamics use them (``Network.prepare``), computed once per
    phase instead of at every step: the pooled kernel (fused pooling) in the weights' type,
    then cast to the compute dtype (``w_eff``)."""
    if not self._fused() and self.compute_dtype is None:
      return params
    w = params['w']
    if self._fused():
      w = pooled_kernel(w, self.pool_size, _pairs(self.strides))
    return {**{k: v for k, v in params.items() if k != 'w'}, 'w_eff': _cast(w, self.compute_dtype)}

  def pads(self, in_hw: Sequence[int]) -> tuple[tuple[int, int], ...]:
    """The ((top, bottom), (left, right)) zero padding applied to an input of (H, W) ``in_hw``."""
    kernel, strides = _pairs(self.kernel_size), _pairs(self.strides)
    if isinstance(self.padding, str):
      hw = tuple(in_hw[:2])
      return tuple(lax.padtype_to_pads(hw, kernel, strides, self.padding.upper()))
    return tuple((p, p) for p in _pairs(self.padding))

  def apply(self, params, s):
    strides = _pairs(self.strides)
    pads = self.pads(s.shape[1:3])
    pool = self.pool
    if 'w_eff' in params:  # prepared: the pooled kernel in the compute dtype
      w = params['w_eff']
      s = s.astype(jnp.result_type(s, params.get('b', s)))
    else:
      dtype = jnp.result_type(s, params['w'])  # promote as Dense's s @ w does
      s, w = s.astype(dtype), params['w'].astype(dtype)
      if self._fused():
        w = pooled_kernel(w, self.pool_size, strides)
    if self._fused():
      strides = tuple(st * self.pool_size for st in strides)
      pool = 'none'
    impl = self.impl
    if impl == 'auto':
      impl = 'im2col' if jax.default_backend() == 'cpu' else 'xla'
    cd = self.compute_dtype
    if impl == 'taps':
      y = conv_taps(s, w, strides, pads, cd)
    elif impl == 'im2col':
      y = conv_im2col(s, w, strides, pads, cd)
    else:
      y = conv_xla(s, w, strides, pads, cd)
    if pool == 'avg':
      y = avg_pool(y, self.pool_size, self.alpha)
    elif pool == 'max':
      y = max_pool(y, self.pool_size)
    if self.use_bias:
      y = y + params['b']
    return y
