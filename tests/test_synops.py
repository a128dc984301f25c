"""synops: the per-layer helpers opcount builds on."""

import jax.numpy as jnp
import numpy as np
from absl.testing import absltest

import stochep_jax as sep
from stochep_jax.opcount import events as synops


class SynopsTest(absltest.TestCase):
  def test_spike_ops_by_hand(self):
    """2-3-2: layer 1 drives W2 (fan-out 2 per unit), layer 2 drives W2ᵀ (fan-in 3 per unit)."""
    net = sep.dense(2, [3], 2)
    outs = (
      jnp.array([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0]]),  # layer 1: spikes
      jnp.array([[1.0, 0.0], [0.5, 1.0]]),  # layer 2: one real value
    )
    events, binary = synops.spike_ops(net, outs)
    self.assertEqual(set(events), {'layer2.fwd', 'layer2.bwd'})  # the input is driven by x only
    np.testing.assert_array_equal(events['layer2.fwd'], [2 * 2, 0])
    np.testing.assert_array_equal(events['layer2.bwd'], [1 * 3, 2 * 3])
    self.assertEqual(
      {k: bool(v) for k, v in binary.items()}, {'layer2.fwd': True, 'layer2.bwd': False}
    )
    dense_all, _ = synops.spike_ops(net, outs, count_zeros=True)  # zeros charged too
    np.testing.assert_array_equal(dense_all['layer2.fwd'], [3 * 2, 3 * 2])
    np.testing.assert_array_equal(dense_all['layer2.bwd'], [2 * 3, 2 * 3])

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
