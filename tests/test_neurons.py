"""Neuron models: each update equals its equation (SPEC 3)."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
from absl.testing import absltest, parameterized

import stochep_jax as sep
from stochep_jax import activations, noise


class ActivationTest(parameterized.TestCase):
  def test_values(self):
    x = jnp.array([-1.0, 0.0, 0.25, 1.0, 1.5, 3.0])
    np.testing.assert_allclose(activations.get('hard_sigmoid')(x), [0, 0, 0.25, 1, 1, 1])
    np.testing.assert_allclose(activations.get('hard_sigmoid_half')(x), [0, 0, 0.125, 0.5, 0.75, 1])
    np.testing.assert_allclose(
      activations.get('logistic')(x), 1 / (1 + np.exp(-np.array(x))), rtol=1e-6
    )

  @parameterized.parameters('hard_sigmoid', 'hard_sigmoid_half', 'logistic')
  def test_grad_matches_autodiff_away_from_kinks(self, name):
    rho = activations.get(name)
    x = jnp.array([-0.7, 0.3, 0.6, 1.7, 2.4])
    np.testing.assert_allclose(rho.grad(x), jax.vmap(jax.grad(rho.fn))(x), rtol=1e-6)

  def test_unknown(self):
    with self.assertRaisesRegex(ValueError, 'unknown activation'):
      activations.get('relu6')


class NoiseTest(parameterized.TestCase):
  def test_32_bits_is_jax_uniform(self):
    k = jax.random.key(0)
    np.testing.assert_array_equal(noise.uniform(k, (5, 7)), jax.random.uniform(k, (5, 7)))

  def test_8_bits_grid_and_frequencies(self):
    u = noise.uniform(jax.random.key(1), (200_000,), bits=8)
    codes = np.asarray(u) * 256 - 0.5
    np.testing.assert_allclose(codes, np.round(codes), atol=1e-4)  # on the 1/256 grid
    self.assertEqual(int(codes.min().round()), 0)
    self.assertEqual(int(codes.max().round()), 255)
    for p in (0.1, 0.37, 0.9):  # P(U < p) within 1/512 + 4 standard errors
      freq = float(jnp.mean(u < p))
      self.assertLess(abs(freq - p), 1 / 512 + 4 * np.sqrt(p * (1 - p) / u.size))

  def test_bad_bits(self):
    with self.assertRaises(ValueError):
      noise.uniform(jax.random.key(0), (3,), bits=16)


class NeuronTest(parameterized.TestCase):
  @parameterized.parameters('hard_sigmoid', 'hard_sigmoid_half', 'logistic')
  def test_crnn(self, rho):
    model = sep.CRNN(rho)
    i = jnp.array([-0.5, 0.2, 0.9, 2.5])
    state, out = model.step(model.init_state((4,)), i)
    np.testing.assert_allclose(out, activations.get(rho)(i))
    np.testing.assert_allclose(model.mean(state), out)
    np.testing.assert_allclose(model.output(state), out)

  @chex.variants(with_jit=True, without_jit=True)
  def test_stochep_update_equations(self):
    model = sep.StochEP(decay=0.7, kappa=2.0)
    prev = sep.neurons.StochEPState(u=jnp.array([0.1, 0.4, -0.2]), p=jnp.zeros(3), s=jnp.zeros(3))
    current = jnp.array([0.5, 0.0, 1.0])
    u_noise = jnp.array([0.5, 0.99, 0.01])
    state, out = self.variant(model.update)(prev, current, u_noise)
    u = 0.7 * np.array([0.1, 0.4, -0.2]) + 0.3 * np.array([0.5, 0.0, 1.0])
    p = np.clip(2.0 * u, 0, 1)  # [0.44, 0.56, 0.32]
    np.testing.assert_allclose(state.u, u, rtol=1e-6)
    np.testing.assert_allclose(state.p, p, rtol=1e-6)
    np.testing.assert_array_equal(out, (np.array(u_noise) < p).astype(np.float32))
    np.testing.assert_array_equal(out, [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(state.s, out)
    np.testing.assert_allclose(model.mean(state), p, rtol=1e-6)

  def test_stochep_step_is_jax_bernoulli(self):
    model = sep.StochEP(decay=0.0, kappa=1.0)
    current = jnp.linspace(0, 1, 1000)
    key = jax.random.key(7)
    _, out = model.step(model.init_state((1000,)), current, key)
    np.testing.assert_array_equal(out, jax.random.bernoulli(key, current).astype(jnp.float32))

  def test_mean_field_variant_outputs_probability(self):
    model = sep.StochEP(decay=0.5, kappa=1.5, stochastic=False)
    state, out = model.step(model.init_state((2,)), jnp.array([0.2, 0.8]))
    np.testing.assert_allclose(out, np.clip(1.5 * 0.5 * np.array([0.2, 0.8]), 0, 1), rtol=1e-6)
    self.assertIsNone(model.noise(jax.random.key(0), (2,)))

  def test_straight_through(self):
    model = sep.StochEP(decay=0.0, kappa=1.0, straight_through=True)
    state0 = model.init_state((3,))
    u_noise = jnp.array([0.2, 0.6, 0.9])

    def f(i):
      return model.update(state0, i, u_noise)[1]

    i = jnp.array([0.3, 0.4, 0.95])
    np.testing.assert_allclose(f(i), [1.0, 0.0, 1.0], atol=1e-7)
    # ∂s/∂p = 1 and ∂p/∂i = 1 inside the hard sigmoid's range.
    np.testing.assert_allclose(jax.jacobian(f)(i), np.eye(3), atol=1e-7)

  def test_hopfield_update(self):
    model = sep.Hopfield(dt=0.1, rho='logistic')
    s0 = jnp.array([0.3, -1.0])
    i = jnp.array([0.5, 2.0])
    state, out = model.update(sep.neurons.HopfieldState(s0), i)
    sig = 1 / (1 + np.exp(-np.array(s0)))
    expected = np.array(s0) + 0.1 * (-np.array(s0) + sig * (1 - sig) * np.array(i))
    np.testing.assert_allclose(state.s, expected, rtol=1e-6)
    np.testing.assert_allclose(out, 1 / (1 + np.exp(-expected)), rtol=1e-6)

  def test_invalid_hyperparameters(self):
    with self.assertRaises(ValueError):
      sep.StochEP(decay=1.0)
    with self.assertRaises(ValueError):
      sep.StochEP(kappa=0.0)


if __name__ == '__main__':
  absltest.main()
