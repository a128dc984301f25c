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

  def test_running_mean_trace_hand_computed(self):
    # γ = 1: the mean of the frames played so far; the nudge phases hold 9/10.
    enc = sep.FrameInput(t_free=10, trace_decay=1.0)
    got = [float(enc.encode(X, None, t)[0, 0]) for t in range(13)]
    want = [0, 0, 0, 0, 1 / 5, 2 / 6, 3 / 7, 5 / 8, 7 / 9, 9 / 10, 0.9, 0.9, 0.9]
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(enc.mean(X), np.full((2, 4), 0.9), rtol=1e-6)

  @parameterized.named_parameters(('last', 'last', 10), ('continue', 'continue', 16))
  def test_exponential_trace_is_its_definition(self, nudge_input, t_total):
    g = 0.5
    enc = sep.FrameInput(t_free=10, nudge_input=nudge_input, t_nudge=6, k_avg=4, trace_decay=g)
    played = FREE + ([2] * 6 if nudge_input == 'last' else [0, 0, 0, 0, 1, 1])
    for t in range(t_total):
      w = [g ** (t - s) for s in range(t + 1)]
      want = sum(wi * played[s] for s, wi in enumerate(w)) / sum(w)
      np.testing.assert_allclose(float(enc.encode(X, None, t)[1, 3]), want, rtol=1e-6)
    # t = 4: (1 + 0.5·0 + ...) / (1 + 0.5 + 0.25 + 0.125 + 0.0625), by hand.
    np.testing.assert_allclose(float(enc.encode(X, None, 4)[0, 0]), 1 / 1.9375, rtol=1e-6)

  def test_trace_last_holds_what_the_free_phase_ended_with(self):
    enc = sep.FrameInput(t_free=10, trace_decay=0.8)
    end = enc.encode(X, None, 9)
    for t in (10, 15, 40):
      np.testing.assert_array_equal(enc.encode(X, None, t), end)
    np.testing.assert_allclose(enc.mean(X), end, rtol=1e-6)

  def test_trace_inside_jit_is_the_eager_value(self):
    # The weight table is a numpy constant even while jit traces the encoder.
    enc = sep.FrameInput(t_free=10, trace_decay=1.0)
    for t in (4, 12):
      got = jax.jit(lambda x, t=t: enc.encode(x, None, jnp.asarray(t)))(X)
      np.testing.assert_allclose(got, enc.encode(X, None, t), rtol=1e-6)
    np.testing.assert_allclose(jax.jit(enc.mean)(X), enc.mean(X), rtol=1e-6)

  def test_trace_continue_mean_is_the_window_average(self):
    enc = sep.FrameInput(t_free=10, nudge_input='continue', t_nudge=6, k_avg=4, trace_decay=0.7)
    window = np.mean([enc.encode(X, None, t) for t in range(12, 16)], axis=0)
    np.testing.assert_allclose(enc.mean(X), window, rtol=1e-6)

  def test_default_is_last(self):
    self.assertEqual(sep.FrameInput(t_free=5).nudge_input, 'last')

  @parameterized.named_parameters(
    ('name', dict(nudge_input='first'), "^FrameInput: nudge_input='first': must be 'last'"),
    ('k_avg', dict(t_nudge=3, k_avg=4), r'^FrameInput: k_avg=4: must be an integer in \[0, 3\]'),
    ('t_free', dict(t_free=0), '^FrameInput: t_free=0: must be an integer >= 1'),
    ('t_free_float', dict(t_free=2.5), '^FrameInput: t_free=2.5: must be an integer >= 1'),
    (
      'trace',
      dict(trace_decay=1.5),
      r'^FrameInput: trace_decay=1.5: must be a finite number in \[0, 1\]',
    ),
    ('trace_nan', dict(trace_decay=float('nan')), '^FrameInput: trace_decay=nan'),
    ('trace_continue', dict(nudge_input='continue', trace_decay=0.5), 't_nudge=0: must be > 0'),
  )
  def test_bad_options_one_line_error(self, kwargs, message):
    with self.assertRaisesRegex(ValueError, message) as cm:
      sep.FrameInput(**{'t_free': 10, **kwargs})
    self.assertNotIn('\n', str(cm.exception))

  def test_registry_builds_it_from_a_config_block(self):
    enc = sep.ENCODERS.make('frames', t_free=8, nudge_input='mean')
    self.assertEqual(enc, sep.FrameInput(t_free=8, nudge_input='mean'))


class EncoderChecksTest(parameterized.TestCase):
  @parameterized.named_parameters(
    ('bits', dict(noise_bits=4), '^BernoulliInput: noise_bits=4: must be 32 or 8$'),
    ('generator', dict(generator='x'), "^BernoulliInput: generator='x': must be 'threefry' or"),
  )
  def test_bernoulli_refuses_unknown_noise(self, kwargs, message):
    with self.assertRaisesRegex(ValueError, message):
      sep.ENCODERS.make('bernoulli', **kwargs)


if __name__ == '__main__':
  absltest.main()
