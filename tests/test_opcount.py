"""Operation counts: fan-outs, spike-driven ACs/MACs, learning ops, energy.

As in docs/model.md, "Operations and energy".
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from absl.testing import absltest, parameterized
from flax import struct

import stochep_jax as sep
from stochep_jax import neurons, opcount


@struct.dataclass
class BlinkState:
  t: jax.Array
  s: jax.Array


@dataclasses.dataclass(frozen=True)
class Blink(neurons.NeuronModel):
  """Every unit outputs ``value`` at odd steps (1, 3, ...) and 0 at even ones."""

  value: float = 1.0

  def init_state(self, shape, dtype=jnp.float32):
    return BlinkState(jnp.zeros(shape, dtype), jnp.zeros(shape, dtype))

  def output(self, state):
    return state.s

  def mean(self, state):
    return state.s

  def update(self, state, current, noise=None):
    t = state.t + 1
    s = jnp.where(t % 2 == 1, self.value, 0.0).astype(current.dtype)
    return BlinkState(t, s), s


class FanTest(parameterized.TestCase):
  def test_dense(self):
    d = sep.Dense(3)
    np.testing.assert_array_equal(opcount.synapse_fanout(d, (4,)), [3, 3, 3, 3])
    np.testing.assert_array_equal(opcount.synapse_fanin(d, (4,)), [4, 4, 4])
    self.assertEqual(opcount.num_synapses(d, (2, 2)), 12)

  @parameterized.parameters(1, 3)
  def test_conv_same_padding_borders(self, cin):
    """3×3 kernel, padding 1, 4×4 input: corners 4 taps, edges 6, interior 9; × C_out = 2."""
    c = sep.Conv(2, kernel_size=3, padding=1, pool='none')
    taps = np.array([[4, 6, 6, 4], [6, 9, 9, 6], [6, 9, 9, 6], [4, 6, 6, 4]])
    fan = opcount.synapse_fanout(c, (4, 4, cin))
    self.assertEqual(fan.shape, (4, 4, cin))
    for k in range(cin):
      np.testing.assert_array_equal(fan[..., k], 2 * taps)
    fin = opcount.synapse_fanin(c, (4, 4, cin))
    self.assertEqual(fin.shape, (4, 4, 2))
    np.testing.assert_array_equal(fin[..., 1], cin * taps)
    self.assertEqual(opcount.num_synapses(c, (4, 4, cin)), 2 * cin * taps.sum())

  def test_conv_valid_pooled_drops_unused_rows(self):
    """5×5 input, 3×3 valid conv (3×3 outputs), 2×2 average pool keeps outputs (0..1, 0..1)."""
    c = sep.Conv(1, kernel_size=3, padding=0)
    r = np.array([1, 2, 2, 1, 0])  # how many kept output rows cover input row i
    np.testing.assert_array_equal(opcount.synapse_fanout(c, (5, 5, 1))[..., 0], np.outer(r, r))
    np.testing.assert_array_equal(opcount.synapse_fanin(c, (5, 5, 1)), [[[36]]])  # 4 × 9 taps
    self.assertEqual(opcount.num_synapses(c, (5, 5, 1)), 36)

  def test_strided_conv(self):
    """3×3 kernel, stride 2, valid, 5×5 input: outputs at rows 0 and 2; row 2 shared."""
    c = sep.Conv(1, kernel_size=3, strides=2, pool='none')
    r = np.array([1, 1, 2, 1, 1])
    np.testing.assert_array_equal(opcount.synapse_fanout(c, (5, 5, 1))[..., 0], np.outer(r, r))

  def test_flops_count_the_computed_convolution(self):
    """2C2FC's first two layers: plain 3×3 convs before pooling vs 4×4 stride-2 pooled kernels."""
    c1, c2 = sep.Conv(128), sep.Conv(256)
    self.assertEqual(opcount.flops(c1, (28, 28, 1), nominal=True), 2 * 26 * 26 * 128 * 9 * 1)
    self.assertEqual(opcount.flops(c1, (28, 28, 1)), 2 * 13 * 13 * 128 * 16 * 1)
    self.assertEqual(opcount.gemm_shape(c2, (13, 13, 128)), (5 * 5, 16 * 128, 256))
    self.assertEqual(opcount.flops(c2, (13, 13, 128), nominal=True), 2 * 11 * 11 * 256 * 9 * 128)
    self.assertEqual(
      opcount.flops(sep.Conv(256, pool='max'), (13, 13, 128)), 2 * 11 * 11 * 256 * 9 * 128
    )
    self.assertEqual(opcount.flops(sep.Dense(10), (512,)), 2 * 512 * 10)
    # The network's synapses are the plain convolution's, whatever is computed.
    self.assertEqual(opcount.num_synapses(c1, (28, 28, 1)), 26 * 26 * 128 * 9)


