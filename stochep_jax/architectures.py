"""Named network architectures, built from connections and a readout.

docs/model.md, "Architectures", lists them with their sources.

``ARCHITECTURES.make(name, input_shape=..., n_classes=..., **kwargs)`` builds a
``energy.Network``; configs name an architecture and its keyword arguments.
"""

from __future__ import annotations

from collections.abc import Sequence

from stochep_jax import checks, energy, registry
from stochep_jax import connections as conn_lib

ARCHITECTURES = registry.Registry('architecture')


READOUTS = ('mse', 'ce')
POOLS = ('avg', 'max', 'none')


def _input_shape(owner: str, input_shape) -> tuple[int, ...]:
  if isinstance(input_shape, int) and not isinstance(input_shape, bool):
    input_shape = (input_shape,)
  return checks.positive_ints(owner, 'input_shape', input_shape, allow_empty=False)


def _check_head(owner: str, n_classes, readout, n_perclass, init_scale) -> None:
  checks.integer(owner, 'n_classes', n_classes, 1)
  checks.choice(owner, 'readout', readout, READOUTS)
  checks.integer(owner, 'n_perclass', n_perclass, 1)
  checks.number(owner, 'init_scale', init_scale, 0.0, lo_open=True)


def _check_shapes(owner: str, input_shape: tuple[int, ...], convs) -> None:
  """Every conv layer has at least one unit (a stack too deep for its input fails here)."""
  shape = input_shape
  for i, c in enumerate(convs):
    try:
      shape = tuple(c.out_shape(shape))
      ok = all(d >= 1 for d in shape)
    except (TypeError, ValueError):
      ok = False
    if not ok:
      checks.fail(
        owner, 'input_shape', input_shape, f'too small for the convolutions: layer {i + 1} is empty'
      )


def make_readout(readout: str, n_classes: int, n_perclass: int = 1, init_scale: float = 1.0):
  """``'mse'`` (output neuron layer, n_perclass per class) or ``'ce'`` (softmax readout)."""
  if readout == 'mse':
    return energy.MSEReadout(n_classes, n_perclass)
  if readout == 'ce':
    if n_perclass != 1:
      raise ValueError('n_perclass applies to the MSE readout only')
    return energy.CrossEntropyReadout(n_classes, init_scale=init_scale)
  raise ValueError(f"readout must be 'mse' or 'ce', got {readout!r}")


@ARCHITECTURES.register('dense')
def dense(
  input_shape: int | Sequence[int],
  hidden: Sequence[int] = (512,),
  n_classes: int = 10,
  *,
  readout: str = 'mse',
  n_perclass: int = 1,
  init_scale: float = 1.0,
) -> energy.Network:
  """A fully connected network, e.g. ``dense(784, [512], 10)`` for 784-512-10 (1FC).

  Args:
    input_shape: number of input units, or the per-example input shape (an
      image is flattened by the first dense connection).
    hidden: hidden layer sizes.
    n_classes: number of classes.
    readout: ``'mse'`` (an output neuron layer of n_classes·n_perclass units) or
      ``'ce'`` (softmax readout from the last hidden layer, outside Φ).
    n_perclass: output neurons per class (MSE only).
    init_scale: see ``connections.Dense``.
  """
  input_shape = _input_shape('dense', input_shape)
  hidden = checks.positive_ints('dense', 'hidden', hidden)
  _check_head('dense', n_classes, readout, n_perclass, init_scale)
  if readout == 'ce' and not hidden:
    checks.fail('dense', 'hidden', hidden, "must name at least one layer with readout='ce'")
  ro = make_readout(readout, n_classes, n_perclass, init_scale)
  sizes = list(hidden) + ([n_classes * n_perclass] if readout == 'mse' else [])
  conns = tuple(conn_lib.Dense(n, init_scale=init_scale) for n in sizes)
  return energy.Network(input_shape, conns, ro)


def _per_layer(value, n: int, name: str) -> tuple:
  """``value`` for every one of n conv layers (a scalar/string or a sequence of n)."""
  if isinstance(value, (str, int, float)) or value is None:
    return (value,) * n
  value = tuple(value)
  if len(value) != n:
    raise ValueError(f'{name} needs {n} entries (one per conv layer), got {len(value)}')
  return value


