"""Runs that cannot go wrong silently: divergence, work folders, broken state, bad configs."""

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from unittest import mock

import helpers
import jax
import jax.numpy as jnp
import numpy as np
from absl.testing import absltest, parameterized

from experiments.configs import fashion_mnist
from stochep_jax import data, experiment, keys, reporting, validate, workdir

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_DATA = None


def synthetic():
  """One synthetic IDX folder and tfds cache for the whole module (built once)."""
  global _DATA
  if _DATA is None:
    root = tempfile.mkdtemp(prefix='runs_')
    data.write_synthetic_idx(os.path.join(root, 'idx'), 512, 128, seed=0)
    _DATA = (os.path.join(root, 'idx'), os.path.join(root, 'tfds'))
  return _DATA


def tiny_config(**overrides):
  """The demo's smoke config, tinier: seconds per run."""
  c = fashion_mnist.get_config('smoke')
  c.data_dir, c.tfds_dir = synthetic()
  c.train_subset = c.test_subset = 0
  c.batch_size, c.eval_batch_size, c.num_epochs = 64, 128, 2
  c.network.hidden = (16,)
  c.ep.update(dict(t_free=8, t_nudge=4, k_avg=2))
  c.tensorboard = False
  for k, v in overrides.items():
    node = c
    *path, last = k.split('.')
    for p in path:
      node = node[p]
    node[last] = v
  return c


def read_scalars(logdir):
  """{tag: [(step, value)]} from TensorBoard event files (TFRecord framing, Event protos)."""
  import struct

  from tensorboardX.proto import event_pb2

  out = {}
  for name in sorted(os.listdir(logdir)):
    with open(os.path.join(logdir, name), 'rb') as f:
      buf = f.read()
    pos = 0
    while pos < len(buf):
      (n,) = struct.unpack('<Q', buf[pos : pos + 8])
      event = event_pb2.Event.FromString(buf[pos + 12 : pos + 12 + n])
      pos += 12 + n + 4
      for v in event.summary.value:
        out.setdefault(v.tag, []).append((event.step, np.float32(v.simple_value)))
  return out


def strict_json(path):
  with open(path) as f:
    return json.loads(f.read(), parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))


