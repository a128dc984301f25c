"""Where the averaged stochastic EP estimate points, per layer (``gdu.alignment``).

    python experiments/alignment.py --workdir=runs/alignment \
        --config=experiments/configs/fashion_mnist_conv.py --draws=1024 --batch=8 \
        [--config.simulator.rate=output --config.ep.beta=0.1 ...] [--trained=runs/fmnist_conv]

The network, neuron, simulator and EP settings come from a training config
(overrides as for ``train.py``); the batch is the first ``--batch`` test images
(``--synthetic``: uniform random images and labels, no dataset needed). The
parameters are the initial ones of ``config.seed``, or a finished run's
(``--trained=WORKDIR``). The training estimator (``estimators.ep_gradient``) is
averaged over ``--draws`` noise draws and compared, per parameter group, with
the mean-field network's EP at the same β, the mean-field BPTT gradient, and
itself over two halves of the draws (near 1: the average is not noise).

Writes ``<workdir>/alignment.json`` (settings and the per-layer table) and
prints the table.
"""

from __future__ import annotations

import os
import time

import jax
import jax.numpy as jnp
from absl import app, flags
from ml_collections import config_flags

from experiments import launch
from stochep_jax import assembly, data, estimators, gdu, validate

FLAGS = flags.FLAGS


def define_flags() -> None:
  """The launcher's flags, defined when it runs as a script (importing the module for its
  functions defines none, so it never clashes with another launcher's flags)."""
  flags.DEFINE_string('workdir', None, 'Directory for alignment.json.')
  config_flags.DEFINE_config_file(
    'config',
    os.path.join(os.path.dirname(os.path.abspath(__file__)), 'configs', 'fashion_mnist_conv.py'),
    'Training config whose network, neuron, simulator and ep blocks are used.',
    lock_config=True,
  )
  flags.DEFINE_integer('draws', 256, 'Noise draws averaged (>= 2).')
  flags.DEFINE_integer('batch', 8, 'Test images in the batch.')
  flags.DEFINE_float('reference_beta', 0.0, 'β of the small-β mean-field EP (0: β/30).')
  flags.DEFINE_string('trained', '', 'A finished run whose parameters to use (default: init).')
  flags.DEFINE_bool('synthetic', False, 'Uniform random images and labels instead of test images.')
  flags.mark_flags_as_required(['workdir'])
  launch.integer('draws', 2)
  launch.integer('batch', 1)
  launch.number('reference_beta', 0.0)


COLUMNS = (
  'cos_mf_ep',
  'ratio_mf_ep',
  'cos_bptt',
  'cos_mf_ep_vs_bptt',
  'cos_mf_ep_small_beta_vs_bptt',
  'cos_halves',
)


def batch(config):
  """The first test images (or synthetic ones) as float32 in [0, 1], and their labels."""
  spec = data.DATASETS[config.dataset]
  if FLAGS.synthetic:
    key = jax.random.key(config.seed)
    x = jax.random.uniform(jax.random.fold_in(key, 1), (FLAGS.batch, *spec.image_shape))
    y = jax.random.randint(jax.random.fold_in(key, 2), (FLAGS.batch,), 0, spec.num_classes)
    return x, y
  images, labels = data.load_arrays(
    config.dataset, 'test', config.data_dir, config.tfds_dir or None
  )
  x = jnp.asarray(images[: FLAGS.batch], jnp.float32) / 255.0
  return x, jnp.asarray(labels[: FLAGS.batch])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError('Too many command-line arguments.')
  config = FLAGS.config
  sim = validate.check_config(config).simulator
  if not sim.neuron.stochastic:
    raise launch.LaunchError(f'config.neuron.name={config.neuron.name!r} is not stochastic')
  if FLAGS.trained:
    launch.check_run_folder(FLAGS.trained)
  launch.check_output_folder(FLAGS.workdir)
  ep = estimators.EP(**assembly.as_dict(config.ep))
  x, y = batch(config)
  if FLAGS.trained:
    params = launch.load_trained(FLAGS.trained)[2]
  else:
    params = sim.network.init(jax.random.key(config.seed))
  start = time.time()
  table = gdu.alignment(
    sim,
    ep,
    params,
    x,
    y,
    jax.random.key(config.seed + 1),
    FLAGS.draws,
    FLAGS.reference_beta or None,
  )
  seconds = time.time() - start
  settings = {
    'network': config.network.to_dict(),
    'neuron': repr(sim.neuron),
    'rate': sim.rate,
    'ep': config.ep.to_dict(),
    'precision': config.precision.to_dict(),
    'draws': FLAGS.draws,
    'batch': FLAGS.batch,
    'inputs': 'synthetic'
    if FLAGS.synthetic
    else f'first {FLAGS.batch} {config.dataset} test images',
    'params': FLAGS.trained or f'init, seed {config.seed}',
    'seconds': round(seconds, 1),
  }
  launch.write_json(
    os.path.join(FLAGS.workdir, 'alignment.json'), {'settings': settings, 'layers': table}
  )
  print(f'{"group":>8} ' + ' '.join(f'{c:>14.14}' for c in COLUMNS))
  for name, row in table.items():
    print(f'{name:>8} ' + ' '.join(f'{row[c]:14.3f}' for c in COLUMNS))
  print(f'{seconds:.0f}s; wrote {FLAGS.workdir}/alignment.json')


if __name__ == '__main__':
  define_flags()
  launch.run(main)
