"""A timed slice of full-size training: a few steps after compilation, and the epoch they imply.

    python -m gpu_kit.slices --slice=fashion_mnist_2c2fc --out=slice.json [--steps=5]
    python -m gpu_kit.slices --slice=cifar10_5c --variant=smoke --steps=2   # CPU-sized

The config of ``SLICES[--slice]`` (``experiments/configs/``; ``--variant=smoke`` for its smoke
variant) is built exactly as ``experiments/train.py`` builds it (``assembly.build``: the
simulator, estimator, augmentation and evaluation functions, the optimizer with its schedule;
the data-parallel step with the state donated). Data: the dataset's original files when
``--data_dir`` (or the config's own folder) holds them (``--reader``: read with numpy, or through
the tfds builders); else
uniform random images of the dataset's shape with random labels (the step's work does not
depend on the pixel values). The real dataset's split sizes give the projection:

* ``compile_s``: lowering plus compilation of the training step; ``warmup_s``: its first call;
* ``step_s``: each timed step after that (waited for), ``median_step_s``;
* ``projected_train_epoch_s`` = steps per epoch (train size // batch, the size cut to the
  config's ``train_subset`` as the launcher does) × median step;
* ``projected_eval_s`` = evaluation batches (test size / eval batch, rounded up) × the median
  evaluation step (``--eval_steps``; 0: not measured);
* ``projected_epoch_s`` (their sum) and ``projected_run_s`` (× ``num_epochs``).

The report is rewritten after every phase (``--out``), so a slice stopped by a timeout still
leaves what it measured; ``--max_s`` ends the timed steps early to fit a time limit.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time

from absl import app, flags

FLAGS = flags.FLAGS


def define_flags() -> None:
  """The launcher's flags (defined only when it runs, so that the kit's modules import together)."""
  flags.DEFINE_string('slice', 'fashion_mnist_2c2fc', 'Which slice: a key of SLICES.')
  flags.DEFINE_string('variant', '', 'Config variant (e.g. smoke: CPU sizes); default: full size.')
  flags.DEFINE_integer('steps', 5, 'Timed training steps after the warm-up step.')
  flags.DEFINE_integer('eval_steps', 2, 'Timed evaluation steps after their warm-up (0: none).')
  flags.DEFINE_float('max_s', 0.0, 'Stop timing steps once this many seconds have passed (0: no).')
  flags.DEFINE_string('data_dir', '', 'Folder of the original dataset files (default: config).')
  flags.DEFINE_string('tfds_dir', '', 'tfds cache root (default: the library default).')
  flags.DEFINE_enum(
    'reader',
    'direct',
    ['direct', 'tfds'],
    'How the original files are read: straight with numpy (data.read_original_split: seconds) '
    'or through the tfds builders (data.load_arrays: prepares the array_record cache first).',
  )
  flags.DEFINE_bool('tiny', False, 'Shrink the config further (widths 2, T 4 + 2 x 2): a dry run.')
  flags.DEFINE_string('dtype', '', "Parameter/state dtype (default: the config's).")
  flags.DEFINE_string(
    'compute_dtype',
    '',
    "Precision policy's compute dtype (config.precision.compute_dtype; default: the config's).",
  )
  flags.DEFINE_string('out', '', 'JSON output file (default: standard output).')


SLICES = {
  'fashion_mnist_conv': 'experiments/configs/fashion_mnist_conv.py',
  'fashion_mnist_2c2fc': 'experiments/configs/fashion_mnist_2c2fc.py',
  'cifar10_lab21': 'experiments/configs/cifar10_lab21.py',
  'cifar10_5c': 'experiments/configs/cifar10_5c.py',
}


def load_config(path: str | os.PathLike[str], variant: str | None = None):
  """``get_config(variant)`` of a config file (relative paths from the repository root)."""
  from experiments import launch  # noqa: PLC0415

  return launch.load_config(str(path), variant)


def shrink(config):
  """``config`` with the smallest sizes that still run every part of it (a dry run)."""
  net = config.network
  for key, width in (('channels', 2), ('fc', 4), ('hidden', 4)):
    if key in net and net[key]:
      net[key] = tuple(width for _ in net[key])
  config.ep.update(dict(t_free=4, t_nudge=2, k_avg=1))
  config.batch_size, config.eval_batch_size = 8, 16
  config.train_subset, config.test_subset = 64, 32
  return config


def make_source(
  config, split: str, n: int, *, data_dir=None, tfds_dir=None, seed: int = 0, reader='direct'
):
  """``(source, kind)``: the split's original files (kind ``'files'``; ``reader`` 'direct':
  read with numpy, 'tfds': through the tfds builders and their cache) if present, else ``n``
  uniform random images of the dataset's shape with random labels (``'random'``)."""
  import numpy as np  # noqa: PLC0415

  from stochep_jax import data  # noqa: PLC0415

  folder = data_dir or config.get('data_dir') or None
  try:
    data.check_files(config.dataset, folder)
  except data.MissingDatasetError:
    spec = data.DATASETS[config.dataset]
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, *spec.image_shape), dtype=np.uint8)
    labels = rng.integers(0, spec.num_classes, (n,)).astype(np.int32)
    return data.ArraySource(images, labels), 'random'
  if reader == 'direct':
    return data.ArraySource(*data.read_original_split(config.dataset, split, folder)), 'files'
  return data.ArraySource(*data.load_arrays(config.dataset, split, folder, tfds_dir)), 'files'