class SpikeOpsTest(absltest.TestCase):
  def test_fixed_spikes_by_hand(self):
    """4-3-2-2 with fixed outputs: each entry is nonzero senders × their fan."""
    net = sep.dense(4, [3, 2], 2)
    outs = (
      jnp.array([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0]]),
      jnp.array([[0.0, 1.0], [1.0, 1.0]]),
      jnp.array([[0.3, 0.0], [0.5, 0.5]]),
    )
    events, binary = opcount.spike_ops(net, outs)
    np.testing.assert_array_equal(events['layer2.fwd'], [2 * 2, 0])  # layer 1 → W2 (fan 2)
    np.testing.assert_array_equal(events['layer2.bwd'], [1 * 3, 2 * 3])  # layer 2 → W2ᵀ (fan 3)
    np.testing.assert_array_equal(events['layer3.fwd'], [1 * 2, 2 * 2])
    np.testing.assert_array_equal(events['layer3.bwd'], [1 * 2, 2 * 2])
    self.assertNotIn('layer1.bwd', events)  # layer 1 sends nothing to the input
    self.assertTrue(binary['layer2.fwd'] and binary['layer3.fwd'])
    self.assertFalse(binary['layer3.bwd'])  # real values: MACs
    dense_all, _ = opcount.spike_ops(net, outs, count_zeros=True)
    np.testing.assert_array_equal(dense_all['layer2.fwd'], [6, 6])

  def test_conv_spikes_at_borders(self):
    """One spike in a corner of a 4×4 map drives 4 taps × 2 channels of a padded conv."""
    conv_net = sep.Network(
      (4, 4, 1),
      (sep.Conv(1, padding=1, pool='none'), sep.Conv(2, padding=1, pool='none')),
      sep.MSEReadout(n_classes=1, n_perclass=32),
    )
    s1 = jnp.zeros((1, 4, 4, 1)).at[0, 0, 0, 0].set(1.0).at[0, 1, 1, 0].set(1.0)
    s2 = jnp.zeros((1, 4, 4, 2)).at[0, 3, 0, 1].set(1.0)
    events, binary = opcount.spike_ops(conv_net, (s1, s2))
    np.testing.assert_array_equal(events['layer2.fwd'], [4 * 2 + 9 * 2])
    np.testing.assert_array_equal(events['layer2.bwd'], [4 * 1])  # corner unit: 4 taps × C_in 1
    self.assertTrue(binary['layer2.bwd'])


