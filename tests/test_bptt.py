"""BPTT references: CRNN BPTT, SNN BPTT with the straight-through surrogate.

As in docs/model.md, "References by backpropagation".
"""

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
        rates = sep.free_phase(sim, p, x, None, t_free=40, k_avg=5).rates
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
      lambda p: sep.free_phase(self.sim, p, self.x, jax.random.key(0), t_free=100, k_avg=20)
    )(self.params)
    for a, b in zip(self.draws[0][1]['rates'], free.rates):
      np.testing.assert_allclose(a, b, atol=1e-6)

  def test_without_surrogate_spikes_have_no_gradient(self):
    def loss(p):
      rates = sep.free_phase(self.sim, p, self.x, jax.random.key(0), t_free=100, k_avg=20).rates
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


def _bptt_models():
  """Every neuron model BPTT accepts: (name, model, thresholded)."""
  n = sep.neurons
  return [
    ('crnn', sep.CRNN(), False),
    ('hopfield', sep.Hopfield(), False),
    ('stochep', sep.StochEP(decay=0.5), True),
    ('stochep_mean_field', sep.StochEP(stochastic=False), False),
    ('oconnor', sep.OConnor(), True),
    ('oconnor_sigma_delta', sep.OConnor(coding='sigma_delta'), True),
    ('sigma_delta', sep.SigmaDelta(), True),
    ('sigma_delta_fast_sigmoid', sep.SigmaDelta(spike_grad='fast_sigmoid'), True),
    ('lif_lowpass', n.LIFLowPass(), True),
    ('lif_lowpass_fast_sigmoid', n.LIFLowPass(spike_grad='fast_sigmoid'), True),
    ('lif_schedule', n.LIFSchedule(), True),
    ('lif_predictive', n.LIFPredictive(), True),
  ]


class EveryNeuronBPTTTest(parameterized.TestCase):
  """BPTT through every neuron model: the surrogate gives finite, non-zero gradients."""

  @parameterized.named_parameters(*_bptt_models())
  def test_gradients_are_finite_and_non_zero(self, model, thresholded):
    net = sep.dense(10, [8], 3)
    params = net.init(jax.random.key(0))
    x, y = batch(10, 6, 3)
    sim = sep.Simulator(net, model)
    bptt = estimators.BPTT(t_free=40, k_avg=10)
    grads, aux = jax.jit(lambda p: estimators.bptt_gradient(sim, bptt, p, x, y, jax.random.key(1)))(
      params
    )
    for g in jax.tree_util.tree_leaves(grads):
      self.assertTrue(bool(jnp.all(jnp.isfinite(g))))
      self.assertGreater(float(jnp.abs(g).max()), 0.0)
    # The surrogate leaves the forward pass alone: EP's free phase, same keys, same rates.
    free = sep.free_phase(sim, params, x, jax.random.key(1), t_free=40, k_avg=10)
    for a, b in zip(aux['rates'], free.rates):
      np.testing.assert_allclose(a, b, atol=1e-6)
    if thresholded:  # without the surrogate the spikes pass no gradient at all

      def loss(p):
        rates = sep.free_phase(sim, p, x, jax.random.key(1), t_free=40, k_avg=10).rates
        return jnp.mean(net.cost(p, rates, y))

      self.assertEqual(float(jnp.abs(flat(jax.jit(jax.grad(loss))(params))).max()), 0.0)

  def test_a_model_without_surrogate_is_refused(self):
    class Noisy(sep.CRNN):
      stochastic = True

    sim = sep.Simulator(sep.dense(4, [3], 2), Noisy())
    with self.assertRaisesRegex(ValueError, 'Noisy'):
      estimators.bptt_simulator(sim)

  @parameterized.named_parameters(
    ('stochep', sep.StochEP(decay=0.5), sep.StochEP(decay=0.5, stochastic=False)),
    ('oconnor', sep.OConnor(eps=0.8), sep.OConnor(eps=0.8, spikes=False)),
    (
      'oconnor_sigma_delta',
      sep.OConnor(coding='sigma_delta', eps=0.8),
      sep.OConnor(coding='sigma_delta', eps=0.8, spikes=False),
    ),
    ('sigma_delta', sep.SigmaDelta(eps=0.9), sep.SigmaDelta(eps=0.9, spikes=False)),
    ('lif_predictive', sep.neurons.LIFPredictive(), sep.neurons.LIFPredictive(spikes=False)),
  )
  def test_straight_through_is_the_spike_free_networks_gradient(self, model, reference):
    """Straight-through BPTT = BPTT of the spike-free counterpart where the Jacobians coincide.

    Small weights and biases ½ keep every unit inside the hard sigmoid's linear range
    (checked), where every Jacobian of both networks is the same constant. So for a fixed
    cotangent c on the rates, d⟨c, r⟩/dθ agrees to float rounding (1e-5 of its largest
    entry) for the biases and the input weights, whose ∂I/∂θ does not depend on the forward
    pass; the other weights see ∂I/∂W = s (spikes against values): cosine ≥ 0.95.
    """
    net = sep.dense(8, [6], 3)
    p = net.init(jax.random.key(0))
    params = {
      'layers': tuple({'b': jnp.full_like(l['b'], 0.5), 'w': 0.05 * l['w']} for l in p['layers']),
      'readout': {},
    }
    x = jax.random.uniform(jax.random.key(1), (4, 8))
    c = [jax.random.normal(jax.random.key(5 + i), (4, n)) for i, n in enumerate((6, 3))]

    def grads(neuron):
      sim = estimators.bptt_simulator(sep.Simulator(net, neuron))

      def f(theta):
        res = sep.free_phase(
          sim,
          theta,
          x,
          jax.random.key(3),
          t_free=30,
          k_avg=10,
          trace_fn=lambda st: tuple(sim.neuron.mean(s) for s in st),
        )
        return sum(jnp.vdot(a, r) for a, r in zip(c, res.rates)), res.trace

      g, trace = jax.jit(jax.grad(f, has_aux=True))(params)
      for t in trace:  # the linear range, strictly
        self.assertGreater(float(t.min()), 0.0)
        self.assertLess(float(t.max()), 1.0)
      return g

    g, g_ref = grads(model), grads(reference)
    exact = [g_ref['layers'][0]['b'], g_ref['layers'][0]['w'], g_ref['layers'][1]['b']]
    for a, b in zip([g['layers'][0]['b'], g['layers'][0]['w'], g['layers'][1]['b']], exact):
      np.testing.assert_allclose(a, b, atol=1e-5 * float(jnp.abs(b).max()))
    self.assertGreaterEqual(cosine(g['layers'][1]['w'], g_ref['layers'][1]['w']), 0.95)


if __name__ == '__main__':
  absltest.main()
