"""Trains a network with EP (or BPTT) and evaluates it every epoch.

    python experiments/train.py --config=experiments/configs/fashion_mnist.py \
        --workdir=runs/fmnist [--config.num_epochs=5 ...]

Writes ``<workdir>/metrics.json`` and an orbax checkpoint per epoch; restarting
with the same workdir resumes. Ctrl-C (SIGINT) or SIGTERM stops it with one line
naming the last saved epoch (exit status 130 / 143).

Every local device takes a slice of each batch (data parallelism). Across hosts,
start one process per host with the same flags plus

    --coordinator_address=HOST0:PORT --num_processes=N --process_id=I

(or ``--distributed`` where JAX detects the cluster, e.g. SLURM or a TPU pod).
On a CPU-only host, ``--cpu_devices=0`` makes one XLA:CPU device per core.
"""

import math
import os
import sys

import jax
from absl import app, flags, logging
from ml_collections import config_flags

from experiments import launch
from stochep_jax import data, experiment, parallel, validate
from stochep_jax import workdir as workdir_lib

FLAGS = flags.FLAGS


def define_flags() -> None:
  """The launcher's flags, defined when it runs as a script (importing the module for its
  functions defines none, so it never clashes with another launcher's flags)."""
  flags.DEFINE_string('workdir', None, 'Directory for checkpoints and metrics.json.')
  config_flags.DEFINE_config_file(
    'config',
    None,
    'Experiment configuration file (experiments/configs/*.py, ":smoke" for the small variant). '
    'Override any field with --config.<field>=<value>, e.g. --config.neuron.stochep.kappa=2; '
    'list every field and its default with --print_config.',
    lock_config=True,
  )
  flags.DEFINE_string(
    'coordinator_address',
    None,
    'host:port of process 0; starts jax.distributed with the two flags below.',
  )
  flags.DEFINE_integer('num_processes', None, 'Number of processes (hosts) in the run.')
  flags.DEFINE_integer('process_id', None, 'Index of this process, 0 .. num_processes - 1.')
  flags.DEFINE_bool(
    'distributed',
    False,
    'Start jax.distributed with cluster auto-detection (SLURM, TPU pods, ...).',
  )
  flags.DEFINE_integer(
    'cpu_devices',
    1,
    'XLA:CPU devices in this process, for data parallelism on a CPU-only host '
    '(0: one per core, fewer if needed to divide the batch sizes). Only the '
    'CPU backend; XLA_FLAGS, if it forces a count, wins.',
  )
  flags.DEFINE_bool(
    'allow_config_change',
    False,
    'Resume although result-changing config fields differ from the recorded ones '
    '(metrics.json then records which epochs ran with which settings).',
  )
  flags.DEFINE_bool('print_config', False, 'Print every config field with its value and exit.')
  flags.mark_flags_as_required(['config'])


def cpu_devices(requested: int, config, num_processes: int = 1, cores: int | None = None) -> int:
  """``requested``, or for 0 the largest count <= the cores that divides every
  process's share of the training and evaluation batches."""
  if requested:
    return requested
  share = math.gcd(config.batch_size, config.eval_batch_size) // num_processes
  n = max(1, min(cores or os.cpu_count() or 1, share))
  while share % n:
    n -= 1
  return n


def main(argv):
  if len(argv) > 1:
    raise app.UsageError('Too many command-line arguments.')
  if FLAGS.print_config:
    print(FLAGS.config)
    return
  if not FLAGS.workdir:
    sys.exit('error: --workdir is required (the folder of checkpoints and metrics.json)')
  experiment.stop_on_signals()  # Ctrl-C / SIGTERM: one line naming the last saved epoch
  try:
    validate.check_fields(FLAGS.config)  # before devices, data or compilation
    if FLAGS.config.dtype == 'float64':  # before anything is built: float64 stays float64
      jax.config.update('jax_enable_x64', True)
    parallel.set_cpu_devices(cpu_devices(FLAGS.cpu_devices, FLAGS.config, FLAGS.num_processes or 1))
    if FLAGS.coordinator_address or FLAGS.distributed:
      parallel.initialize(FLAGS.coordinator_address, FLAGS.num_processes, FLAGS.process_id)
    logging.info(
      'JAX process %d/%d, local devices %s',
      jax.process_index(),
      jax.process_count(),
      jax.local_devices(),
    )
    experiment.train_and_evaluate(
      FLAGS.config, FLAGS.workdir, allow_config_change=FLAGS.allow_config_change
    )
  except (
    validate.ConfigError,
    data.MissingDatasetError,
    data.OriginalFileError,
    data.CacheError,
    workdir_lib.WorkdirError,
    experiment.DivergenceError,
  ) as e:
    sys.exit(f'error: {e}')
  except experiment.Interrupted as e:
    last = workdir_lib.last_saved(FLAGS.workdir)
    kept = f'last saved epoch {last} in {os.path.join(FLAGS.workdir, workdir_lib.CHECKPOINT_DIR)}'
    print(
      f'interrupted ({e.name}): {kept if last else "no epoch saved yet"}; '
      'rerun the same command to resume',
      file=sys.stderr,
      flush=True,
    )
    sys.exit(e.exit_code)


if __name__ == '__main__':
  define_flags()
  launch.run(main)
