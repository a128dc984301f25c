"""Draws a run's learning curves from its metrics.json.

    python experiments/plot_metrics.py --workdir=runs/demo [--out=curves.png]

Writes ``<workdir>/learning_curves.png`` (test and train error and loss per
epoch); ``train.py`` draws the same figure at the end of every run.
"""

import json
import os

from absl import app, flags

from experiments import launch
from stochep_jax import reporting

FLAGS = flags.FLAGS
flags.DEFINE_string('workdir', None, 'A training run folder holding metrics.json.')
flags.DEFINE_string('out', None, 'PNG path (default <workdir>/learning_curves.png).')
flags.mark_flags_as_required(['workdir'])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError('Too many command-line arguments.')
  path = os.path.join(FLAGS.workdir, 'metrics.json')
  if not os.path.exists(path):
    raise SystemExit(f'error: no metrics.json in {FLAGS.workdir}')
  with open(path) as f:
    metrics = json.load(f)
  out = FLAGS.out or os.path.join(FLAGS.workdir, 'learning_curves.png')
  title = metrics.get('config', {}).get('dataset', '')
  print(reporting.plot_learning_curves(metrics['history'], out, title))


if __name__ == '__main__':
  launch.run(main)
