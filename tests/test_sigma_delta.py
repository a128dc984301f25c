"""Sigma-Delta [Lin24] and O'Connor [OC19] spike-coded neurons (docs/model.md, "Neuron models")."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
from absl.testing import absltest, parameterized
from jax import lax

import stochep_jax as sep
from stochep_jax import neurons


def run_constant(model, current, steps, key=None):
  """``steps`` steps of ``model`` under a constant current; states and outputs stacked."""
  keys = None if key is None else jax.random.split(key, steps)

  def body(state, k):
    state, out = model.step(state, current, k)
    return state, (state, out)

  _, (states, outs) = lax.scan(body, model.init_state(current.shape), keys, length=steps)
  return states, outs


class SigmaDeltaTest(parameterized.TestCase):
  @chex.variants(with_jit=True, without_jit=True)
  def test_update_equations(self):
    """One step of [Lin24] eq. 10 from a non-zero state, by hand."""
    lam, eps, vth = 0.6, 0.9, 0.5
    model = sep.SigmaDelta(lam=lam, eps=eps, v_th=vth)
    prev = neurons.SpikeCodedState(
      d=jnp.array([0.2, 0.5, -0.3, 0.9]),
      xi=jnp.array([0.1, 0.8, 0.4, 1.0]),
      v=jnp.array([0.3, -0.2, 0.1, 0.45]),
      s=jnp.zeros(4),
      t=jnp.array(7.0),
    )
    phi = jnp.array([0.7, 0.1, -0.5, 2.0])
    state, out = self.variant(model.update)(prev, phi)
    d = (1 - lam) * np.array(prev.d) + lam * np.array(phi)
    xi0 = np.array(prev.xi)
    xi = np.clip((1 - eps) * xi0 + eps * 1.0 * d, 0, 1)  # ρ' = 1 on [0, 1]
    e = (xi - (1 - lam) * xi0) / lam
    s = (np.array(prev.v) + e > vth).astype(np.float32)
    np.testing.assert_allclose(state.d, d, rtol=1e-6)
    np.testing.assert_allclose(state.xi, xi, rtol=1e-6)
    np.testing.assert_array_equal(out, s)
    np.testing.assert_array_equal(state.s, s)
    np.testing.assert_allclose(state.v, np.array(prev.v) + e - s, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.mean(state), xi, rtol=1e-6)
    self.assertEqual(float(state.t), 8.0)

  @parameterized.product(eps=[1.0, 0.9], lam=[0.6, 0.3])
  def test_decoded_signal_tracks_a_constant_input(self, eps, lam):
    current = jnp.array([-0.2, 0.0, 0.05, 0.3, 0.5, 0.77, 1.0, 1.6])
    target = np.clip(np.array(current), 0, 1)
    model = sep.SigmaDelta(lam=lam, eps=eps)
    steps, window = 300, 100
    states, spikes = jax.jit(lambda c: run_constant(model, c, steps))(current)
    self.assertTrue(set(np.unique(spikes)) <= {0.0, 1.0})
    # The neuron's value ρ(ξ) converges to ρ(I).
    np.testing.assert_allclose(
      model.mean(jax.tree_util.tree_map(lambda a: a[-1], states)), target, atol=1e-6
    )
    # Σ-Δ: the spike count equals the encoded sum minus the integrator, exactly.
    rho_xi = np.array(states.xi)
    prev = np.concatenate([np.zeros((1, 8)), rho_xi[:-1]])
    e = (rho_xi - (1 - lam) * prev) / lam
    np.testing.assert_allclose(
      np.cumsum(spikes, 0), np.cumsum(e, 0) - np.array(states.v), atol=2e-4
    )
    # So the spike rate over a window is ρ(I) to within the change of V / window.
    rate = np.array(spikes[-window:]).mean(0)
    self.assertLess(float(np.abs(rate - target).max()), 1.0 / window + 1e-6)
    # The receiver's decoder r^t = (1-λ) r^{t-1} + λ s^t averages to ρ(I) as well.
    decoded = lax.scan(lambda r, s: ((1 - lam) * r + lam * s,) * 2, jnp.zeros(8), spikes)[1]
    self.assertLess(float(np.abs(np.array(decoded[-window:]).mean(0) - target).max()), 2.0 / window)

  def test_registry_and_fixed_fields(self):
    model = sep.NEURONS.make('sigma_delta', lam=0.5, eps=0.9)
    self.assertEqual((model.coding, model.eta, model.lam, model.eps), ('predictive', 0.0, 0.5, 0.9))
    self.assertIsNone(model.noise(jax.random.key(0), (3,)))
    for fixed in ('coding', 'eta', 'decay'):  # fixed or foreign fields are refused (strict)
      with self.assertRaisesRegex(ValueError, fixed):
        sep.NEURONS.make('sigma_delta', **{fixed: 0.5})
    with self.assertRaises(ValueError):
      sep.SigmaDelta(lam=0.0)
    with self.assertRaises(ValueError):
      sep.OConnor(coding='rate')


class OConnorTest(parameterized.TestCase):
  def test_stochastic_encoder_and_annealed_step(self):
    model = sep.OConnor(coding='stochastic', eps=0.8, eta=0.75)
    prev = neurons.SpikeCodedState(
      d=jnp.zeros(3),
      xi=jnp.array([0.2, 0.6, 0.9]),
      v=jnp.zeros(3),
      s=jnp.zeros(3),
      t=jnp.array(3.0),
    )
    current = jnp.array([1.0, 0.1, 0.5])
    u = jnp.array([0.5, 0.01, 0.99])
    state, out = model.update(prev, current, u)
    eps_t = 0.8 / 4**0.75  # ε_t = c0 / t^η, t = 4
    xi = np.clip((1 - eps_t) * np.array(prev.xi) + eps_t * np.array(current), 0, 1)
    np.testing.assert_allclose(state.xi, xi, rtol=1e-6)
    np.testing.assert_allclose(state.d, current)  # identity decoder
    np.testing.assert_array_equal(out, (np.array(u) < xi).astype(np.float32))
    # Spikes are Bernoulli(ρ(ξ)) drawn from the key.
    key = jax.random.key(4)
    _, out = model.step(prev, current, key)
    np.testing.assert_array_equal(out, jax.random.uniform(key, (3,)) < state.xi)

  def test_sigma_delta_encoder(self):
    model = sep.OConnor(coding='sigma_delta', eps=1.0, eta=0.0)
    states, spikes = run_constant(model, jnp.array([0.25, 0.6]), 40)
    np.testing.assert_allclose(
      model.mean(jax.tree_util.tree_map(lambda a: a[-1], states)), [0.25, 0.6], rtol=1e-6
    )
    np.testing.assert_allclose(np.array(spikes).sum(0), [10, 24], atol=1)
    # V^t for a = 0.25: .25 .5 .75→spike, −.25 0 .25 .5 .75→spike (strictly above V_th = .5).
    self.assertEqual(tuple(np.array(spikes[:8, 0])), (0, 0, 1, 0, 0, 0, 1, 0))

  def test_annealing_reaches_the_crnn_fixed_point(self):
    """[OC19]: with ε_t = c0/t^η, ρ(ξ) converges to the real-valued network's fixed point."""
    net = sep.dense(20, [24, 16], 5)
    params = net.init(jax.random.key(1))
    x = jax.random.uniform(jax.random.key(0), (16, 20))
    fixed = sep.free_phase(sep.Simulator(net, sep.CRNN()), params, x, None, t_free=300).rates

    def error(neuron, steps):
      sim = sep.Simulator(net, neuron, rate='mean')
      res = jax.jit(lambda p: sep.free_phase(sim, p, x, jax.random.key(2), t_free=steps))(params)
      return max(float(jnp.abs(a - b).mean()) for a, b in zip(res.rates, fixed))

    for encoder in ('stochastic', 'sigma_delta'):
      annealed = sep.OConnor(coding=encoder, eps=0.5, eta=0.75)
      early, late = error(annealed, 200), error(annealed, 2000)
      self.assertLess(late, 0.008, encoder)
      self.assertLess(late, early / 2, encoder)
    constant = error(sep.OConnor(coding='stochastic', eps=0.5, eta=0.0), 2000)
    self.assertGreater(constant, 2 * error(sep.OConnor(coding='stochastic'), 2000))


