"""Tests of stochep_jax.data: original formats -> tfds array_record -> batches.

Everything runs on small synthetic data written in the original file formats,
with a per-test tfds cache under the test's temporary folder; the network is disabled.
"""

from __future__ import annotations

import contextlib
import gzip
import importlib.abc
import os
import pickle
import socket
import sys
from pathlib import Path
from unittest import mock

import numpy as np
from absl.testing import absltest, parameterized

from stochep_jax import data

IDX_FILES = (
  'train-images-idx3-ubyte',
  'train-labels-idx1-ubyte',
  't10k-images-idx3-ubyte',
  't10k-labels-idx1-ubyte',
)


def _read_idx_independently(path: Path) -> np.ndarray:
  """Parses an IDX file without stochep_jax (header sizes as in the spec)."""
  raw = path.read_bytes()
  if path.suffix == '.gz':
    raw = gzip.decompress(raw)
  ndim = raw[3]
  shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], 'big') for i in range(ndim)]
  return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _nearest_mean_accuracy(train, test) -> float:
  (xtr, ytr), (xte, yte) = train, test
  xtr = xtr.reshape(len(xtr), -1).astype(np.float64)
  xte = xte.reshape(len(xte), -1).astype(np.float64)
  means = np.stack([xtr[ytr == c].mean(0) for c in range(10)])
  dist = ((xte[:, None, :] - means[None]) ** 2).sum(-1)
  return float((dist.argmin(1) == yte).mean())


def _toy(n=103):
  rng = np.random.default_rng(0)
  return rng.integers(0, 256, (n, 4, 4, 1), dtype=np.uint8), rng.integers(0, 10, n).astype(np.int32)


@contextlib.contextmanager
def tfds_import_refused():
  """Within: any import of tensorflow_datasets raises ImportError and is recorded (a list).

  The cached modules are hidden meanwhile (so an import reaches the finder) and restored.
  """
  tried = []

  class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
      if name.partition('.')[0] == 'tensorflow_datasets':
        tried.append(name)
        raise ImportError(f'{name} imported')
      return None

  hidden = {
    m: sys.modules.pop(m) for m in list(sys.modules) if m.partition('.')[0] == 'tensorflow_datasets'
  }
  finder = Refuse()
  sys.meta_path.insert(0, finder)
  try:
    yield tried
  finally:
    sys.meta_path.remove(finder)
    sys.modules.update(hidden)


class DataTestCase(parameterized.TestCase):
  """No network (any attempt, e.g. tfds trying GCS, fails loudly instead of hanging); a fresh
  temporary folder ``self.tmp`` with the tfds cache ``self.tfds_dir`` inside (not made)."""

  def setUp(self):
    super().setUp()

    def refuse(*args, **kwargs):
      raise AssertionError(f'network access attempted: {args!r}')

    self.enter_context(mock.patch.object(socket.socket, 'connect', refuse))
    self.enter_context(mock.patch.object(socket, 'create_connection', refuse))
    self.enter_context(mock.patch.object(socket, 'getaddrinfo', refuse))
    self.tmp = Path(self.create_tempdir().full_path)
    self.tfds_dir = self.tmp / 'tfds'


