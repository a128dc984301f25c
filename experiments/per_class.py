"""Per-class test accuracy and each last-layer unit's largest rate, for a finished run.

    python experiments/per_class.py --workdir=runs/fmnist [--n_test=2000] [--nomean_field]
    # the same network with a longer free phase (does the prediction still move?)
    python experiments/per_class.py --workdir=runs/fmnist_conv --nomean_field --t_free=400
    # 30 mean-field steps, then 30 stochastic ones
    python experiments/per_class.py --workdir=runs/fmnist_conv --nomean_field --t_warm=30 \
        --t_free=30 --k_avg=30

Restores the last checkpoint that ``train.py`` wrote to ``--workdir``, rebuilds the network
from the config stored in its ``metrics.json``, runs the free phase on the test split (the
first ``--n_test`` images; 0 = all) and writes ``<workdir>/per_class.json``; with
``--split=validation``, on the training examples the run held out (``config.validation_size``,
the same examples and indices as the launcher's validation metrics), written to
``<workdir>/per_class_validation.json``. Choices between evaluations (the mean-field network or
the run's own, longer free phases) are made there, never on the test images:

* ``accuracy``, ``per_class_accuracy`` (one per class) and ``per_class_count``;
* ``last_layer_max_rate``: the largest rate of each unit of the last neuron layer over those
  images. With the MSE readout these are the output units; one whose rate is 0 on every
  image is dead (under BPTT with the hard sigmoid it gets no gradient; BUILD_NOTES.md §4).

A stochastic neuron model (``neuron.stochastic``, e.g. StochEP) is evaluated
with its deterministic mean-field network unless ``--nomean_field``; otherwise, and for
every other model, the evaluation is the launcher's own (same key, same example indices),
so ``accuracy`` over the whole split equals the run's final ``test_accuracy`` (or
``validation_accuracy``).
``--t_free`` / ``--k_avg`` (0: the run's) and ``--t_warm`` (-1: the run's; mean-field
steps before the free phase, ``dynamics.free_phase``) evaluate with another free phase;
the report records the lengths used.
"""

import os

import jax
import numpy as np
from absl import flags

from experiments import launch
from stochep_jax import assembly, data, keys

FLAGS = flags.FLAGS


def define_flags() -> None:
  """The launcher's flags, defined when it runs as a script (importing the module for its
  functions defines none, so it never clashes with another launcher's flags)."""
  flags.DEFINE_string('workdir', None, 'A train.py workdir (metrics.json and checkpoints/).')
  flags.DEFINE_enum(
    'split',
    'test',
    ['test', 'validation'],
    "Evaluate on the test split, or on the run's held-out training examples "
    '(config.validation_size; written to per_class_validation.json).',
  )
  flags.DEFINE_integer('n_test', 0, 'Evaluate the first n images of the split (0 = all).')
  flags.DEFINE_bool(
    'mean_field', True, 'Evaluate stochastic neuron models with their mean-field network.'
  )
  flags.DEFINE_integer('t_free', 0, "Free-phase steps of the evaluation (0 = the run's).")
  flags.DEFINE_integer('k_avg', 0, "Last free steps the rates average (0 = the run's).")
  flags.DEFINE_integer(
    't_warm', -1, "Mean-field warm-start steps before the free phase (-1 = the run's)."
  )
  flags.mark_flag_as_required('workdir')
  launch.integer('n_test', 0)
  launch.integer('t_free', 0)
  launch.integer('k_avg', 0)
  launch.integer('t_warm', -1)


def per_class(
  workdir: str,
  n_test: int = 0,
  mean_field: bool = True,
  t_free: int = 0,
  k_avg: int = 0,
  t_warm: int = -1,
  split: str = 'test',
) -> dict:
  """The report of the module docstring (also written to ``<workdir>/per_class.json``, or
  ``per_class_validation.json`` for ``split='validation'``)."""
  config, sim, params, epoch = launch.load_trained(workdir)
  held_out = config.get('validation_size') or 0
  if split == 'validation' and not held_out:
    raise launch.LaunchError(
      f'--split=validation: the run in {workdir} held out no training examples '
      '(its config.validation_size is 0)'
    )
  t_free, k_avg = t_free or config.ep.t_free, k_avg or config.ep.k_avg
  if k_avg > t_free:
    raise launch.LaunchError(f'k_avg={k_avg} must be <= t_free={t_free} (free-phase steps)')
  config = config.copy_and_resolve_references()
  config.ep.t_free, config.ep.k_avg = t_free, k_avg
  config.ep.t_warm = config.ep.get('t_warm', 0) if t_warm < 0 else t_warm
  mean_field = bool(mean_field and sim.neuron.stochastic)
  if mean_field:
    sim = sim.mean_field()
  eval_key = keys.run_keys(config.seed)[2]

  source = data.ArraySource(
    *data.load_arrays(
      config.dataset,
      'train' if split == 'validation' else 'test',
      config.data_dir,
      config.get('tfds_dir') or None,
    )
  )
  if split == 'validation':  # the launcher's validation set: the same examples and indices
    source = data.hold_out(source, held_out)[1]
  free_fn = jax.jit(assembly.eval_fn(config, sim))
  preds, labels, max_rate = [], [], None
  for b in data.reader_batches(
    source,
    config.eval_batch_size,
    limit=n_test or None,
    seed=0,
    epoch=0,
    shuffle=False,
    drop_remainder=False,
  ):
    scores, _, rates = free_fn(params, b['image'], b['label'], eval_key, b['index'])
    preds.append(np.asarray(scores).argmax(-1))
    labels.append(b['label'])
    last = np.asarray(rates[-1]).reshape(len(b['label']), -1).max(0)
    max_rate = last if max_rate is None else np.maximum(max_rate, last)
  preds, labels = np.concatenate(preds), np.concatenate(labels)
  classes = range(data.DATASETS[config.dataset].num_classes)
  report = {
    'workdir': workdir,
    'split': split,
    'epoch': int(epoch),
    'n_test': int(len(labels)),
    'mean_field': mean_field,
    't_free': int(t_free),
    'k_avg': int(k_avg),
    't_warm': int(config.ep.t_warm),
    'accuracy': float(np.mean(preds == labels)),
    'per_class_accuracy': [
      float(np.mean(preds[labels == c] == c)) if np.any(labels == c) else None for c in classes
    ],
    'per_class_count': [int(np.sum(labels == c)) for c in classes],
    'last_layer_max_rate': [float(r) for r in max_rate],
  }
  name = 'per_class_validation.json' if split == 'validation' else 'per_class.json'
  launch.write_json(os.path.join(workdir, name), report)
  return report


def main(argv):
  del argv
  launch.check_run_folder(FLAGS.workdir)
  r = per_class(
    FLAGS.workdir,
    FLAGS.n_test,
    FLAGS.mean_field,
    FLAGS.t_free,
    FLAGS.k_avg,
    FLAGS.t_warm,
    FLAGS.split,
  )
  print(
    f'accuracy {r["accuracy"]:.4f} on {r["n_test"]} {r["split"]} images (epoch {r["epoch"]}, '
    f'mean field: {r["mean_field"]}, T_free {r["t_free"]}, K_avg {r["k_avg"]}, '
    f'mean-field warm start {r["t_warm"]})'
  )
  print('per class  ', ' '.join(f'{a:.3f}' for a in r['per_class_accuracy']))
  print('max rate   ', ' '.join(f'{a:.3f}' for a in r['last_layer_max_rate']))


if __name__ == '__main__':
  define_flags()
  launch.run(main)
