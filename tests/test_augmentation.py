"""config.augment: augmentation inside the train step, keyed by batch key and example index."""

from unittest import mock

import jax
import jax.numpy as jnp
import ml_collections
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

  def test_crop_padding_sets_the_largest_shift(self):
    keys = keys_lib.example_keys(jax.random.fold_in(self.key, keys_lib.AUGMENT_STREAM), self.idx)
    for padding in (0, 1, 2):
      fn = jax.jit(assembly.augmented(recording_gradient_fn, ('crop',), crop_padding=padding))
      got, _ = fn(None, self.x, None, self.key, self.idx)
      want = data.random_crop(keys_lib.fold_in_each(keys, 0), self.x, padding=padding)
      np.testing.assert_array_equal(got, want)
      # Each image is its original shifted by at most `padding` pixels (zeros shifted in).
      pad = jnp.pad(self.x, ((0, 0), (padding,) * 2, (padding,) * 2, (0, 0)))
      shifts = [
        [
          (dy, dx)
          for dy in range(2 * padding + 1)
          for dx in range(2 * padding + 1)
          if np.array_equal(got[i], pad[i, dy : dy + 8, dx : dx + 8])
        ]
        for i in range(len(self.x))
      ]
      self.assertTrue(all(shifts), shifts)

  def test_crop_padding_from_the_config(self):
    c = ml_collections.ConfigDict(dict(augment=('crop',), crop_padding=1, method='ep'))

    def make(name, **kwargs):
      del name, kwargs
      return recording_gradient_fn

    with (
      mock.patch.object(assembly.estimators.ESTIMATORS, 'make', make),
      mock.patch.object(assembly, 'estimator_settings', lambda c: {}),
    ):
      fn = jax.jit(assembly.gradient_fn(c, None))
    got, _ = fn(None, self.x, None, self.key, self.idx)
    keys = keys_lib.example_keys(jax.random.fold_in(self.key, keys_lib.AUGMENT_STREAM), self.idx)
    want = data.random_crop(keys_lib.fold_in_each(keys, 0), self.x, padding=1)
    np.testing.assert_array_equal(got, want)

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