class IdxTest(DataTestCase):
  @parameterized.named_parameters(
    ('mnist_gzip', 'mnist', True),
    ('mnist_raw', 'mnist', False),
    ('fashion_mnist_gzip', 'fashion_mnist', True),
    ('fashion_mnist_raw', 'fashion_mnist', False),
  )
  def test_idx_round_trip_bit_exact(self, name, use_gzip):
    tfds_dir = self.tfds_dir
    raw_dir = self.tmp / 'raw'
    written = data.write_synthetic_idx(raw_dir, 150, 70, seed=3, gzip=use_gzip)
    suffix = '.gz' if use_gzip else ''
    self.assertEqual(
      sorted(p.name for p in raw_dir.iterdir()), sorted(f + suffix for f in IDX_FILES)
    )

    for split, prefix, n in (('train', 'train', 150), ('test', 't10k', 70)):
      ref_images = _read_idx_independently(raw_dir / f'{prefix}-images-idx3-ubyte{suffix}')
      ref_labels = _read_idx_independently(raw_dir / f'{prefix}-labels-idx1-ubyte{suffix}')
      self.assertEqual(ref_images.shape, (n, 28, 28))
      np.testing.assert_array_equal(ref_images[..., None], written[split][0])
      np.testing.assert_array_equal(ref_labels, written[split][1])

      images, labels = data.load_arrays(name, split, raw_dir, tfds_dir=tfds_dir)
      self.assertEqual(images.dtype, np.uint8)
      self.assertEqual(images.shape, (n, 28, 28, 1))
      self.assertEqual(labels.dtype, np.int32)
      self.assertEqual(labels.shape, (n,))
      np.testing.assert_array_equal(images[..., 0], ref_images)
      np.testing.assert_array_equal(labels, ref_labels)

      # The tfds data source (tfds's own decoding) agrees, item and batched access.
      source = data.get_source(name, split, raw_dir, tfds_dir=tfds_dir)
      self.assertLen(source, n)
      item = source[n - 1]
      np.testing.assert_array_equal(item['image'], images[n - 1])
      self.assertEqual(item['label'], labels[n - 1])
      picked = [0, 5, n - 2]
      items = source.__getitems__(picked)
      np.testing.assert_array_equal(np.stack([it['image'] for it in items]), images[picked])
      np.testing.assert_array_equal([it['label'] for it in items], labels[picked])

    builder_dir = data.cache_dir(name, raw_dir, tfds_dir)
    self.assertEqual(builder_dir.parent, tfds_dir.resolve())
    self.assertNotEmpty(list(builder_dir.glob(f'sep_{name}/1.0.0/*.array_record-*')))
    self.assertNotIn('tensorflow', sys.modules)  # tfds was used without TensorFlow

  def test_prepared_once_then_reused(self):
    tfds_dir = self.tfds_dir
    raw_dir = self.tmp / 'raw'
    data.write_synthetic_idx(raw_dir, 40, 20, seed=0)
    first = data.load_arrays('mnist', 'train', raw_dir, tfds_dir=tfds_dir)
    record = next(data.cache_dir('mnist', raw_dir, tfds_dir).glob('sep_mnist/1.0.0/*train*'))
    stamp = record.stat().st_mtime_ns

    from stochep_jax.data import builders

    def no_regeneration(*args, **kwargs):
      raise AssertionError('dataset prepared twice')

    self.enter_context(
      mock.patch.object(builders._SepBuilder, '_generate_examples', no_regeneration)
    )
    second = data.load_arrays('mnist', 'train', raw_dir, tfds_dir=tfds_dir)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    self.assertEqual(record.stat().st_mtime_ns, stamp)

  def test_default_tfds_dir_from_env(self):
    tmp = self.tmp
    self.enter_context(mock.patch.dict(os.environ, {'STOCHEP_TFDS_DIR': str(tmp / 'envcache')}))
    self.assertEqual(data.default_tfds_dir(), tmp / 'envcache')
    raw_dir = tmp / 'raw'
    data.write_synthetic_idx(raw_dir, 10, 10, seed=0)
    self.assertEqual(data.cache_dir('mnist', raw_dir).parent, (tmp / 'envcache').resolve())
    del os.environ['STOCHEP_TFDS_DIR']  # patch.dict restores the environment afterwards
    self.assertEqual(
      data.default_tfds_dir(), Path('~/.cache/stochep_jax/tensorflow_datasets').expanduser()
    )

  def test_malformed_idx_raises_clear_error(self):
    tfds_dir = self.tfds_dir
    raw_dir = self.tmp / 'raw'
    data.write_synthetic_idx(raw_dir, 30, 10, seed=0, shape=(20, 20))
    with self.assertRaisesRegex(ValueError, r'28, 28, 1'):
      data.load_arrays('mnist', 'train', raw_dir, tfds_dir=tfds_dir)
    # Once the files are fixed (new cache key), preparation succeeds.
    data.write_synthetic_idx(raw_dir, 30, 10, seed=0)
    images, _ = data.load_arrays('mnist', 'train', raw_dir, tfds_dir=tfds_dir)
    self.assertEqual(images.shape, (30, 28, 28, 1))


