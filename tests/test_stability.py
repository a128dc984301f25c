"""Stability measure of the membrane potentials ([StochEP] Fig. 3; docs/model.md, "Stability")."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
from absl.testing import absltest, parameterized

import stochep_jax as sep
from stochep_jax import keys as keys_lib
from stochep_jax import stability

# [T = 5, batch 1, 4 units]: a jump then rest, a ramp, a constant, an alternation.
TRAJ = jnp.array(
  [
    [[0.0, 0.0, 0.3, 0.0]],
    [[1.0, 0.5, 0.3, 0.2]],
    [[1.0, 1.0, 0.3, -0.2]],
    [[1.0, 1.5, 0.3, 0.2]],
    [[1.0, 2.0, 0.3, -0.2]],
  ]
)


class StepChangesTest(parameterized.TestCase):
  @parameterized.parameters(
    # k, tol, mean |Δv|, fraction moving. Per-unit mean |Δv| over the last k steps:
    # k=2: [0, .5, 0, .4]; k=4: [.25, .5, 0, .35].
    (2, 0.1, 0.9 / 4, 0.5),
    (2, 0.45, 0.9 / 4, 0.25),
    (4, 0.2, 1.1 / 4, 0.75),
    (4, 0.3, 1.1 / 4, 0.5),
    (1, 0.45, 0.9 / 4, 0.25),
  )
  def test_hand_made_trajectory(self, k, tol, mean_dv, frac):
    got = jax.jit(stability.step_changes, static_argnums=(1, 2))(TRAJ, k, tol)
    np.testing.assert_allclose(got, [mean_dv, frac], rtol=1e-6)

  def test_batch_and_unit_axes_are_pooled(self):
    traj = jnp.stack([TRAJ[:, 0], 2 * TRAJ[:, 0]], 1)  # [5, 2, 4]; the second moves twice as much
    mean_dv, frac = stability.step_changes(traj.reshape(5, 2, 2, 2), 2, 0.45)
    np.testing.assert_allclose(mean_dv, 1.5 * 0.9 / 4, rtol=1e-6)
    np.testing.assert_allclose(frac, 3 / 8)  # .5; 1.0 and .8

  def test_k_range(self):
    for k in (0, 5):
      with self.assertRaises(ValueError):
        stability.step_changes(TRAJ, k, 0.1)


def tiny(neuron):
  net = sep.dense(12, [16], 4)
  params = net.init(jax.random.key(0))
  x = jax.random.uniform(jax.random.key(1), (8, 12))
  return sep.Simulator(net, neuron, chunk=10), params, x, jnp.arange(8) % 4


class TrajectoryTest(absltest.TestCase):
  def test_last_steps_are_the_full_trajectorys_tail(self):
    sim, params, x, _ = tiny(sep.StochEP(decay=0.8))
    keys = sep.example_keys(jax.random.key(2), jnp.arange(8))
    states = sim.init_states(8)
    full_res, full = stability.membrane_trajectory(sim, params, x, keys, states, steps=30)
    res, tail = stability.membrane_trajectory(sim, params, x, keys, states, steps=30, last=7)
    for f, t, st in zip(full, tail, full_res.states):
      chex.assert_shape(f, (31, 8, f.shape[-1]))
      np.testing.assert_array_equal(f[0], 0.0)  # the zero state's u
      np.testing.assert_allclose(t, f[-8:], atol=1e-6)
      np.testing.assert_array_equal(f[-1], st.u)
    chex.assert_trees_all_close(res.states, full_res.states, atol=1e-6)


class PhaseStabilityTest(parameterized.TestCase):
  @parameterized.named_parameters(
    ('stochep', sep.StochEP(decay=0.8)), ('lif_lowpass', sep.neurons.LIFLowPass())
  )
  def test_each_phase_is_measured(self, neuron):
    sim, params, x, y = tiny(neuron)
    ep = sep.EP(t_free=40, t_nudge=20, beta=0.5)
    out = jax.jit(lambda p, k: stability.phase_stability(sim, ep, p, x, y, k, k=10, tol=1e-2))(
      params, jax.random.key(3)
    )
    self.assertEqual(set(out), {'free', 'plus', 'minus'})
    for st in out.values():
      chex.assert_shape((st.mean_abs_dv, st.frac_moving), (2,))
      self.assertTrue(bool(jnp.all(jnp.isfinite(st.mean_abs_dv))))
      self.assertTrue(bool(jnp.all((st.frac_moving >= 0) & (st.frac_moving <= 1))))
    # The free phase's numbers are step_changes of its recorded membranes.
    keys = keys_lib.phase_keys(sep.example_keys(jax.random.key(3), jnp.arange(8)), 0)
    _, mb = stability.membrane_trajectory(sim, params, x, keys, sim.init_states(8), steps=40)
    want = np.array([stability.step_changes(m, 10, 1e-2) for m in mb])
    np.testing.assert_allclose(out['free'].mean_abs_dv, want[:, 0], rtol=1e-5)
    np.testing.assert_allclose(out['free'].frac_moving, want[:, 1])

  def test_a_converged_deterministic_net_does_not_move(self):
    sim, params, x, y = tiny(sep.CRNN())
    out = stability.phase_stability(sim, sep.EP(200, 100, 0.1), params, x, y, None, k=10)
    for st in out.values():
      np.testing.assert_allclose(st.mean_abs_dv, 0.0, atol=1e-6)
      np.testing.assert_array_equal(st.frac_moving, 0.0)


if __name__ == '__main__':
  absltest.main()
