"""Host-side (numpy) batching with a global, process-count-independent order.

The permutation of an epoch depends only on ``(seed, epoch)``; global batch
``k`` is ``perm[k * batch_size:(k + 1) * batch_size]`` whatever the number of
processes, and process ``p`` of ``P`` yields the contiguous slice
``[p * batch_size // P, (p + 1) * batch_size // P)`` of every global batch.
Each batch carries the global example ``index`` (row in the split), from which
per-example random keys can be derived.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

__all__ = [
  'ArraySource',
  'batch_indices',
  'batches',
  'epoch_permutation',
  'num_batches',
  'reader_batches',
]


def epoch_permutation(n: int, *, seed: int, epoch: int) -> np.ndarray:
  """The example order of an epoch: a permutation of ``range(n)``.

  Args:
    n: Number of examples.
    seed: Non-negative integer seed.
    epoch: Non-negative epoch number.

  Returns:
    ``int64 [n]``, a function of ``(n, seed, epoch)`` only.
  """
  if seed < 0 or epoch < 0:
    raise ValueError(f'seed and epoch must be non-negative, got {seed=} {epoch=}.')
  rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(epoch)]))
  return rng.permutation(n).astype(np.int64)


def num_batches(n: int, batch_size: int, *, drop_remainder: bool = True) -> int:
  """Number of (global) batches per epoch yielded by :func:`batches`."""
  return n // batch_size if drop_remainder else -(-n // batch_size)


def _to_unit_float(images: np.ndarray) -> np.ndarray:
  if images.dtype == np.uint8:
    return np.divide(images, np.float32(255.0), dtype=np.float32)
  return images.astype(np.float32)


def batch_indices(
  n: int,
  batch_size: int,
  *,
  seed: int,
  epoch: int,
  shuffle: bool = True,
  drop_remainder: bool = True,
  process_index: int = 0,
  process_count: int = 1,
) -> Iterator[np.ndarray]:
  """The global example indices of this process's share of each batch.

  Same arguments and slicing rules as :func:`batches`; yields ``int64 [b]``.
  """
  if batch_size <= 0:
    raise ValueError(f'batch_size must be positive, got {batch_size}.')
  if process_count <= 0 or not 0 <= process_index < process_count:
    raise ValueError(
      f'Need 0 <= process_index < process_count, got {process_index}, {process_count}.'
    )
  if batch_size % process_count:
    raise ValueError(
      f'Global batch_size {batch_size} is not divisible by process_count {process_count}.'
    )
  order = epoch_permutation(n, seed=seed, epoch=epoch) if shuffle else np.arange(n, dtype=np.int64)
  local = batch_size // process_count
  lo, hi = process_index * local, (process_index + 1) * local
  stop = num_batches(n, batch_size, drop_remainder=drop_remainder) * batch_size

  def generate() -> Iterator[np.ndarray]:
    for start in range(0, stop, batch_size):
      yield order[start : min(start + batch_size, n)][lo:hi]

  return generate()


def batches(
  images: np.ndarray,
  labels: np.ndarray,
  batch_size: int,
  *,
  seed: int,
  epoch: int,
  shuffle: bool = True,
  drop_remainder: bool = True,
  process_index: int = 0,
  process_count: int = 1,
) -> Iterator[dict[str, np.ndarray]]:
  """Yields one epoch of batches (this process's share of each global batch).

  Args:
    images: ``uint8 [N, H, W, C]`` (scaled to ``[0, 1]``) or float images
      (only cast to float32).
    labels: Integer labels ``[N]``.
    batch_size: GLOBAL batch size; must be divisible by ``process_count``.
    seed: Seed of the shuffling (with ``epoch``).
    epoch: Epoch number; every epoch has its own permutation.
    shuffle: Shuffle (training) or keep the split order (evaluation).
    drop_remainder: Drop the last partial global batch (training) or yield
      it (evaluation).
    process_index: Index of this process, in ``[0, process_count)``.
    process_count: Number of processes sharing each global batch.

  Returns:
    An iterator of dicts ``{'image': float32 [b, H, W, C], 'label': int32
    [b], 'index': int64 [b]}`` with ``b = batch_size // process_count``
    (``index`` is the global example index in the split). For the last
    partial batch (``drop_remainder=False``) each process takes the part of
    its slice that exists, possibly empty, so every process yields the same
    number of batches and their union is the global batch.

  Raises:
    ValueError: Bad arguments (checked at call time, not at first ``next``).
  """
  return reader_batches(
    ArraySource(images, labels),
    batch_size,
    seed=seed,
    epoch=epoch,
    shuffle=shuffle,
    drop_remainder=drop_remainder,
    process_index=process_index,
    process_count=process_count,
  )


def check_examples(images: np.ndarray, labels: np.ndarray, num_classes: int, what: str) -> None:
  """Rejects labels outside ``[0, num_classes)`` and non-finite images (one-line ValueError).

  The loaders of ``stochep_jax.data`` call it on every split they return; call
  it yourself on arrays you feed the library directly: the network computes a
  finite loss for any integer label and propagates NaN inputs silently.
  """
  labels = np.asarray(labels)
  if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
    bad = labels[(labels < 0) | (labels >= num_classes)]
    raise ValueError(f'{what}: {bad.size} labels outside [0, {num_classes}) (e.g. {int(bad[0])})')
  images = np.asarray(images)
  if np.issubdtype(images.dtype, np.floating) and not np.isfinite(images).all():
    raise ValueError(f'{what}: {int((~np.isfinite(images)).sum())} non-finite image values')


class ArraySource:
  """In-memory arrays with the ``SplitReader`` interface (``len``, ``read``)."""

  def __init__(self, images: np.ndarray, labels: np.ndarray):
    self.images, self.labels = np.asarray(images), np.asarray(labels)
    if self.labels.shape != (self.images.shape[0],):
      raise ValueError(
        f'labels must have shape ({self.images.shape[0]},), got {self.labels.shape}.'
      )

  def __len__(self) -> int:
    return self.images.shape[0]

  def read(self, indices) -> tuple[np.ndarray, np.ndarray]:
    return self.images[indices], self.labels[indices]


class Subset:
  """Examples ``[start, stop)`` of a source (``len``, ``read``), as a source of their own."""

  def __init__(self, source, start: int, stop: int):
    if not 0 <= start <= stop <= len(source):
      raise ValueError(f'Subset [{start}, {stop}) of a source of {len(source)} examples')
    self.source, self.start, self.stop = source, start, stop

  def __len__(self) -> int:
    return self.stop - self.start

  def read(self, indices) -> tuple[np.ndarray, np.ndarray]:
    return self.source.read(np.asarray(indices, np.int64) + self.start)


def hold_out(source, n: int) -> tuple[Subset, Subset]:
  """A source's first ``len - n`` examples and its last ``n`` (a validation set), as Subsets."""
  return Subset(source, 0, len(source) - n), Subset(source, len(source) - n, len(source))


def reader_batches(
  reader, batch_size: int, *, limit: int | None = None, **kwargs
) -> Iterator[dict[str, np.ndarray]]:
  """Like :func:`batches`, reading each batch from a source with ``len`` and ``read``.

  With a ``SplitReader`` a process reads only the records of its own slice of
  every global batch. ``limit`` keeps the first ``limit`` examples of the
  split only. Other keyword arguments are those of :func:`batches`.
  """
  n = len(reader) if not limit else min(limit, len(reader))
  indices = batch_indices(n, batch_size, **kwargs)

  def generate():
    for idx in indices:
      images, labels = reader.read(idx)
      yield {'image': _to_unit_float(images), 'label': labels.astype(np.int32), 'index': idx}

  return generate()