class TruncatedOriginalTest(DataTestCase):
  def test_a_truncated_gz_is_named_by_file(self):
    raw_dir = self.tmp / 'raw'
    data.write_synthetic_idx(raw_dir, 150, 70, seed=3, gzip=True)
    bad = raw_dir / 'train-images-idx3-ubyte.gz'
    bad.write_bytes(bad.read_bytes()[:-200])  # an interrupted download
    with self.assertRaisesRegex(ValueError, f'{bad}: truncated or damaged gzip file'):
      data.read_original_split('mnist', 'train', raw_dir)
    with self.assertRaisesRegex(data.OriginalFileError, f'{bad}: truncated or damaged gzip'):
      data.load_arrays('mnist', 'train', raw_dir, tfds_dir=self.tfds_dir)


class Cifar10Test(DataTestCase):
  def test_cifar10_round_trip_and_hwc_layout(self):
    tmp_path, tfds_dir = self.tmp, self.tfds_dir
    written = data.write_synthetic_cifar10(tmp_path, n_per_batch=12, n_test=9, seed=1)
    batch_dir = tmp_path / 'cifar-10-batches-py'
    self.assertEqual(
      sorted(p.name for p in batch_dir.iterdir()),
      sorted([f'data_batch_{i}' for i in range(1, 6)] + ['test_batch', 'batches.meta']),
    )
    # Files look like the originals.
    with open(batch_dir / 'data_batch_2', 'rb') as f:
      batch = pickle.load(f, encoding='bytes')
    self.assertEqual(set(batch), {b'data', b'labels', b'batch_label', b'filenames'})
    self.assertEqual(batch[b'data'].dtype, np.uint8)
    self.assertEqual(batch[b'data'].shape, (12, 3072))
    self.assertEqual(batch[b'batch_label'], b'training batch 2 of 5')
    with open(batch_dir / 'batches.meta', 'rb') as f:
      meta = pickle.load(f, encoding='bytes')
    self.assertEqual(meta[b'label_names'][0], b'airplane')
    self.assertEqual(meta[b'num_vis'], 3072)

    # Plant a known pixel: channel 2 (blue), row 5, column 7 of example 0 of batch 2.
    batch[b'data'][0] = 0
    batch[b'data'][0, 2 * 1024 + 5 * 32 + 7] = 201
    with open(batch_dir / 'data_batch_2', 'wb') as f:
      pickle.dump(batch, f, protocol=2)

    images, labels = data.load_arrays('cifar10', 'train', tmp_path, tfds_dir=tfds_dir)
    self.assertEqual(images.shape, (60, 32, 32, 3))
    self.assertEqual(images.dtype, np.uint8)
    planted = images[12]  # batch 2 follows the 12 examples of batch 1
    self.assertEqual(planted[5, 7, 2], 201)
    self.assertEqual(int(planted.sum()), 201)
    expected = written['train'][0].copy()
    expected[12] = planted
    np.testing.assert_array_equal(images, expected)
    np.testing.assert_array_equal(labels, written['train'][1])
    # Independent CHW -> HWC reshape of the pickled rows.
    np.testing.assert_array_equal(
      images[12:24], batch[b'data'].reshape(12, 3, 32, 32).transpose(0, 2, 3, 1)
    )

    # data_dir may also be the cifar-10-batches-py folder itself (same cache entry).
    test_images, test_labels = data.load_arrays('cifar10', 'test', batch_dir, tfds_dir=tfds_dir)
    np.testing.assert_array_equal(test_images, written['test'][0])
    np.testing.assert_array_equal(test_labels, written['test'][1])
    self.assertEqual(
      data.cache_dir('cifar10', batch_dir, tfds_dir), data.cache_dir('cifar10', tmp_path, tfds_dir)
    )
    self.assertNotIn('tensorflow', sys.modules)


