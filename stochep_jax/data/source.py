"""Prepared (array_record) data sources and whole-split loading.

The original files are checked first (:func:`check_files`, milliseconds, no
tfds import); only then is tensorflow-datasets imported and the dataset
prepared, once, into a cache folder keyed by the dataset files::

    <tfds_dir>/<name>-<key>/<builder_name>/<version>/*.array_record-*

where ``key`` hashes the resolved folder path and each file's name, size,
mtime and inode. Two different ``data_dir`` (e.g. synthetic test data and the
real data), or files replaced in place, never share a cache entry.

Network: the builders only read ``manual_dir``; GCS is never tried
(``try_download_gcs=False``) and nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from stochep_jax.data import registry

if TYPE_CHECKING:
  import tensorflow_datasets as tfds

__all__ = [
  'DEFAULT_TFDS_DIR',
  'TFDS_DIR_ENV',
  'cache_dir',
  'default_tfds_dir',
  'get_builder',
  'get_source',
  'load_arrays',
]

TFDS_DIR_ENV = 'STOCHEP_TFDS_DIR'
DEFAULT_TFDS_DIR = '~/.cache/stochep_jax/tensorflow_datasets'
_READ_CHUNK = 16384  # records per batched read in load_arrays


def default_tfds_dir() -> Path:
  """The cache root: ``$STOCHEP_TFDS_DIR`` or ``~/.cache/stochep_jax/tensorflow_datasets``."""
  return Path(os.environ.get(TFDS_DIR_ENV) or DEFAULT_TFDS_DIR).expanduser()


def _fingerprint(name: str, folder: Path, files: dict[str, Path]) -> dict[str, Any]:
  entries = []
  for canonical in sorted(files):
    path = files[canonical]
    st = path.stat()
    entries.append([canonical, path.name, st.st_size, st.st_mtime_ns, st.st_ino])
  out = {'dataset': name, 'folder': os.fspath(folder), 'files': entries}
  spec = registry.DATASETS[name]
  if spec.frames is not None:  # event datasets: the binning and camera settings too
    out['settings'] = repr((spec.frames, spec.camera))
  return out


def cache_dir(
  name: str,
  data_dir: str | os.PathLike[str] | None = None,
  tfds_dir: str | os.PathLike[str] | None = None,
) -> Path:
  """The tfds ``data_dir`` used for these original files (fails fast if missing).

  Args:
    name: Registry name.
    data_dir: Folder of the original files (None: the dataset's default).
    tfds_dir: Cache root (None: :func:`default_tfds_dir`).

  Returns:
    ``<tfds_dir>/<name>-<16 hex digits>``, the key depending on the resolved
    folder and on every file's name, size, mtime and inode.

  Raises:
    MissingDatasetError: If original files are missing.
  """
  files = registry.check_files(name, data_dir)
  fingerprint = _fingerprint(name, registry.dataset_folder(name, data_dir), files)
  digest = hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()[:16]
  root = Path(tfds_dir).expanduser() if tfds_dir is not None else default_tfds_dir()
  return root.resolve() / f'{name}-{digest}'


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
  """Inter-process lock so that concurrent processes prepare a dataset once."""
  try:
    import fcntl
  except ImportError:  # pragma: no cover - non-POSIX
    yield
    return
  path.parent.mkdir(parents=True, exist_ok=True)
  with open(path, 'a') as f:
    fcntl.flock(f, fcntl.LOCK_EX)
    try:
      yield
    finally:
      fcntl.flock(f, fcntl.LOCK_UN)


def get_builder(
  name: str,
  data_dir: str | os.PathLike[str] | None = None,
  tfds_dir: str | os.PathLike[str] | None = None,
) -> tfds.core.DatasetBuilder:
  """Returns the prepared tfds builder (preparing it on first use).

  Args:
    name: Registry name (``'fashion_mnist'``, ``'mnist'``, ``'cifar10'``).
    data_dir: Folder of the original files (None: the dataset's default).
    tfds_dir: Cache root (None: ``$STOCHEP_TFDS_DIR`` or
      ``~/.cache/stochep_jax/tensorflow_datasets``).

  Returns:
    A prepared ``tfds.core.DatasetBuilder`` in the ``array_record`` format.

  Raises:
    MissingDatasetError: Original files missing (raised before any tfds work).
    ValueError: Malformed original files.
  """
  # Fail fast, before importing tfds.
  folder = registry.dataset_folder(name, data_dir)
  builder_dir = cache_dir(name, folder, tfds_dir)

  import tensorflow_datasets as tfds  # noqa: PLC0415 (slow import, only when needed)

  from stochep_jax.data.builders import BUILDERS  # noqa: PLC0415

  with _file_lock(builder_dir.with_name(builder_dir.name + '.lock')):
    builder = BUILDERS[name](data_dir=os.fspath(builder_dir), file_format='array_record')
    info_file = builder.data_path / 'dataset_info.json'
    if not info_file.exists():
      (builder_dir / 'source.json').parent.mkdir(parents=True, exist_ok=True)
      (builder_dir / 'source.json').write_text(
        json.dumps(_fingerprint(name, folder, registry.check_files(name, folder)), indent=1)
      )
      try:
        builder.download_and_prepare(
          download_dir=os.fspath(builder_dir / 'downloads'),
          download_config=tfds.download.DownloadConfig(
            manual_dir=os.fspath(folder), try_download_gcs=False
          ),
          file_format='array_record',
        )
      except Exception as e:  # noqa: BLE001  (the original files' reader failed)
        shutil.rmtree(builder_dir, ignore_errors=True)  # nothing half-built stays
        reason = (str(e).strip().splitlines() or [type(e).__name__])[-1][:1000]
        raise OriginalFileError(f'preparing {name} from {folder} failed: {reason}') from e
  return builder


def get_source(
  name: str,
  split: str,
  data_dir: str | os.PathLike[str] | None = None,
  tfds_dir: str | os.PathLike[str] | None = None,
) -> Any:
  """Random-access source over one split (tfds ``ArrayRecordDataSource``).

  Args:
    name: Registry name.
    split: ``'train'``, ``'test'`` or a tfds split slice like ``'train[:1000]'``.
    data_dir: Folder of the original files (None: the dataset's default).
    tfds_dir: Cache root (see :func:`get_builder`).

  Returns:
    A sequence with ``len()``, ``source[i]`` and batched
    ``source.__getitems__([i, j, ...])``; each item is a dict
    ``{'image': uint8 [H, W, C], 'label': int}``. Item ``i`` is example ``i``
    of the original files.

  Raises:
    MissingDatasetError: Original files missing (raised before any tfds work).
  """
  return get_builder(name, data_dir, tfds_dir).as_data_source(split)


def _parse_fast(
  records: list[bytes], image_shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
  """Parses serialized tf.train.Example records (raw image bytes + int label)."""
  from tensorflow_datasets.proto import tf_example_pb2  # noqa: PLC0415

  parse = tf_example_pb2.Example.FromString
  image_bytes = []
  labels = np.empty(len(records), dtype=np.int32)
  for i, record in enumerate(records):
    feature = parse(record).features.feature
    image_bytes.append(feature['image'].bytes_list.value[0])
    labels[i] = feature['label'].int64_list.value[0]
  flat = np.frombuffer(b''.join(image_bytes), dtype=np.uint8)
  return flat.reshape((len(records), *image_shape)), labels


def _has_fast_parser() -> bool:
  try:
    from tensorflow_datasets.proto import tf_example_pb2  # noqa: F401, PLC0415
  except ImportError:  # pragma: no cover - tfds internals moved
    return False
  return True


class SplitReader:
  """Random access to one split through the array_record data source.

  Reading an index set touches only those records, so a process of a
  multi-host run reads only its slice of every batch.
  """

  def __init__(
    self,
    name: str,
    split: str,
    data_dir: str | os.PathLike[str] | None = None,
    tfds_dir: str | os.PathLike[str] | None = None,
  ):
    builder = get_builder(name, data_dir, tfds_dir)  # fails fast, before importing tfds
    self.spec = registry.DATASETS[name]

    import tensorflow_datasets as tfds  # noqa: PLC0415

    self._fast = _has_fast_parser()
    method = tfds.decode.DeserializeMethod
    try:
      self._info_split = builder.info.splits[split]
    except Exception:  # noqa: BLE001  (a split slice such as 'train[:100]')
      self._info_split = None
    self._source = builder.as_data_source(
      split, deserialize_method=method.RAW_BYTES if self._fast else method.DESERIALIZE_AND_DECODE
    )

  def __len__(self) -> int:
    return len(self._source)

  def expected_length(self) -> int | None:
    """The split's example count recorded in dataset_info.json (None if unknown)."""
    try:
      return int(self._info_split.num_examples)
    except Exception:  # noqa: BLE001
      return None

  def read(self, indices) -> tuple[np.ndarray, np.ndarray]:
    """``(uint8 [n, *spec.example_shape], int32 [n])`` of the given example indices."""
    indices = [int(i) for i in indices]
    images = np.empty((len(indices), *self.spec.example_shape), dtype=np.uint8)
    labels = np.empty((len(indices),), dtype=np.int32)
    for start in range(0, len(indices), _READ_CHUNK):
      stop = min(len(indices), start + _READ_CHUNK)
      items = self._source.__getitems__(indices[start:stop])
      if self._fast:
        images[start:stop], labels[start:stop] = _parse_fast(items, self.spec.example_shape)
      else:  # pragma: no cover - tfds's own (slower) per-example decoding
        images[start:stop] = np.stack([it['image'] for it in items])
        labels[start:stop] = [it['label'] for it in items]
    return images, labels


def load_arrays(
  name: str,
  split: str,
  data_dir: str | os.PathLike[str] | None = None,
  tfds_dir: str | os.PathLike[str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
  """Loads a whole split in memory through the array_record data source.

  Records are read in large batches (``__getitems__``) and parsed without
  the per-example tfds decoding (the image is stored as raw bytes), so the
  60k Fashion-MNIST training images load in about a second once prepared.

  Args:
    name: Registry name.
    split: ``'train'``, ``'test'`` or a tfds split slice.
    data_dir: Folder of the original files (None: the dataset's default).
    tfds_dir: Cache root (see :func:`get_builder`).

  Returns:
    ``(images, labels)``: ``uint8 [N, H, W, C]`` and ``int32 [N]``, in the
    original file order (row ``i`` = global example index ``i``).

  Raises:
    MissingDatasetError: Original files missing (raised before any tfds work).
  """

  def read():
    reader = SplitReader(name, split, data_dir, tfds_dir)
    images, labels = reader.read(range(len(reader)))
    expected = reader.expected_length()
    if expected is not None and len(labels) != expected:
      raise ValueError(f'{len(labels)} records where dataset_info.json records {expected}')
    return images, labels

  return _rebuilding_on_failure(name, data_dir, tfds_dir, read)


class OriginalFileError(ValueError):
  """An original file that is truncated or malformed (the message names it)."""


class CacheError(RuntimeError):
  """A dataset cache that stays unreadable after a rebuild (the message names its folder)."""


def _rebuilding_on_failure(name, data_dir, tfds_dir, read):
  """``read()``; if the prepared cache is corrupt or incomplete, rebuild it once and retry.

  Errors about the original files (missing, malformed) are not the cache's
  and pass through unchanged.
  """
  try:
    return read()
  except (registry.MissingDatasetError, OriginalFileError):
    raise
  except Exception as e:  # noqa: BLE001  (riegeli, protobuf, tfds and OS errors)
    folder = cache_dir(name, registry.dataset_folder(name, data_dir), tfds_dir)
    reason = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
    print(
      f'warning: the dataset cache {folder} is unreadable ({reason}); rebuilding it from the '
      'original files',
      flush=True,
    )
    shutil.rmtree(folder, ignore_errors=True)
  try:
    return read()
  except (registry.MissingDatasetError, OriginalFileError):
    raise
  except Exception as e:  # noqa: BLE001
    raise CacheError(
      f'the dataset cache {folder} is still unreadable after a rebuild ({e}); remove {folder}'
    ) from None
