"""train_and_evaluate end to end on synthetic IDX files: learning, resume, fast failure."""

import json
import os
import subprocess
import sys
import tempfile
from unittest import mock

import helpers
import jax
import numpy as np
import orbax.checkpoint as ocp
from absl.testing import absltest, parameterized

from stochep_jax import data, experiment

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PER_CLASS = os.path.join(ROOT, 'experiments', 'per_class.py')


def load_config(name='fashion_mnist', arg='smoke'):
  return helpers.load_config(name, arg)


def smoke_config(synthetic, **overrides):
  c = load_config()
  c.data_dir, c.tfds_dir = synthetic
  c.train_subset = c.test_subset = 0
  for k, v in overrides.items():
    setattr(c, k, v)
  return c


def synthetic_folders(n_train: int, n_test: int, seed: int) -> tuple[str, str]:
  """A new synthetic IDX folder and its (empty) tfds cache: ``(data_dir, tfds_dir)``."""
  root = tempfile.mkdtemp(prefix='synthetic')
  data.write_synthetic_idx(os.path.join(root, 'idx'), n_train, n_test, seed=seed)
  return os.path.join(root, 'idx'), os.path.join(root, 'tfds')


class TrainAndEvaluateTest(parameterized.TestCase):
  @classmethod
  def setUpClass(cls):
    """One synthetic IDX folder and tfds cache for the class (built once)."""
    super().setUpClass()
    cls.synthetic = synthetic_folders(2048, 256, seed=0)

  def test_smoke_run_learns_and_writes_metrics(self):
    tmp = self.create_tempdir().full_path
    m = experiment.train_and_evaluate(smoke_config(self.synthetic, num_epochs=3), tmp)
    self.assertEqual(m['epochs'], 3)
    # 10 classes: chance is 0.1; over seeds and generators this smoke run ends at 0.40-0.74
    self.assertGreater(m['test_accuracy'], 0.35)
    on_disk = json.load(open(os.path.join(tmp, 'metrics.json')))
    for k in ('test_accuracy', 'train_accuracy', 'epochs', 'wall_seconds', 'config'):
      self.assertIn(k, on_disk)
    self.assertEqual(on_disk['config']['neuron']['name'], 'stochep')
    self.assertLen(on_disk['history'], 3)
    self._check_compiled_memory(on_disk, smoke_config(self.synthetic))

  def _check_compiled_memory(self, on_disk, config):
    """The compiled steps' memory: the donated train state is aliased in full, and what is
    not aliased of the train step's arguments is exactly its batch shard."""
    memory = on_disk['compiled_memory_bytes']
    n_dev = jax.device_count()
    pixels = 28 * 28
    for name, batch in (('train_step', config.batch_size), ('eval_step', None)):
      m = memory[name]
      self.assertEqual(
        m['total_bytes'],
        m['argument_bytes'] + m['output_bytes'] - m['alias_bytes'] + m['temp_bytes'],
      )
      if batch:  # image float32, label and index int32, split over the devices
        self.assertEqual(m['argument_bytes'] - m['alias_bytes'], batch * (pixels + 2) * 4 // n_dev)
    self.assertEqual(memory['eval_step']['alias_bytes'], 0)  # the parameters are not donated
    self.assertGreater(memory['train_step']['alias_bytes'], 0)

  @parameterized.named_parameters(
    ('crnn', 'crnn', '--mean_field'), ('stochep', 'stochep', '--nomean_field')
  )
  def test_per_class_reproduces_the_launchers_test_accuracy(self, neuron, flag):
    tmp = self.create_tempdir().full_path
    # the last 128 of the 2048 training examples held out: evaluated every epoch, never trained on
    config = smoke_config(self.synthetic, num_epochs=1, train_subset=512, validation_size=128)
    config.neuron.name = neuron
    config.network.hidden = (16,)  # tinier than the smoke variant: any accuracy will do
    config.ep.update(dict(t_free=10, t_nudge=5, k_avg=3))
    m = experiment.train_and_evaluate(config, tmp)
    helpers.run_script(PER_CLASS, f'--workdir={tmp}', flag, check=True)
    r = json.load(open(os.path.join(tmp, 'per_class.json')))
    self.assertEqual(r['epoch'], 1)
    self.assertEqual(r['n_test'], 256)
    self.assertFalse(r['mean_field'])
    self.assertEqual(r['accuracy'], m['test_accuracy'])  # the launcher's evaluation, exactly
    counts, accs = np.array(r['per_class_count']), np.array(r['per_class_accuracy'])
    self.assertEqual(counts.sum(), 256)
    np.testing.assert_allclose(np.sum(counts * accs) / 256, r['accuracy'], rtol=1e-12)
    self.assertLen(r['last_layer_max_rate'], 10 * config.network.n_perclass)  # output units
    self.assertLessEqual(max(r['last_layer_max_rate']), 1.0)
    self.assertEqual((r['t_free'], r['k_avg'], r['t_warm']), (10, 3, 0))
    self.assertGreater(sum(a > 0 for a in r['per_class_accuracy']), 1)  # not one class for all
    # the held-out examples: the launcher's validation evaluation, exactly
    self.assertEqual(m['history'][0]['validation_accuracy'], m['validation_accuracy'])
    self.assertEqual(m['best_validation_epoch'], 1)
    self.assertEqual(m['test_accuracy_at_best_validation'], m['test_accuracy'])
    helpers.run_script(PER_CLASS, f'--workdir={tmp}', flag, '--split=validation', check=True)
    v = json.load(open(os.path.join(tmp, 'per_class_validation.json')))
    self.assertEqual((v['split'], v['n_test']), ('validation', 128))
    self.assertEqual(v['accuracy'], m['validation_accuracy'])
    self.assertNotEqual(v['per_class_count'], r['per_class_count'])  # not the test images
    if neuron != 'stochep':
      return
    # --t_free=1: one synchronous step from rest, where the output units see only their biases
    # (the hidden layer was still at rest): every image gets the same scores, the same class.
    helpers.run_script(PER_CLASS, f'--workdir={tmp}', flag, '--t_free=1', '--k_avg=1', check=True)
    r = json.load(open(os.path.join(tmp, 'per_class.json')))
    self.assertEqual((r['t_free'], r['k_avg']), (1, 1))
    self.assertEqual(sorted(a for a in r['per_class_accuracy'] if a is not None)[-2:], [0.0, 1.0])
    self.assertEqual(sum(a == 1.0 for a in r['per_class_accuracy']), 1)
    # --t_warm=9: nine mean-field steps first, so that one step starts near the fixed point
    # and the prediction is no longer one class for every image.
    args = (f'--workdir={tmp}', flag, '--t_free=1', '--k_avg=1', '--t_warm=9')
    helpers.run_script(PER_CLASS, *args, check=True)
    r = json.load(open(os.path.join(tmp, 'per_class.json')))
    self.assertEqual((r['t_free'], r['k_avg'], r['t_warm']), (1, 1, 9))
    self.assertGreater(sum(a > 0 for a in r['per_class_accuracy']), 1)

  def test_resume_continues_where_it_stopped(self):
    tmp = self.create_tempdir().full_path
    straight = experiment.train_and_evaluate(
      smoke_config(self.synthetic, num_epochs=2), os.path.join(tmp, 'a')
    )
    stopped = experiment.train_and_evaluate(
      smoke_config(self.synthetic, num_epochs=2, stop_after_epoch=1), os.path.join(tmp, 'b')
    )
    self.assertEqual(stopped['epochs'], 1)
    resumed = experiment.train_and_evaluate(
      smoke_config(self.synthetic, num_epochs=2), os.path.join(tmp, 'b')
    )
    self.assertEqual(resumed['epochs'], 2)
    for k in ('test_accuracy', 'train_accuracy', 'test_loss', 'train_loss'):
      self.assertEqual([h[k] for h in resumed['history']], [h[k] for h in straight['history']])
    # Parameters are bit-for-bit those of the uninterrupted run.
    params = []
    for d in ('a', 'b'):
      with ocp.CheckpointManager(os.path.join(tmp, d, 'checkpoints')) as mngr:
        params.append(
          mngr.restore(2, args=ocp.args.Composite(state=ocp.args.StandardRestore()))['state'][
            'params'
          ]
        )
    leaves = [np.concatenate([np.ravel(x) for x in jax.tree_util.tree_leaves(p)]) for p in params]
    np.testing.assert_array_equal(leaves[0], leaves[1])


class ValidationSplitTest(absltest.TestCase):
  """config.validation_size: the training split's last examples, held out."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.synthetic = synthetic_folders(300, 40, seed=3)
    cls.images, cls.labels = data.load_arrays('fashion_mnist', 'train', *cls.synthetic)

  def test_the_training_source_never_holds_the_held_out_examples(self):
    (train, test, val), (n_train, n_test) = experiment._load(
      smoke_config(self.synthetic, validation_size=50)
    )
    self.assertEqual((len(train), len(val), n_train, n_test), (250, 50, 250, 40))
    for source, want in ((train, slice(0, 250)), (val, slice(250, 300))):
      images, labels = source.read(np.arange(len(source)))
      np.testing.assert_array_equal(images, self.images[want])
      np.testing.assert_array_equal(labels, self.labels[want])
    # every batch of every epoch reads the training source's own indices only
    seen = set()
    for epoch in (1, 2):
      for b in data.reader_batches(train, 16, seed=0, epoch=epoch):
        seen.update(int(i) for i in b['index'])
    self.assertLessEqual(max(seen), 249)
    (_, _, none), _ = experiment._load(smoke_config(self.synthetic))
    self.assertIsNone(none)

  def test_as_large_as_the_split_is_refused_before_any_step_is_built(self):
    tmp = self.create_tempdir().full_path
    assemble = self.enterContext(
      mock.patch.object(experiment, '_assemble', side_effect=AssertionError('steps built'))
    )
    for n in (300, 301):
      with self.assertRaisesRegex(
        ValueError,
        f'^config.validation_size={n}: must be smaller than the training split '
        r'\(300 examples\)',
      ):
        experiment.train_and_evaluate(
          smoke_config(self.synthetic, validation_size=n), os.path.join(tmp, str(n))
        )
    assemble.assert_not_called()

  def test_what_is_left_must_hold_a_batch(self):
    c = smoke_config(self.synthetic, validation_size=290, batch_size=16)
    with self.assertRaisesRegex(
      ValueError, r'config.batch_size=16: larger than the train split \(10\)'
    ):
      experiment.train_and_evaluate(c, self.create_tempdir().full_path)


class FastFailureTest(absltest.TestCase):
  def test_missing_dataset_fails_fast_with_instructions(self):
    tmp = self.create_tempdir().full_path
    c = load_config()
    c.data_dir = os.path.join(tmp, 'nowhere')
    # The file check comes first: no data is read, no step is built or compiled.
    load = self.enterContext(
      mock.patch.object(experiment, '_load', side_effect=AssertionError('data read'))
    )
    assemble = self.enterContext(
      mock.patch.object(experiment, '_assemble', side_effect=AssertionError('steps built'))
    )
    with self.assertRaises(data.MissingDatasetError) as err:
      experiment.train_and_evaluate(c, os.path.join(tmp, 'w'))
    load.assert_not_called()
    assemble.assert_not_called()
    msg = str(err.exception)
    self.assertIn('train-images-idx3-ubyte', msg)
    self.assertIn(os.path.join(tmp, 'nowhere'), msg)
    self.assertFalse(os.path.exists(os.path.join(tmp, 'w')))  # nothing was started

  def test_launcher_exits_nonzero_with_the_message(self):
    tmp = self.create_tempdir().full_path
    proc = helpers.run_script(
      os.path.join(ROOT, 'experiments', 'train.py'),
      f'--config={os.path.join(ROOT, "experiments", "configs", "fashion_mnist.py")}:smoke',
      f'--workdir={os.path.join(tmp, "w")}',
      f'--config.data_dir={os.path.join(tmp, "none")}',
      timeout=120,
    )
    self.assertNotEqual(proc.returncode, 0)
    self.assertIn('dataset-fashion-mnist', proc.stderr)
    self.assertIn('t10k-labels-idx1-ubyte', proc.stderr)


class LauncherDevicesTest(absltest.TestCase):
  def test_launcher_cpu_devices_divide_the_batches(self):
    """train.py --cpu_devices=0: one device per core, fewer if the batches need it."""
    code = '\n'.join(
      [
        'import sys, ml_collections',
        f'sys.path.insert(0, {os.path.join(ROOT, "experiments")!r})',
        'import train',
        'c = ml_collections.ConfigDict(dict(batch_size=128, eval_batch_size=1000))',
        'print(train.cpu_devices(0, c, 1, cores=6), train.cpu_devices(0, c, 1, cores=2),',
        '      train.cpu_devices(0, c, 4, cores=4), train.cpu_devices(0, c, 1, cores=64),',
        '      train.cpu_devices(3, c, 1, cores=2))',
      ]
    )
    out = subprocess.run(
      [sys.executable, '-c', code], check=True, capture_output=True, text=True, timeout=120
    ).stdout.split()
    # gcd(128, 1000) = 8: 6 cores -> 4; 2 -> 2; 4 processes share 8 -> 2 each; 64 -> 8; asked 3 -> 3
    self.assertEqual(out, ['4', '2', '2', '8', '3'])


if __name__ == '__main__':
  absltest.main()
