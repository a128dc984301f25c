"""The key tree: every key is the documented fold_in chain, and the reserved streams are apart."""

import jax
import jax.numpy as jnp
import numpy as np
from absl.testing import absltest

from stochep_jax import keys


def data(k):
  return np.asarray(jax.random.key_data(k))


class KeyTreeTest(absltest.TestCase):
  def test_run_keys_are_fold_ins_of_the_seed(self):
    root = jax.random.key(7)
    init, train, evaluation = keys.run_keys(7)
    for got, i in ((init, 0), (train, 1), (evaluation, 2)):
      np.testing.assert_array_equal(data(got), data(jax.random.fold_in(root, i)))

  def test_chain_from_batch_to_layer(self):
    train = keys.run_keys(0)[1]
    batch = keys.batch_key(train, 5)
    ex = keys.example_keys(batch, jnp.array([3, 9]))
    phase = keys.phase_keys(ex, keys.PLUS)
    t = keys.time_key(phase[1], 11)
    want = jax.random.fold_in(
      jax.random.fold_in(
        jax.random.fold_in(jax.random.fold_in(jax.random.fold_in(train, 5), 9), 1), 11
      ),
      2 + 1,
    )
    np.testing.assert_array_equal(data(keys.layer_key(t, 2)), data(want))
    np.testing.assert_array_equal(
      data(keys.layer_key(t, None)), data(jax.random.fold_in(keys.time_key(phase[1], 11), 0))
    )

  def test_an_examples_key_depends_on_its_index_only(self):
    batch = jax.random.key(1)
    a = keys.example_keys(batch, jnp.array([4, 5, 6]))
    b = keys.example_keys(batch, jnp.array([6, 4]))
    np.testing.assert_array_equal(data(a[0]), data(b[1]))
    np.testing.assert_array_equal(data(a[2]), data(b[0]))

  def test_reserved_streams_never_meet_an_example(self):
    self.assertEqual((keys.SIGN_STREAM, keys.AUGMENT_STREAM), (2**32 - 1, 2**32 - 2))
    batch = jax.random.key(2)
    np.testing.assert_array_equal(
      data(keys.sign_key(batch)), data(jax.random.fold_in(batch, 2**32 - 1))
    )
    aug = keys.augment_keys(batch, jnp.array([0, 1]), 3)
    want = jax.random.fold_in(jax.random.fold_in(jax.random.fold_in(batch, 2**32 - 2), 1), 3)
    np.testing.assert_array_equal(data(aug[1]), data(want))
    self.assertIsNone(keys.phase_keys(None, keys.FREE))

  def test_batch_example_keys_and_the_minus_stream(self):
    batch = jax.random.key(4)
    self.assertIsNone(keys.batch_example_keys(None, 3))
    np.testing.assert_array_equal(
      data(keys.batch_example_keys(batch, 3)), data(keys.example_keys(batch, jnp.arange(3)))
    )
    np.testing.assert_array_equal(
      data(keys.batch_example_keys(batch, 2, jnp.array([7, 9]))),
      data(keys.example_keys(batch, jnp.array([7, 9]))),
    )
    self.assertEqual((keys.minus_phase(True), keys.minus_phase(False)), (keys.PLUS, keys.MINUS))

  def test_phases_are_distinct_streams(self):
    ex = keys.example_keys(jax.random.key(0), jnp.arange(2))
    free, plus, minus = (data(keys.phase_keys(ex, p)) for p in (keys.FREE, keys.PLUS, keys.MINUS))
    self.assertFalse(np.array_equal(free, plus))
    self.assertFalse(np.array_equal(plus, minus))


if __name__ == '__main__':
  absltest.main()