class MissingDataTest(DataTestCase):
  @parameterized.parameters('load_arrays', 'get_source', 'check_files')
  def test_missing_fashion_mnist_fails_fast(self, loader):
    tfds_dir = self.tfds_dir
    missing_dir = self.tmp / 'nowhere'
    fn = getattr(data, loader)
    args = ('fashion_mnist',) if loader == 'check_files' else ('fashion_mnist', 'train')
    kwargs = {} if loader == 'check_files' else {'tfds_dir': tfds_dir}
    with tfds_import_refused() as tfds_imports, self.assertRaises(data.MissingDatasetError) as info:
      fn(*args, missing_dir, **kwargs)
    self.assertEqual(tfds_imports, [])  # failed on the file check, before any tfds work
    self.assertIsInstance(info.exception, FileNotFoundError)
    message = str(info.exception)
    for f in IDX_FILES:
      self.assertIn(f + '.gz', message)
    self.assertIn(str(missing_dir), message)
    self.assertIn('does not exist', message)
    self.assertIn('apt-get install dataset-fashion-mnist', message)
    self.assertEqual(sorted(info.exception.missing), sorted(f'{f}.gz (or {f})' for f in IDX_FILES))
    self.assertFalse(tfds_dir.exists())  # nothing was prepared

  def test_partially_missing_names_only_missing_files(self):
    tfds_dir = self.tfds_dir
    raw_dir = self.tmp / 'raw'
    data.write_synthetic_idx(raw_dir, 10, 10, seed=0, gzip=False)
    (raw_dir / 't10k-labels-idx1-ubyte').unlink()
    with tfds_import_refused() as tfds_imports, self.assertRaises(data.MissingDatasetError) as info:
      data.load_arrays('mnist', 'train', raw_dir, tfds_dir=tfds_dir)
    self.assertEqual(tfds_imports, [])
    message = str(info.exception)
    self.assertIn('t10k-labels-idx1-ubyte', message)
    self.assertIn('1 of 4', message)
    self.assertNotIn('train-images', message.split('Put them')[0])
    self.assertIn(f'Put them in {raw_dir.resolve()}', message)
    self.assertEqual(info.exception.folder, raw_dir.resolve())
    self.assertFalse(tfds_dir.exists())

  def test_missing_cifar10_names_every_file(self):
    tmp_path, tfds_dir = self.tmp, self.tfds_dir
    with tfds_import_refused() as tfds_imports, self.assertRaises(data.MissingDatasetError) as info:
      data.get_source('cifar10', 'test', tmp_path, tfds_dir=tfds_dir)
    self.assertEqual(tfds_imports, [])
    message = str(info.exception)
    for f in [f'data_batch_{i}' for i in range(1, 6)] + ['test_batch', 'batches.meta']:
      self.assertIn(f'  - {f}', message)
    self.assertIn(str(tmp_path.resolve() / 'cifar-10-batches-py'), message)
    self.assertIn('cifar-10-python.tar.gz', message)
    self.assertFalse(tfds_dir.exists())


