"""The precision policy: which matrix products of the dynamics run in a low-precision type.

Mixed precision as the field trains it: parameters, optimiser state, membrane
states and EP's weight update stay in float32 (``config.dtype``); only the
products that compute the currents of a step, forward (F_ℓ(s_{ℓ−1})) and
transposed (the backward current into s_{ℓ−1}), take ``compute_dtype``
operands (bfloat16 on CPUs with AVX-512 BF16 / AMX and on GPU tensor cores)
with float32 accumulation (``connections.matmul``, ``connections.conv_xla``).
Spikes are exactly 0 or 1, so they lose nothing in bfloat16: only the weights'
(and, for rate neurons, the states') rounding enters the currents. The
weight gradient ∂Φ/∂θ at the rates, a difference of two nearly equal outer
products in EP, is computed from the float32 operands.

A small product does not gain from bfloat16 (the conversions cost more than
the matrix units save): connections whose weight has fewer than ``min_size``
elements stay in float32 (BUILD_NOTES.md, 4.2, measures where that lies).

    policy = precision.Precision('bfloat16')
    network = policy.apply(network)      # the same parameters, bf16 products
"""

from __future__ import annotations

import dataclasses
import math

from stochep_jax import checks, energy
from stochep_jax import connections as conn_lib

COMPUTE_DTYPES = ('float32', 'bfloat16', 'float16')


@dataclasses.dataclass(frozen=True)
class Precision:
  """A precision policy for the products of the dynamics.

  Attributes:
    compute_dtype: operand type of the current's products: ``'float32'`` (the
      default: no change), ``'bfloat16'`` or ``'float16'``; accumulation is
      float32 either way.
    min_size: connections whose weight tensor has fewer elements keep float32
      products.
  """

  compute_dtype: str = 'float32'
  min_size: int = 0

  def __post_init__(self):
    checks.choice('Precision', 'compute_dtype', self.compute_dtype, COMPUTE_DTYPES)
    checks.integer('Precision', 'min_size', self.min_size, 0)

  @property
  def is_default(self) -> bool:
    return self.compute_dtype == 'float32'

  def compute_dtypes(self, network: energy.Network) -> tuple[str | None, ...]:
    """Each connection's product type under this policy (None: its operands' own)."""
    in_shapes = (tuple(network.input_shape),) + tuple(network.layer_shapes[:-1])
    out = []
    for c, shape in zip(network.connections, in_shapes):
      size = _weight_size(c, shape)
      low = not self.is_default and size is not None and size >= self.min_size
      out.append(self.compute_dtype if low else None)
    return tuple(out)

  def apply(self, network: energy.Network) -> energy.Network:
    """``network`` with each connection's ``compute_dtype`` set by the policy."""
    if not network.connections:
      return network
    conns = tuple(
      dataclasses.replace(c, compute_dtype=cd) if hasattr(c, 'compute_dtype') else c
      for c, cd in zip(network.connections, self.compute_dtypes(network))
    )
    return dataclasses.replace(network, connections=conns)


def _weight_size(connection, in_shape) -> int | None:
  """Elements of a Dense / Conv weight (None for other connections)."""
  if isinstance(connection, conn_lib.Dense):
    return math.prod(in_shape) * connection.features
  if isinstance(connection, conn_lib.Conv):
    return math.prod(connection._kernel_shape(in_shape))
  return None
