"""Reading and writing the original CIFAR-10 "python version" batches.

Each batch file (``data_batch_1`` .. ``data_batch_5``, ``test_batch``) is a
pickled dict with ``b'data'`` (``uint8 [N, 3072]``, each row the 32x32 image
stored channel-major: 1024 red values, 1024 green, 1024 blue, each plane
row-major), ``b'labels'`` (list of ints), ``b'batch_label'`` and
``b'filenames'``. ``batches.meta`` holds ``b'label_names'``,
``b'num_cases_per_batch'`` and ``b'num_vis'``.

Warning: these files are pickles; only read files from a trusted source.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
  'CIFAR10_LABEL_NAMES',
  'read_cifar_batch',
  'read_cifar_meta',
  'write_cifar_batch',
  'write_cifar_meta',
]

CIFAR10_LABEL_NAMES: tuple[str, ...] = (
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
)
_SIDE = 32
_CHANNELS = 3


def _load_pickle(path: Path) -> dict[Any, Any]:
  with open(path, 'rb') as f:
    obj = pickle.load(f, encoding='bytes')
  if not isinstance(obj, dict):
    raise ValueError(f'{path}: expected a pickled dict, got {type(obj).__name__}.')
  return obj


def _get(d: dict[Any, Any], key: str, path: Path) -> Any:
  for k in (key.encode(), key):
    if k in d:
      return d[k]
  raise ValueError(f'{path}: missing key {key!r} (keys: {sorted(map(str, d))}).')


def read_cifar_batch(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
  """Reads one CIFAR-10 python batch file.

  Args:
    path: Path of ``data_batch_i`` or ``test_batch``.

  Returns:
    ``(images, labels)``: ``uint8 [N, 32, 32, 3]`` (HWC) and ``int64 [N]``.

  Raises:
    ValueError: If the file does not have the expected content.
  """
  path = Path(path)
  d = _load_pickle(path)
  data = np.asarray(_get(d, 'data', path))
  labels = np.asarray(_get(d, 'labels', path), dtype=np.int64)
  if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != _CHANNELS * _SIDE * _SIDE:
    raise ValueError(f"{path}: b'data' must be uint8 [N, 3072], got {data.dtype} {data.shape}.")
  if labels.shape != (data.shape[0],):
    raise ValueError(f'{path}: {labels.shape[0]} labels for {data.shape[0]} images.')
  images = data.reshape(-1, _CHANNELS, _SIDE, _SIDE).transpose(0, 2, 3, 1)
  return np.ascontiguousarray(images), labels


def read_cifar_meta(path: str | os.PathLike[str]) -> list[str]:
  """Reads ``batches.meta`` and returns the label names."""
  path = Path(path)
  names = _get(_load_pickle(path), 'label_names', path)
  return [n.decode() if isinstance(n, bytes) else str(n) for n in names]


def write_cifar_batch(
  path: str | os.PathLike[str],
  images: np.ndarray,
  labels: np.ndarray,
  *,
  batch_label: str,
  filenames: list[str] | None = None,
) -> Path:
  """Writes a batch file laid out exactly like the original ones.

  Args:
    path: Destination file.
    images: ``uint8 [N, 32, 32, 3]`` (HWC).
    labels: Integer labels ``[N]``.
    batch_label: E.g. ``'training batch 1 of 5'``.
    filenames: Optional per-image file names (made up if omitted).

  Returns:
    The path written.
  """
  images = np.asarray(images)
  if images.dtype != np.uint8 or images.shape[1:] != (_SIDE, _SIDE, _CHANNELS):
    raise ValueError(f'images must be uint8 [N, 32, 32, 3], got {images.dtype} {images.shape}.')
  n = images.shape[0]
  if filenames is None:
    filenames = [f'synthetic_{batch_label.replace(" ", "_")}_{i:05d}.png' for i in range(n)]
  d = {
    b'batch_label': batch_label.encode(),
    b'labels': [int(v) for v in np.asarray(labels).reshape(-1)],
    b'data': np.ascontiguousarray(images.transpose(0, 3, 1, 2).reshape(n, -1)),
    b'filenames': [f.encode() for f in filenames],
  }
  if len(d[b'labels']) != n:
    raise ValueError(f'{len(d[b"labels"])} labels for {n} images.')
  path = Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  with open(path, 'wb') as f:
    pickle.dump(d, f, protocol=2)
  return path


def write_cifar_meta(
  path: str | os.PathLike[str],
  *,
  num_cases_per_batch: int,
  label_names: tuple[str, ...] = CIFAR10_LABEL_NAMES,
) -> Path:
  """Writes ``batches.meta`` like the original one."""
  d = {
    b'num_cases_per_batch': int(num_cases_per_batch),
    b'label_names': [n.encode() for n in label_names],
    b'num_vis': _CHANNELS * _SIDE * _SIDE,
  }
  path = Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  with open(path, 'wb') as f:
    pickle.dump(d, f, protocol=2)
  return path