@ARCHITECTURES.register('conv')
def convnet(
  input_shape: Sequence[int],
  channels: Sequence[int] = (128, 256),
  fc: Sequence[int] = (512,),
  n_classes: int = 10,
  *,
  kernel_size=3,
  strides=1,
  padding=0,
  pool='avg',
  pool_size: int = 2,
  alpha: float | None = None,
  readout: str = 'mse',
  n_perclass: int = 1,
  init_scale: float = 1.0,
) -> energy.Network:
  """Convolutions (each + pooling), then dense layers, then the readout.

  ``kernel_size``, ``strides``, ``padding`` and ``pool`` are one value for
  every conv layer (an int or a string) or a sequence with one entry per conv
  layer (``pool`` as a sequence of ``'avg'``/``'max'``/``'none'``).

  Args:
    input_shape: per-example image shape (H, W, C).
    channels: output channels of each conv layer.
    fc: hidden dense layer sizes after the convolutions (the first flattens).
    n_classes: number of classes.
    kernel_size, strides, padding, pool: see ``connections.Conv``.
    pool_size: F of every pooling.
    alpha: divisor of the average-pooling adjoint (None = F², exact).
    readout: ``'mse'`` (an output neuron layer of n_classes·n_perclass units) or
      ``'ce'`` (softmax readout from the last hidden layer, outside Φ).
    n_perclass: output neurons per class (MSE only).
    init_scale: see ``connections.Dense`` / ``Conv``.
  """
  return _convnet(
    'conv',
    input_shape,
    channels,
    fc,
    n_classes,
    kernel_size=kernel_size,
    strides=strides,
    padding=padding,
    pool=pool,
    pool_size=pool_size,
    alpha=alpha,
    readout=readout,
    n_perclass=n_perclass,
    init_scale=init_scale,
  )


def _convnet(
  own: str,
  input_shape,
  channels,
  fc,
  n_classes,
  *,
  kernel_size,
  strides,
  padding,
  pool,
  pool_size=2,
  alpha,
  readout,
  n_perclass,
  init_scale,
) -> energy.Network:
  """``convnet``, its errors naming ``own`` (the architecture the user asked for)."""
  input_shape = _input_shape(own, input_shape)
  if len(input_shape) != 3:
    checks.fail(own, 'input_shape', input_shape, 'must be (H, W, C)')
  channels = checks.positive_ints(own, 'channels', channels, allow_empty=False)
  fc = checks.positive_ints(own, 'fc', fc)
  _check_head(own, n_classes, readout, n_perclass, init_scale)
  checks.integer(own, 'pool_size', pool_size, 1)
  if alpha is not None:
    checks.number(own, 'alpha', alpha, 0.0, lo_open=True)
  n = len(channels)
  ks, st, pad, pools = (
    _per_layer(v, n, name)
    for v, name in (
      (kernel_size, 'kernel_size'),
      (strides, 'strides'),
      (padding, 'padding'),
      (pool, 'pool'),
    )
  )
  for i in range(n):
    for name, values, lo in (('kernel_size', ks, 1), ('strides', st, 1)):
      for v in values[i] if isinstance(values[i], (tuple, list)) else (values[i],):
        checks.integer(own, name, v, lo)
    if not isinstance(pad[i], str):
      for v in pad[i] if isinstance(pad[i], (tuple, list)) else (pad[i],):
        checks.integer(own, 'padding', v, 0)
    else:
      checks.choice(own, 'padding', pad[i], ('VALID', 'SAME'))
    checks.choice(own, 'pool', pools[i], POOLS)
  ro = make_readout(readout, n_classes, n_perclass, init_scale)
  convs = tuple(
    conn_lib.Conv(c, k, s, p, pl, pool_size, alpha if pl == 'avg' else None, init_scale=init_scale)
    for c, k, s, p, pl in zip(channels, ks, st, pad, pools)
  )
  sizes = list(fc) + ([n_classes * n_perclass] if readout == 'mse' else [])
  _check_shapes(own, input_shape, convs)
  dense_layers = tuple(conn_lib.Dense(m, init_scale=init_scale) for m in sizes)
  return energy.Network(tuple(input_shape), convs + dense_layers, ro)


