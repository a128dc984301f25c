"""StochEP's step time and the generators' throughput, old vs new, timed interleaved.

    python experiments/noise_speed.py                          # the demo's train step, 1 device
    python experiments/noise_speed.py --workload=free          # the free phase only
    python experiments/noise_speed.py --cpu_devices=2          # data-parallel, as make demo

For every (generator, noise_bits) in ``--variants`` (default: threefry and hash at 32
and 8 bits; ``threefry32`` is the library default, ``hash32`` the new generator) it
compiles the workload once, then times the variants round-robin, ``--repeats`` rounds
(every round runs each variant once), so machine load affects all variants alike.
Workloads, StochEP 784-512-10 (the demo's shape), batch 128, analog input, chunk 25:

* ``train``: the demo's EP train step (T_free 100, T_nudge 40 × 2, symmetric, SGD);
* ``free``: a free phase of T_free 100 steps;
* ``generator``: the uniforms alone, 512 per key for 25 × 128 per-example keys
  (one chunk of the demo's hidden-layer noise).

Prints one line per variant (median ms per call, ms per simulated step, speedup over
``threefry32``) and, with ``--out``, writes them as JSON.
"""

import time

from absl import flags

from experiments import launch

FLAGS = flags.FLAGS


def define_flags() -> None:
  """The launcher's flags, defined when it runs as a script (importing the module for its
  functions defines none, so it never clashes with another launcher's flags)."""
  flags.DEFINE_enum('workload', 'train', ['train', 'free', 'generator'], 'What to time.')
  flags.DEFINE_list(
    'variants', ['threefry32', 'threefry8', 'hash32', 'hash8'], '<generator><noise_bits> to time.'
  )
  flags.DEFINE_integer('repeats', 9, 'Timed rounds (median reported).')
  flags.DEFINE_integer('batch', 128, 'Batch size.')
  flags.DEFINE_integer(
    'cpu_devices', 1, 'XLA:CPU devices (parallel.set_cpu_devices); the batch is split over them.'
  )
  flags.DEFINE_string('out', '', 'Optional JSON output file.')
  launch.integer('repeats', 1)
  launch.integer('batch', 1)
  launch.integer('cpu_devices', 1)
  launch.require(
    'variants',
    lambda v: len(v) > 0 and all(_valid(u) for u in v),
    'a non-empty list of <threefry|hash><32|8>, e.g. hash32',
  )
  flags.register_multi_flags_validator(
    ['batch', 'cpu_devices'],
    lambda f: f['cpu_devices'] < 1 or f['batch'] % f['cpu_devices'] == 0,
    message='--batch must divide by --cpu_devices',
  )


T_FREE, T_NUDGE, CHUNK = 100, 40, 25


def _parse(variant: str) -> tuple[str, int]:
  for g in ('threefry', 'hash'):
    if variant.startswith(g) and variant[len(g) :].isdigit():
      return g, int(variant[len(g) :])
  raise ValueError(f'bad variant {variant!r}: <threefry|hash><32|8>')


def _valid(variant: str) -> bool:
  try:
    return _parse(variant)[1] in (32, 8)
  except ValueError:
    return False


def build(workload: str, generator: str, bits: int, batch: int):
  """(a compiled call, its arguments, simulated steps per call)."""
  import jax
  import jax.numpy as jnp

  import stochep_jax as sep
  from stochep_jax import assembly, noise, parallel, training

  if workload == 'generator':
    keys = sep.example_keys(jax.random.key(0), jnp.arange(CHUNK * batch))
    f = jax.jit(jax.vmap(lambda k: noise.uniform(k, (512,), bits, jnp.float32, generator)))
    return f, (keys,), CHUNK
  net = sep.dense(784, [512], 10)
  fields = dict(decay=0.5, kappa=1.0, noise_bits=bits, generator=generator)
  sim = assembly.make_simulator(
    net, {'name': 'stochep', 'stochep': fields}, simulator_block={'chunk': CHUNK}
  )
  params = net.init(jax.random.key(0))
  x = jax.random.uniform(jax.random.key(1), (batch, 784))
  key = jax.random.key(2)
  mesh = parallel.make_mesh()
  rows = parallel.batch_sharding(mesh)
  if workload == 'free':
    f = parallel.data_parallel(
      lambda p, x: sep.free_phase(sim, p, x, key, t_free=T_FREE, k_avg=30).rates, mesh
    )
    args = (parallel.replicate(params, mesh), jax.device_put(x, rows))
    return f.lower(*args).compile(), args, T_FREE
  grad_fn = sep.estimators.ESTIMATORS.make(
    'ep', sim=sim, t_free=T_FREE, t_nudge=T_NUDGE, beta=0.5, k_avg=30
  )
  step, state, _ = training.start(grad_fn, params, [0.2, 0.1])
  f = parallel.data_parallel(lambda st, b: step(st, b, key), mesh)
  batch_d = {'image': x, 'label': jnp.arange(batch) % 10, 'index': jnp.arange(batch)}
  args = (parallel.replicate(state, mesh), jax.device_put(batch_d, rows))
  return f.lower(*args).compile(), args, T_FREE + 2 * T_NUDGE


def main(argv):
  del argv
  from stochep_jax import parallel

  parallel.set_cpu_devices(FLAGS.cpu_devices)
  import jax
  import numpy as np

  variants = {v: build(FLAGS.workload, *_parse(v), FLAGS.batch) for v in FLAGS.variants}
  for f, args, _ in variants.values():
    jax.block_until_ready(f(*args))
  times = {v: [] for v in variants}
  for _ in range(FLAGS.repeats):
    for v, (f, args, _) in variants.items():
      t = time.perf_counter()
      jax.block_until_ready(f(*args))
      times[v].append(time.perf_counter() - t)
  ref = float(np.median(times[FLAGS.variants[0]]))
  results = {}
  for v, ts in times.items():
    med, steps = float(np.median(ts)), variants[v][2]
    results[v] = {
      'ms_per_call': med * 1e3,
      'ms_per_step': med * 1e3 / steps,
      'min_ms_per_call': min(ts) * 1e3,
      f'speedup_vs_{FLAGS.variants[0]}': ref / med,
    }
    if FLAGS.workload == 'generator':
      results[v]['uniforms_per_s'] = CHUNK * FLAGS.batch * 512 / med
    print(
      f'{FLAGS.workload} {v:11s} {med * 1e3:8.2f} ms/call  {med * 1e3 / steps:7.3f} ms/step  '
      f'speedup vs {FLAGS.variants[0]} {ref / med:5.2f}x  ({len(jax.devices())} device(s))'
    )
  if FLAGS.out:
    launch.write_json(
      FLAGS.out, {'workload': FLAGS.workload, 'devices': len(jax.devices()), 'results': results}
    )


if __name__ == '__main__':
  define_flags()
  launch.run(main)
