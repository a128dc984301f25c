"""Times the jitted training step of an experiment config (random inputs, no dataset).

    python experiments/step_time.py --config=experiments/configs/fashion_mnist_2c2fc.py \
        --config.batch_size=32 --config.ep.t_free=100 --config.ep.t_nudge=25 --steps=5

Builds the simulator, gradient estimator and optimiser exactly as
``experiment.train_and_evaluate`` does, compiles ``train_step`` once (timed),
then runs ``--steps`` steps on random images of the dataset's shape and prints
the median, min and max wall seconds per step and the median CPU seconds of
the process per step (all threads: a measure that other jobs on a shared CPU
inflate less) and XLA's memory analysis of the compiled step (bytes a device,
``training.compiled_memory``: the memory column of a method's row) as JSON
(also written to ``--out``).

The step is the launcher's data-parallel one (``parallel.data_parallel``) on a
mesh of the first ``--devices`` devices (0 = all). On a CPU, forced host
devices make the multi-device path measurable:

    XLA_FLAGS=--xla_force_host_platform_device_count=4 \
        python experiments/step_time.py --config=experiments/configs/fashion_mnist.py \
        --devices=4
"""

import json
import os
import time

import jax
import numpy as np
from absl import flags
from ml_collections import config_flags

from experiments import launch
from stochep_jax import data, parallel, training, validate

FLAGS = flags.FLAGS


def define_flags() -> None:
  """The launcher's flags, defined when it runs as a script (importing the module for its
  functions defines none, so it never clashes with another launcher's flags)."""
  config_flags.DEFINE_config_file(
    'config', None, 'Experiment configuration file.', lock_config=True
  )
  flags.DEFINE_integer('steps', 5, 'Timed steps after the compilation.')
  flags.DEFINE_string('out', '', 'Optional JSON output path.')
  flags.DEFINE_integer('devices', 0, 'Devices of the data-parallel mesh (0 = all).')
  launch.integer('steps', 1)
  launch.integer('devices', 0)


def main(argv):
  del argv
  c = FLAGS.config
  run = validate.check_config(c)  # every field, built once, before anything compiles
  n_devices = len(jax.devices())
  if FLAGS.devices > n_devices:
    raise launch.LaunchError(f'flag --devices={FLAGS.devices}: only {n_devices} device(s) here')
  n = FLAGS.devices or n_devices
  if c.batch_size % n:
    raise launch.LaunchError(
      f'config.batch_size={c.batch_size}: must divide by the {n} device(s) of the mesh'
    )
  state, optimizer = run.train_state(jax.random.key(c.seed), steps_per_epoch=1000)
  devices = jax.devices()[: FLAGS.devices or None]
  mesh = parallel.make_mesh(devices)
  state = parallel.replicate(state, mesh)
  key = jax.random.key(1)
  train_fn = run.train_step(optimizer)
  step = parallel.data_parallel(lambda st, b: train_fn(st, b, key), mesh, donate_state=True)
  rng = np.random.default_rng(0)
  shape = data.DATASETS[c.dataset].example_shape  # (T, H, W, 2) for event frames
  b = c.batch_size

  def batch(i):
    return parallel.global_batch(
      {
        'image': rng.random((b, *shape), np.float32),
        'label': rng.integers(0, 10, b).astype(np.int32),
        'index': np.arange(i * b, (i + 1) * b),
      },
      mesh,
    )

  t0 = time.perf_counter()
  compiled = step.lower(state, batch(0)).compile()
  compile_s = time.perf_counter() - t0
  times, cpu = [], []
  for i in range(FLAGS.steps + 1):  # the first run is a warm-up
    x = batch(i)
    t0, c0 = time.perf_counter(), time.process_time()
    state, m = compiled(state, x)
    jax.block_until_ready((state, m))
    times.append(time.perf_counter() - t0)
    cpu.append(time.process_time() - c0)
  times, cpu = times[1:], cpu[1:]
  out = {
    'layer_shapes': [list(s) for s in run.simulator.network.layer_shapes],
    'neuron': c.neuron.name,
    'batch_size': b,
    't_free': c.ep.t_free,
    't_nudge': c.ep.t_nudge,
    't_warm': c.ep.get('t_warm', 0),
    'nudging': c.ep.nudging,
    'compile_s': compile_s,
    'median_s': float(np.median(times)),
    'min_s': min(times),
    'max_s': max(times),
    'cpu_s_median': float(np.median(cpu)),
    'compiled_memory_bytes': training.compiled_memory(compiled),
    'steps': len(times),
    'load_avg_1min': os.getloadavg()[0],
    'devices': [str(d) for d in devices],
  }
  print(json.dumps(out), flush=True)
  if FLAGS.out:
    launch.write_json(FLAGS.out, out)


if __name__ == '__main__':
  define_flags()
  flags.mark_flags_as_required(['config'])
  launch.run(main)
