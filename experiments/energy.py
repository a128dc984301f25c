"""Synaptic operations and energy per example: StochEP EP, CRNN EP, SNN BPTT and an ANN.

    python experiments/energy.py --out=runs/energy.json                 # at initialisation
    python experiments/energy.py --train_steps=50 --out=runs/energy.json  # trained briefly
    python experiments/energy.py --workdir=runs/fmnist                  # a train.py checkpoint
    python experiments/energy.py --smoke --out=/tmp/energy.json         # tiny, synthetic data

For one batch of test images (``--batch``, Fashion-MNIST from ``--data_dir``) and one set of
parameters, counts with ``stochep_jax.opcount`` (docs/model.md, "Operations and energy") the
ACs and MACs per example of

* ``stochep_ep``: inference = the free phase; training = free, +β and −β phases and EP's
  weight update (two outer products per synapse), StochEP spikes (ACs), analog input (MACs);
* ``crnn_ep``: the same phases with the deterministic CRNN (real-valued states: MACs);
* ``snn_bptt``: inference as StochEP; training = the free phase (same T_free) and BPTT's
  backward pass through it (dense MACs, ``opcount.bptt_training_ops``);
* ``ann_bp``: a same-shape ReLU ANN (e.g. 784-512-10): forward MACs; training adds the
  backward pass (weight gradients and error propagation).

and their energy with ``opcount.EnergyModel`` (45 nm, E_AC 0.9 pJ, E_MAC 4.6 pJ; memory traffic
left out). **[choice]** All four use the same parameters (so the activity differs only by the
neuron model): a ``--workdir`` checkpoint's, else StochEP EP trained for ``--train_steps`` steps
from initialisation (0 = at initialisation); the JSON's ``params_source`` says which.
Writes the JSON to ``--out`` (or ``<workdir>/energy.json``) and prints a table.
"""

import os
import tempfile
import time

import jax
from absl import flags

import stochep_jax as sep
from experiments import launch
from stochep_jax import data
from stochep_jax.opcount import report as report_lib
from stochep_jax.short_runs import SETTINGS, SMOKE, load_images, synthetic_dir, train_briefly

FLAGS = flags.FLAGS


def define_flags() -> None:
  """The launcher's flags, defined when it runs as a script (importing the module for its
  functions defines none, so it never clashes with another launcher's flags)."""
  flags.DEFINE_string('workdir', None, 'A train.py workdir whose last checkpoint to count.')
  flags.DEFINE_string('out', '', 'JSON output (default <workdir>/energy.json, else stdout only).')
  flags.DEFINE_bool('smoke', False, 'Tiny network and synthetic data (seconds).')
  flags.DEFINE_integer('train_steps', 0, 'Without --workdir: StochEP EP steps before counting.')
  flags.DEFINE_integer('batch', 0, 'Test images counted (0 = the settings default: 128).')
  flags.DEFINE_string('data_dir', data.DEFAULT_FASHION_MNIST_DIR, 'Fashion-MNIST IDX files.')
  flags.DEFINE_integer('seed', 0, 'Seed of initialisation, training and spikes.')
  launch.integer('train_steps', 0)
  launch.integer('batch', 0)
  launch.integer('seed', 0)


def load_checkpoint(workdir: str):
  """(network, params, settings overrides) of a train.py workdir's last checkpoint."""
  config, sim, params, epoch = launch.load_trained(workdir)
  ep = config.ep
  over = dict(t_free=ep.t_free, t_nudge=ep.t_nudge, beta=ep.beta, k_avg=ep.k_avg)
  neuron = config.neuron[config.neuron.name]
  if 'decay' in neuron:
    over.update(decay=neuron.decay, kappa=neuron.kappa)
  return sim.network, params, over, f'checkpoint {workdir} epoch {epoch}'


def run(workdir=None, smoke=False, train_steps=0, batch=0, data_dir='', seed=0, out=''):
  """Everything ``main`` does; returns the report."""
  start = time.time()
  s = dict(SMOKE if smoke else SETTINGS)
  if batch:
    s['batch'] = batch
  with tempfile.TemporaryDirectory() as tmp:
    if smoke:
      data_dir = synthetic_dir(tmp)
    x, y = load_images(data_dir, 'test', s['batch'])
    if workdir:
      network, params, over, source = load_checkpoint(workdir)
      s.update(over)
    else:
      network = sep.dense(784, list(s['hidden']), 10)
      params = network.init(jax.random.key(seed))
      source = 'initialisation'
      if train_steps:
        xt, yt = load_images(data_dir, 'train', train_steps * s['train_batch'])
        stoch, _, ep, _ = report_lib.simulators(network, s)
        params = train_briefly(stoch, ep, params, xt, yt, train_steps, s['train_batch'],
                               s['learning_rates'], seed)  # fmt: skip
        source = f'StochEP EP, {train_steps} SGD steps of batch {s["train_batch"]} from init'
  x = x.reshape(len(x), *network.input_shape)  # a trained net may take images [28, 28, 1]
  report = report_lib.energy_report(network, params, x, y, s, key=jax.random.key(seed + 2),
                         params_source=source)  # fmt: skip
  report['data'] = 'synthetic' if smoke else data_dir
  report['wall_seconds'] = time.time() - start
  out = out or (os.path.join(workdir, 'energy.json') if workdir else '')
  if out:
    launch.write_json(out, report)
  return report


def main(argv):
  del argv
  if FLAGS.workdir:
    launch.check_run_folder(FLAGS.workdir)  # before any data is read
  r = run(FLAGS.workdir, FLAGS.smoke, FLAGS.train_steps, FLAGS.batch, FLAGS.data_dir,
          FLAGS.seed, FLAGS.out)  # fmt: skip
  print(report_lib.format_table(r))
  print(f'{r["wall_seconds"]:.1f}s')


if __name__ == '__main__':
  define_flags()
  launch.run(main)