class DivergenceTest(absltest.TestCase):
  def test_nan_run_stops_and_keeps_the_good_checkpoint(self):
    wd = self.create_tempdir().full_path
    decayed = {'optimizer.weight_decay': 1e-30}  # the same optimizer state either way
    good = experiment.train_and_evaluate(tiny_config(num_epochs=1, **decayed), wd)
    before = open(os.path.join(wd, 'metrics.json')).read()
    # A resumed run that diverges in epoch 2: lr · weight decay overflows the weights to inf.
    bad = tiny_config(**{'num_epochs': 2, 'optimizer.weight_decay': 1e30})
    bad.optimizer.learning_rates = (1e30, 1e30)
    with self.assertRaisesRegex(experiment.DivergenceError, r'non-finite .* at epoch 2'):
      experiment.train_and_evaluate(bad, wd, allow_config_change=True)
    self.assertEqual(open(os.path.join(wd, 'metrics.json')).read(), before)
    self.assertEqual(strict_json(os.path.join(wd, 'metrics.json'))['epochs'], 1)
    ckpt = workdir.Checkpoints(wd)
    self.assertEqual(ckpt.mngr.all_steps(), [1])  # nothing saved for the diverged epoch
    ckpt.close()
    self.assertEqual(good['epochs'], 1)

  def test_diverging_from_the_start_saves_nothing(self):
    wd = self.create_tempdir().full_path
    c = tiny_config(**{'network.init_scale': 1e39, 'neuron.name': 'crnn', 'log_every_steps': 2})
    with self.assertRaisesRegex(experiment.DivergenceError, r'at epoch 1 step 2'):
      experiment.train_and_evaluate(c, wd)
    self.assertFalse(os.path.exists(os.path.join(wd, 'metrics.json')))
    self.assertEqual(os.listdir(os.path.join(wd, 'checkpoints')), [])

  def test_metrics_json_is_strict(self):
    path = os.path.join(self.create_tempdir().full_path, 'm.json')
    workdir.write_json(path, {'a': float('nan'), 'b': [1.0, float('inf')], 'c': 2})
    self.assertEqual(strict_json(path), {'a': None, 'b': [1.0, None], 'c': 2})

  def test_validation_metrics_choose_the_epoch(self):
    """metrics.json with held-out examples: the best validation epoch (the first of equals)
    and the test accuracy there; the epoch line and TensorBoard tags carry them."""
    meta = {'history': [], 'wall_seconds': 0.0}
    train = {'accuracy': 0.5, 'loss': 1.0}
    for epoch, (val, test) in enumerate(((0.6, 0.7), (0.8, 0.75), (0.8, 0.9), (0.7, 0.95)), 1):
      entry = workdir.record_epoch(
        meta, epoch, 2.0, train, {'accuracy': test, 'loss': 1.0}, {'accuracy': val, 'loss': 0.5}
      )
    m = workdir.metrics(meta, {}, {'w': jnp.zeros(1)})
    self.assertEqual(m['best_validation_epoch'], 2)
    self.assertEqual(m['test_accuracy_at_best_validation'], 0.75)  # not the best test (0.95)
    self.assertEqual((m['validation_accuracy'], m['best_validation_accuracy']), (0.7, 0.8))
    self.assertEqual(reporting.epoch_scalars(entry)['validation/accuracy'], 0.7)
    line = reporting.epoch_line(
      4, 4, train, {'accuracy': 0.95, 'loss': 1.0}, 2.0, {'accuracy': 0.7, 'loss': 0.5}
    )
    self.assertIn('test acc 0.9500 loss 1.0000  val acc 0.7000 loss 0.5000', line)
    # without held-out examples: no validation keys at all
    meta = {'history': [], 'wall_seconds': 0.0}
    workdir.record_epoch(meta, 1, 2.0, train, {'accuracy': 0.7, 'loss': 1.0})
    self.assertFalse([k for k in workdir.metrics(meta, {}, {'w': jnp.zeros(1)}) if 'valid' in k])

  def test_chance_warning(self):
    said = []
    hist = [{'train_accuracy': a} for a in (0.5, 0.1, 0.11, 0.09)]
    reporting.warn_at_chance(hist, 0.1, 3, said.append)
    self.assertLen(said, 1)
    self.assertIn('for 3 epochs', said[0])
    reporting.warn_at_chance(hist[:3], 0.1, 3, said.append)  # only 2 at chance
    self.assertLen(said, 1)


