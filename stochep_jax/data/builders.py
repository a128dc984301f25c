"""tensorflow-datasets builders reading the ORIGINAL files (no TensorFlow needed).

Each builder reads its original files from ``manual_dir`` with numpy (see
:func:`stochep_jax.data.originals.read_original_split`) and writes them in the
``array_record`` format, in the original file order (``disable_shuffling``), so
record ``i`` of a split is example ``i`` of the original files. Images are a
raw ``uint8`` ``Tensor`` stored as bytes (no PNG encoding, fast to decode).

Importing this module imports tensorflow-datasets (about half a second) but
never TensorFlow. Use :func:`stochep_jax.data.get_source` rather than these
classes directly: it checks the files first and keys the cache per data_dir.
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow_datasets as tfds

from stochep_jax.data import originals, registry

__all__ = [
  'BUILDERS',
  'SepCifar10',
  'SepDvsGesture',
  'SepFashionMnist',
  'SepFashionMnistEvents',
  'SepMnist',
]


class _SepBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
  """Common part: one ``uint8`` image tensor and a class label per example."""

  VERSION = tfds.core.Version('1.0.0')
  RELEASE_NOTES = {'1.0.0': 'Original files, array_record, original order, raw uint8 images.'}
  DATASET: str = ''  # Registry key, set by subclasses.

  @property
  def MANUAL_DOWNLOAD_INSTRUCTIONS(self) -> str:  # noqa: N802 (tfds attribute name)
    spec = registry.DATASETS[self.DATASET]
    if not spec.required_files:
      return f'Needs in manual_dir: {spec.how_to_get}'
    return f'Needs {", ".join(spec.required_files)} in manual_dir. {spec.how_to_get}'

  def _info(self) -> tfds.core.DatasetInfo:
    spec = registry.DATASETS[self.DATASET]
    return tfds.core.DatasetInfo(
      builder=self,
      description=f'{spec.name} read from the original files (stochep_jax).',
      features=tfds.features.FeaturesDict(
        {
          'image': tfds.features.Tensor(
            shape=spec.example_shape, dtype=np.uint8, encoding=tfds.features.Encoding.BYTES
          ),
          'label': tfds.features.ClassLabel(names=list(spec.class_names)),
        }
      ),
      supervised_keys=('image', 'label'),
      disable_shuffling=True,
      homepage=spec.homepage,
    )

  def _split_generators(self, dl_manager: tfds.download.DownloadManager):
    manual_dir = os.fspath(dl_manager.manual_dir)
    registry.check_files(self.DATASET, manual_dir)
    return {split: self._generate_examples(manual_dir, split) for split in registry.SPLITS}

  def _generate_examples(self, manual_dir: str, split: str):
    images, labels = originals.read_original_split(self.DATASET, split, manual_dir)
    for i in range(labels.shape[0]):
      yield i, {'image': images[i], 'label': int(labels[i])}


class SepFashionMnist(_SepBuilder):
  """Fashion-MNIST from the original IDX files."""

  name = 'sep_fashion_mnist'
  DATASET = 'fashion_mnist'


class SepMnist(_SepBuilder):
  """MNIST from the original IDX files."""

  name = 'sep_mnist'
  DATASET = 'mnist'


class SepCifar10(_SepBuilder):
  """CIFAR-10 from the original python pickle batches."""

  name = 'sep_cifar10'
  DATASET = 'cifar10'


class SepFashionMnistEvents(_SepBuilder):
  """Fashion-MNIST turned into event frames [T, H, W, 2] by a simulated event camera."""

  name = 'sep_fashion_mnist_events'
  DATASET = 'fashion_mnist_events'


class SepDvsGesture(_SepBuilder):
  """DVS Gesture binned into frames [T, H, W, 2], from the IBM or tonic layout."""

  name = 'sep_dvs_gesture'
  DATASET = 'dvs_gesture'


BUILDERS: dict[str, type[_SepBuilder]] = {
  cls.DATASET: cls
  for cls in (SepFashionMnist, SepMnist, SepCifar10, SepFashionMnistEvents, SepDvsGesture)
}
