"""One builder: configs become simulators, estimators and optimisers; metrics record what ran."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl.testing import absltest

from experiments.configs import base, fashion_mnist
from stochep_jax import assembly, estimators, keys, neurons


class AssemblyTest(absltest.TestCase):
  def test_simulator_uses_the_named_models_sub_block(self):
    c = fashion_mnist.get_config()
    c.neuron.stochep.kappa = 2.5
    c.neuron.sigma_delta.lam = 0.1  # not used by a StochEP run
    sim = assembly.simulator(c)
    self.assertEqual(
      sim.neuron, neurons.StochEP(decay=0.5, kappa=2.5, noise_bits=32, generator='hash')
    )
    self.assertEqual(sim.network.layer_shapes, ((512,), (40,)))  # 4 output units per class
    c.neuron.name = 'sigma_delta'
    self.assertEqual(assembly.simulator(c).neuron.lam, 0.1)

  def test_bptt_takes_its_own_block_and_the_shared_phases(self):
    c = base.base_config()
    c.method = 'bptt'
    c.bptt.checkpoint = True
    self.assertEqual(
      assembly.estimator_settings(c), {'t_free': 100, 'k_avg': 30, 'checkpoint': True}
    )
    self.assertEqual(
      estimators.BPTT(**assembly.estimator_settings(c)), estimators.BPTT(100, 30, True)
    )

  def test_used_config_keeps_only_what_the_run_used(self):
    c = base.base_config()
    used = assembly.used_config(c)
    self.assertEqual(used['neuron'], {'name': 'stochep', 'stochep': c.neuron.stochep.to_dict()})
    self.assertNotIn('bptt', used)
    self.assertEqual(used['input'], {'name': 'analog', 'analog': {}})
    rebuilt = assembly.simulator(ml_collections.ConfigDict(used))
    self.assertEqual(rebuilt, assembly.simulator(c))
    c.method = 'bptt'
    self.assertEqual(set(assembly.used_config(c)['ep']), {'t_free', 'k_avg'})

  def test_cosine_schedule_spans_every_epoch(self):
    c = base.base_config()
    c.num_epochs = 3
    params = assembly.simulator(c).network.init(jax.random.key(0))
    opt = assembly.optimizer(c, params, steps_per_epoch=10)
    state = opt.init(params)
    grads = jax.tree_util.tree_map(lambda p: p * 0 + 1.0, params)
    sizes = []
    for _ in range(31):  # steps 0..30: the rate decays to 0 at step 30 = 3 epochs x 10
      updates, state = opt.update(grads, state, params)
      sizes.append(float(abs(jax.tree_util.tree_leaves(updates)[0]).max()))
    self.assertAlmostEqual(sizes[0], 0.04, places=6)  # layer1's initial rate (momentum 0.9)
    self.assertGreater(sizes[29], 0.0)
    self.assertEqual(sizes[30], 0.0)
    c.optimizer.schedule = 'linear'
    with self.assertRaisesRegex(ValueError, "schedule='linear'"):
      assembly.optimizer(c, params, 10)


class BuildTest(absltest.TestCase):
  def test_build_gives_every_piece_of_a_run(self):
    c = base.base_config()
    c.network.hidden = (16,)
    c.ep.update(dict(t_free=6, t_nudge=4, k_avg=2))
    c.dtype = 'float64'
    run = assembly.build(c)
    self.assertEqual(run.simulator, assembly.simulator(c))
    with jax.enable_x64(True):
      state, opt = run.train_state(jax.random.key(0), steps_per_epoch=5)
      self.assertEqual(jax.tree_util.tree_leaves(state.params)[0].dtype, jnp.float64)
      x = jnp.full((2, 28, 28, 1), 0.5, jnp.float64)
      batch = {'image': x, 'label': jnp.array([1, 2]), 'index': jnp.arange(2)}
      # The train step is the estimator's gradient (batch key of step 0) through SGD: the
      # first momentum step moves each group by −lr·grad.
      new, _ = jax.jit(run.train_step(opt))(state, batch, jax.random.key(1))
      step_key = keys.batch_key(jax.random.key(1), 0)
      grads, _ = run.gradient_fn(state.params, x, batch['label'], step_key, batch['index'])
      for i, lr in enumerate(c.optimizer.learning_rates[:1]):
        np.testing.assert_allclose(
          new.params['layers'][i]['w'],
          state.params['layers'][i]['w'] - lr * grads['layers'][i]['w'],
          rtol=1e-12,
          atol=1e-15,
        )
      eval_batch = {**batch, 'mask': jnp.ones(2, bool)}
      sums = jax.jit(run.eval_step())(state.params, eval_batch, jax.random.key(2))
    self.assertEqual(float(sums['count']), 2.0)

  def test_a_constructors_refusal_names_the_config_field(self):
    from stochep_jax import validate

    c = base.base_config()
    c.ep.update(dict(t_free=8, t_nudge=4, k_avg=2))
    c.neuron.stochep.noise_bits = 3  # only StochEP's constructor knows this rule
    with self.assertRaisesRegex(
      validate.ConfigError, r'^config\.neuron\.stochep\.noise_bits=3: must be'
    ):
      validate.check_config(c)


if __name__ == '__main__':
  absltest.main()