class WorkdirTest(parameterized.TestCase):
  def test_a_url_workdir_is_refused_before_anything_is_made(self):
    cwd = self.create_tempdir().full_path
    old = os.getcwd()
    os.chdir(cwd)
    try:
      with self.assertRaisesRegex(
        workdir.WorkdirError, r'^the work folder gs://bucket/run is a URL; work folders must be'
      ):
        experiment.train_and_evaluate(tiny_config(num_epochs=1), 'gs://bucket/run')
    finally:
      os.chdir(old)
    self.assertEqual(os.listdir(cwd), [])  # no local folder named gs:

  def test_second_run_on_a_workdir_is_refused_at_once(self):
    wd = self.create_tempdir().full_path
    with workdir.WorkdirLock(wd):
      with self.assertRaisesRegex(workdir.WorkdirError, 'in use by another run'):
        experiment.train_and_evaluate(tiny_config(num_epochs=1), wd)

  def test_a_killed_run_leaves_no_stuck_lock(self):
    wd = self.create_tempdir().full_path
    code = (
      'import time\n'
      'from stochep_jax import workdir\n'
      f'workdir.WorkdirLock({wd!r}).__enter__()\n'
      'print("locked", flush=True)\n'
      'time.sleep(600)\n'
    )
    proc = subprocess.Popen(
      [sys.executable, '-c', code], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
      self.assertEqual(proc.stdout.readline(), 'locked\n')  # '' if it died without the lock
      # Held: this process is refused, with the holder named.
      with self.assertRaisesRegex(
        workdir.WorkdirError, rf'in use by another run \(pid {proc.pid} on '
      ):
        with workdir.WorkdirLock(wd):
          pass
    finally:
      proc.kill()  # SIGKILL: no __exit__, no cleanup of any kind
      proc.wait()
      proc.stdout.close()
    self.assertEqual(proc.returncode, -signal.SIGKILL)
    with workdir.WorkdirLock(wd):  # the kernel released it when the process died
      pass

  def test_load_trained_gives_the_runs_config_and_its_last_parameters(self):
    wd = self.create_tempdir().full_path
    experiment.train_and_evaluate(tiny_config(num_epochs=1), wd)
    config, sim, params, epoch = workdir.load_trained(wd)
    self.assertEqual(epoch, 1)
    self.assertEqual(config.to_dict(), strict_json(os.path.join(wd, 'metrics.json'))['config'])
    # The parameters are those of the newest checkpoint, trained away from initialisation.
    run = validate.check_config(config)
    self.assertEqual(sim, run.simulator)
    state, _ = run.train_state(keys.run_keys(config.seed)[0], 1)
    restored, _, _ = workdir.Checkpoints(wd).restore(state, main_process=False)
    for a, b in zip(jax.tree_util.tree_leaves(params), jax.tree_util.tree_leaves(restored.params)):
      np.testing.assert_array_equal(a, b)
    init = jax.tree_util.tree_leaves(state.params)[0]
    self.assertFalse(np.array_equal(jax.tree_util.tree_leaves(params)[0], init))  # trained

  def test_changed_config_resume_is_refused_unless_allowed(self):
    wd = self.create_tempdir().full_path
    experiment.train_and_evaluate(tiny_config(num_epochs=1), wd)
    changed = tiny_config(num_epochs=2)
    changed.optimizer.learning_rates = (0.1, 0.05)
    with self.assertRaisesRegex(
      workdir.WorkdirError, r'optimizer\.learning_rates: \(0\.0007, 0\.00035\) -> \(0\.1, 0\.05\)'
    ):
      experiment.train_and_evaluate(changed, wd)
    m = experiment.train_and_evaluate(changed, wd, allow_config_change=True)
    self.assertEqual(m['epochs'], 2)
    self.assertEqual([s['from_epoch'] for s in m['settings']], [1, 2])
    fields = {c['field'] for c in m['settings'][1]['changes']}
    self.assertEqual(fields, {'num_epochs', 'optimizer.learning_rates'})
    # Fields that do not change results may change freely.
    more = tiny_config(num_epochs=2, log_every_steps=3, eval_batch_size=64)
    more.optimizer.learning_rates = (0.1, 0.05)
    self.assertEqual(experiment.train_and_evaluate(more, wd)['epochs'], 2)

  @parameterized.parameters(
    ('optimizer.clip_norm', 1.0),
    ('crop_padding', 2),
    ('ep.t_warm', 20),
    ('ep.batch_nudges', True),
    ('validation_size', 5000),
  )
  def test_a_field_added_since_the_checkpoint_is_no_change_at_its_old_value(self, field, value):
    self.assertIn(field, workdir.ADDED_FIELDS)
    recorded = tiny_config().to_dict()
    *path, last = field.split('.')
    node = recorded
    for p in path:
      node = node[p]
    old = node.pop(last)  # a run recorded before the field existed
    self.assertEqual(old, workdir.ADDED_FIELDS[field])  # the default reproduces those runs
    self.assertEqual(workdir.config_changes(recorded, tiny_config().to_dict()), [])
    changed = tiny_config(**{field: value}).to_dict()
    self.assertEqual(workdir.config_changes(recorded, changed), [(field, old, value)])

  def test_corrupt_latest_checkpoint_falls_back_to_the_previous(self):
    wd = self.create_tempdir().full_path
    straight = experiment.train_and_evaluate(tiny_config(num_epochs=3), wd + '/straight')
    experiment.train_and_evaluate(tiny_config(num_epochs=3, stop_after_epoch=2), wd + '/r')
    latest = os.path.join(wd, 'r', 'checkpoints', '2')
    for dirpath, _, files in os.walk(latest):  # garble every file of the newest checkpoint
      for f in files:
        with open(os.path.join(dirpath, f), 'wb') as fh:
          fh.write(b'garbage')
    resumed = experiment.train_and_evaluate(tiny_config(num_epochs=3), wd + '/r')
    self.assertTrue(os.path.isdir(os.path.join(wd, 'r', 'corrupt', '2')))
    self.assertEqual(resumed['epochs'], 3)
    # Epochs 2 and 3 rerun from epoch 1's state: the same numbers as the straight run.
    np.testing.assert_allclose(resumed['test_accuracy'], straight['test_accuracy'])

  def test_no_intact_checkpoint_names_the_folder(self):
    wd = self.create_tempdir().full_path
    experiment.train_and_evaluate(tiny_config(num_epochs=1), wd)
    for dirpath, _, files in os.walk(os.path.join(wd, 'checkpoints', '1')):
      for f in files:
        os.remove(os.path.join(dirpath, f))
    with self.assertRaisesRegex(workdir.WorkdirError, f'remove {wd}'):
      experiment.train_and_evaluate(tiny_config(num_epochs=2), wd)


def _garble(folder):
  for dirpath, _, files in os.walk(folder):
    for f in files:
      with open(os.path.join(dirpath, f), 'wb') as fh:
        fh.write(b'garbage')


def _no_data(test):
  """Makes reading the dataset fail the test: what it guards must stop before the data."""
  return mock.patch.object(experiment, '_load', side_effect=AssertionError('the data were read'))


class LifecycleTest(parameterized.TestCase):
  def test_changed_width_is_a_config_change_and_keeps_the_checkpoints(self):
    wd = self.create_tempdir().full_path
    first = experiment.train_and_evaluate(tiny_config(num_epochs=1), wd)
    narrower = tiny_config(**{'num_epochs': 1, 'network.hidden': (8,)})
    with self.assertRaisesRegex(workdir.WorkdirError, r'network\.hidden: \(16,\) -> \(8,\)'):
      experiment.train_and_evaluate(narrower, wd)
    with self.assertRaisesRegex(
      workdir.WorkdirError,
      r'cannot carry over to these settings: params\.layers\.0\.w has shape '
      r'\(784, 16\) there and \(784, 8\) now',
    ):
      experiment.train_and_evaluate(narrower, wd, allow_config_change=True)
    self.assertFalse(os.path.exists(os.path.join(wd, 'corrupt')))
    self.assertEqual(os.listdir(os.path.join(wd, 'checkpoints')), ['1'])
    # The original command resumes where it was: epoch 1 is kept, epoch 2 runs.
    resumed = experiment.train_and_evaluate(tiny_config(num_epochs=2), wd, allow_config_change=True)
    self.assertEqual(resumed['history'][0], first['history'][0])
    self.assertEqual(resumed['epochs'], 2)

  def test_corrupt_keeps_every_moved_checkpoint(self):
    wd = self.create_tempdir().full_path
    experiment.train_and_evaluate(tiny_config(num_epochs=1), wd)
    ckpt1 = os.path.join(wd, 'checkpoints', '1')
    _garble(ckpt1)
    spare = os.path.join(wd, 'spare')
    shutil.copytree(ckpt1, spare)
    for attempt in range(2):  # the same epoch fails to restore twice
      if attempt:
        shutil.copytree(spare, ckpt1)
      with self.assertRaisesRegex(workdir.WorkdirError, 'no checkpoint'):
        experiment.train_and_evaluate(tiny_config(num_epochs=1), wd)
    self.assertEqual(sorted(os.listdir(os.path.join(wd, 'corrupt'))), ['1', '1.1'])
    for kept in ('1', '1.1'):
      self.assertNotEmpty(os.listdir(os.path.join(wd, 'corrupt', kept)))

  def test_a_file_in_place_of_the_checkpoints_folder_stops_before_the_data(self):
    wd = self.create_tempdir().full_path
    open(os.path.join(wd, 'checkpoints'), 'w').close()
    with (
      _no_data(self),
      self.assertRaisesRegex(
        workdir.WorkdirError, r'checkpoints folder .*/checkpoints is a file, not a folder'
      ),
    ):
      experiment.train_and_evaluate(tiny_config(num_epochs=1), wd)

  def test_a_file_or_an_unwritable_folder_as_workdir_stops_before_the_data(self):
    path = os.path.join(self.create_tempdir().full_path, 'a_file')
    open(path, 'w').close()
    with (
      _no_data(self),
      self.assertRaisesRegex(workdir.WorkdirError, f'the work folder {path} is a file'),
    ):
      experiment.train_and_evaluate(tiny_config(num_epochs=1), path)
    if not os.path.isdir('/sys') or os.access('/sys', os.W_OK) and os.geteuid() != 0:
      self.skipTest('no read-only file system to write to')
    with (
      _no_data(self),
      self.assertRaisesRegex(
        workdir.WorkdirError, r'the work folder /sys/stochep_run cannot be written \('
      ),
    ):
      experiment.train_and_evaluate(tiny_config(num_epochs=1), '/sys/stochep_run')

  def test_the_lock_is_taken_before_the_data(self):
    wd = self.create_tempdir().full_path
    with workdir.WorkdirLock(wd), _no_data(self):
      with self.assertRaisesRegex(workdir.WorkdirError, 'in use by another run'):
        experiment.train_and_evaluate(tiny_config(num_epochs=1), wd)

  def test_a_failed_save_stops_with_the_previous_checkpoint_and_metrics_intact(self):
    wd = self.create_tempdir().full_path
    experiment.train_and_evaluate(tiny_config(num_epochs=2, stop_after_epoch=1), wd)
    before = open(os.path.join(wd, 'metrics.json')).read()
    folder = os.path.join(wd, 'checkpoints')
    train_epoch = experiment._train_epoch

    def then_a_file_in_the_way(*args):  # while epoch 2 trains, the folder becomes a file
      out = train_epoch(*args)
      os.rename(folder, folder + '.moved')
      open(folder, 'w').close()
      return out

    with mock.patch.object(experiment, '_train_epoch', then_a_file_in_the_way):
      with self.assertRaisesRegex(
        workdir.WorkdirError, r'^saving the checkpoint of epoch 2 failed \(.*Not a directory'
      ):
        experiment.train_and_evaluate(tiny_config(num_epochs=2), wd)
    self.assertEqual(open(os.path.join(wd, 'metrics.json')).read(), before)  # not listed
    os.remove(folder)
    os.rename(folder + '.moved', folder)
    ckpt = workdir.Checkpoints(wd)
    self.assertEqual(ckpt.mngr.all_steps(), [1])
    _, meta, epoch = ckpt.restore(ckpt_state(), main_process=False)
    ckpt.close()
    self.assertEqual((epoch, len(meta['history'])), (1, 1))

  @parameterized.parameters(('SIGINT', 130), ('SIGTERM', 143))
  def test_a_signal_stops_with_one_line_naming_the_last_saved_epoch(self, name, code):
    import signal

    wd = os.path.join(self.create_tempdir().full_path, 'run')
    idx, tfds = synthetic()
    cfg = os.path.join(ROOT, 'experiments', 'configs', 'fashion_mnist.py')
    args = [
      sys.executable,
      os.path.join(ROOT, 'experiments', 'train.py'),
      f'--config={cfg}:smoke',
      f'--workdir={wd}',
      f'--config.data_dir={idx}',
      f'--config.tfds_dir={tfds}',
      '--config.train_subset=128',
      '--config.test_subset=128',
      '--config.eval_batch_size=128',
      '--config.num_epochs=1000',
      '--config.tensorboard=False',
    ]
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
      for line in p.stdout:  # the first epoch is saved and announced
        if line.startswith('epoch '):
          break
      p.send_signal(getattr(signal, name))
      out, err = p.communicate(timeout=120)
    finally:
      if p.poll() is None:
        p.kill()
        p.wait()
    self.assertEqual(p.returncode, code, err)
    self.assertNotIn('Traceback', err)
    last = err.strip().splitlines()[-1]
    self.assertRegex(
      last,
      rf'^interrupted \({name}\): last saved epoch \d+ in {wd}/checkpoints; '
      'rerun the same command to resume$',
    )
    epoch = int(last.split('last saved epoch ')[1].split()[0])
    self.assertEqual(workdir.last_saved(wd), epoch)
    self.assertEqual(strict_json(os.path.join(wd, 'metrics.json'))['epochs'], epoch)

  def test_float64_runs_in_float64(self):
    import jax.numpy as jnp

    wd = self.create_tempdir().full_path
    m = experiment.train_and_evaluate(tiny_config(num_epochs=1, dtype='float64'), wd)
    self.assertEqual(m['param_dtype'], 'float64')
    self.assertEqual(strict_json(os.path.join(wd, 'metrics.json'))['config']['dtype'], 'float64')
    self.assertEqual(jnp.ones(1, 'float64').dtype, jnp.float32)  # x64 only for the run


def ckpt_state():
  """An abstract-free train state shaped like tiny_config's (to restore into)."""
  from stochep_jax import keys

  c = tiny_config()
  state, _ = validate.check_config(c).train_state(keys.run_keys(c.seed)[0], 8)
  return state


class BrokenDataTest(absltest.TestCase):
  def test_corrupt_cache_is_rebuilt(self):
    root = self.create_tempdir().full_path
    want = data.write_synthetic_idx(os.path.join(root, 'idx'), 200, 50, seed=1)
    tfds_dir = os.path.join(root, 'tfds')
    data.load_arrays('fashion_mnist', 'train', os.path.join(root, 'idx'), tfds_dir)
    records = [
      os.path.join(d, f) for d, _, fs in os.walk(tfds_dir) for f in fs if 'array_record' in f
    ]
    self.assertNotEmpty(records)
    for r in records:
      with open(r, 'r+b') as f:
        f.truncate(100)
    images, labels = data.load_arrays('fashion_mnist', 'train', os.path.join(root, 'idx'), tfds_dir)
    np.testing.assert_array_equal(labels, want['train'][1])
    np.testing.assert_array_equal(images[..., 0], want['train'][0].reshape(images.shape[:3]))

  def test_truncated_original_file_is_named(self):
    root = self.create_tempdir().full_path
    idx = os.path.join(root, 'idx')
    data.write_synthetic_idx(idx, 200, 50, seed=1)
    path = os.path.join(idx, 'train-images-idx3-ubyte.gz')
    raw = gzip.open(path).read()
    with gzip.open(path, 'wb') as f:
      f.write(raw[: len(raw) // 2])
    with self.assertRaisesRegex(data.OriginalFileError, 'train-images-idx3-ubyte'):
      data.load_arrays('fashion_mnist', 'train', idx, os.path.join(root, 'tfds'))
    leftovers = [d for d, _, fs in os.walk(os.path.join(root, 'tfds')) if 'dataset_info.json' in fs]
    self.assertEqual(leftovers, [])  # nothing half-built

  def test_bad_labels_and_nan_inputs_are_rejected(self):
    with self.assertRaisesRegex(ValueError, r'2 labels outside \[0, 10\) \(e\.g\. 10\)'):
      data.check_examples(np.zeros((4, 2)), np.array([0, 10, 3, -1]), 10, 'x')
    with self.assertRaisesRegex(ValueError, '1 non-finite'):
      data.check_examples(np.array([[0.0, np.nan]]), np.array([1]), 10, 'x')


class ConfigTest(parameterized.TestCase):
  @parameterized.parameters(
    ('batch_size', 0, r'config\.batch_size=0: must be an integer >= 1'),
    ('network.n_perclass', 0, r'config\.network\.n_perclass=0'),
    ('ep.t_free', 0, r'config\.ep\.t_free=0: must be an integer >= 1'),
    ('ep.k_avg', 50, r'config\.ep\.k_avg=50: must be an integer in \[1, 4\]'),
    ('ep.beta', -1.0, r'config\.ep\.beta=-1\.0'),
    ('ep.nudging', 'both', r"config\.ep\.nudging='both': must be 'symmetric'"),
    ('neuron.name', 'lif', r"config\.neuron\.name='lif': choose from"),
    ('dtype', 'int8', r"config\.dtype='int8'"),
    ('optimizer.learning_rates', (0.1,), r'need 2 \(one per group: layer1, readout\)|need 2'),
    ('neuron.stochep.kappa', -1.0, r'config\.neuron\.stochep'),
    ('num_epochs', 0, r'config\.num_epochs=0'),
    ('optimizer.name', 'rmsprop', r"config\.optimizer\.name='rmsprop': must be 'sgd' or 'adam'"),
    ('optimizer.clip_norm', -1.0, r'config\.optimizer\.clip_norm=-1\.0'),
  )
  def test_bad_field_names_itself(self, field, value, message):
    with self.assertRaisesRegex(validate.ConfigError, message):
      validate.check_config(tiny_config(**{field: value}) if '.' in field else _set(field, value))

  def test_per_group_weight_decay(self):
    c = tiny_config()
    del c.optimizer.weight_decay  # a type-safe float field; a config file replaces it the same way
    c.optimizer.weight_decay = (0.0, 0.1)
    validate.check_config(c)  # one per group (layer1, layer2)
    c.optimizer.weight_decay = (0.1,)
    with self.assertRaisesRegex(
      validate.ConfigError,
      r'^config\.optimizer\.weight_decay=\(0\.1,\): need one number or 2 \(one per group: '
      r'layer1, layer2\)$',
    ):
      validate.check_config(c)

  def test_adam_with_momentum_is_refused(self):
    with self.assertRaisesRegex(
      validate.ConfigError, r'config\.optimizer\.momentum=0\.9: must be 0 \(and nesterov False\)'
    ):
      validate.check_config(tiny_config(**{'optimizer.name': 'adam', 'optimizer.momentum': 0.9}))
    validate.check_config(tiny_config(**{'optimizer.name': 'adam', 'optimizer.momentum': 0.0}))

  def test_batch_against_subset_and_devices(self):
    c = tiny_config(train_subset=100, batch_size=128)
    with self.assertRaisesRegex(
      validate.ConfigError, r'batch_size=128: larger than train_subset=100'
    ):
      validate.check_batches(c, 100, 128, devices=1)
    validate.check_batches(tiny_config(train_subset=100, batch_size=64), None, None, devices=1)
    with self.assertRaisesRegex(
      validate.ConfigError, r'batch_size=128: larger than train_subset=100'
    ):
      validate.check_batches(tiny_config(train_subset=100, batch_size=128), None, None, devices=1)
    c = tiny_config(batch_size=66)
    with self.assertRaisesRegex(
      validate.ConfigError, r'batch_size=66: must divide evenly over the 4'
    ):
      validate.check_batches(c, 512, 128, devices=4)

  def test_unknown_model_argument_is_refused(self):
    c = tiny_config()
    c.neuron.stochep.kapa = 2.0
    with self.assertRaisesRegex(validate.ConfigError, r'takes no argument kapa; valid: \['):
      validate.check_config(c)

  def test_launcher_typo_is_one_line(self):
    cfg = os.path.join(ROOT, 'experiments', 'configs', 'fashion_mnist.py')
    r = helpers.run_script(
      os.path.join(ROOT, 'experiments', 'train.py'),
      f'--config={cfg}:smoke',
      '--workdir=/nonexistent/x',
      '--config.ep.bta=3',
    )
    self.assertNotEqual(r.returncode, 0)
    self.assertEqual(
      r.stderr.strip().splitlines()[-1],
      'error: --config.ep.bta: the config has no field \'bta\' (did you mean "beta" instead of "bta"?)',
    )
    self.assertLess(len(r.stderr.strip().splitlines()), 3)


class ApiInputTest(absltest.TestCase):
  def test_wrong_input_width_fails_at_trace_time_with_the_expected_shape(self):
    import jax
    import jax.numpy as jnp

    import stochep_jax as sep

    net = sep.dense(12, [8], 4)
    sim = sep.Simulator(net, sep.CRNN())
    params = net.init(jax.random.key(0))
    with self.assertRaisesRegex(
      ValueError, r'takes examples of shape \(12,\) \(x must be \[B, 12\]\)'
    ):
      jax.jit(lambda p, x: sep.free_phase(sim, p, x, None, t_free=5).rates).lower(
        params, jnp.zeros((3, 13))
      )
    # A frame encoder says its own layout: x is [B, F, ...].
    frames = sep.Simulator(net, sep.CRNN(), sep.FrameInput(t_free=5))
    with self.assertRaisesRegex(ValueError, r'\(x must be \[B, F, 12\]\)'):
      jax.jit(lambda p, x: sep.free_phase(frames, p, x, None, t_free=5).rates).lower(
        params, jnp.zeros((3, 2, 13))
      )


class ReportingTest(absltest.TestCase):
  def test_run_writes_tensorboard_events_curves_and_reports_compilation(self):
    import contextlib
    import io

    wd = self.create_tempdir().full_path
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
      experiment.train_and_evaluate(tiny_config(num_epochs=2, tensorboard=True), wd)
    lines = out.getvalue().splitlines()
    self.assertTrue(any(ln.startswith('compiled the train step in ') for ln in lines))
    self.assertTrue(os.path.getsize(os.path.join(wd, 'learning_curves.png')) > 1000)
    scalars = read_scalars(os.path.join(wd, 'tensorboard'))
    for tag in (
      'train/accuracy',
      'test/loss',
      'train/rate1',
      'train/grad_norm',
      'time/epoch_seconds',
    ):
      self.assertIn(tag, scalars)
    m = strict_json(os.path.join(wd, 'metrics.json'))
    epoch_lines = [ln for ln in lines if ln.startswith('epoch   ')]
    self.assertEqual(len(epoch_lines), 2)
    for ln, h in zip(epoch_lines, m['history']):  # the gradient's norm: its mean and maximum
      self.assertGreater(h['train_grad_norm_max'], 0.0)
      self.assertGreaterEqual(h['train_grad_norm_max'], h['train_grad_norm'])
      self.assertIn(f'|grad| {h["train_grad_norm"]:.3g} (max {h["train_grad_norm_max"]:.3g})', ln)
    self.assertEqual(
      scalars['test/accuracy'], [(h['epoch'], np.float32(h['test_accuracy'])) for h in m['history']]
    )

  def test_progress_lines_when_not_a_terminal(self):
    import io

    from stochep_jax import reporting

    out = io.StringIO()
    p = reporting.Progress('auto', 2, stream=out)
    self.assertEqual(p.mode, 'lines')
    p.start(1, 3, 4)
    p.update(1)
    p.update(2, {'accuracy': 0.5, 'loss': 0.25})
    p.close()
    self.assertEqual(out.getvalue(), 'epoch 1 step 2/4  train acc 0.5000 loss 0.2500\n')
    self.assertEqual(reporting.Progress('auto', 2, enabled=False, stream=out).mode, 'none')


def _set(field, value):
  return tiny_config(**{field: value})


def tearDownModule():
  if _DATA is not None:
    shutil.rmtree(os.path.dirname(_DATA[0]), ignore_errors=True)


if __name__ == '__main__':
  absltest.main()
