"""Named network architectures (SPEC 6), built from connections and a readout.

``ARCHITECTURES.make(name, input_shape=..., n_classes=..., **kwargs)`` builds a
``energy.Network``; configs name an architecture and its keyword arguments.
"""

from __future__ import annotations

from typing import Sequence

from stochep_jax import connections as conn_lib
from stochep_jax import energy
from stochep_jax import registry

ARCHITECTURES = registry.Registry('architecture')


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
def dense(input_shape: int | Sequence[int], hidden: Sequence[int] = (512,),
          n_classes: int = 10, *, readout: str = 'mse', n_perclass: int = 1,
          init_scale: float = 1.0) -> energy.Network:
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
  input_shape = (input_shape,) if isinstance(input_shape, int) else tuple(input_shape)
  ro = make_readout(readout, n_classes, n_perclass, init_scale)
  sizes = list(hidden) + ([n_classes * n_perclass] if readout == 'mse' else [])
  conns = tuple(conn_lib.Dense(n, init_scale=init_scale) for n in sizes)
  return energy.Network(input_shape, conns, ro)
