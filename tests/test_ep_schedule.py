"""One EP schedule (``estimators.ep_phases``): EP's update, the operation counts and the
stability numbers all come from the same phases, keys, β and states."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from absl.testing import absltest, parameterized

import stochep_jax as sep
from stochep_jax import estimators, opcount, precision, stability
from stochep_jax import keys as keys_lib


@dataclasses.dataclass(frozen=True)
class Recording(sep.Simulator):
  """A simulator that logs every phase it runs: (t0, steps, β, final states), the two
  halves of a paired nudged phase (``EP.batch_nudges``) as two phases; ``paired`` the
  batch of each paired phase."""

  log: list = dataclasses.field(default_factory=list, compare=False, hash=False)
  paired: list = dataclasses.field(default_factory=list, compare=False, hash=False)

  def run_phase(self, params, x, keys, states, **kw):
    res = super().run_phase(params, x, keys, states, **kw)
    leaves = [np.asarray(a) for a in jax.tree_util.tree_leaves(res.states)]
    beta = np.asarray(kw.get('beta', 0.0))
    if beta.ndim:  # the nudged phases run as one (EP.batch_nudges): example-major pairs
      self.paired.append(beta.shape[0])
      for i in (0, 1):
        halves = [a.reshape((-1, 2) + a.shape[1:])[:, i] for a in leaves]
        self.log.append((int(kw['t0']), kw['steps'], float(beta[i]), halves))
    else:
      self.log.append((int(kw.get('t0', 0)), kw['steps'], float(beta), leaves))
    return res


def _key_with_sign(sign: int) -> jax.Array:
  """A batch key whose random-sign draw (``keys.sign_key``) is ``sign``."""
  for seed in range(100):
    key = jax.random.key(seed)
    if int(jax.random.rademacher(keys_lib.sign_key(key), (), jnp.int32)) == sign:
      return key
  raise AssertionError('no key found')


class OneScheduleTest(parameterized.TestCase):
  @parameterized.parameters('symmetric', 'one_sided', 'random_sign')
  def test_update_counts_and_stability_run_the_same_phases(self, nudging):
    net = sep.dense(6, [5], 2)
    sim = Recording(net, sep.StochEP(decay=0.6), chunk=2)
    params = net.init(jax.random.key(0))
    x = jax.random.uniform(jax.random.key(1), (3, 6))
    y = jnp.array([0, 1, 1])
    # symmetric: the update pairs its nudged phases in one batch (EP.batch_nudges)
    ep = sep.EP(t_free=6, t_nudge=4, beta=0.5, nudging=nudging, k_avg=2, batch_nudges=True)
    key = _key_with_sign(-1)  # random-sign EP nudges at −β with this key
    logs, paired = {}, {}
    with jax.disable_jit():  # the log holds concrete states
      for name, run in {
        'update': lambda: estimators.ep_update(sim, ep, params, x, y, key),
        'counts': lambda: opcount.ep_training_ops(sim, ep, params, x, y, key),
        'stability': lambda: stability.phase_stability(sim, ep, params, x, y, key, k=3),
      }.items():
        sim.log.clear()
        sim.paired.clear()
        run()
        logs[name], paired[name] = list(sim.log), list(sim.paired)
    update = logs['update']
    # the update pairs symmetric nudging's phases in one batch of 2 × 3; the traced runs cannot
    self.assertEqual(
      paired, {'update': [6] if nudging == 'symmetric' else [], 'counts': [], 'stability': []}
    )
    want_betas = {
      'symmetric': [0.0, 0.5, -0.5],
      'one_sided': [0.0, 0.5],
      'random_sign': [0.0, -0.5],
    }
    self.assertEqual([b for _, _, b, _ in update], want_betas[nudging])
    self.assertEqual([(t0, n) for t0, n, _, _ in update][:2], [(0, 6), (6, 4)])
    for name in ('counts', 'stability'):
      self.assertEqual([e[:3] for e in logs[name]], [e[:3] for e in update], name)
      for (*_, got), (*_, want) in zip(logs[name], update):
        for g, w in zip(got, want):
          np.testing.assert_array_equal(g, w, err_msg=name)

  def test_phases_feed_the_update(self):
    """EP's update is the contrast of ∂Φ_β/∂θ at ep_phases' rates (random-sign: β₂ = 0, the free rates)."""
    net = sep.dense(6, [5], 2)
    sim = sep.Simulator(net, sep.StochEP(decay=0.6), chunk=2)
    params = net.init(jax.random.key(0))
    x = jax.random.uniform(jax.random.key(1), (3, 6))
    y = jnp.array([0, 1, 1])
    ep = sep.EP(t_free=6, t_nudge=4, beta=0.5, nudging='random_sign', k_avg=2)
    key = _key_with_sign(-1)
    phases = estimators.ep_phases(sim, ep, params, x, y, key)
    self.assertIsNone(phases.minus)
    self.assertEqual(float(phases.beta1), -0.5)
    r1, r2 = phases.plus.rates, phases.second().rates
    g1 = jax.grad(lambda t: net.nudged_phi(t, x, r1, y, -0.5))(params)
    g2 = jax.grad(lambda t: net.nudged_phi(t, x, r2, y, 0.0))(params)
    want = jax.tree_util.tree_map(lambda a, b: (a - b) / (-0.5 * 3), g1, g2)
    got, aux = estimators.ep_update(sim, ep, params, x, y, key)
    jax.tree_util.tree_map(
      lambda g, w: np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-7), got, want
    )
    self.assertEqual(float(aux['beta']), -0.5)


class BatchedNudgesTest(parameterized.TestCase):
  """``EP.batch_nudges``: the two nudged phases as one over twice the batch give the
  rates, final states and update of the two separate phases, compiled."""

  @parameterized.named_parameters(
    # independent noise in the two phases (neurons and Bernoulli input): each half of the
    # pair must get its own keys
    ('stochep_conv_bf16_bernoulli_input', 'stochep_bernoulli', 'conv', 'bfloat16', False),
    ('crnn_conv', 'crnn', 'conv', None, True),
    ('stochep_dense', 'stochep', 'dense', None, True),
  )
  def test_same_phases_and_update_as_two_phases(self, neuron, arch, compute_dtype, shared):
    if arch == 'dense':
      net = sep.dense(12, [9], 4)
      x = jax.random.uniform(jax.random.key(1), (5, 12))
    else:
      net = sep.convnet((6, 6, 1), (3,), (7,), 4)
      x = jax.random.uniform(jax.random.key(1), (5, 6, 6, 1))
    if compute_dtype is not None:
      net = precision.Precision(compute_dtype).apply(net)
    encoder = sep.BernoulliInput(generator='hash') if neuron == 'stochep_bernoulli' else None
    model = sep.CRNN() if neuron == 'crnn' else sep.StochEP(decay=0.6, generator='hash')
    sim = sep.Simulator(net, model, chunk=3, **({} if encoder is None else {'encoder': encoder}))
    params = net.init(jax.random.key(0))
    y = jnp.array([0, 3, 1, 2, 1])
    key = None if neuron == 'crnn' else jax.random.key(2)
    runs = {}
    for batched in (False, True):
      ep = sep.EP(t_free=7, t_nudge=5, beta=0.5, k_avg=3, shared_noise=shared, batch_nudges=batched)

      def run(p, ep=ep):
        phases = estimators.ep_phases(sim, ep, p, x, y, key)
        return phases.plus, phases.minus, estimators.ep_update(sim, ep, p, x, y, key)[0]

      runs[batched] = jax.jit(run)(params)
    for got, want in zip(*(jax.tree_util.tree_leaves(runs[b]) for b in (True, False))):
      np.testing.assert_allclose(
        np.asarray(got, np.float32), np.asarray(want, np.float32), rtol=1e-6, atol=1e-7
      )
    plus, minus, _ = runs[True]
    self.assertFalse(np.allclose(plus.rates[-1], minus.rates[-1]))  # ±β really differ


if __name__ == '__main__':
  absltest.main()
