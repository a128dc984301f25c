"""Whole-split evaluation: padding never counts, one compilation, every example once."""

import jax
import jax.numpy as jnp
import numpy as np
from absl.testing import absltest, parameterized

from stochep_jax import data, evaluation, parallel, training


def _free_fn(params, x, labels, key, indices):
  """Scores one-hot at x[:, 0], loss x[:, 1], one layer's rate x[:, 2] (exactly known metrics)."""
  del params, labels, key, indices
  scores = jax.nn.one_hot(x[:, 0].astype(jnp.int32), 3)
  return scores, x[:, 1], [x[:, 2:3]]


class EvaluateTest(parameterized.TestCase):
  def setUp(self):
    super().setUp()
    rng = np.random.default_rng(0)
    n = 10
    self.images = np.stack(
      [rng.integers(0, 3, n), rng.uniform(0, 1, n), rng.uniform(0, 1, n)], axis=1
    ).astype(np.float32)
    self.labels = rng.integers(0, 3, n).astype(np.int64)
    self.source = data.ArraySource(self.images, self.labels)
    self.mesh = parallel.make_mesh(jax.devices()[:1])

  @parameterized.named_parameters(('whole', None, 10), ('limit', 6, 6))
  def test_metrics_are_the_means_over_the_real_examples(self, limit, n):
    shapes = []
    step = training.make_eval_step(_free_fn)

    def eval_step(params, batch):
      shapes.append(batch['image'].shape)  # runs once per trace, i.e. per compilation
      return step(params, batch, None)

    got = evaluation.evaluate(jax.jit(eval_step), {}, self.source, 4, self.mesh, limit=limit)
    x, y = self.images[:n], self.labels[:n]
    self.assertAlmostEqual(got['accuracy'], float(np.mean(x[:, 0] == y)), places=6)
    self.assertAlmostEqual(got['loss'], float(np.mean(x[:, 1])), places=6)
    self.assertAlmostEqual(got['rate1'], float(np.mean(x[:, 2])), places=6)
    self.assertEqual(shapes, [(4, 3)])  # the last, short batch was padded: one compilation

  def test_padded_rows_are_zero_and_masked(self):
    batch = {'image': np.ones((3, 2), np.float32), 'label': np.arange(3)}
    (out,) = list(evaluation._padded([batch], 5))
    np.testing.assert_array_equal(out['mask'], [True, True, True, False, False])
    np.testing.assert_array_equal(out['image'][3:], 0.0)
    np.testing.assert_array_equal(out['label'], [0, 1, 2, 0, 0])

  def test_an_eval_batch_larger_than_the_split_is_capped_at_its_size(self):
    shapes = []
    step = training.make_eval_step(_free_fn)

    def eval_step(params, batch):
      shapes.append(batch['image'].shape)
      return step(params, batch, None)

    got = evaluation.evaluate(jax.jit(eval_step), {}, self.source, 100_000, self.mesh)
    self.assertEqual(shapes, [(10, 3)])  # not 100,000 padded rows for 10 examples
    self.assertAlmostEqual(got['loss'], float(np.mean(self.images[:, 1])), places=6)

  def test_padded_batch_size_rounds_up_to_the_devices(self):
    self.assertEqual(evaluation.padded_batch_size(100_000, 500, 1), 500)
    self.assertEqual(evaluation.padded_batch_size(100_000, 500, 8), 504)
    self.assertEqual(evaluation.padded_batch_size(100_000, 500, 8, processes=2), 504)
    self.assertEqual(evaluation.padded_batch_size(256, 10_000, 8), 256)  # smaller: unchanged
    self.assertEqual(evaluation.padded_batch_size(64, 0, 4), 4)


if __name__ == '__main__':
  absltest.main()
