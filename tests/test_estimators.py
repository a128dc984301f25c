"""EP: the update is the contrastive Hebbian rule and matches jax.grad.

As in docs/model.md, "Phases and the EP update" and "References by backpropagation".
"""

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
from absl.testing import absltest, parameterized

import stochep_jax as sep


def cosine(a, b):
  a, b = jnp.ravel(a), jnp.ravel(b)
  return float(jnp.vdot(a, b) / (jnp.linalg.norm(a) * jnp.linalg.norm(b)))


def bptt_grad(sim, params, x, y, steps):
  """dL/dθ by jax.grad through the unrolled free phase (L = mean cost at the end)."""

  def loss(p):
    return jnp.mean(sim.network.cost(p, sep.free_phase(sim, p, x, None, t_free=steps).rates, y))

  return jax.grad(loss)(params)


class EPTest(parameterized.TestCase):
  @parameterized.named_parameters(('crnn', False), ('stochep_bernoulli_input', True))
  def test_dense_update_is_contrastive_hebbian_rule(self, spiking):
    net = sep.dense(10, [8], 3)
    params = net.init(jax.random.key(0))
    x = jax.random.uniform(jax.random.key(1), (5, 10))
    y = jnp.array([0, 1, 2, 0, 1])
    if spiking:
      sim = sep.Simulator(net, sep.StochEP(decay=0.5, kappa=2.0), encoder=sep.BernoulliInput())
      ep, key = sep.EP(t_free=30, t_nudge=12, beta=0.4, k_avg=6), jax.random.key(2)
    else:
      sim, ep, key = sep.Simulator(net, sep.CRNN()), sep.EP(t_free=30, t_nudge=12, beta=0.4), None
    delta, _ = jax.jit(lambda p: sep.ep_update(sim, ep, p, x, y, key))(params)

    # The same phases by hand, then the rule (r_l r_{l-1}^T)^+ - (r_l r_{l-1}^T)^- over 2βB.
    keys = None if key is None else sep.example_keys(key, jnp.arange(5))
    phase = lambda p: None if keys is None else sep.keys.fold_in_each(keys, p)
    free = sim.run_phase(params, x, phase(0), sim.init_states(5), steps=30, k_avg=ep.k_avg)
    plus, minus = (
      sim.run_phase(
        params, x, phase(1), free.states, steps=12, t0=30, k_avg=ep.k_avg, beta=b, labels=y
      ).rates
      for b in (0.4, -0.4)
    )
    below_p, below_m = (x,) + plus[:-1], (x,) + minus[:-1]  # the input rate is x itself
    for l in range(2):
      dw = (below_p[l].T @ plus[l] - below_m[l].T @ minus[l]) / (2 * 0.4 * 5)
      db = (plus[l] - minus[l]).sum(0) / (2 * 0.4 * 5)
      np.testing.assert_allclose(delta['layers'][l]['w'], dw, atol=1e-5)
      np.testing.assert_allclose(delta['layers'][l]['b'], db, atol=1e-5)
    self.assertEqual(delta['readout'], {})

  def test_ep_gradient_is_minus_update(self):
    net = sep.dense(6, [5], 2)
    params = net.init(jax.random.key(0))
    x, y = jax.random.uniform(jax.random.key(1), (4, 6)), jnp.array([0, 1, 1, 0])
    sim, ep = sep.Simulator(net, sep.CRNN()), sep.EP(t_free=20, t_nudge=5, beta=0.1)
    g, aux = sep.ep_gradient(sim, ep, params, x, y, None)
    d, _ = sep.ep_update(sim, ep, params, x, y, None)
    chex.assert_trees_all_close(g, jax.tree_util.tree_map(jnp.negative, d))
    chex.assert_shape(aux['scores'], (4, 2))
    chex.assert_shape(aux['loss'], (4,))

  @parameterized.named_parameters(
    ('one_hidden', [48]), ('two_hidden', [48, 32]), ('three_hidden', [48, 32, 24])
  )
  def test_symmetric_ep_matches_bptt(self, hidden):
    """Small β, long relaxation: cosine ≥ 0.99 on every parameter tensor."""
    net = sep.dense(30, hidden, 10)
    params = net.init(jax.random.key(3))
    x = jax.random.uniform(jax.random.key(4), (32, 30))
    y = jnp.arange(32) % 10
    sim = sep.Simulator(net, sep.CRNN())
    g_ep, _ = jax.jit(
      lambda p: sep.ep_gradient(sim, sep.EP(t_free=200, t_nudge=100, beta=1e-3), p, x, y, None)
    )(params)
    g_bp = jax.jit(lambda p: bptt_grad(sim, p, x, y, 200))(params)
    residual = jax.jit(
      lambda p: sim.residual(p, x, sep.free_phase(sim, p, x, None, t_free=200).states, t=200)
    )
    self.assertLess(float(residual(params).max()), 1e-4)
    for a, b in zip(jax.tree_util.tree_leaves(g_ep), jax.tree_util.tree_leaves(g_bp)):
      self.assertGreaterEqual(cosine(a, b), 0.99)

  def test_cross_entropy_readout_matches_bptt(self):
    net = sep.dense(20, [32], 5, readout='ce')
    params = net.init(jax.random.key(5))
    x = jax.random.uniform(jax.random.key(6), (16, 20))
    y = jnp.arange(16) % 5
    sim = sep.Simulator(net, sep.CRNN())
    g_ep, g_bp = jax.jit(
      lambda p: (
        sep.ep_gradient(sim, sep.EP(t_free=100, t_nudge=60, beta=1e-3), p, x, y, None)[0],
        bptt_grad(sim, p, x, y, 100),
      )
    )(params)
    self.assertEqual(set(g_ep['readout']), {'w'})
    for a, b in zip(jax.tree_util.tree_leaves(g_ep), jax.tree_util.tree_leaves(g_bp)):
      self.assertGreaterEqual(cosine(a, b), 0.99)

  def test_one_sided_and_random_sign(self):
    net = sep.dense(20, [32], 5)
    params = net.init(jax.random.key(7))
    x = jax.random.uniform(jax.random.key(8), (16, 20))
    y = jnp.arange(16) % 5
    sim = sep.Simulator(net, sep.CRNN())
    g_bp = jax.jit(lambda p: bptt_grad(sim, p, x, y, 100))(params)

    @functools.partial(jax.jit, static_argnums=0)  # one program per nudging, not per call
    def run(nudging, key=None):
      return sep.ep_gradient(sim, sep.EP(100, 60, beta=0.1, nudging=nudging), params, x, y, key)

    flat = lambda t: jnp.concatenate([v.ravel() for v in jax.tree_util.tree_leaves(t)])
    err = lambda g: float(jnp.linalg.norm(flat(g) - flat(g_bp)) / jnp.linalg.norm(flat(g_bp)))
    sym, one = flat(run('symmetric')[0]), flat(run('one_sided')[0])
    self.assertLess(err(run('symmetric')[0]), err(run('one_sided')[0]))  # no O(β) bias
    # Random sign is one-sided at ±β; symmetric = mean of one-sided at +β and at −β.
    signs = set()
    for i in range(6):
      g, aux = run('random_sign', jax.random.key(i))
      sign = float(np.sign(aux['beta']))
      signs.add(sign)
      want = one if sign > 0 else 2 * sym - one
      np.testing.assert_allclose(flat(g), want, atol=2e-5)
    self.assertEqual(signs, {1.0, -1.0})

  def test_predict(self):
    net = sep.dense(6, [5], 3, n_perclass=2)
    params = net.init(jax.random.key(0))
    x = jax.random.uniform(jax.random.key(1), (4, 6))
    sim = sep.Simulator(net, sep.CRNN())
    scores = sep.predict(sim, params, x, None, t_free=30)
    final = sep.free_phase(sim, params, x, None, t_free=30).rates[-1]
    np.testing.assert_allclose(scores, final.reshape(4, 3, 2).mean(-1), atol=1e-6)

  def test_warm_start_of_a_deterministic_model_is_a_longer_free_phase(self):
    """CRNN EP with t_warm mean-field (= CRNN) steps and T_free after them gives the
    update of T_free + t_warm free steps: the warm start only moves the free phase's start."""
    net = sep.dense(10, [12], 3)
    params = net.init(jax.random.key(0))
    x = jax.random.uniform(jax.random.key(1), (5, 10))
    y = jnp.array([0, 1, 2, 1, 0])
    sim = sep.Simulator(net, sep.CRNN())
    ep = dict(t_nudge=4, k_avg=2)
    update = jax.jit(lambda ep: sep.ep_update(sim, ep, params, x, y, None)[0], static_argnums=0)
    warm = update(sep.EP(t_free=2, t_warm=8, **ep))
    long = update(sep.EP(t_free=10, **ep))
    short = update(sep.EP(t_free=2, **ep))
    chex.assert_trees_all_close(warm, long, rtol=1e-6, atol=1e-7)
    # The test discriminates: 2 free steps from zero give another update.
    diff = jnp.abs(short['layers'][0]['w'] - long['layers'][0]['w']).max()  # measured 9.8e-4
    self.assertGreater(float(diff), 5e-4)

  def test_invalid_settings(self):
    with self.assertRaises(ValueError):
      sep.EP(nudging='two_sided')
    with self.assertRaises(ValueError):
      sep.EP(t_free=10, t_nudge=5, k_avg=6)

  @parameterized.named_parameters(
    ('beta_nan', sep.EP, dict(beta=float('nan')), '^EP: beta=nan: must be a finite number > 0$'),
    ('beta_inf', sep.EP, dict(beta=float('inf')), '^EP: beta=inf: must be a finite'),
    ('beta_zero', sep.EP, dict(beta=0.0), '^EP: beta=0.0: must be a finite number > 0$'),
    ('t_free_float', sep.EP, dict(t_free=2.5), '^EP: t_free=2.5: must be an integer >= 1$'),
    ('t_free_zero', sep.EP, dict(t_free=0), '^EP: t_free=0: must be an integer >= 1$'),
    ('t_nudge_float', sep.EP, dict(t_nudge=3.0), '^EP: t_nudge=3.0: must be an integer >= 1$'),
    ('k_avg_float', sep.EP, dict(k_avg=1.5), r'^EP: k_avg=1.5: must be an integer in \[1, 25\]$'),
    ('k_avg_big', sep.EP, dict(t_free=10, t_nudge=5, k_avg=6), r'^EP: k_avg=6: .*\[1, 5\]$'),
    ('nudging', sep.EP, dict(nudging='two'), "^EP: nudging='two': must be 'symmetric', "),
    ('shared_noise', sep.EP, dict(shared_noise='yes'), "^EP: shared_noise='yes': must be True"),
    ('t_warm_negative', sep.EP, dict(t_warm=-1), '^EP: t_warm=-1: must be an integer >= 0$'),
    ('bptt_t_free', sep.BPTT, dict(t_free=2.5), '^BPTT: t_free=2.5: must be an integer >= 1$'),
    ('bptt_k_avg', sep.BPTT, dict(t_free=4, k_avg=5), r'^BPTT: k_avg=5: .*\[1, 4\]$'),
    ('bptt_checkpoint', sep.BPTT, dict(checkpoint=1), '^BPTT: checkpoint=1: must be True or False'),
  )
  def test_settings_name_the_argument(self, cls, kwargs, message):
    with self.assertRaisesRegex(ValueError, message):
      cls(**kwargs)

  @parameterized.named_parameters(('ep', 'ep'), ('bptt', 'bptt'))
  def test_batch_shapes_and_label_dtype_are_checked(self, method):
    net = sep.dense(4, [3], 2)
    sim = sep.Simulator(net, sep.CRNN())
    grad_fn = sep.ESTIMATORS.make(method, sim=sim, t_free=3, k_avg=1)
    params = net.init(jax.random.key(0))
    x, y = jnp.ones((5, 4)), jnp.array([0, 1, 0, 1, 0])
    owner = f'{method}_gradient'
    with self.assertRaisesRegex(TypeError, f'^{owner}: labels has dtype float32: must be integer'):
      grad_fn(params, x, y.astype(jnp.float32), None)
    with self.assertRaisesRegex(ValueError, rf'^{owner}: labels has shape \(4,\): must be \[5\]'):
      grad_fn(params, x, y[:4], None)
    with self.assertRaisesRegex(ValueError, rf'^{owner}: x has shape \(4,\): must be \[B, ...\]'):
      grad_fn(params, x[0], y, None)
    with self.assertRaisesRegex(ValueError, rf'^{owner}: indices has shape \(2,\): must be \[5\]'):
      grad_fn(params, x, y, None, jnp.arange(2))


if __name__ == '__main__':
  absltest.main()
