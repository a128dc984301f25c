"""Draws a run's learning curves from its metrics.json.

    python experiments/plot_metrics.py --workdir=runs/demo [--out=curves.png]

Writes ``<workdir>/learning_curves.png`` (test and train error and loss per
epoch); ``train.py`` draws the same figure at the end of every run.
"""

import os

from absl import flags

from experiments import launch
from stochep_jax import reporting

FLAGS = flags.FLAGS


def define_flags() -> None:
  """The launcher's flags, defined when it runs as a script (importing the module for its
  functions defines none, so it never clashes with another launcher's flags)."""
  flags.DEFINE_string('workdir', None, 'A training run folder holding metrics.json.')
  flags.DEFINE_string('out', None, 'PNG path (default <workdir>/learning_curves.png).')
  flags.mark_flags_as_required(['workdir'])


def main(argv):
  del argv
  path = os.path.join(FLAGS.workdir, 'metrics.json')
  metrics = launch.read_json(path, 'written by experiments/train.py')
  history = metrics.get('history') if isinstance(metrics, dict) else None
  if not isinstance(history, list) or not all(
    isinstance(h, dict) and 'epoch' in h for h in history
  ):
    raise launch.LaunchError(
      f'{path}: holds no history (a list of epochs, each with its epoch number)'
    )
  if not history:
    raise launch.LaunchError(f'{path}: no epoch finished yet; nothing to plot')
  out = FLAGS.out or os.path.join(FLAGS.workdir, 'learning_curves.png')
  config = metrics.get('config')
  title = config.get('dataset', '') if isinstance(config, dict) else ''
  print(reporting.plot_learning_curves(history, out, title))


if __name__ == '__main__':
  define_flags()
  launch.run(main)
