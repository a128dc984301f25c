"""experiments/profile_conv.py: per-step time and the operation kinds of a conv free phase."""

import os
import sys

from absl.testing import absltest

sys.path.insert(
  0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'experiments')
)
import profile_conv  # noqa: E402


class ProfileConvTest(absltest.TestCase):
  def test_profile_reports_time_and_operation_kinds(self):
    out = profile_conv.profile((2, 4), 2)
    self.assertGreater(out['ms_per_step'], 0.0)
    ops = out['top_ops_ms_per_step']
    self.assertLessEqual(len(ops), 8)
    self.assertTrue(all(v >= 0 for v in ops.values()))
    # the kinds are XLA's fusion names without their numeric suffix
    self.assertFalse(any(k.rpartition('.')[2].isdigit() for k in ops))


if __name__ == '__main__':
  absltest.main()
