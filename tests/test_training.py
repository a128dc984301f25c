"""Optimiser groups, jitted steps (no re-tracing), metric sums."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
from absl.testing import absltest

import stochep_jax as sep
from stochep_jax import training


class TrainingTest(absltest.TestCase):
  def test_per_layer_learning_rates(self):
    net = sep.dense(4, [3], 2, readout='ce')
    params = net.init(jax.random.key(0))
    opt = training.make_optimizer(params, (0.1, 0.01))
    ones = jax.tree_util.tree_map(jnp.ones_like, params)
    updates, _ = opt.update(ones, opt.init(params), params)
    np.testing.assert_allclose(updates['layers'][0]['w'], -0.1)
    np.testing.assert_allclose(updates['layers'][0]['b'], -0.1)
    np.testing.assert_allclose(updates['readout']['w'], -0.01)
    with self.assertRaisesRegex(
      ValueError, r'learning_rates=\(0\.1,\): need 2 \(one per group: layer1, readout\)'
    ):
      training.make_optimizer(params, (0.1,))
    # one rate for every group is refused (unlike weight_decay): rates differ per layer
    with self.assertRaisesRegex(
      ValueError, r'learning_rates=0\.1: need 2 \(one per group: layer1, readout\)'
    ):
      training.make_optimizer(params, 0.1)
    with self.assertRaisesRegex(ValueError, r'learning_rates=-0\.01'):
      training.make_optimizer(params, (0.1, -0.01))

  def test_momentum_and_weight_decay(self):
    net = sep.dense(4, [3], 2)
    params = net.init(jax.random.key(0))
    opt = training.make_optimizer(params, (0.1, 0.2), momentum=0.9, weight_decay=0.5)
    state = opt.init(params)
    g = jax.tree_util.tree_map(jnp.ones_like, params)
    u1, state = opt.update(g, state, params)
    u2, state = opt.update(g, state, params)
    w = params['layers'][1]['w']
    np.testing.assert_allclose(u1['layers'][1]['w'], -0.2 * (1 + 0.5 * w), rtol=1e-6)
    np.testing.assert_allclose(u2['layers'][1]['w'], -0.2 * 1.9 * (1 + 0.5 * w), rtol=1e-6)

  def test_per_group_weight_decay(self):
    net = sep.dense(4, [3], 2)
    params = net.init(jax.random.key(0))
    g = jax.tree_util.tree_map(lambda p: 3.0 * jnp.ones_like(p), params)
    opt = training.make_optimizer(params, (0.1, 0.01), name='adam', weight_decay=(0.0, 0.5))
    u, _ = opt.update(g, opt.init(params), params)
    # AdamW's first step: -lr * (g / |g| + wd * w); the first group is left undecayed
    np.testing.assert_allclose(u['layers'][0]['w'], -0.1, rtol=1e-4)
    w = params['layers'][1]['w']
    np.testing.assert_allclose(u['layers'][1]['w'], -0.01 * (1 + 0.5 * w), rtol=1e-4)
    # SGD the same way: the decayed group adds wd * w to its gradient
    opt = training.make_optimizer(params, (0.1, 0.2), weight_decay=[0.0, 0.5])
    u, _ = opt.update(g, opt.init(params), params)
    np.testing.assert_allclose(u['layers'][0]['w'], -0.3, rtol=1e-6)
    np.testing.assert_allclose(u['layers'][1]['w'], -0.2 * (3 + 0.5 * w), rtol=1e-6)
    with self.assertRaisesRegex(
      ValueError, r'weight_decay=\(0\.1,\): need one number or 2 \(one per group: layer1, layer2\)'
    ):
      training.make_optimizer(params, (0.1, 0.01), weight_decay=(0.1,))
    with self.assertRaisesRegex(ValueError, r'weight_decay'):
      training.make_optimizer(params, (0.1, 0.01), weight_decay=(0.1, -1.0))

  def test_adam_per_group_rates_and_bad_names(self):
    net = sep.dense(4, [3], 2)
    params = net.init(jax.random.key(0))
    opt = training.make_optimizer(params, (0.1, 0.01), name='adam')
    g = jax.tree_util.tree_map(lambda p: 3.0 * jnp.ones_like(p), params)
    u, _ = opt.update(g, opt.init(params), params)
    # Adam's first step is -lr * g / (|g| + eps) = -lr (bias-corrected moments; float32's
    # 1 - 0.999 is off by 1e-5).
    np.testing.assert_allclose(u['layers'][0]['w'], -0.1, rtol=1e-4)
    np.testing.assert_allclose(u['layers'][1]['b'], -0.01, rtol=1e-4)
    with self.assertRaisesRegex(ValueError, "name='rmsprop'"):
      training.make_optimizer(params, (0.1, 0.01), name='rmsprop')
    with self.assertRaisesRegex(
      ValueError, r"momentum=0\.9: must be 0 \(and nesterov False\) with name='adam'"
    ):
      training.make_optimizer(params, (0.1, 0.01), name='adam', momentum=0.9)

  def test_clip_norm_scales_the_whole_gradient_to_its_global_norm(self):
    net = sep.dense(4, [3], 2)  # 4·3 + 3 + 3·2 + 2 = 23 parameters
    params = net.init(jax.random.key(0))
    opt = training.make_optimizer(params, (0.1, 0.01), clip_norm=2.3)
    n = sum(p.size for p in jax.tree_util.tree_leaves(params))
    self.assertEqual(n, 23)
    long = jax.tree_util.tree_map(jnp.ones_like, params)
    double = jax.tree_util.tree_map(lambda p: 2 * p, long['layers'][1])
    long = {**long, 'layers': (long['layers'][0], double)}  # norm² = 15·1 + 8·4
    norm = np.sqrt(15 + 4 * 8)
    u, _ = opt.update(long, opt.init(params), params)
    np.testing.assert_allclose(u['layers'][0]['w'], -0.1 * 2.3 / norm, rtol=1e-6)
    np.testing.assert_allclose(u['layers'][1]['b'], -0.01 * 2 * 2.3 / norm, rtol=1e-6)
    short = jax.tree_util.tree_map(lambda p: 0.1 * jnp.ones_like(p), params)  # norm 0.48 < 2.3
    u, _ = opt.update(short, opt.init(params), params)
    np.testing.assert_allclose(u['layers'][0]['w'], -0.1 * 0.1, rtol=1e-6)
    # the clip keeps no state: a checkpoint carries over when only clip_norm changes
    plain = training.make_optimizer(params, (0.1, 0.01))
    chex.assert_trees_all_equal_structs(opt.init(params), plain.init(params))
    with self.assertRaisesRegex(ValueError, r'clip_norm=-1\.0'):
      training.make_optimizer(params, (0.1, 0.01), clip_norm=-1.0)

  def test_train_step_applies_ep_gradient_and_never_retraces(self):
    net = sep.dense(6, [5], 3)
    sim = sep.Simulator(net, sep.StochEP(decay=0.5, kappa=2.0))
    ep = sep.EP(t_free=12, t_nudge=6, beta=0.3, k_avg=3)
    params = net.init(jax.random.key(0))
    opt = training.make_optimizer(params, (0.1, 0.05))
    grad_fn = sep.estimators.ESTIMATORS.make('ep', sim=sim, **vars(ep))
    step = jax.jit(chex.assert_max_traces(training.make_train_step(grad_fn, opt), n=1))
    state = training.init_train_state(params, opt)
    key = jax.random.key(9)
    batches = [
      {
        'image': jax.random.uniform(jax.random.key(i), (4, 6)),
        'label': jnp.array([0, 1, 2, 1]),
        'index': jnp.arange(4) + 4 * i,
      }
      for i in range(3)
    ]
    for b in batches:
      old = state
      state, m = step(state, b, key)
    self.assertEqual(int(state.step), 3)
    # The last update equals -lr * EP gradient at that step's key.
    g, _ = sep.ep_gradient(
      sim,
      ep,
      old.params,
      batches[-1]['image'],
      batches[-1]['label'],
      jax.random.fold_in(key, 2),
      batches[-1]['index'],
    )
    np.testing.assert_allclose(
      state.params['layers'][0]['w'] - old.params['layers'][0]['w'],
      -0.1 * g['layers'][0]['w'],
      atol=1e-6,
    )
    self.assertEqual(float(m['count']), 4.0)
    self.assertGreaterEqual(float(m['rate1']), 0.0)
    # The step reports the estimate's global L2 norm (weighted by the batch's count).
    norm = np.sqrt(sum(np.sum(np.square(x)) for x in jax.tree_util.tree_leaves(g)))
    np.testing.assert_allclose(float(m['grad_norm_max']), norm, rtol=1e-5)
    np.testing.assert_allclose(float(m['grad_norm']), 4 * norm, rtol=1e-5)

  def test_batch_metrics_mask_and_summary(self):
    scores = jnp.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]])
    labels = jnp.array([0, 0, 1])
    m = training.batch_metrics(
      scores,
      jnp.array([1.0, 2.0, 4.0]),
      labels,
      (jnp.array([[1.0, 0.0], [0.5, 0.5], [0.0, 0.0]]),),
      mask=jnp.array([True, True, False]),
    )
    s = training.summarize(m)
    self.assertEqual(s, {'accuracy': 0.5, 'loss': 1.5, 'rate1': 0.5})

  def test_accumulate_sums_and_keeps_the_largest_norm(self):
    step = lambda n, norm: {
      'count': jnp.float32(n),
      'correct': jnp.float32(n),
      'loss': jnp.float32(0.5 * n),
      'grad_norm': jnp.float32(norm * n),
      'grad_norm_max': jnp.float32(norm),
    }
    sums = None
    for n, norm in ((4, 2.0), (4, 10.0), (2, 1.0)):
      sums = training.accumulate(sums, step(n, norm))
    s = training.summarize(sums)
    self.assertEqual(s['grad_norm_max'], 10.0)
    self.assertAlmostEqual(s['grad_norm'], (8 + 40 + 2) / 10, places=6)
    self.assertAlmostEqual(s['loss'], 0.5, places=6)


if __name__ == '__main__':
  absltest.main()
