"""GDU check [Ern19]: EP's step-by-step updates against BPTT's gradients.

As in docs/model.md, "References by backpropagation".

    python experiments/gradcheck.py --workdir=runs/gradcheck \
        [--config=experiments/configs/gradcheck.py:crnn,3fc --config.gdu.beta=1e-2 ...]

Writes ``<workdir>/gradcheck.json``:
``{"settings": {...}, "layers": {name: {"rel_rmse", "sign_error", "cosine"}}}``
(``layer<i>``/``readout``: parameter groups; ``s<i>``: neuron layers; the
per-layer free-phase residual is in ``settings``), and ``<workdir>/gradcheck.png``:
EP's update against −BPTT's gradient per time step for a few neurons and
synapses of every layer.
"""

import os
import time

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
from absl import flags
from ml_collections import config_flags

from experiments import launch
from stochep_jax import assembly, gdu

matplotlib.use('Agg')
from matplotlib import pyplot as plt

FLAGS = flags.FLAGS


def define_flags() -> None:
  """The launcher's flags, defined when it runs as a script (importing the module for its
  functions defines none, so it never clashes with another launcher's flags)."""
  flags.DEFINE_string('workdir', None, 'Directory for gradcheck.json and gradcheck.png.')
  config_flags.DEFINE_config_file(
    'config',
    os.path.join(os.path.dirname(os.path.abspath(__file__)), 'configs', 'gradcheck.py'),
    'GDU check configuration file.',
    lock_config=True,
  )
  flags.mark_flags_as_required(['workdir'])


SETTINGS = {'hopfield': 'energy-based', 'crnn': 'prototypical', 'stochep': 'stochastic'}


def build(config):
  """Simulator, GDU settings, parameters and a random batch from the config."""
  dtype = jnp.float64 if config.x64 else jnp.float32
  network = assembly.make_network(config.network, tuple(config.input_shape), config.n_classes)
  sim = assembly.make_simulator(network, config.neuron, simulator_block=config.simulator)
  root = jax.random.key(config.seed)  # streams 0-3: init, inputs, labels, noise
  params = network.init(jax.random.fold_in(root, 0), dtype)
  x = jax.random.uniform(
    jax.random.fold_in(root, 1), (config.batch_size, *config.input_shape), dtype
  )
  labels = jax.random.randint(
    jax.random.fold_in(root, 2), (config.batch_size,), 0, config.n_classes
  )
  return sim, gdu.GDU(**config.gdu.to_dict()), params, x, labels, jax.random.fold_in(root, 3)


def plot(result: gdu.GDUResult, units: int, path: str, title: str):
  """EP (lines) against −BPTT (dots) over t for a few units per layer.

  The units are the largest-signal one and those at the 90th, 50th, ...
  percentile of BPTT's summed magnitude (``units`` in all).
  """
  names = [n for n in result.ep]
  fig, axes = plt.subplots(1, len(names), figsize=(3.6 * len(names), 3.2), squeeze=False)
  for ax, name in zip(axes[0], names):
    ep, bp = result.ep[name], result.bptt[name]
    order = np.argsort(-np.abs(bp).sum(0))
    order = order[: max(1, int(np.count_nonzero(np.abs(bp).sum(0))))]
    picks = order[np.unique(np.linspace(0, 0.5, units) * len(order)).astype(int)]
    t = np.arange(ep.shape[0])
    for j, i in enumerate(picks):
      ax.plot(t, ep[:, i], '-', color=f'C{j}', label='EP' if j == 0 else None)
      ax.plot(t, bp[:, i], 'o', color=f'C{j}', ms=3, alpha=0.6, label='−BPTT' if j == 0 else None)
    ax.set_title(f'{name} ({"neurons" if name.startswith("s") else "synapses"})')
    ax.set_xlabel('t')
    ax.axhline(0, color='k', lw=0.5)
  axes[0, 0].legend()
  fig.suptitle(title, fontsize=9)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def main(argv):
  del argv
  config = FLAGS.config
  with launch.flag_errors('--config'):
    gdu.GDU(**config.gdu.to_dict())  # its checks, before JAX starts
  if config.x64:
    jax.config.update('jax_enable_x64', True)
  launch.check_output_folder(FLAGS.workdir)
  with launch.flag_errors('--config'):  # the library's constructors check every field
    sim, settings, params, x, labels, key = build(config)
  start = time.time()
  result = gdu.gdu_check(sim, settings, params, x, labels, key)
  seconds = time.time() - start

  shapes = '-'.join(str(int(np.prod(s))) for s in (config.input_shape,) + sim.network.layer_shapes)
  info = {
    'setting': SETTINGS.get(config.neuron.name, config.neuron.name),
    'architecture': shapes,
    'network': config.network.to_dict(),
    'neuron': repr(sim.neuron),
    'T': settings.t_free,
    'K': settings.k,
    'beta': settings.beta,
    'nudging': settings.nudging,
    'draws': settings.draws,
    'batch_size': config.batch_size,
    'dtype': str(x.dtype),
    'seed': config.seed,
    'inputs': 'uniform [0, 1], random labels',
    'residual_end': {f's{i + 1}': float(r) for i, r in enumerate(result.residual[-1])},
    'residual_max_last_k': {f's{i + 1}': float(r) for i, r in enumerate(result.residual.max(0))},
    'wall_seconds': seconds,
  }
  launch.write_json(
    os.path.join(FLAGS.workdir, 'gradcheck.json'), {'settings': info, 'layers': result.metrics}
  )
  title = (
    f'{info["setting"]} {shapes}, {settings.nudging} β={settings.beta}, '
    f'T={settings.t_free}, K={settings.k}, M={settings.draws}'
  )
  plot(result, config.plot_units, os.path.join(FLAGS.workdir, 'gradcheck.png'), title)

  print(title)
  print('residual at T:', ', '.join(f'{k} {v:.2e}' for k, v in info['residual_end'].items()))
  print(f'{"layer":>14} {"rel_rmse":>10} {"sign_error":>10} {"cosine":>8}')
  for name, m in result.metrics.items():
    print(f'{name:>14} {m["rel_rmse"]:10.2e} {m["sign_error"]:10.4f} {m["cosine"]:8.5f}')
  print(f'{seconds:.1f}s; wrote {FLAGS.workdir}/gradcheck.json and gradcheck.png')


if __name__ == '__main__':
  define_flags()
  launch.run(main)