class RegistryTest(DataTestCase):
  def test_an_empty_data_dir_is_not_the_current_folder(self):
    for empty in ('', ' '):
      with self.assertRaisesRegex(ValueError, "'dvs_gesture' has no default data_dir"):
        data.check_files('dvs_gesture', empty)
    self.assertEqual(
      data.registry.resolve_data_dir('fashion_mnist', ''), Path('/usr/share/datasets/fashion-mnist')
    )

  def test_registry(self):
    self.assertEqual(
      set(data.DATASETS),
      {'fashion_mnist', 'mnist', 'cifar10', 'fashion_mnist_events', 'dvs_gesture'},
    )
    fm = data.DATASETS['fashion_mnist']
    self.assertEqual(fm.default_data_dir, '/usr/share/datasets/fashion-mnist')
    self.assertEqual(fm.image_shape, (28, 28, 1))
    self.assertEqual(fm.num_classes, 10)
    self.assertEqual(data.DATASETS['cifar10'].image_shape, (32, 32, 3))
    self.assertNoCommonElements(
      {s.builder_name for s in data.DATASETS.values()}, {'mnist', 'fashion_mnist', 'cifar10'}
    )
    with self.assertRaisesRegex(ValueError, 'Unknown dataset'):
      data.check_files('imagenet', '/tmp')
    with self.assertRaisesRegex(ValueError, 'no default data_dir'):
      data.check_files('mnist')


class CacheKeyTest(DataTestCase):
  def test_cache_isolation_between_data_dirs(self):
    tmp_path, tfds_dir = self.tmp, self.tfds_dir
    dir_a, dir_b = tmp_path / 'a', tmp_path / 'b'
    written_a = data.write_synthetic_idx(dir_a, 50, 20, seed=10)
    written_b = data.write_synthetic_idx(dir_b, 50, 20, seed=11)
    self.assertFalse(np.array_equal(written_a['train'][0], written_b['train'][0]))
    self.assertNotEqual(
      data.cache_dir('mnist', dir_a, tfds_dir), data.cache_dir('mnist', dir_b, tfds_dir)
    )
    for _ in range(2):  # Interleaved, and again from the cache.
      for folder, written in ((dir_a, written_a), (dir_b, written_b)):
        images, labels = data.load_arrays('mnist', 'train', folder, tfds_dir=tfds_dir)
        np.testing.assert_array_equal(images, written['train'][0])
        np.testing.assert_array_equal(labels, written['train'][1])
    # Files replaced in place (other content) get a new cache entry too.
    key_a = data.cache_dir('mnist', dir_a, tfds_dir)
    rewritten = data.write_synthetic_idx(dir_a, 30, 20, seed=12)
    self.assertNotEqual(data.cache_dir('mnist', dir_a, tfds_dir), key_a)
    images, _ = data.load_arrays('mnist', 'train', dir_a, tfds_dir=tfds_dir)
    np.testing.assert_array_equal(images, rewritten['train'][0])


class SyntheticTest(DataTestCase):
  def test_synthetic_is_deterministic_and_learnable(self):
    tmp_path = self.tmp
    a = data.write_synthetic_idx(tmp_path / 'a', 400, 200, seed=5)
    data.write_synthetic_idx(tmp_path / 'b', 400, 200, seed=5)
    c = data.write_synthetic_idx(tmp_path / 'c', 400, 200, seed=6)
    for f in IDX_FILES:
      self.assertEqual(
        (tmp_path / 'a' / f'{f}.gz').read_bytes(), (tmp_path / 'b' / f'{f}.gz').read_bytes()
      )
    self.assertFalse(np.array_equal(a['train'][0], c['train'][0]))
    self.assertEqual(np.bincount(a['train'][1], minlength=10).tolist(), [40] * 10)
    self.assertGreater(_nearest_mean_accuracy(a['train'], a['test']), 0.9)  # chance: 0.1

    cif = data.write_synthetic_cifar10(tmp_path / 'cif', 40, 100, seed=5)
    data.write_synthetic_cifar10(tmp_path / 'cif2', 40, 100, seed=5)
    for f in ('data_batch_1', 'data_batch_5', 'test_batch', 'batches.meta'):
      p = Path('cifar-10-batches-py') / f
      self.assertEqual((tmp_path / 'cif' / p).read_bytes(), (tmp_path / 'cif2' / p).read_bytes())
    self.assertEqual(cif['train'][0].shape, (200, 32, 32, 3))
    self.assertGreater(_nearest_mean_accuracy(cif['train'], cif['test']), 0.9)
    # Same files as read by the numpy reference reader.
    images, labels = data.read_original_split('cifar10', 'train', tmp_path / 'cif')
    np.testing.assert_array_equal(images, cif['train'][0])
    np.testing.assert_array_equal(labels, cif['train'][1])


