"""synops: the per-layer helpers opcount builds on, and opcount's re-exports of them."""

from absl.testing import absltest

import stochep_jax as sep
from stochep_jax import opcount, synops


class SynopsTest(absltest.TestCase):
  def test_opcount_re_exports(self):
    self.assertIs(opcount.spike_ops, synops.spike_ops)
    self.assertIs(opcount.phase_ops, synops.phase_ops)

  def test_in_shapes(self):
    net = sep.dense(4, [3, 2], 2)
    self.assertEqual(synops.in_shapes(net), ((4,), (3,), (2,)))

  def test_readout_ops(self):
    """Cross-entropy: 2·S per nudged step (logits and adjoint) + S per final logits; MSE: none."""
    self.assertEqual(synops.readout_ops(sep.dense(4, [3], 2), 5, 1), {})
    ce = sep.dense(4, [3], 10, readout='ce')
    self.assertEqual(
      synops.readout_ops(ce, 5, 1), {'readout': {'ac': 0.0, 'mac': float(2 * 30 * 5 + 30)}}
    )


if __name__ == '__main__':
  absltest.main()
