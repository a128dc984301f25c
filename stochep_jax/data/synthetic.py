"""Small synthetic datasets written in the ORIGINAL file formats (for tests).

The images are learnable: every class has a fixed random prototype (a blocky
low-resolution random pattern, upsampled by 4) and each image is
``round(0.6 * prototype + 0.4 * uniform noise)``; a nearest-class-mean
classifier is close to 100% accurate, chance is ``1 / num_classes``. Labels are
balanced (``i % num_classes``, shuffled). Everything is deterministic for a
seed, and the train and test splits share the prototypes.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from stochep_jax.data import aedat, dvs_gesture
from stochep_jax.data import cifar as cifar_lib
from stochep_jax.data import events as ev_lib
from stochep_jax.data import idx as idx_lib

__all__ = [
  'make_synthetic_split',
  'write_synthetic_cifar10',
  'write_synthetic_dvs_gesture',
  'write_synthetic_idx',
]

_BLOCK = 4
_PROTO_WEIGHT = 0.6


def _prototypes(
  rng: np.random.Generator, num_classes: int, shape: tuple[int, int, int]
) -> np.ndarray:
  h, w, c = shape
  low = rng.integers(0, 256, size=(num_classes, -(-h // _BLOCK), -(-w // _BLOCK), c))
  up = np.repeat(np.repeat(low, _BLOCK, axis=1), _BLOCK, axis=2)
  return up[:, :h, :w, :].astype(np.float64)


def make_synthetic_split(
  rng: np.random.Generator, prototypes: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
  """Draws ``n`` noisy examples of the given class prototypes.

  Args:
    rng: Random generator (consumed).
    prototypes: ``float [num_classes, H, W, C]`` in ``[0, 255]``.
    n: Number of examples.

  Returns:
    ``(images uint8 [n, H, W, C], labels int32 [n])``.
  """
  num_classes = prototypes.shape[0]
  labels = rng.permutation(np.arange(n) % num_classes).astype(np.int32)
  noise = rng.integers(0, 256, size=(n, *prototypes.shape[1:]))
  images = _PROTO_WEIGHT * prototypes[labels] + (1.0 - _PROTO_WEIGHT) * noise
  return np.clip(np.rint(images), 0, 255).astype(np.uint8), labels


def _check_counts(**counts: int) -> None:
  for k, v in counts.items():
    if int(v) != v or v < 0:
      raise ValueError(f'{k} must be a non-negative integer, got {v!r}.')


def write_synthetic_idx(
  folder: str | os.PathLike[str],
  n_train: int,
  n_test: int,
  *,
  seed: int,
  num_classes: int = 10,
  shape: tuple[int, int] = (28, 28),
  gzip: bool = True,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
  """Writes the four (Fashion-)MNIST IDX files with synthetic learnable data.

  Args:
    folder: Destination folder (created).
    n_train: Number of training examples.
    n_test: Number of test examples.
    seed: Random seed (the files are identical for a seed).
    num_classes: Number of classes (labels in ``[0, num_classes)``).
    shape: ``(H, W)`` of the images (the builders expect ``(28, 28)``).
    gzip: Write ``*.gz`` files (like the originals) or uncompressed ones.

  Returns:
    ``{'train': (images, labels), 'test': (images, labels)}`` as written,
    images ``uint8 [N, H, W, 1]``, labels ``int32 [N]``.
  """
  _check_counts(n_train=n_train, n_test=n_test)
  h, w = shape
  rng = np.random.default_rng(seed)
  protos = _prototypes(rng, num_classes, (h, w, 1))
  out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
  folder = Path(folder)
  suffix = '.gz' if gzip else ''
  for split, prefix, n in (('train', 'train', n_train), ('test', 't10k', n_test)):
    images, labels = make_synthetic_split(rng, protos, n)
    idx_lib.write_idx(
      folder / f'{prefix}-images-idx3-ubyte{suffix}', images[..., 0], gzip_file=gzip
    )
    idx_lib.write_idx(
      folder / f'{prefix}-labels-idx1-ubyte{suffix}', labels.astype(np.uint8), gzip_file=gzip
    )
    out[split] = (images, labels)
  return out


def write_synthetic_cifar10(
  folder: str | os.PathLike[str], n_per_batch: int, n_test: int, *, seed: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
  """Writes ``<folder>/cifar-10-batches-py/`` with synthetic learnable data.

  The five training batches, ``test_batch`` and ``batches.meta`` are pickled
  exactly like the original ones (see :mod:`stochep_jax.data.cifar`).

  Args:
    folder: Destination; the batches go to ``folder/cifar-10-batches-py``.
    n_per_batch: Examples per training batch (train has ``5 * n_per_batch``).
    n_test: Number of test examples.
    seed: Random seed (the files are identical for a seed).

  Returns:
    ``{'train': (images, labels), 'test': (images, labels)}`` as written,
    images ``uint8 [N, 32, 32, 3]`` (HWC; train = batches 1..5 in order).
  """
  _check_counts(n_per_batch=n_per_batch, n_test=n_test)
  rng = np.random.default_rng(seed)
  protos = _prototypes(rng, len(cifar_lib.CIFAR10_LABEL_NAMES), (32, 32, 3))
  out_dir = Path(folder) / 'cifar-10-batches-py'
  parts = []
  for b in range(1, 6):
    images, labels = make_synthetic_split(rng, protos, n_per_batch)
    cifar_lib.write_cifar_batch(
      out_dir / f'data_batch_{b}', images, labels, batch_label=f'training batch {b} of 5'
    )
    parts.append((images, labels))
  test = make_synthetic_split(rng, protos, n_test)
  cifar_lib.write_cifar_batch(out_dir / 'test_batch', *test, batch_label='testing batch 1 of 1')
  cifar_lib.write_cifar_meta(out_dir / 'batches.meta', num_cases_per_batch=n_per_batch)
  train = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
  return {'train': train, 'test': test}


def _synthetic_gesture(rng: np.random.Generator, label: int, n: int, start: int, length: int):
  """n events of class ``label``: a blob at a class-specific place moving in a class direction."""
  angle = 2 * np.pi * label / len(dvs_gesture.CLASS_NAMES)
  cx, cy = 64 + 40 * np.cos(angle), 64 + 40 * np.sin(angle)
  t = np.sort(rng.integers(start, start + length, n))
  phase = (t - start) / length
  x = cx + 12 * phase * np.cos(angle + 1.0) + rng.normal(0, 3, n)
  y = cy + 12 * phase * np.sin(angle + 1.0) + rng.normal(0, 3, n)
  p = (rng.random(n) < 0.3 + 0.04 * label).astype(np.int64)
  x, y = (np.clip(np.rint(v), 0, 127).astype(np.int64) for v in (x, y))
  return ev_lib.make_events(x, y, p, t)


def write_synthetic_dvs_gesture(
  folder: str | os.PathLike[str],
  *,
  layout: str,
  seed: int,
  n_train_users: int = 2,
  n_test_users: int = 1,
  lightings: tuple[str, ...] = ('fluorescent', 'led'),
  events_per_gesture: int = 200,
  t0: int = 2**31 - 2_000_000,
) -> dict[str, list[tuple[int, np.ndarray]]]:
  """Writes a small, learnable DVS Gesture in the IBM or tonic layout (same data for a seed).

  Every recording ``userNN_<lighting>`` holds the 11 gestures in class order,
  each ``events_per_gesture`` events of a class-specific moving blob over
  0.5 s, separated by 0.1 s of background events that belong to no gesture.
  Times start at ``t0`` µs, by default just before 2³¹ so that the AEDAT
  timestamp overflow changes inside the first recording.

  Args:
    folder: the data_dir to write (``DvsGesture/`` for ``layout='ibm'``,
      ``ibmGestureTrain/`` and ``ibmGestureTest/`` for ``'tonic'``).
    layout: ``'ibm'`` (AEDAT 3.1, labels CSVs, trial lists) or ``'tonic'``
      (one float64 [N, 4] ``<label>.npy`` per gesture, t in ms).
    seed: random seed (both layouts written with one seed hold the same events).
    n_train_users, n_test_users: users 1..n_train_users train, the next test.
    lightings: lighting conditions (one recording each per user).
    events_per_gesture: events per gesture.
    t0: time of the first gesture's start, µs.

  Returns:
    ``{'train': [(label, events), ...], 'test': [...]}``: the gestures as
    written, in the readers' order.
  """
  if layout not in ('ibm', 'tonic'):
    raise ValueError(f"layout must be 'ibm' or 'tonic', got {layout!r}.")
  rng = np.random.default_rng(seed)
  root = Path(folder)
  length, gap = 500_000, 100_000
  out: dict[str, list[tuple[int, np.ndarray]]] = {'train': [], 'test': []}
  trials: dict[str, list[str]] = {'train': [], 'test': []}
  users = [('train', u) for u in range(1, n_train_users + 1)]
  users += [('test', u) for u in range(n_train_users + 1, n_train_users + n_test_users + 1)]
  for split, user in users:
    for lighting in sorted(lightings):
      rec = f'user{user:02d}_{lighting}'
      parts, rows, gestures = [], [], []
      start = t0
      for label in range(len(dvs_gesture.CLASS_NAMES)):
        background = rng.integers(start - gap, start, 20)
        parts.append(
          ev_lib.make_events(
            rng.integers(0, 128, 20), rng.integers(0, 128, 20), rng.integers(0, 2, 20), background
          )
        )
        g = _synthetic_gesture(rng, label, events_per_gesture, start, length)
        parts.append(g)
        rows.append((label + 1, start, start + length))
        gestures.append((label, g))
        start += length + gap
      ev = np.concatenate(parts)
      ev = ev[np.argsort(ev['t'], kind='stable')]
      out[split] += gestures
      if layout == 'ibm':
        d = root / dvs_gesture.IBM_DIR
        d.mkdir(parents=True, exist_ok=True)
        aedat.write_aedat31(d / f'{rec}.aedat', ev, invalid_every=50)
        dvs_gesture.write_labels(d / f'{rec}_labels.csv', rows)
        trials[split].append(f'{rec}.aedat')
      else:
        d = root / dvs_gesture.TONIC_SPLITS[split] / rec
        d.mkdir(parents=True, exist_ok=True)
        for label, g in gestures:
          dvs_gesture.write_tonic_npy(d / f'{label}.npy', g)
  if layout == 'ibm':
    for split, names in trials.items():
      (root / dvs_gesture.IBM_DIR / dvs_gesture.TRIALS[split]).write_text('\n'.join(names) + '\n')
  return out
