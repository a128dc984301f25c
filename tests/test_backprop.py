"""experiments/backprop.py: the backprop MLP reference learns and writes strict JSON."""

import json
import os
import sys
import tempfile

import helpers
from absl.testing import absltest

from stochep_jax import data

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, 'experiments', 'backprop.py')


def _run(*args, timeout=240):
  return helpers.run_script(SCRIPT, *args, cwd=ROOT, env=helpers.cpu_env(), timeout=timeout)


def _module():
  sys.path.insert(0, os.path.join(ROOT, 'experiments'))
  import backprop  # noqa: PLC0415

  return backprop


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

    backprop = _module()
    model = backprop.make_model((512,), 10, (32, 64))
    params = model.init(jax.random.key(0), jnp.zeros((1, 28, 28, 1)))
    shapes = jax.tree_util.tree_map(jnp.shape, params['params'])
    # 28 -> 26 -> 13 -> 11 -> 5: the FC layer sees 5*5*64 inputs, as the EP net's layer 3
    self.assertEqual(shapes['Conv_0']['kernel'], (3, 3, 1, 32))
    self.assertEqual(shapes['Conv_1']['kernel'], (3, 3, 32, 64))
    self.assertEqual(shapes['Dense_0']['kernel'], (5 * 5 * 64, 512))
    self.assertEqual(shapes['Dense_1']['kernel'], (512, 10))
    # He-normal where a ReLU follows, LeCun-normal for the logits (std 1/√fan_in)
    std = {k: float(jnp.std(v['kernel'])) for k, v in params['params'].items()}
    self.assertAlmostEqual(std['Dense_0'] / (2 / 1600) ** 0.5, 1.0, delta=0.03)
    self.assertAlmostEqual(std['Dense_1'] / (1 / 512) ** 0.5, 1.0, delta=0.1)
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

  def test_mse_readout_by_hand(self):
    """--readout=mse: ½‖out − one-hot repeated n_perclass times‖², scores the class means."""
    import jax.numpy as jnp

    backprop = _module()
    out = jnp.array([[0.5, 1.0, 0.0, 0.0, 0.2, 0.4], [0.0, 0.0, 1.0, 1.0, 0.0, 0.0]])
    losses, scores = backprop.make_loss('mse', 3, 2)(out, jnp.array([0, 1]))
    # example 0: target 1 1 0 0 0 0 -> ½(0.25 + 0 + 0 + 0 + 0.04 + 0.16); example 1: exact
    self.assertSequenceAlmostEqual(losses.tolist(), [0.225, 0.0], places=6)
    self.assertSequenceAlmostEqual(scores[0].tolist(), [0.75, 0.0, 0.3], places=6)
    logits = jnp.array([[2.0, 0.0, 0.0]])
    ce, ce_scores = backprop.make_loss('ce', 3)(logits, jnp.array([0]))
    self.assertAlmostEqual(float(ce[0]), float(jnp.log1p(2 * jnp.exp(-2.0))), places=6)
    self.assertIs(ce_scores, logits)

  def test_ep_units_readout_and_init(self):
    """hard_sigmoid is clip(x, 0, 1) in every layer and the mse readout's units; torch init
    is U(±1/√fan_in) as the EP nets' connections."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    backprop = _module()
    model = backprop.make_model(
      (16,), 3, (), activation='hard_sigmoid', readout='mse', n_perclass=2, init='torch'
    )
    x = jax.random.uniform(jax.random.key(1), (5, 28, 28, 1))
    params = model.init(jax.random.key(0), x)
    p = params['params']
    self.assertLessEqual(float(jnp.abs(p['Dense_0']['kernel']).max()), 1 / np.sqrt(784))
    self.assertLessEqual(float(jnp.abs(p['Dense_1']['kernel']).max()), 1 / np.sqrt(16))
    self.assertGreater(float(jnp.abs(p['Dense_0']['kernel']).max()), 0.9 / np.sqrt(784))
    p = jax.tree_util.tree_map(lambda a: a * 40.0, p)  # large enough to reach both clips
    h = jnp.clip(x.reshape(5, -1) @ p['Dense_0']['kernel'] + p['Dense_0']['bias'], 0, 1)
    want = jnp.clip(h @ p['Dense_1']['kernel'] + p['Dense_1']['bias'], 0, 1)
    got = model.apply({'params': p}, x)
    self.assertEqual(got.shape, (5, 6))
    np.testing.assert_allclose(got, want, atol=1e-5)
    self.assertTrue(bool(jnp.any(h == 1.0)) and bool(jnp.any(h == 0.0)))

  def test_augment_in_order_with_one_key_each(self):
    import jax
    import numpy as np

    backprop = _module()
    x = jax.random.uniform(jax.random.key(2), (6, 8, 8, 1))
    key = jax.random.key(3)
    got = backprop.augment(key, x, ('flip', 'crop'), crop_padding=2)
    want = data.random_crop(
      jax.random.fold_in(key, 1), data.random_flip(jax.random.fold_in(key, 0), x), 2
    )
    np.testing.assert_array_equal(got, want)
    self.assertFalse(np.array_equal(got, x))
    np.testing.assert_array_equal(backprop.augment(key, x, ()), x)

  def test_ep_units_and_readout_learn(self):
    """The flags reach the model: the mse readout's 40 hard-sigmoid units learn; --augment
    reaches the train step (the same first epoch without it differs only by it)."""
    tmp = self.enterContext(tempfile.TemporaryDirectory())
    data.write_synthetic_idx(os.path.join(tmp, 'idx'), 2048, 500, seed=0)
    args = [
      '--batch_size=64',
      '--hidden=64',
      '--lr=0.003',
      '--activation=hard_sigmoid',
      '--readout=mse',
      '--n_perclass=4',
      '--init=torch',
      f'--data_dir={tmp}/idx',
      f'--tfds_dir={tmp}/tfds',
    ]
    extras = {'plain': ['--epochs=2'], 'augmented': ['--epochs=1', '--augment=flip,crop']}
    done = helpers.run_scripts(  # one after the other (they share the tfds folder), one import
      [
        (SCRIPT, [f'--workdir={tmp}/{name}', *args, *extra], ROOT) for name, extra in extras.items()
      ],
      env=helpers.cpu_env(),
      jobs=1,
    )
    runs = {}
    for name, out in zip(extras, done, strict=True):
      self.assertEqual(out.returncode, 0, out.stderr[-3000:])
      with open(os.path.join(tmp, name, 'metrics.json')) as f:
        runs[name] = json.load(f)
    m = runs['plain']
    self.assertIn('784-64-40 hard-sigmoid MLP, Adam, MSE', m['model'])
    self.assertEqual((m['flags']['readout'], m['flags']['n_perclass']), ('mse', 4))
    self.assertGreater(m['test_accuracy'], 0.5)  # chance is 0.1
    self.assertEqual(runs['augmented']['flags']['augment'], ['flip', 'crop'])
    # The synthetic classes are fixed pixel prototypes, which flips and shifts destroy: the
    # augmented epoch fits the training images less well than the plain one.
    first = [r['history'][0]['running_train_loss'] for r in (m, runs['augmented'])]
    self.assertGreater(first[1], first[0])

  def test_missing_dataset_fails_fast(self):
    tmp = self.enterContext(tempfile.TemporaryDirectory())
    out = _run(f'--workdir={tmp}/run', f'--data_dir={tmp}/nowhere', f'--tfds_dir={tmp}/tfds')
    self.assertNotEqual(out.returncode, 0)
    self.assertFalse(os.path.exists(os.path.join(tmp, 'run', 'metrics.json')))


if __name__ == '__main__':
  absltest.main()