class BatchesTest(DataTestCase):
  def test_batches_cover_each_index_once_and_match_data(self):
    images, labels = _toy()
    out = list(data.batches(images, labels, 10, seed=0, epoch=0))
    self.assertLen(out, 10)
    self.assertEqual(data.num_batches(103, 10), 10)
    idx = np.concatenate([b['index'] for b in out])
    self.assertLen(np.unique(idx), 100)  # drop_remainder: 3 dropped
    self.assertContainsSubset(set(idx), set(range(103)))
    self.assertFalse(np.array_equal(idx, np.arange(100)))  # shuffled
    for b in out:
      self.assertEqual(b['image'].dtype, np.float32)
      self.assertEqual(b['image'].shape, (10, 4, 4, 1))
      self.assertEqual(b['label'].dtype, np.int32)
      self.assertEqual(b['index'].dtype, np.int64)
      np.testing.assert_array_equal(b['image'], images[b['index']].astype(np.float32) / 255.0)
      np.testing.assert_array_equal(b['label'], labels[b['index']])
      self.assertGreaterEqual(b['image'].min(), 0.0)
      self.assertLessEqual(b['image'].max(), 1.0)
    # Without dropping, the epoch covers every index exactly once.
    full = np.concatenate(
      [b['index'] for b in data.batches(images, labels, 10, seed=0, epoch=0, drop_remainder=False)]
    )
    np.testing.assert_array_equal(np.sort(full), np.arange(103))

  def test_batches_reproducible_per_seed_and_epoch(self):
    images, labels = _toy()

    def order(seed, epoch):
      return np.concatenate(
        [b['index'] for b in data.batches(images, labels, 10, seed=seed, epoch=epoch)]
      )

    np.testing.assert_array_equal(order(1, 2), order(1, 2))
    self.assertFalse(np.array_equal(order(1, 2), order(1, 3)))
    self.assertFalse(np.array_equal(order(1, 2), order(2, 2)))

  @parameterized.parameters(2, 5)
  def test_batches_multi_process_slices_union_to_global_batch(self, process_count):
    images, labels = _toy()
    for shuffle, drop in ((True, True), (False, False)):
      kw = dict(seed=4, epoch=1, shuffle=shuffle, drop_remainder=drop)
      global_batches = list(data.batches(images, labels, 20, **kw))
      per_process = [
        list(data.batches(images, labels, 20, process_index=p, process_count=process_count, **kw))
        for p in range(process_count)
      ]
      for p in range(process_count):
        self.assertLen(per_process[p], len(global_batches))
      for k, g in enumerate(global_batches):
        parts = [per_process[p][k] for p in range(process_count)]
        for key in ('index', 'label', 'image'):
          np.testing.assert_array_equal(np.concatenate([q[key] for q in parts]), g[key])
        if len(g['index']) == 20:
          for q in parts:
            self.assertLen(q['index'], 20 // process_count)

  def test_eval_batches_keep_last_partial_batch_in_order(self):
    images, labels = _toy()
    out = list(
      data.batches(images, labels, 25, seed=0, epoch=0, shuffle=False, drop_remainder=False)
    )
    self.assertEqual([len(b['index']) for b in out], [25, 25, 25, 25, 3])
    np.testing.assert_array_equal(np.concatenate([b['index'] for b in out]), np.arange(103))
    np.testing.assert_array_equal(out[-1]['label'], labels[100:])

  def test_batches_argument_errors(self):
    images, labels = _toy()
    with self.assertRaisesRegex(ValueError, 'divisible'):
      data.batches(images, labels, 10, seed=0, epoch=0, process_count=3)
    with self.assertRaisesRegex(ValueError, 'process_index'):
      data.batches(images, labels, 10, seed=0, epoch=0, process_index=2, process_count=2)
    with self.assertRaisesRegex(ValueError, 'labels'):
      data.batches(images, labels[:-1], 10, seed=0, epoch=0)


class AugmentationTest(DataTestCase):
  def test_random_flip(self):
    import jax

    images = np.random.default_rng(0).random((64, 6, 5, 2)).astype(np.float32)
    key = jax.random.key(0)
    flip = jax.jit(data.random_flip)
    out = np.asarray(flip(key, images))
    self.assertEqual(out.shape, images.shape)
    self.assertEqual(out.dtype, images.dtype)
    flipped = np.array([np.array_equal(o, x[:, ::-1]) for o, x in zip(out, images)])
    kept = np.array([np.array_equal(o, x) for o, x in zip(out, images)])
    self.assertTrue(np.all(flipped ^ kept))
    self.assertGreater(flipped.sum(), 10)  # per-example decisions
    self.assertLess(flipped.sum(), 54)
    np.testing.assert_array_equal(np.asarray(flip(key, out)), images)  # involution
    np.testing.assert_array_equal(np.asarray(flip(key, images)), out)  # deterministic
    self.assertFalse(np.array_equal(np.asarray(flip(jax.random.key(1), images)), out))
    # Per-example keys (e.g. from global indices) and raw uint32 keys work too.
    keys = jax.vmap(jax.random.fold_in, (None, 0))(key, np.arange(64))
    self.assertEqual(data.random_flip(keys, images).shape, images.shape)
    self.assertEqual(data.random_flip(jax.random.PRNGKey(0), images).shape, images.shape)

  def test_random_crop(self):
    import jax

    images = np.random.default_rng(1).integers(1, 256, (32, 8, 8, 3)).astype(np.uint8)
    key = jax.random.key(3)
    crop = jax.jit(data.random_crop, static_argnames='padding')
    np.testing.assert_array_equal(np.asarray(crop(key, images, padding=0)), images)
    out = np.asarray(crop(key, images, padding=2))
    self.assertEqual(out.shape, images.shape)
    self.assertEqual(out.dtype, images.dtype)
    np.testing.assert_array_equal(np.asarray(crop(key, images, padding=2)), out)
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)))
    offsets = []
    for o, p in zip(out, padded):
      hits = [
        (dy, dx)
        for dy in range(5)
        for dx in range(5)
        if np.array_equal(o, p[dy : dy + 8, dx : dx + 8])
      ]
      self.assertLen(hits, 1)  # each output is exactly one shifted window
      offsets.append(hits[0])
    self.assertGreater(len(set(offsets)), 5)  # per-example offsets


class ReaderTest(DataTestCase):
  def test_reader_batches_equal_array_batches_and_read_only_the_slice(self):
    tmp_path = self.tmp
    written = data.write_synthetic_idx(tmp_path / 'idx', 96, 24, seed=3)
    reader = data.SplitReader('fashion_mnist', 'train', tmp_path / 'idx', tfds_dir=tmp_path / 'c')
    x, y = written['train']
    self.assertLen(reader, 96)
    for p in range(2):
      kw = dict(seed=1, epoch=2, process_index=p, process_count=2)
      got = list(data.reader_batches(reader, 32, **kw))
      want = list(data.batches(x.reshape(-1, 28, 28, 1), y, 32, **kw))
      self.assertLen(got, 3)
      self.assertLen(want, 3)
      for g, w in zip(got, want):
        self.assertEqual(g['index'].shape, (16,))
        for k in ('image', 'label', 'index'):
          np.testing.assert_array_equal(g[k], w[k])
    images, labels = reader.read([5, 0])
    np.testing.assert_array_equal(labels, y[[5, 0]])


if __name__ == '__main__':
  absltest.main()
