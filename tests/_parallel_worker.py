"""Subprocess body of test_parallel.py (needs XLA_FLAGS set before JAX starts).

    python tests/_parallel_worker.py OUT.json   # with 4 forced CPU devices

Runs one data-parallel training step and one evaluation on meshes of 1 and of 4
devices, for the CRNN and for StochEP, and writes the differences as JSON, with the
number of all-gathers in the 4-device training step (Bernoulli input spikes).
"""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import jax  # noqa: E402
import numpy as np  # noqa: E402

import stochep_jax as sep  # noqa: E402
from stochep_jax import parallel, training  # noqa: E402


def run(neuron, devices):
  net = sep.dense(20, [24], 4)
  sim = sep.Simulator(net, neuron, encoder=sep.BernoulliInput(), chunk=5)
  ep = sep.EP(t_free=20, t_nudge=10, beta=0.5, k_avg=5)
  params = net.init(jax.random.key(0))
  opt = training.make_optimizer(params, (0.2, 0.1))
  mesh = parallel.make_mesh(devices)
  grad_fn = sep.estimators.ESTIMATORS.make('ep', sim=sim, **vars(ep))
  key = jax.random.key(7)
  step = parallel.data_parallel(
    lambda st, b: training.make_train_step(grad_fn, opt)(st, b, key), mesh
  )

  def free_fn(p, x, y, k, idx):
    res = sep.free_phase(sim, p, x, k, t_free=20, k_avg=5, indices=idx)
    return net.scores(p, res.rates), net.cost(p, res.rates, y), res.rates

  evaluate = parallel.data_parallel(lambda p, b: training.make_eval_step(free_fn)(p, b, key), mesh)
  rng = np.random.default_rng(0)
  batch = {
    'image': rng.uniform(size=(16, 20)).astype(np.float32),
    'label': rng.integers(0, 4, 16).astype(np.int32),
    'index': np.arange(100, 116),
  }
  state = parallel.replicate(training.init_train_state(params, opt), mesh)
  gbatch = parallel.global_batch(batch, mesh)
  hlo = step.lower(state, gbatch).compile().as_text()
  state, m = step(state, gbatch)
  e = evaluate(state.params, parallel.global_batch(batch, mesh))
  leaves = [np.asarray(x) for x in jax.tree_util.tree_leaves(state.params)]
  return (
    leaves,
    {k: float(v) for k, v in e.items()},
    {k: float(v) for k, v in m.items()},
    hlo.count('all-gather('),
  )


def main(out):
  devices = jax.devices()
  assert len(devices) == 4, devices
  result = {}
  for name, neuron in (('crnn', sep.CRNN()), ('stochep', sep.StochEP(decay=0.5, kappa=2.0))):
    p1, e1, m1, _ = run(neuron, devices[:1])
    p4, e4, m4, gathers = run(neuron, devices)
    result[name] = {
      'max_param_diff': max(float(np.max(np.abs(a - b))) for a, b in zip(p1, p4)),
      'param_change': max(float(np.max(np.abs(a))) for a in p1),
      'eval_1': e1,
      'eval_4': e4,
      'train_1': m1,
      'train_4': m4,
      'all_gathers_4': gathers,
    }
  with open(out, 'w') as f:
    json.dump(result, f)


if __name__ == '__main__':
  main(sys.argv[1])
