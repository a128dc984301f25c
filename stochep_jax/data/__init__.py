"""Datasets for stochep_jax: original files -> tfds array_record -> numpy batches.

Importing this package is cheap: neither tensorflow-datasets (imported on the
first :func:`get_source`/:func:`load_arrays`, after the fail-fast file check)
nor JAX (only :mod:`stochep_jax.data.augment` uses it) is imported, and
TensorFlow is never needed.

Typical use::

    from stochep_jax import data
    x, y = data.load_arrays('fashion_mnist', 'train')   # uint8 [N,28,28,1], int32 [N]
    for batch in data.batches(x, y, 256, seed=0, epoch=e):
        ...  # batch['image'] float32 in [0, 1], batch['label'], batch['index']
"""

from __future__ import annotations

from typing import Any

from stochep_jax.data.originals import read_original_split
from stochep_jax.data.pipeline import (
  ArraySource,
  Subset,
  batch_indices,
  batches,
  check_examples,
  epoch_permutation,
  hold_out,
  num_batches,
  reader_batches,
)
from stochep_jax.data.registry import (
  DATASETS,
  DEFAULT_FASHION_MNIST_DIR,
  DatasetSpec,
  MissingDatasetError,
  check_files,
)
from stochep_jax.data.source import (
  CacheError,
  OriginalFileError,
  SplitReader,
  cache_dir,
  default_tfds_dir,
  get_builder,
  get_source,
  load_arrays,
)
from stochep_jax.data.synthetic import (
  write_synthetic_cifar10,
  write_synthetic_dvs_gesture,
  write_synthetic_idx,
)

__all__ = [
  'DEFAULT_FASHION_MNIST_DIR',
  'CacheError',
  'OriginalFileError',
  'ArraySource',
  'DATASETS',
  'DatasetSpec',
  'MissingDatasetError',
  'SplitReader',
  'Subset',
  'batch_indices',
  'batches',
  'check_examples',
  'cache_dir',
  'check_files',
  'default_tfds_dir',
  'epoch_permutation',
  'get_builder',
  'get_source',
  'hold_out',
  'load_arrays',
  'num_batches',
  'random_crop',
  'random_flip',
  'read_original_split',
  'reader_batches',
  'write_synthetic_cifar10',
  'write_synthetic_dvs_gesture',
  'write_synthetic_idx',
]

_LAZY_AUGMENT = ('random_crop', 'random_flip')


def __getattr__(name: str) -> Any:
  """Lazily exposes the JAX augmentations (avoids importing JAX with the package)."""
  if name in _LAZY_AUGMENT:
    from stochep_jax.data import augment  # noqa: PLC0415

    return getattr(augment, name)
  raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
