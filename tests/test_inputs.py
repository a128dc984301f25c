"""FrameInput: the free-phase schedule and the nudge-phase options (hand-computed indices)."""

import jax
import jax.numpy as jnp
import numpy as np
from absl.testing import absltest, parameterized

import stochep_jax as sep

# Frame f of every example and pixel has the value f (F = 3 frames, 2 examples, 4 pixels).
X = jnp.arange(3.0)[None, :, None] * jnp.ones((2, 3, 4))
FREE = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]  # t_free = 10: ⌊3t/10⌋


class FrameInputTest(parameterized.TestCase):
  @parameterized.named_parameters(
    # nudge steps t = 10..16: last frame / mean of 0,1,2 / replay ⌊3t/10⌋ mod 3.
    ('last', 'last', [2, 2, 2, 2, 2, 2, 2]),
    ('mean', 'mean', [1, 1, 1, 1, 1, 1, 1]),
    ('continue', 'continue', [0, 0, 0, 0, 1, 1, 1]),
  )
  def test_schedule(self, nudge_input, nudged):
    enc = sep.FrameInput(t_free=10, nudge_input=nudge_input)
    got = [float(enc.encode(X, None, t)[0, 0]) for t in range(17)]
    self.assertEqual(got, FREE + nudged)

  def test_schedule_under_jit_with_traced_steps(self):
    enc = sep.FrameInput(t_free=10, nudge_input='continue')
    got = jax.jit(jax.vmap(lambda t: enc.encode(X, None, t)[0, 0]))(jnp.arange(24))
    self.assertEqual(got.tolist(), FREE * 2 + [0, 0, 0, 0])

  @parameterized.named_parameters(
    ('last', dict(nudge_input='last'), 2.0),
    ('mean', dict(nudge_input='mean'), 1.0),
    ('continue_all_frames', dict(nudge_input='continue'), 1.0),
    # steps 10+6-4 .. 15 see frames 0, 0, 1, 1 -> 0.5.
    ('continue_window', dict(nudge_input='continue', t_nudge=6, k_avg=4), 0.5),
  )
  def test_mean_is_the_nudged_input(self, kwargs, value):
    enc = sep.FrameInput(t_free=10, **kwargs)
    np.testing.assert_allclose(enc.mean(X), np.full((2, 4), value))

  def test_default_is_last(self):
    self.assertEqual(sep.FrameInput(t_free=5).nudge_input, 'last')

  @parameterized.named_parameters(
    ('name', dict(nudge_input='first'), "nudge_input must be one of .*'first'"),
    ('k_avg', dict(t_nudge=3, k_avg=4), 'k_avg=4, t_nudge=3'),
    ('t_free', dict(t_free=0), 't_free must be >= 1, got 0'),
  )
  def test_bad_options_one_line_error(self, kwargs, message):
    with self.assertRaisesRegex(ValueError, message) as cm:
      sep.FrameInput(**{'t_free': 10, **kwargs})
    self.assertNotIn('\n', str(cm.exception))

  def test_registry_builds_it_from_a_config_block(self):
    enc = sep.ENCODERS.make('frames', t_free=8, nudge_input='mean')
    self.assertEqual(enc, sep.FrameInput(t_free=8, nudge_input='mean'))


if __name__ == '__main__':
  absltest.main()