def _summary(config) -> dict:
  net = config.network.to_dict()
  return {
    'dataset': config.dataset,
    'network': {k: v for k, v in net.items() if not isinstance(v, dict)},
    'neuron': config.neuron.get('name'),
    'method': config.get('method'),
    'ep': config.ep.to_dict(),
    'batch_size': config.batch_size,
    'eval_batch_size': config.eval_batch_size,
    'num_epochs': config.num_epochs,
    'dtype': config.get('dtype') or 'float32',
    'compute_dtype': (config.get('precision') or {}).get('compute_dtype', 'float32'),
    'augment': list(config.get('augment') or ()),
  }


def _median(values):
  values = sorted(values)
  if not values:
    return None
  mid = len(values) // 2
  return values[mid] if len(values) % 2 else 0.5 * (values[mid - 1] + values[mid])


def _memory_stats():
  import jax  # noqa: PLC0415

  try:
    stats = jax.devices()[0].memory_stats() or {}
  except Exception:  # noqa: BLE001 - not every backend has them
    return None
  keys = ('peak_bytes_in_use', 'bytes_in_use', 'bytes_limit')
  return {k: int(stats[k]) for k in keys if k in stats}


def time_slice(
  config,
  *,
  steps: int = 5,
  eval_steps: int = 2,
  max_s: float = 0.0,
  data_dir=None,
  tfds_dir=None,
  reader: str = 'direct',
  report=None,
) -> dict:
  """Times ``steps`` training steps (and ``eval_steps`` evaluation steps) of ``config``.

  Args:
    config: an experiment config (``load_config``).
    steps: timed training steps after the warm-up step (at least one is timed).
    eval_steps: timed evaluation steps after their warm-up (0: no evaluation).
    max_s: stop timing further steps once this many seconds have passed (0: never).
    data_dir, tfds_dir: the original files' folder and the tfds cache (None: defaults).
    reader: ``'direct'`` or ``'tfds'`` (see ``make_source``).
    report: called with the result dict after every phase (e.g. to write it out).

  Returns:
    The result described in the module docstring.
  """
  start = time.perf_counter()
  import jax  # noqa: PLC0415
  import jax.numpy as jnp  # noqa: PLC0415
  import numpy as np  # noqa: PLC0415

  from stochep_jax import assembly, data, keys, parallel, training  # noqa: PLC0415

  out = {'config': _summary(config), 'status': 'started', 'device': jax.devices()[0].device_kind}
  report = report or (lambda result: None)

  def phase(name, **values):
    out.update(values)
    out['status'] = name
    out['elapsed_s'] = time.perf_counter() - start
    report(out)

  spec = data.DATASETS[config.dataset]
  n_train, n_test = spec.num_examples['train'], spec.num_examples['test']
  n_train = min(n_train, config.get('train_subset') or n_train)  # as the launcher counts
  n_test = min(n_test, config.get('test_subset') or n_test)
  bs, ebs = config.batch_size, config.eval_batch_size
  t = time.perf_counter()
  n_batches = min(max(steps + 1, 1), 4)
  io = dict(data_dir=data_dir, tfds_dir=tfds_dir, reader=reader)
  train_src, kind = make_source(config, 'train', bs * n_batches, seed=0, **io)
  test_src, _ = make_source(config, 'test', ebs, seed=1, **io)
  phase('data', data=kind, data_s=time.perf_counter() - t)

  mesh = parallel.make_mesh()
  run = assembly.build(config)
  init_key, train_key, eval_key = keys.run_keys(config.seed)
  dtype = jnp.dtype(config.dtype)
  steps_per_epoch = n_train // bs
  state, optimizer = run.train_state(init_key, steps_per_epoch)
  state = parallel.replicate(state, mesh)
  train_fn = run.train_step(optimizer)
  train_step = parallel.data_parallel(
    lambda st, b: train_fn(st, b, train_key), mesh, donate_state=True
  )

  def place(batch):
    batch['image'] = batch['image'].astype(dtype)
    return parallel.global_batch(batch, mesh)

  batches = [
    place(b)
    for b in data.reader_batches(
      train_src, bs, limit=bs * n_batches, seed=config.seed, epoch=1, shuffle=False
    )
  ]
  t = time.perf_counter()
  compiled = train_step.lower(state, batches[0]).compile()
  phase('compiled', compile_s=time.perf_counter() - t, devices=mesh.devices.size)

  times, metrics = [], None
  for i in range(1 + max(steps, 1)):
    t = time.perf_counter()
    state, metrics = compiled(state, batches[i % len(batches)])
    jax.block_until_ready((state, metrics))
    if i == 0:
      phase('warmup', warmup_s=time.perf_counter() - t)
      continue
    times.append(time.perf_counter() - t)
    median = _median(times)
    phase(
      'train',
      step_s=times,
      median_step_s=median,
      samples_per_s=bs / median,
      steps_per_epoch=steps_per_epoch,
      projected_train_epoch_s=steps_per_epoch * median,
    )
    if max_s and time.perf_counter() - start + median > max_s:
      break
  summary = training.summarize(metrics)
  phase('trained', train_metrics=summary, finite=bool(np.all(np.isfinite(list(summary.values())))))

  eval_batches = math.ceil(n_test / ebs)
  projected_eval = None
  if eval_steps > 0 and not (max_s and time.perf_counter() - start > 0.8 * max_s):
    eval_fn = run.eval_step()
    eval_step = parallel.data_parallel(lambda p, b: eval_fn(p, b, eval_key), mesh)
    batch = next(data.reader_batches(test_src, ebs, limit=ebs, seed=0, epoch=0, shuffle=False))
    batch['mask'] = np.ones(batch['label'].shape, bool)
    batch = place(batch)
    t = time.perf_counter()
    evaluate = eval_step.lower(state.params, batch).compile()
    phase('eval_compiled', eval_compile_s=time.perf_counter() - t)
    eval_times = []
    for i in range(1 + eval_steps):
      t = time.perf_counter()
      jax.block_until_ready(evaluate(state.params, batch))
      if i:
        eval_times.append(time.perf_counter() - t)
        projected_eval = eval_batches * _median(eval_times)
        phase(
          'eval',
          eval_step_s=eval_times,
          median_eval_step_s=_median(eval_times),
          eval_batches=eval_batches,
          projected_eval_s=projected_eval,
        )
      if max_s and time.perf_counter() - start > max_s:
        break
  epoch = out['projected_train_epoch_s'] + (projected_eval or 0.0)
  phase(
    'done',
    projected_epoch_s=epoch,
    projected_eval_included=projected_eval is not None,
    projected_run_s=epoch * config.num_epochs,
    memory=_memory_stats(),
  )
  return out


