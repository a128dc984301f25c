"""Reading a split straight from the original files with numpy (what the builders store).

Fashion-MNIST / MNIST IDX files, CIFAR-10 pickles, the simulated event camera
over Fashion-MNIST (``fashion_mnist_events``) and DVS Gesture in either
layout; every malformed file is named in a one-line ValueError.
"""

from __future__ import annotations

import os

import numpy as np

from stochep_jax.data import cifar as cifar_lib
from stochep_jax.data import dvs_gesture as dvs_lib
from stochep_jax.data import idx as idx_lib
from stochep_jax.data.registry import _spec, check_files, dataset_folder

__all__ = ['read_original_split']


# Noise seeds of the test examples of 'idx_events' datasets: index + this (train: index).
_TEST_INDEX_OFFSET = 1 << 32
_CAMERA_CHUNK = 1000  # images converted at once


def read_original_split(
  name: str, split: str, data_dir: str | os.PathLike[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
  """Reads one split straight from the original files with numpy (no tfds).

  This is what the tfds builders store; it is also a reference for tests.

  Args:
    name: Registry name.
    split: ``'train'`` or ``'test'``.
    data_dir: Folder of the original files (None: default).

  Returns:
    ``(images uint8 [N, H, W, C], labels int32 [N])`` in file order.

  Raises:
    MissingDatasetError: If files are missing.
    ValueError: If the files are malformed or do not match the dataset.
  """
  spec = _spec(name)
  if split not in spec.split_files:
    raise ValueError(f'Unknown split {split!r} for {name!r}; known: {list(spec.split_files)}.')
  paths = check_files(name, data_dir)
  files = [paths[f] for f in spec.split_files[split]]
  if spec.file_format == 'dvs_gesture':
    folder = dataset_folder(name, data_dir)
    files = [folder]
    images, labels = dvs_lib.read_split(folder, split, spec.frames)
  elif spec.file_format in ('idx', 'idx_events'):
    images, labels = idx_lib.read_idx(files[0]), idx_lib.read_idx(files[1])
    if images.ndim == 3:
      images = images[..., None]
    if spec.file_format == 'idx_events':
      if images.shape[1:] != (28, 28, 1):
        raise ValueError(f'{files[0]}: images must be 28x28, got shape {list(images.shape)}.')
      offset = _TEST_INDEX_OFFSET if split == 'test' else 0
      images = np.concatenate(
        [
          spec.camera.frames(
            images[i : i + _CAMERA_CHUNK],
            spec.frames,
            indices=offset + np.arange(i, min(i + _CAMERA_CHUNK, len(images))),
          )
          for i in range(0, len(images), _CAMERA_CHUNK)
        ]
        or [np.zeros((0, *spec.example_shape), np.uint8)]
      )
  else:
    parts = [cifar_lib.read_cifar_batch(f) for f in files]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    label_names = cifar_lib.read_cifar_meta(paths['batches.meta'])
    if len(label_names) != spec.num_classes:
      raise ValueError(f'{paths["batches.meta"]}: {len(label_names)} label names, expected 10.')
  where = ', '.join(str(f) for f in files)
  if images.dtype != np.uint8 or images.shape[1:] != spec.example_shape:
    raise ValueError(
      f'{where}: images must be uint8 with shape [N, {", ".join(map(str, spec.example_shape))}] '
      f'for {name!r}, got {images.dtype} {list(images.shape)}.'
    )
  if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
    raise ValueError(f'{where}: {labels.shape} labels for {images.shape[0]} images.')
  if labels.size and (labels.min() < 0 or labels.max() >= spec.num_classes):
    raise ValueError(f'{where}: labels must be in [0, {spec.num_classes}).')
  return images, labels.astype(np.int32)
