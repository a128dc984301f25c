"""Registry of the supported datasets and the fail-fast file check.

Nothing here imports tensorflow-datasets: :func:`check_files` must answer in
milliseconds, before any (slow) tfds preparation is attempted.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from stochep_jax.data import cifar as cifar_lib
from stochep_jax.data import dvs_gesture as dvs_lib
from stochep_jax.data import event_camera as camera_lib
from stochep_jax.data import events as events_lib

__all__ = [
  'DATASETS',
  'DatasetSpec',
  'MissingDatasetError',
  'check_files',
  'dataset_folder',
  'resolve_data_dir',
]

SPLITS: tuple[str, ...] = ('train', 'test')
_CIFAR_SUBDIR = 'cifar-10-batches-py'


class MissingDatasetError(FileNotFoundError):
  """A dataset's original files are missing.

  Attributes:
    dataset: Registry name of the dataset.
    folder: Folder where the files are expected.
    missing: Names of the missing files.
  """

  def __init__(self, message: str, *, dataset: str, folder: Path, missing: list[str]):
    super().__init__(message)
    self.dataset = dataset
    self.folder = folder
    self.missing = missing

  def __str__(self) -> str:  # FileNotFoundError would otherwise format errno/filename.
    return self.args[0]


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
  """Static description of a supported dataset.

  Attributes:
    name: Registry name (key of :data:`DATASETS`).
    builder_name: Name of the tfds builder (prefixed ``sep_`` so it never
      clashes with tfds's own ``mnist``/``fashion_mnist``/``cifar10``).
    image_shape: ``(H, W, C)`` of one image; for event datasets of one frame
      (``(H, W, 2)``, the network's input shape).
    num_classes: Number of classes.
    class_names: Class names, index = label.
    num_examples: Split sizes of the REAL dataset (synthetic data differs).
    split_files: Split -> original file names holding it, in order. For IDX
      datasets ``(images, labels)``; for CIFAR-10 the batch files.
    required_files: Every file that must be present (canonical names).
    default_data_dir: Default folder of the original files, or None.
    how_to_get: Human instructions printed when files are missing.
    homepage: Dataset homepage.
    file_format: ``'idx'``, ``'cifar_pickle'``, ``'idx_events'`` (IDX images
      turned into events by ``camera``) or ``'dvs_gesture'``.
    frames: event datasets: how events are binned (T frames per example).
    camera: ``'idx_events'``: the simulated event camera.
  """

  name: str
  builder_name: str
  image_shape: tuple[int, int, int]
  num_classes: int
  class_names: tuple[str, ...]
  num_examples: Mapping[str, int]
  split_files: Mapping[str, tuple[str, ...]]
  required_files: tuple[str, ...]
  default_data_dir: str | None
  how_to_get: str
  homepage: str
  file_format: str
  frames: events_lib.FrameSettings | None = None
  camera: camera_lib.EventCamera | None = None

  @property
  def example_shape(self) -> tuple[int, ...]:
    """Shape of one stored example: ``image_shape``, or ``(T, H, W, 2)`` for events."""
    if self.frames is None:
      return self.image_shape
    return (self.frames.num_bins, *self.image_shape)


_IDX_FILES = {
  'train': ('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'),
  'test': ('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'),
}
_IDX_REQUIRED = _IDX_FILES['train'] + _IDX_FILES['test']
_IDX_NAMES_TEXT = ', '.join(_IDX_REQUIRED)
_CIFAR_FILES = {'train': tuple(f'data_batch_{i}' for i in range(1, 6)), 'test': ('test_batch',)}
_CIFAR_REQUIRED = _CIFAR_FILES['train'] + _CIFAR_FILES['test'] + ('batches.meta',)

DEFAULT_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist'

# [choice] Fashion-MNIST as events: N-MNIST-like saccades (34x34 sensor, 3 x 100 ms), binned
# into 10 frames of 30 ms, pooled 2x2 to 17x17, counts clipped at 3 (values 0, 1/3, 2/3, 1).
FASHION_MNIST_EVENTS_CAMERA = camera_lib.EventCamera()
FASHION_MNIST_EVENTS_FRAMES = events_lib.FrameSettings(num_bins=10, downsample=2, clip=3)
# [choice] DVS Gesture: 16 frames over each gesture's span, 128x128 pooled 4x4 to 32x32,
# counts clipped at 5 (values k/5).
DVS_GESTURE_FRAMES = events_lib.FrameSettings(num_bins=16, downsample=4, clip=5)
_FASHION_NAMES = (
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
)
_FASHION_HOW_TO_GET = (
  'On Debian/Ubuntu: `sudo apt-get install dataset-fashion-mnist` (installs them in '
  f'{DEFAULT_FASHION_MNIST_DIR}), or copy the four original Fashion-MNIST IDX files '
  f'({_IDX_NAMES_TEXT}; gzipped or not) into that folder '
  '(originals: https://github.com/zalandoresearch/fashion-mnist).'
)

DATASETS: Mapping[str, DatasetSpec] = MappingProxyType(
  {
    'fashion_mnist': DatasetSpec(
      name='fashion_mnist',
      builder_name='sep_fashion_mnist',
      image_shape=(28, 28, 1),
      num_classes=10,
      class_names=_FASHION_NAMES,
      num_examples=MappingProxyType({'train': 60000, 'test': 10000}),
      split_files=MappingProxyType(_IDX_FILES),
      required_files=_IDX_REQUIRED,
      default_data_dir=DEFAULT_FASHION_MNIST_DIR,
      how_to_get=_FASHION_HOW_TO_GET,
      homepage='https://github.com/zalandoresearch/fashion-mnist',
      file_format='idx',
    ),
    'fashion_mnist_events': DatasetSpec(
      name='fashion_mnist_events',
      builder_name='sep_fashion_mnist_events',
      image_shape=FASHION_MNIST_EVENTS_FRAMES.frame_shape(
        FASHION_MNIST_EVENTS_CAMERA.sensor_shape((28, 28))
      )[1:],
      num_classes=10,
      class_names=_FASHION_NAMES,
      num_examples=MappingProxyType({'train': 60000, 'test': 10000}),
      split_files=MappingProxyType(_IDX_FILES),
      required_files=_IDX_REQUIRED,
      default_data_dir=DEFAULT_FASHION_MNIST_DIR,
      how_to_get=_FASHION_HOW_TO_GET + ' They are turned into events by a simulated camera.',
      homepage='https://github.com/zalandoresearch/fashion-mnist',
      file_format='idx_events',
      frames=FASHION_MNIST_EVENTS_FRAMES,
      camera=FASHION_MNIST_EVENTS_CAMERA,
    ),
    'dvs_gesture': DatasetSpec(
      name='dvs_gesture',
      builder_name='sep_dvs_gesture',
      image_shape=DVS_GESTURE_FRAMES.frame_shape(dvs_lib.SENSOR)[1:],
      num_classes=len(dvs_lib.CLASS_NAMES),
      class_names=dvs_lib.CLASS_NAMES,
      num_examples=MappingProxyType({'train': 1176, 'test': 288}),
      split_files=MappingProxyType({'train': (), 'test': ()}),
      required_files=(),
      default_data_dir=None,
      how_to_get=dvs_lib.HOW_TO_GET,
      homepage='https://research.ibm.com/interactive/dvsgesture/',
      file_format='dvs_gesture',
      frames=DVS_GESTURE_FRAMES,
    ),
    'mnist': DatasetSpec(
      name='mnist',
      builder_name='sep_mnist',
      image_shape=(28, 28, 1),
      num_classes=10,
      class_names=tuple(str(i) for i in range(10)),
      num_examples=MappingProxyType({'train': 60000, 'test': 10000}),
      split_files=MappingProxyType(_IDX_FILES),
      required_files=_IDX_REQUIRED,
      default_data_dir=None,
      how_to_get=(
        f'Copy the four original MNIST IDX files ({_IDX_NAMES_TEXT}; gzipped or not, '
        'as distributed at http://yann.lecun.com/exdb/mnist/) into that folder.'
      ),
      homepage='http://yann.lecun.com/exdb/mnist/',
      file_format='idx',
    ),
    'cifar10': DatasetSpec(
      name='cifar10',
      builder_name='sep_cifar10',
      image_shape=(32, 32, 3),
      num_classes=10,
      class_names=cifar_lib.CIFAR10_LABEL_NAMES,
      num_examples=MappingProxyType({'train': 50000, 'test': 10000}),
      split_files=MappingProxyType(_CIFAR_FILES),
      required_files=_CIFAR_REQUIRED,
      default_data_dir=None,
      how_to_get=(
        'Extract the original CIFAR-10 python version (cifar-10-python.tar.gz from '
        'https://www.cs.toronto.edu/~kriz/cifar.html) so that the folder '
        f"'{_CIFAR_SUBDIR}' with {', '.join(_CIFAR_REQUIRED)} is there; data_dir may be "
        f'that folder or its parent.'
      ),
      homepage='https://www.cs.toronto.edu/~kriz/cifar.html',
      file_format='cifar_pickle',
    ),
  }
)


def _spec(name: str) -> DatasetSpec:
  try:
    return DATASETS[name]
  except KeyError:
    raise ValueError(f'Unknown dataset {name!r}; known: {sorted(DATASETS)}.') from None


def resolve_data_dir(name: str, data_dir: str | os.PathLike[str] | None = None) -> Path:
  """Returns the folder given by the user, or the dataset's default one.

  Args:
    name: Registry name.
    data_dir: Folder of the original files; None for the default.

  Returns:
    Absolute path (symlinks resolved; the folder may not exist).

  Raises:
    ValueError: Unknown dataset, or no ``data_dir`` and no default.
  """
  spec = _spec(name)
  if data_dir is None or (isinstance(data_dir, str) and not data_dir.strip()):
    # '' (a config's unset data_dir) is the default too, never the current folder
    if spec.default_data_dir is None:
      holding = ', '.join(spec.required_files) or 'its files'
      raise ValueError(
        f'Dataset {name!r} has no default data_dir: pass the folder holding {holding}. '
        f'{spec.how_to_get}'
      )
    data_dir = spec.default_data_dir
  return Path(data_dir).expanduser().resolve()


def dataset_folder(name: str, data_dir: str | os.PathLike[str] | None = None) -> Path:
  """Returns the folder that directly holds the dataset's original files.

  Equal to the resolved ``data_dir``, except for CIFAR-10 where ``data_dir``
  may be either ``cifar-10-batches-py`` itself or its parent.
  """
  spec = _spec(name)
  folder = resolve_data_dir(name, data_dir)
  if spec.file_format == 'cifar_pickle':
    sub = folder / _CIFAR_SUBDIR
    if sub.is_dir():
      return sub
    if folder.name == _CIFAR_SUBDIR or any((folder / f).exists() for f in spec.required_files):
      return folder
    return sub
  return folder


def _candidates(spec: DatasetSpec, canonical: str) -> tuple[str, ...]:
  if spec.file_format in ('idx', 'idx_events'):  # '.gz' and the uncompressed name both work.
    plain = canonical.removesuffix('.gz')
    return (canonical, plain)
  return (canonical,)


def check_files(name: str, data_dir: str | os.PathLike[str] | None = None) -> dict[str, Path]:
  """Checks that every original file of a dataset is present (fast, no tfds).

  Args:
    name: Registry name (``'fashion_mnist'``, ``'mnist'`` or ``'cifar10'``).
    data_dir: Folder of the original files (None: the dataset's default).
      For CIFAR-10 either ``cifar-10-batches-py`` or the folder holding it.

  Returns:
    Canonical file name -> path of the file actually found (for IDX files the
    ``.gz`` file if present, else the uncompressed one).

  Raises:
    MissingDatasetError: Naming every missing file, the folder where to put
      them, and how to get them.
    ValueError: Unknown dataset name.
  """
  spec = _spec(name)
  folder = dataset_folder(name, data_dir)
  if spec.file_format == 'dvs_gesture':
    return _check_dvs_gesture(name, folder)
  found: dict[str, Path] = {}
  missing: list[str] = []
  folder_ok = folder.is_dir()
  for canonical in spec.required_files:
    names = _candidates(spec, canonical)
    path = next((folder / n for n in names if folder_ok and (folder / n).is_file()), None)
    if path is None:
      missing.append(canonical if len(names) == 1 else f'{names[0]} (or {names[1]})')
    else:
      found[canonical] = path
  if missing:
    where = f'{folder}' + ('' if folder_ok else ' (this folder does not exist)')
    lines = [
      f'Dataset {name!r}: {len(missing)} of {len(spec.required_files)} original file(s) '
      f'missing in {where}:',
      *(f'  - {m}' for m in missing),
      f'Put them in {folder}. {spec.how_to_get}',
    ]
    raise MissingDatasetError('\n'.join(lines), dataset=name, folder=folder, missing=missing)
  return found


def _check_dvs_gesture(name: str, folder: Path) -> dict[str, Path]:
  layout, where, found, missing = dvs_lib.find_files(folder)
  if not missing:
    return found
  shown = missing[:10] + ([f'... and {len(missing) - 10} more'] if len(missing) > 10 else [])
  head = (
    f'Dataset {name!r}: {len(missing)} file(s) of the {layout} layout missing in {where}:'
    if layout
    else f'Dataset {name!r}: no DVS Gesture files in {folder}'
    + ('' if folder.is_dir() else ' (this folder does not exist)')
    + '; expected:'
  )
  lines = [head, *(f'  - {m}' for m in shown), dvs_lib.HOW_TO_GET]
  raise MissingDatasetError('\n'.join(lines), dataset=name, folder=where, missing=missing)
