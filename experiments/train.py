"""Trains a network with EP (or BPTT) and evaluates it every epoch.

    python experiments/train.py --config=experiments/configs/fashion_mnist.py \
        --workdir=runs/fmnist [--config.num_epochs=5 ...]

Writes ``<workdir>/metrics.json`` and an orbax checkpoint per epoch; restarting
with the same workdir resumes.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import jax  # noqa: E402
from absl import app, flags, logging  # noqa: E402
from ml_collections import config_flags  # noqa: E402

from stochep_jax import data, experiment  # noqa: E402

FLAGS = flags.FLAGS
flags.DEFINE_string('workdir', None, 'Directory for checkpoints and metrics.json.')
config_flags.DEFINE_config_file('config', None, 'Experiment configuration file.',
                                lock_config=True)
flags.mark_flags_as_required(['config', 'workdir'])


class _QuietLibraries:
  """Drops INFO records of orbax and tfds (they log every checkpoint file)."""

  def filter(self, record):
    return record.levelno > logging.INFO or not any(
        f'/{lib}/' in record.pathname for lib in ('orbax', 'tensorflow_datasets', 'etils'))


def main(argv):
  if len(argv) > 1:
    raise app.UsageError('Too many command-line arguments.')
  logging.get_absl_handler().addFilter(_QuietLibraries())
  logging.info('JAX process %d/%d, local devices %s', jax.process_index(),
               jax.process_count(), jax.local_devices())
  try:
    experiment.train_and_evaluate(FLAGS.config, FLAGS.workdir)
  except data.MissingDatasetError as e:
    sys.exit(f'error: {e}')


if __name__ == '__main__':
  app.run(main)
