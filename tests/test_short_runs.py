"""stochep_jax.short_runs: the brief training that experiments/figures.py and energy.py do."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from absl.testing import absltest

from experiments.configs import base
from stochep_jax import assembly, estimators, keys, short_runs


def _tiny_config():
  c = base.base_config()
  c.network.hidden = (8,)
  c.ep.update(dict(t_free=6, t_nudge=4, k_avg=2))
  c.batch_size = 4
  return c


class TrainBrieflyTest(absltest.TestCase):
  def test_steps_are_sgd_on_the_ep_estimate_over_wrapping_batches(self):
    """Two steps: step i's batch is examples (4i .. 4i+3) mod 6 with their indices, its key
    the batch key of step i; each group moves by −lr·(EP's gradient)."""
    c = _tiny_config()
    run = assembly.build(c)
    sim, ep = run.simulator, estimators.EP(**assembly.estimator_settings(c))
    params = run.init_params(jax.random.key(3))
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(6, 28, 28, 1)).astype(np.float32)
    y = np.array([0, 1, 2, 3, 4, 5], np.int32)
    lrs = (0.3, 0.2)
    got = short_runs.train_briefly(sim, ep, params, x, y, 2, 4, lrs + (9.9,), seed=4)
    self.assertIs(short_runs.train_briefly(sim, ep, params, x, y, 0, 4, lrs), params)

    grad_fn = estimators.ESTIMATORS.make('ep', sim=sim, **dataclasses.asdict(ep))
    want = params
    for step, idx in enumerate(([0, 1, 2, 3], [4, 5, 0, 1])):  # the second batch wraps around
      idx = np.asarray(idx)
      key = keys.batch_key(jax.random.key(4 + 1), step)
      grads, _ = grad_fn(want, jnp.asarray(x[idx]), jnp.asarray(y[idx]), key, jnp.asarray(idx))
      layers = [
        jax.tree_util.tree_map(lambda p, g, lr=lr: p - lr * g, layer, g_layer)
        for layer, g_layer, lr in zip(want['layers'], grads['layers'], lrs)
      ]
      want = {**want, 'layers': layers}  # an MSE readout: no parameters of its own
    for a, b in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)):
      np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    moved = jax.tree_util.tree_map(lambda a, b: float(jnp.abs(a - b).max()), got, params)
    self.assertGreater(max(jax.tree_util.tree_leaves(moved)), 1e-4)  # the steps moved them

  def test_config_briefly_starts_from_the_configs_initialisation(self):
    """``train_config_briefly``: 0 steps give the config's initial parameters (its seed's init
    key); 2 steps move them, the same bit for bit when repeated."""
    c = _tiny_config()
    x = np.random.default_rng(1).uniform(size=(6, 784)).astype(np.float32)
    y = np.arange(6, dtype=np.int32) % 10
    sim0, p0 = short_runs.train_config_briefly(c, x, y, 0)
    run = assembly.build(c)
    init = run.init_params(keys.run_keys(c.seed)[0])
    self.assertEqual(sim0, run.simulator)
    for a, b in zip(jax.tree_util.tree_leaves(p0), jax.tree_util.tree_leaves(init)):
      np.testing.assert_array_equal(a, b)
    _, p2 = short_runs.train_config_briefly(c, x, y, 2)
    _, p2_again = short_runs.train_config_briefly(c, x, y, 2)
    leaves = list(zip(*map(jax.tree_util.tree_leaves, (p2, p2_again, init))))
    for a, b, _ in leaves:
      np.testing.assert_array_equal(a, b)
    self.assertGreater(max(float(jnp.abs(a - i).max()) for a, _, i in leaves), 1e-4)


if __name__ == '__main__':
  absltest.main()