@ARCHITECTURES.register('2c2fc')
def two_conv_two_fc(
  input_shape: Sequence[int] = (28, 28, 1),
  channels: Sequence[int] = (128, 256),
  fc: Sequence[int] = (512,),
  n_classes: int = 10,
  *,
  pool='avg',
  alpha: float | None = None,
  readout: str = 'mse',
  n_perclass: int = 1,
  init_scale: float = 1.0,
) -> energy.Network:
  """2C2FC [Lin24]: conv 128, conv 256, FC 512, FC out.

  The convolutions are 3×3, stride 1, no padding, each followed by 2×2
  pooling; on 28×28×1 the layers are (13, 13, 128), (5, 5, 256), (512,), (10,).
  Widths and pooling are arguments: ``channels=(16, 32), fc=(128,)`` is a small
  version, ``pool='max'`` the max-pooling variant.
  """
  return _convnet(
    '2c2fc',
    input_shape,
    channels,
    fc,
    n_classes,
    kernel_size=3,
    strides=1,
    padding=0,
    pool=pool,
    alpha=alpha,
    readout=readout,
    n_perclass=n_perclass,
    init_scale=init_scale,
  )


# 5C for CIFAR-10 [StochEP Fig. 5], our choice of widths: the paper's summary gives
# five conv layers and a readout only. 32×32×3 → 16×16×128 → 8×8×256 → 8×8×256
# → 4×4×512 → 1×1×512 (the last conv is unpadded: 4×4 → 2×2, pooled to 1×1).
FIVE_CONV_CHANNELS = (128, 256, 256, 512, 512)
FIVE_CONV_PADDING = (1, 1, 1, 1, 0)
FIVE_CONV_POOL = ('avg', 'avg', 'none', 'avg', 'avg')


@ARCHITECTURES.register('5c')
def five_conv(
  input_shape: Sequence[int] = (32, 32, 3),
  channels: Sequence[int] = FIVE_CONV_CHANNELS,
  n_classes: int = 10,
  *,
  padding=FIVE_CONV_PADDING,
  pool=FIVE_CONV_POOL,
  alpha: float | None = None,
  readout: str = 'mse',
  n_perclass: int = 1,
  init_scale: float = 1.0,
) -> energy.Network:
  """5C [StochEP Fig. 5]: five 3×3 conv layers and the readout, no hidden FC.

  **[choice]** channels 128-256-256-512-512, padding 1-1-1-1-0, pooling
  avg-avg-none-avg-avg: on 32×32×3 the layers are (16, 16, 128), (8, 8, 256),
  (8, 8, 256), (4, 4, 512), (1, 1, 512), then n_classes·n_perclass output
  neurons (MSE, N_perclass 1, 10, 100 in the paper's Fig. 5) or a CE readout.
  """
  return _convnet(
    '5c',
    input_shape,
    channels,
    (),
    n_classes,
    kernel_size=3,
    strides=1,
    padding=padding,
    pool=pool,
    alpha=alpha,
    readout=readout,
    n_perclass=n_perclass,
    init_scale=init_scale,
  )


@ARCHITECTURES.register('lab21_cifar')
def lab21_cifar(
  input_shape: Sequence[int] = (32, 32, 3),
  channels: Sequence[int] = (128, 256, 512, 512),
  n_classes: int = 10,
  *,
  padding=(1, 1, 1, 0),
  pool='max',
  alpha: float | None = None,
  readout: str = 'ce',
  n_perclass: int = 1,
  init_scale: float = 1.0,
) -> energy.Network:
  """The CIFAR-10 CRNN of [Lab21]: conv 128-256-512-512 and a CE readout FC 10.

  3×3 convolutions, stride 1, padding 1-1-1-0, each + 2×2 max pooling, then a
  softmax cross-entropy readout. On 32×32×3 the layers are (16, 16, 128),
  (8, 8, 256), (4, 4, 512), (1, 1, 512) (their ``--paddings 1 1 1 0 --pools mmmm
  --fc 10``). ``pool='avg'`` gives the average-pooling variant (for spiking
  neurons); ``readout='mse'`` an output neuron layer of 10 (their MSE runs).
  """
  return _convnet(
    'lab21_cifar',
    input_shape,
    channels,
    (),
    n_classes,
    kernel_size=3,
    strides=1,
    padding=padding,
    pool=pool,
    alpha=alpha,
    readout=readout,
    n_perclass=n_perclass,
    init_scale=init_scale,
  )
