"""BPTT references (SPEC 5): CRNN BPTT, SNN BPTT with the straight-through surrogate."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
from absl.testing import absltest, parameterized

import stochep_jax as sep
from stochep_jax import estimators, training


def flat(tree):
  return jnp.concatenate([jnp.ravel(a) for a in jax.tree_util.tree_leaves(tree)])


def cosine(a, b):
  a, b = jnp.ravel(a), jnp.ravel(b)
  return float(jnp.vdot(a, b) / (jnp.linalg.norm(a) * jnp.linalg.norm(b)))


def batch(n_in, b, n_classes, seed=1, dtype=jnp.float32):
  x = jax.random.uniform(jax.random.key(seed), (b, n_in), dtype)
  return x, jnp.arange(b) % n_classes


class CRNNBPTTTest(parameterized.TestCase):
  def test_gradient_matches_finite_differences(self):
    """dL/dθ along a random direction equals the central difference (float64)."""
    with jax.enable_x64(True):
      net = sep.dense(12, [10, 8], 4)
      params = net.init(jax.random.key(0), jnp.float64)
      x, y = batch(12, 6, 4, dtype=jnp.float64)
      sim = sep.Simulator(net, sep.CRNN(rho='logistic'))
      bptt = estimators.BPTT(t_free=40, k_avg=5)
      grads, aux = jax.jit(lambda p: estimators.bptt_gradient(sim, bptt, p, x, y, None))(params)
      v = jax.tree_util.tree_map(
        lambda p: jax.random.normal(jax.random.key(2), p.shape, p.dtype), params
      )

      @jax.jit
      def loss(eps):
        p = jax.tree_util.tree_map(lambda a, d: a + eps * d, params, v)
        rates = sep.free_phase(sim, p, x, None, steps=40, k_avg=5).rates
        return jnp.mean(net.cost(p, rates, y))

      eps = 1e-5
      fd = (loss(eps) - loss(-eps)) / (2 * eps)
      np.testing.assert_allclose(float(jnp.vdot(flat(grads), flat(v))), float(fd), rtol=1e-6)
      chex.assert_shape(aux['scores'], (6, 4))
      chex.assert_shape(aux['loss'], (6,))
      self.assertLen(aux['rates'], 3)

  def test_checkpoint_gives_the_same_gradient(self):
    net = sep.dense(10, [8], 3)
    params = net.init(jax.random.key(0))
    x, y = batch(10, 5, 3)
    sim = sep.Simulator(net, sep.CRNN())
    g0, g1 = (
      jax.jit(lambda p, b=b: estimators.bptt_gradient(sim, b, p, x, y, None)[0])(params)
      for b in (estimators.BPTT(30, 5), estimators.BPTT(30, 5, checkpoint=True))
    )
    chex.assert_trees_all_close(g0, g1, atol=1e-6)

  @parameterized.named_parameters(
    ('one_hidden', [32]), ('two_hidden', [32, 24]), ('three_hidden', [32, 24, 16])
  )
  def test_symmetric_ep_matches_bptt_estimator(self, hidden):
    """The registered 'ep' and 'bptt' estimators agree: cosine ≥ 0.99 per tensor."""
    net = sep.dense(20, hidden, 10)
    params = net.init(jax.random.key(3))
    x, y = batch(20, 16, 10, seed=4)
    sim = sep.Simulator(net, sep.CRNN())
    settings = dict(t_free=200, t_nudge=100, beta=1e-3, k_avg=1)
    ep = estimators.ESTIMATORS.make('ep', sim=sim, **settings)
    bp = estimators.ESTIMATORS.make('bptt', sim=sim, t_free=200, k_avg=1)
    g_ep, _ = jax.jit(lambda p: ep(p, x, y, None))(params)
    g_bp, _ = jax.jit(lambda p: bp(p, x, y, None))(params)
    for a, b in zip(jax.tree_util.tree_leaves(g_ep), jax.tree_util.tree_leaves(g_bp)):
      self.assertGreaterEqual(cosine(a, b), 0.99)


class SNNBPTTTest(absltest.TestCase):
  """One jitted SNN-BPTT function, compiled once, serves every test here."""

  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.net = sep.dense(30, [32], 10)
    cls.params = cls.net.init(jax.random.key(0))
    cls.x, cls.y = batch(30, 32, 10)
    cls.sim = sep.Simulator(cls.net, sep.StochEP(decay=0.9, kappa=1.0), chunk=100)
    cls.bptt = estimators.BPTT(t_free=100, k_avg=20)
    fn = jax.jit(lambda k: estimators.bptt_gradient(cls.sim, cls.bptt, cls.params, cls.x, cls.y, k))
    cls.draws = [fn(jax.random.key(i)) for i in range(4)]

  def test_surrogate_is_automatic_and_forward_unchanged(self):
    st = estimators.bptt_simulator(self.sim)
    self.assertTrue(st.neuron.straight_through)
    self.assertFalse(self.sim.neuron.straight_through)
    mf = sep.Simulator(self.net, sep.StochEP(stochastic=False))
    self.assertIs(estimators.bptt_simulator(mf), mf)  # deterministic: unchanged
    # The forward pass spikes exactly as EP's free phase with the same keys.
    free = jax.jit(
      lambda p: sep.free_phase(self.sim, p, self.x, jax.random.key(0), steps=100, k_avg=20)
    )(self.params)
    for a, b in zip(self.draws[0][1]['rates'], free.rates):
      np.testing.assert_allclose(a, b, atol=1e-6)

  def test_without_surrogate_spikes_have_no_gradient(self):
    def loss(p):
      rates = sep.free_phase(self.sim, p, self.x, jax.random.key(0), steps=100, k_avg=20).rates
      return jnp.mean(self.net.cost(p, rates, self.y))

    self.assertEqual(float(jnp.abs(flat(jax.jit(jax.grad(loss))(self.params))).max()), 0.0)

  def test_surrogate_gradient_estimates_mean_field_gradient(self):
    """Straight-through SNN BPTT ≈ the mean-field network's BPTT: cosine ≥ 0.97."""
    mf = sep.Simulator(self.net, sep.StochEP(decay=0.9, kappa=1.0, stochastic=False))
    g_mf = jax.jit(lambda p: estimators.bptt_gradient(mf, self.bptt, p, self.x, self.y, None)[0])(
      self.params
    )
    grads = [flat(g) for g, _ in self.draws]
    self.assertGreaterEqual(cosine(grads[0], flat(g_mf)), 0.97)
    self.assertGreaterEqual(cosine(sum(grads) / 4, flat(g_mf)), 0.98)

  def test_training_with_bptt_lowers_the_loss(self):
    """CRNN BPTT through ``training.make_train_step`` fits a fixed batch (deterministic)."""
    sim = sep.Simulator(self.net, sep.CRNN())
    gradient_fn = estimators.ESTIMATORS.make('bptt', sim=sim, t_free=30, k_avg=1)
    optimizer = training.make_optimizer(self.params, [0.5, 0.25])
    state = training.init_train_state(self.params, optimizer)
    step = jax.jit(training.make_train_step(gradient_fn, optimizer))
    data = {'image': self.x, 'label': self.y, 'index': jnp.arange(32)}
    losses = []
    for _ in range(40):
      state, m = step(state, data, jax.random.key(0))
      losses.append(float(m['loss']) / 32)
    self.assertLess(losses[-1], 0.75 * losses[0])


if __name__ == '__main__':
  absltest.main()
