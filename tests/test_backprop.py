"""experiments/backprop.py: the backprop MLP reference learns and writes strict JSON."""

import json
import os
import subprocess
import sys
import tempfile

from absl.testing import absltest

from stochep_jax import data

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, 'experiments', 'backprop.py')


def _run(*args, timeout=240, platforms='cpu', cwd=ROOT):
  env = dict(os.environ, JAX_PLATFORMS=platforms)
  env.pop('XLA_FLAGS', None)
  return subprocess.run(
    [sys.executable, SCRIPT, *args],
    env=env,
    cwd=cwd,
    capture_output=True,
    text=True,
    timeout=timeout,
  )


class BackpropTest(absltest.TestCase):
  def test_one_epoch_on_synthetic_idx_learns(self):
    tmp = self.enterContext(tempfile.TemporaryDirectory())
    data.write_synthetic_idx(os.path.join(tmp, 'idx'), 2048, 500, seed=0)
    workdir = os.path.join(tmp, 'run')
    out = _run(
      f'--workdir={workdir}',
      '--epochs=1',
      '--batch_size=64',
      f'--data_dir={tmp}/idx',
      f'--tfds_dir={tmp}/tfds',
    )
    self.assertEqual(out.returncode, 0, out.stderr[-3000:])
    with open(os.path.join(workdir, 'metrics.json')) as f:
      text = f.read()
    m = json.loads(text, parse_constant=lambda c: self.fail(f'non-strict JSON constant {c}'))
    for k in ('test_accuracy', 'train_accuracy', 'epochs', 'wall_seconds', 'history'):
      self.assertIn(k, m)
    self.assertEqual(m['epochs'], 1)
    self.assertLen(m['history'], 1)
    self.assertGreater(m['test_accuracy'], 0.6)  # chance is 0.1
    self.assertGreater(m['train_accuracy'], 0.6)
    self.assertAlmostEqual(m['test_error'], 1 - m['test_accuracy'])
    self.assertEqual(m['history'][0]['test_accuracy'], m['test_accuracy'])
    self.assertGreater(m['wall_seconds'], 0)
    self.assertIn('784-512-10', m['model'])
    self.assertIn('test accuracy', out.stdout)

  def test_cnn_of_the_conv_config_shape(self):
    """--channels: conv(3x3 valid)-ReLU-avgpool per channel count, the shapes of 2C2FC."""
    import jax
    import jax.numpy as jnp

    sys.path.insert(0, os.path.join(ROOT, 'experiments'))
    import backprop  # noqa: PLC0415

    model = backprop.make_model((512,), 10, (32, 64))
    params = model.init(jax.random.key(0), jnp.zeros((1, 28, 28, 1)))
    shapes = jax.tree_util.tree_map(jnp.shape, params['params'])
    # 28 -> 26 -> 13 -> 11 -> 5: the FC layer sees 5*5*64 inputs, as the EP net's layer 3
    self.assertEqual(shapes['Conv_0']['kernel'], (3, 3, 1, 32))
    self.assertEqual(shapes['Conv_1']['kernel'], (3, 3, 32, 64))
    self.assertEqual(shapes['Dense_0']['kernel'], (5 * 5 * 64, 512))
    self.assertEqual(shapes['Dense_1']['kernel'], (512, 10))
    tmp = self.enterContext(tempfile.TemporaryDirectory())
    data.write_synthetic_idx(os.path.join(tmp, 'idx'), 1024, 256, seed=0)
    out = _run(
      f'--workdir={tmp}/run',
      '--batch_size=64',
      '--channels=4,8',
      '--hidden=32',
      '--epochs=4',
      '--lr=0.003',
      f'--data_dir={tmp}/idx',
      f'--tfds_dir={tmp}/tfds',
    )
    self.assertEqual(out.returncode, 0, out.stderr[-3000:])
    with open(os.path.join(tmp, 'run', 'metrics.json')) as f:
      m = json.load(f)
    self.assertEqual(m['flags']['channels'], [4, 8])
    self.assertIn('2C-784-4-8-32-10 ReLU CNN', m['model'])
    self.assertGreater(m['test_accuracy'], 0.5)  # chance is 0.1

  def test_help_does_no_work(self):
    """No JAX backend (any JAX computation or compilation raises) and nothing written."""
    cwd = self.enterContext(tempfile.TemporaryDirectory())
    out = _run('--help', timeout=120, platforms='no_such_platform', cwd=cwd)
    self.assertEqual(out.returncode, 0, out.stderr[-2000:])
    self.assertIn('--batch_size', out.stdout + out.stderr)
    self.assertEqual(os.listdir(cwd), [])

  def test_missing_dataset_fails_fast(self):
    tmp = self.enterContext(tempfile.TemporaryDirectory())
    out = _run(f'--workdir={tmp}/run', f'--data_dir={tmp}/nowhere', f'--tfds_dir={tmp}/tfds')
    self.assertNotEqual(out.returncode, 0)
    self.assertFalse(os.path.exists(os.path.join(tmp, 'run', 'metrics.json')))


if __name__ == '__main__':
  absltest.main()