class RunCountsTest(parameterized.TestCase):
  """Whole phases with the Blink neuron: T = 3 counts the outputs of steps 0, 1, 2."""

  net = sep.dense(4, [3], 2)
  x = jnp.array([[0.5, 0.0, 0.2, 0.0]])

  @parameterized.parameters((1.0, 'ac'), (0.5, 'mac'))
  def test_inference(self, value, kind):
    sim = sep.Simulator(self.net, Blink(value))
    params = self.net.init(jax.random.key(0))
    c = opcount.inference_ops(sim, params, self.x, None, t_free=3)['free']
    other = 'mac' if kind == 'ac' else 'ac'
    # Outputs: step 0 zeros, step 1 `value`, step 2 zeros: one step of all units sending.
    self.assertEqual(c['layer2.fwd'][kind], 3 * 2)
    self.assertEqual(c['layer2.bwd'][kind], 2 * 3)
    self.assertEqual(c['layer2.fwd'][other], 0)
    # The analog input: two nonzero pixels × fan-out 3, once per phase (static drive), MACs.
    self.assertEqual(c['layer1.fwd'], {'ac': 0.0, 'mac': 6.0})

  def test_bernoulli_input_every_step(self):
    sim = sep.Simulator(self.net, Blink(), sep.BernoulliInput())
    params = self.net.init(jax.random.key(0))
    x = jnp.array([[1.0, 1.0, 0.0, 1.0]])  # p = 1 always spikes, p = 0 never
    c = opcount.inference_ops(sim, params, x, jax.random.key(1), t_free=3)['free']
    self.assertEqual(c['layer1.fwd'], {'ac': 3 * 3 * 3.0, 'mac': 0.0})

  def test_ep_training_step(self):
    sim = sep.Simulator(self.net, Blink())
    params = self.net.init(jax.random.key(0))
    ep = sep.EP(t_free=3, t_nudge=2, beta=0.5)
    c = opcount.ep_training_ops(sim, ep, params, self.x, jnp.array([1]), None)
    self.assertEqual(set(c), {'free', 'plus', 'minus', 'update'})
    # Nudged phases start at the free state (step 3: ones), then step 4 (zeros): one step.
    for phase in ('free', 'plus', 'minus'):
      self.assertEqual(c[phase]['layer2.fwd']['ac'], 6)
      self.assertEqual(c[phase]['layer2.bwd']['ac'], 6)
      self.assertEqual(c[phase]['layer1.fwd']['mac'], 6)
    # Two outer products per synapse: 2 · (4·3 + 3·2).
    self.assertEqual(opcount.totals(c['update']), {'ac': 0.0, 'mac': 36.0})
    self.assertEqual(opcount.totals(c), {'ac': 36.0, 'mac': 18.0 + 36.0})
    one = opcount.ep_training_ops(
      sim, dataclasses.replace(ep, nudging='one_sided'), params, self.x, jnp.array([1]), None
    )
    self.assertEqual(set(one), {'free', 'plus', 'update'})

  def test_bptt(self):
    sim = sep.Simulator(self.net, Blink())
    params = self.net.init(jax.random.key(0))
    c = opcount.bptt_training_ops(sim, sep.BPTT(t_free=3), params, self.x, jnp.array([1]), None)
    self.assertEqual(opcount.totals(c['forward']), {'ac': 12.0, 'mac': 6.0})
    # T · 4 · S_2 + 1 · S_1 (static input): 3·4·6 + 12.
    self.assertEqual(c['backward']['layer2']['mac'], 72)
    self.assertEqual(c['backward']['layer1']['mac'], 12)

  def test_stochep_spikes_are_acs(self):
    """A real StochEP run: hidden and output spikes are ACs; the analog input is MACs."""
    net = sep.dense(8, [6], 2)
    sim = sep.Simulator(net, sep.StochEP(kappa=4.0))
    params = net.init(jax.random.key(0))
    x = jax.random.uniform(jax.random.key(1), (5, 8))
    c = opcount.inference_ops(sim, params, x, jax.random.key(2), t_free=20)['free']
    self.assertGreater(c['layer2.fwd']['ac'], 0)
    self.assertEqual(c['layer2.fwd']['mac'], 0)
    self.assertEqual(c['layer2.bwd']['mac'], 0)
    self.assertLessEqual(c['layer2.fwd']['ac'], 20 * 6 * 2)
    self.assertEqual(c['layer1.fwd'], {'ac': 0.0, 'mac': 8 * 6.0})  # uniform x: no zeros


class ReferencesTest(absltest.TestCase):
  def test_ann(self):
    c = opcount.ann_ops([784, 512, 10])
    self.assertEqual(opcount.totals(c['forward'])['mac'], 784 * 512 + 512 * 10)
    self.assertEqual(opcount.totals(c['backward'])['mac'], 784 * 512 + 2 * 512 * 10)

  def test_energy_model(self):
    e = opcount.EnergyModel()
    self.assertEqual((e.e_ac_pj, e.e_mac_pj, e.process_nm), (0.9, 4.6, 45))
    self.assertAlmostEqual(e.pj({'a': {'ac': 10.0, 'mac': 2.0}}), 9.0 + 9.2)
    self.assertAlmostEqual(
      opcount.EnergyModel(e_ac_pj=1.0, e_mac_pj=2.0).pj({'ac': 3, 'mac': 4}), 11
    )


if __name__ == '__main__':
  absltest.main()
