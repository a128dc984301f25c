"""config.augment: augmentation inside the train step, keyed by batch key and example index."""

import jax
import jax.numpy as jnp
import numpy as np
from absl.testing import absltest

from stochep_jax import assembly, data
from stochep_jax import keys as keys_lib


def recording_gradient_fn(params, x, labels, key, indices=None):
  """Returns the images it was given, as if they were gradients."""
  del params, labels, key, indices
  return x, {}


class AugmentTest(absltest.TestCase):
  def setUp(self):
    super().setUp()
    self.x = jax.random.uniform(jax.random.key(0), (6, 8, 8, 3))
    self.idx = jnp.array([5, 17, 2, 40, 3, 9])
    self.key = jax.random.key(7)

  def test_no_augmentation_is_identity(self):
    self.assertIs(assembly.augmented(recording_gradient_fn, ()), recording_gradient_fn)

  def test_flip_then_crop_with_per_example_keys(self):
    fn = jax.jit(assembly.augmented(recording_gradient_fn, ('flip', 'crop')))
    got, _ = fn(None, self.x, None, self.key, self.idx)
    keys = keys_lib.example_keys(jax.random.fold_in(self.key, keys_lib.AUGMENT_STREAM), self.idx)
    want = data.random_flip(keys_lib.fold_in_each(keys, 0), self.x)
    want = data.random_crop(keys_lib.fold_in_each(keys, 1), want)
    np.testing.assert_array_equal(got, want)
    self.assertFalse(np.allclose(got, self.x))  # something was augmented

  def test_example_augmentation_independent_of_its_batch(self):
    fn = jax.jit(assembly.augmented(recording_gradient_fn, ('flip', 'crop')))
    full, _ = fn(None, self.x, None, self.key, self.idx)
    part, _ = fn(None, self.x[::-1][:3], None, self.key, self.idx[::-1][:3])
    np.testing.assert_array_equal(part, full[::-1][:3])

  def test_unknown_names(self):
    with self.assertRaisesRegex(ValueError, 'unknown augmentations'):
      assembly.augmented(recording_gradient_fn, ('rotate',))


if __name__ == '__main__':
  absltest.main()