def main(argv):
  if len(argv) > 1:
    raise app.UsageError('Too many command-line arguments.')
  if FLAGS.slice not in SLICES:
    raise app.UsageError(f'unknown slice {FLAGS.slice!r}; choose from {sorted(SLICES)}')
  config = load_config(SLICES[FLAGS.slice], FLAGS.variant)
  if FLAGS.tiny:
    config = shrink(config)
  if FLAGS.dtype:
    config.dtype = FLAGS.dtype
  if FLAGS.compute_dtype:
    config.precision.compute_dtype = FLAGS.compute_dtype

  def report(result):
    if FLAGS.out:
      with open(FLAGS.out + '.tmp', 'w') as f:
        json.dump({'slice': FLAGS.slice, 'variant': FLAGS.variant, **result}, f, indent=1)
      os.replace(FLAGS.out + '.tmp', FLAGS.out)

  result = time_slice(
    config,
    steps=FLAGS.steps,
    eval_steps=FLAGS.eval_steps,
    max_s=FLAGS.max_s,
    data_dir=FLAGS.data_dir or None,
    tfds_dir=FLAGS.tfds_dir or None,
    reader=FLAGS.reader,
    report=report,
  )
  if not FLAGS.out:
    print(json.dumps({'slice': FLAGS.slice, 'variant': FLAGS.variant, **result}, indent=1))
  print(
    f'{FLAGS.slice}: compile {result["compile_s"]:.1f} s, step {result["median_step_s"]:.3f} s, '
    f'projected epoch {result["projected_epoch_s"]:.0f} s',
    file=sys.stderr,
    flush=True,
  )


if __name__ == '__main__':
  from experiments import launch  # noqa: PLC0415

  define_flags()
  launch.run(main)
