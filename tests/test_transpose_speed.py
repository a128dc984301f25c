"""experiments/transpose_speed.py: the transposed conv methods and dense operands, timed and checked."""

from absl.testing import absltest

from experiments import transpose_speed
from stochep_jax import connections


class TransposeSpeedTest(absltest.TestCase):
  def test_report_times_both_methods_and_names_autos_choice(self):
    shapes = ['2x7x3x4x4x2x0', '1x5x2x3x3x1x1']
    r = transpose_speed.measure(shapes, ['float32', 'bfloat16'], repeats=1)
    self.assertEqual(list(r['shapes']), shapes)
    for per_dtype in r['shapes'].values():
      for dtype, e in per_dtype.items():
        self.assertEqual(set(e['ms']), {'fold', 'phases'})
        self.assertTrue(all(v > 0 for v in e['ms'].values()))
        self.assertEqual(e['fastest'], min(e['ms'], key=e['ms'].get))
        self.assertEqual(
          e['auto'], connections.transpose_method(None if dtype == 'float32' else dtype)
        )
        self.assertAlmostEqual(e['auto_over_fastest'], e['ms'][e['auto']] / min(e['ms'].values()))
        self.assertLess(e['max_abs_diff'], 1e-5)  # the same adjoint, up to float rounding
    self.assertEqual(connections.transpose_method('bfloat16'), 'phases')
    self.assertEqual(connections.transpose_method('float32'), 'fold')

  def test_dense_report_times_both_operands_of_the_same_current(self):
    r = transpose_speed.measure_dense(['4x24x8'], ['float32', 'bfloat16'], repeats=1, steps=3)
    self.assertEqual(list(r), ['4x24x8'])
    for e in r['4x24x8'].values():
      self.assertEqual(set(e['ms_per_step']), set(transpose_speed.DENSE_METHODS))
      for m, ms in e['ms_per_step'].items():
        self.assertGreater(ms, 0)
        self.assertAlmostEqual(e['gflops'][m], 2 * 4 * 24 * 8 / ms / 1e6)
      ratio = e['ms_per_step']['transposed_operand'] / e['ms_per_step']['row_major_copy']
      self.assertAlmostEqual(e['copy_speedup'], ratio)
      self.assertLess(e['max_abs_diff'], 1e-5)  # the same current, up to float rounding
    self.assertEqual(transpose_speed.parse_dense('128X2704x512'), (128, 2704, 512))
    for text in ('128x2704', '0x3x4', 'ax3x4'):
      with self.assertRaisesRegex(ValueError, 'BxKxN'):
        transpose_speed.parse_dense(text)

  def test_bad_shapes_are_named(self):
    self.assertEqual(
      transpose_speed.parse_shape('32X13x128x256x4x2x0'), (32, 13, 128, 256, 4, 2, 0)
    )
    for text, why in (
      ('32x13x128', 'seven integers'),
      ('0x13x1x1x3x1x0', 'seven integers'),
      ('2x3x3x4x5x2x0', 'a 5x5 kernel does not fit 3x3 padded by 0'),
    ):
      with self.assertRaisesRegex(ValueError, why):
        transpose_speed.parse_shape(text)


if __name__ == '__main__':
  absltest.main()