class SpikeCodedEPTest(parameterized.TestCase):
  @parameterized.named_parameters(
    ('sigma_delta', 'sigma_delta', {}),
    ('oconnor_predictive', 'oconnor', {'coding': 'predictive', 'eta': 0.0, 'eps': 0.5}),
  )
  def test_ep_in_a_conv_net_follows_the_crnn_gradient(self, name, kwargs):
    """EP with a spike-coded neuron (rates ρ(ξ)) in a conv net vs CRNN BPTT."""
    net = sep.ARCHITECTURES.make(
      'conv', input_shape=(12, 12, 1), channels=(4,), fc=(16,), n_classes=5, pool='avg'
    )
    params = net.init(jax.random.key(1))
    x = jax.random.uniform(jax.random.key(0), (16, 12, 12, 1))
    y = jnp.arange(16) % 5
    crnn = sep.Simulator(net, sep.CRNN())
    g_bp = jax.jit(
      jax.grad(
        lambda p: jnp.mean(net.cost(p, sep.free_phase(crnn, p, x, None, t_free=200).rates, y))
      )
    )(params)
    sim = sep.Simulator(net, sep.NEURONS.make(name, **kwargs), rate='mean')
    g_ep, aux = jax.jit(
      lambda p: sep.ep_gradient(sim, sep.EP(200, 100, 0.1, k_avg=50), p, x, y, jax.random.key(3))
    )(params)
    flat = lambda t: jnp.concatenate([v.ravel() for v in jax.tree_util.tree_leaves(t)])
    a, b = flat(g_ep), flat(g_bp)
    self.assertGreater(float(jnp.vdot(a, b) / (jnp.linalg.norm(a) * jnp.linalg.norm(b))), 0.6)
    chex.assert_shape(aux['rates'][0], (16, 5, 5, 4))


if __name__ == '__main__':
  absltest.main()
