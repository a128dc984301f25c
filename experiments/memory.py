"""Training-step memory of EP and BPTT against the number of time steps.

As in docs/model.md, "References by backpropagation"; the networks are in "Architectures".

    python experiments/memory.py --workdir=runs/memory [--ts=50,150,500 --batch_size=128]

For each architecture (784-512-10, and 2C2FC once ``'2c2fc'`` is registered),
method and free-phase length T, one jitted training step (estimator, optax SGD
update, as ``training.make_train_step``; the state donated as in training) is
compiled and XLA's memory analysis read
(``jax.jit(step).lower(...).compile().memory_analysis()``): exact for the
compiled program and independent of the machine's load. Nothing is run.

Methods: ``ep_snn`` / ``ep_crnn`` (symmetric EP, StochEP spiking / CRNN
neurons), ``bptt_snn`` / ``bptt_crnn`` (SNN BPTT with the straight-through
surrogate / CRNN BPTT), and, on request (``--methods=...``), ``*_remat`` (BPTT
with every step ``jax.checkpoint``-ed). The nudged phases have ``--t_nudge``
steps whatever T.
The keys of ``--chunk`` steps are drawn at once and the StochEP neurons'
uniforms inside each step (``Simulator.fuse_noise``), so EP's memory grows
with neither T nor the chunk.

Writes ``<workdir>/memory.json``:
``{"settings": {...}, "results": {arch: {method: {T: {"temp_bytes",
"argument_bytes", "output_bytes", "alias_bytes", "total_bytes"}}}}}`` with
total = argument + output − alias + temp (the program's peak footprint bound),
and ``<workdir>/memory.png``.
"""

import os
import time

import jax
import jax.numpy as jnp
import matplotlib
from absl import flags

from experiments import launch
from stochep_jax import architectures, assembly, estimators, training

matplotlib.use('Agg')
from matplotlib import pyplot as plt

FLAGS = flags.FLAGS


def define_flags() -> None:
  """The launcher's flags, defined when it runs as a script (importing the module for its
  functions defines none, so it never clashes with another launcher's flags)."""
  flags.DEFINE_string('workdir', None, 'Directory for memory.json and memory.png.')
  flags.DEFINE_list('ts', ['50', '150', '500'], 'Free-phase lengths T.')
  flags.DEFINE_list('architectures', ['784-512-10', '2c2fc'], 'Architectures (skipped if absent).')
  flags.DEFINE_list(
    'methods',
    ['ep_snn', 'ep_crnn', 'bptt_snn', 'bptt_crnn'],
    'Methods (keys of METHODS; the *_remat ones on request).',
  )
  flags.DEFINE_integer('batch_size', 128, 'Batch size ([Lin24] used 10).')
  flags.DEFINE_integer('t_nudge', 25, 'Steps of each nudged phase (EP).')
  flags.DEFINE_integer('k_avg', 10, 'Rates average the last k_avg steps of a phase.')
  flags.DEFINE_integer('chunk', 25, 'Simulator.chunk: steps whose keys are drawn at once.')
  flags.mark_flags_as_required(['workdir'])
  launch.int_list('ts', 1)
  launch.integer('batch_size', 1)
  launch.integer('t_nudge', 1)
  launch.integer('k_avg', 1)
  launch.integer('chunk', 1)
  flags.register_multi_flags_validator(
    ['ts', 't_nudge', 'k_avg'],
    lambda f: (
      not launch.ints_ok(f['ts']) or f['k_avg'] <= min(int(t) for t in f['ts'] + [f['t_nudge']])
    ),
    message='--k_avg must be <= every --ts and --t_nudge',
  )
  launch.one_of('methods', list(METHODS))


# name -> (estimator, neuron model, estimator settings)
METHODS = {
  'ep_snn': ('ep', 'stochep', {}),
  'ep_crnn': ('ep', 'crnn', {}),
  'bptt_snn': ('bptt', 'stochep', {}),
  'bptt_crnn': ('bptt', 'crnn', {}),
  'bptt_snn_remat': ('bptt', 'stochep', {'checkpoint': True}),
  'bptt_crnn_remat': ('bptt', 'crnn', {'checkpoint': True}),
}
INPUT_SHAPE = (28, 28, 1)


def _dense_sizes(arch: str) -> bool:
  return all(p.isdigit() for p in arch.split('-'))


def make_network(arch: str):
  """``'784-512-10'``-style dense sizes, or a registered architecture name."""
  if _dense_sizes(arch):
    sizes = [int(n) for n in arch.split('-')]
    return architectures.dense(INPUT_SHAPE, sizes[1:-1], sizes[-1])
  return architectures.ARCHITECTURES.make(arch, input_shape=INPUT_SHAPE, n_classes=10)


