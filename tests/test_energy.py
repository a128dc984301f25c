"""Φ, currents and readouts against hand-written formulas.

As in docs/model.md, "Network and primitive function".
"""

import chex
import jax
import jax.numpy as jnp
import numpy as np
from absl.testing import absltest, parameterized

import stochep_jax as sep


def _net_params_states(readout='mse', n_perclass=1, batch=3):
  net = sep.dense(7, [6, 5], 4, readout=readout, n_perclass=n_perclass)
  params = net.init(jax.random.key(0))
  ks = jax.random.split(jax.random.key(1), 4)
  x = jax.random.uniform(ks[0], (batch, 7))
  states = tuple(jax.random.uniform(k, (batch,) + s) for k, s in zip(ks[1:], net.layer_shapes))
  return net, params, x, states


class EnergyTest(parameterized.TestCase):
  @chex.variants(with_jit=True, without_jit=True)
  def test_currents_equal_hand_computed(self):
    net, params, x, s = _net_params_states()
    (w1, b1), (w2, b2), (w3, b3) = [(p['w'], p['b']) for p in params['layers']]
    currents = self.variant(lambda p, x, s: net.currents(p, net.input_drive(p, x), s))(params, x, s)
    expected = (x @ w1 + b1 + s[1] @ w2.T, s[0] @ w2 + b2 + s[2] @ w3.T, s[1] @ w3 + b3)
    chex.assert_trees_all_close(currents, expected, atol=1e-6)

  def test_currents_are_grad_of_phi(self):
    net, params, x, s = _net_params_states()
    grads = jax.grad(net.phi, argnums=2)(params, x, s)
    chex.assert_trees_all_close(
      net.currents(params, net.input_drive(params, x), s), grads, atol=1e-6
    )

  def test_phi_and_energy_values(self):
    net, params, x, s = _net_params_states()
    (w1, b1), (w2, b2), (w3, b3) = [(p['w'], p['b']) for p in params['layers']]
    phi = (
      np.sum((x @ w1 + b1) * s[0])
      + np.sum((s[0] @ w2 + b2) * s[1])
      + np.sum((s[1] @ w3 + b3) * s[2])
    )
    np.testing.assert_allclose(net.phi(params, x, s), phi, rtol=1e-5)
    e = 0.5 * sum(np.sum(v * v) for v in s) - phi
    np.testing.assert_allclose(net.energy(params, x, s), e, rtol=1e-5)

  def test_mse_readout_groups(self):
    ro = sep.MSEReadout(n_classes=3, n_perclass=2)
    s = jnp.array([[0.1, 0.3, 1.0, 0.0, 0.5, 0.5]])
    np.testing.assert_allclose(ro.scores({}, s), [[0.2, 0.5, 0.5]], rtol=1e-6)
    y = jnp.array([1])
    np.testing.assert_allclose(ro.target(y), [[0, 0, 1, 1, 0, 0]])
    expected = 0.5 * np.sum((np.array(s[0]) - np.array([0, 0, 1, 1, 0, 0])) ** 2)
    np.testing.assert_allclose(ro.cost({}, s, y), [expected], rtol=1e-6)

  def test_cost_grad_is_the_nudging_force(self):
    net, params, _, s = _net_params_states(n_perclass=2)
    y = jnp.array([0, 3, 1])
    np.testing.assert_allclose(
      net.cost_grad(params, s[-1], y), s[-1] - net.readout.target(y), atol=1e-6
    )

  def test_cross_entropy_readout(self):
    net, params, _, s = _net_params_states(readout='ce')
    self.assertLen(net.layer_shapes, 2)  # the output layer left the energy
    y = jnp.array([0, 3, 1])
    logits = s[-1] @ params['readout']['w']
    np.testing.assert_allclose(net.scores(params, s), logits, rtol=1e-5)
    p = jax.nn.softmax(logits)
    np.testing.assert_allclose(net.cost(params, s, y), -np.log(p[np.arange(3), y]), rtol=1e-5)
    # ∂C/∂s_L = W_out (softmax − y)
    np.testing.assert_allclose(
      net.cost_grad(params, s[-1], y),
      (p - jax.nn.one_hot(y, 4)) @ params['readout']['w'].T,
      atol=1e-5,
    )

  def test_nudged_phi(self):
    net, params, x, s = _net_params_states()
    y = jnp.array([0, 1, 2])
    np.testing.assert_allclose(
      net.nudged_phi(params, x, s, y, 0.3),
      net.phi(params, x, s) - 0.3 * jnp.sum(net.cost(params, s, y)),
      rtol=1e-6,
    )

  def test_readout_size_checked(self):
    with self.assertRaisesRegex(ValueError, 'readout needs 20 units'):
      sep.Network((4,), (sep.Dense(10),), sep.MSEReadout(10, 2))

  def test_torch_default_init_bounds(self):
    params = sep.dense(100, [50], 10).init(jax.random.key(3))
    w = params['layers'][0]['w']
    self.assertLessEqual(float(jnp.abs(w).max()), 0.1)
    self.assertGreater(float(jnp.abs(w).max()), 0.09)


if __name__ == '__main__':
  absltest.main()