def step_memory(
  network,
  method: str,
  t_free: int,
  batch_size: int,
  *,
  t_nudge: int = 25,
  k_avg: int = 10,
  chunk: int = 25,
) -> dict[str, int]:
  """Compiled memory of one training step (bytes, from XLA's memory analysis).

  Args:
    network: the ``energy.Network``.
    method: a key of ``METHODS``.
    t_free: free-phase steps T.
    batch_size: examples per step.
    t_nudge: steps of each nudged phase (EP).
    k_avg: rates average the last k_avg steps.
    chunk: StochEP noise steps drawn at once.

  Returns:
    ``temp_bytes``, ``argument_bytes``, ``output_bytes``, ``alias_bytes`` and
    ``total_bytes`` = argument + output − alias + temp.
  """
  estimator, neuron, extra = METHODS[method]
  sim = assembly.make_simulator(
    network, {'name': neuron, neuron: {}}, simulator_block={'chunk': chunk}
  )
  settings = dict(t_free=t_free, k_avg=k_avg, **extra)
  if estimator == 'ep':
    settings.update(t_nudge=t_nudge, beta=0.2)
  gradient_fn = estimators.ESTIMATORS.make(estimator, sim=sim, **settings)
  params = network.init(jax.random.key(0))
  train_step, state, _ = training.start(gradient_fn, params, [0.01] * len(network.layer_names()))
  batch = {
    'image': jax.ShapeDtypeStruct((batch_size, *network.input_shape), jnp.float32),
    'label': jax.ShapeDtypeStruct((batch_size,), jnp.int32),
    'index': jax.ShapeDtypeStruct((batch_size,), jnp.int32),
  }
  step = jax.jit(train_step, donate_argnums=0)
  return training.compiled_memory(step.lower(state, batch, jax.random.key(1)).compile())


def plot(results: dict, path: str, batch_size: int):
  fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 3.8), squeeze=False)
  for ax, (arch, by_method) in zip(axes[0], results.items()):
    for i, (method, by_t) in enumerate(by_method.items()):
      ts = sorted(by_t, key=int)
      ax.plot(
        [int(t) for t in ts],
        [by_t[t]['total_bytes'] / 2**20 for t in ts],
        'o-' if method.startswith('ep') else 's--',
        color=f'C{i}',
        label=method,
      )
    ax.set_title(f'{arch}, batch {batch_size}')
    ax.set_xlabel('free-phase steps T')
    ax.set_ylabel('training-step memory (MiB, XLA)')
    ax.set_yscale('log')
    ax.legend(fontsize=8)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def main(argv):
  del argv
  ts = [int(t) for t in FLAGS.ts]
  methods = FLAGS.methods
  archs, skipped = [], []
  for arch in FLAGS.architectures:
    if _dense_sizes(arch) or arch in architectures.ARCHITECTURES.names():
      archs.append(arch)
    else:
      skipped.append(arch)
      print(f'note: architecture {arch!r} is not registered yet; skipped', flush=True)
  start = time.time()
  results = {}
  for arch in archs:
    network = make_network(arch)
    results[arch] = {}
    for method in methods:
      results[arch][method] = {}
      for t in ts:
        m = step_memory(
          network,
          method,
          t,
          FLAGS.batch_size,
          t_nudge=FLAGS.t_nudge,
          k_avg=FLAGS.k_avg,
          chunk=FLAGS.chunk,
        )
        results[arch][method][str(t)] = m
        print(
          f'{arch:>12} {method:>16} T={t:4d}  total {m["total_bytes"] / 2**20:9.1f} MiB  '
          f'temp {m["temp_bytes"] / 2**20:9.1f} MiB',
          flush=True,
        )
  settings = {
    'ts': ts,
    'batch_size': FLAGS.batch_size,
    't_nudge': FLAGS.t_nudge,
    'k_avg': FLAGS.k_avg,
    'chunk': FLAGS.chunk,
    'beta': 0.2,
    'dtype': 'float32',
    'input_shape': INPUT_SHAPE,
    'methods': {m: METHODS[m][:2] for m in methods},
    'skipped_architectures': skipped,
    'backend': jax.default_backend(),
    'jax_version': jax.__version__,
    'wall_seconds': time.time() - start,
  }
  launch.write_json(
    os.path.join(FLAGS.workdir, 'memory.json'), {'settings': settings, 'results': results}
  )
  if results:
    plot(results, os.path.join(FLAGS.workdir, 'memory.png'), FLAGS.batch_size)
  print(f'wrote {FLAGS.workdir}/memory.json ({time.time() - start:.0f}s)')


if __name__ == '__main__':
  define_flags()
  launch.run(main)
