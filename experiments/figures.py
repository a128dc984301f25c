"""The figures of [StochEP] (SPEC 6, 7, 9), trained and drawn by one command.

    python experiments/figures.py --workdir=runs/figures            # Fashion-MNIST, minutes on a CPU
    python experiments/figures.py --workdir=/tmp/figs --smoke       # synthetic data, seconds

Trains what it needs briefly (StochEP EP 784-512-10 on Fashion-MNIST from ``--data_dir``,
``--train_steps`` SGD steps of batch 128 from initialisation, one network per setting) and writes
to ``--workdir`` a PNG and a JSON of the plotted numbers for each of:

* ``fig3_membrane``: membrane potential of the hidden layer (up to 512 units) over a free
  phase then a +β nudged phase on 100 training images (the units × time heatmap of the first
  one; the phase transition is the dashed line; the JSON also has the mean |Δv| per step over
  all of them and over their last 10 steps of each phase), for (a) StochEP and the
  deterministic LIF baselines (b) low-pass, (c) predictive coding with a
  step schedule, (d) step schedule only (SPEC 7), all run on the same (StochEP-trained)
  weights **[choice]**; with ``stochep_jax.stability.phase_stability`` (per phase and layer:
  mean |Δv| over the last 10 steps and the fraction of units moving by more than 1e-3).
  The membrane is the model's ``membrane(state)``: u (StochEP), v (LIF), ξ (predictive).
* ``fig4_rasters``: hidden spike rasters (first test image, free phase) for κ ∈ {0.5, 1, 2, 4}
  (one network trained per κ), with the firing density = mean hidden spike per unit and step
  over the free phase and ``--n_samples`` test images. [StochEP Fig. 4]: about 0.04 at κ 0.5
  to 0.26 at κ 4 on MNIST.
* ``fig5_error``: the output error signal over time for N_perclass ∈ {1, 10, 100} (one network
  trained per value), averaged over 128 test images. **[choice]** The error signal at step t
  is e^t = Σ_j |∂C/∂s_{L,j}(p_L^t)| = Σ_j |p_{L,j}^t − ŷ_j| (MSE), summed over the
  10·N_perclass output units: the nudging force is −β times this gradient, so β·e^t is the
  summed magnitude of what the nudge injects. Shown over the free phase (what the nudge would
  inject at that state) and the +β nudged phase.
* ``energy``: the table of ``stochep_jax.opcount.report.energy_report`` (as ``experiments/energy.py``) on the κ = 1
  network and 128 test images, drawn as bars of pJ per example.

Networks and simulators are assembled (``stochep_jax.assembly``) from ``config(s)``:
``base_config()`` with the run's sizes, StochEP with threefry noise and the EP phases; the
panels of Fig. 3 change only ``neuron.name``, Fig. 4 ``neuron.stochep.kappa``, Fig. 5
``network.n_perclass``.

``summary.json`` holds every figure's headline numbers and the wall time.
"""

import json
import os
import tempfile
import time

import jax
import jax.numpy as jnp
import matplotlib
import ml_collections
import numpy as np
from absl import flags

from experiments import launch
from experiments.configs import base
from stochep_jax import assembly, data, dynamics, estimators, stability
from stochep_jax.opcount import report as report_lib

matplotlib.use('Agg')
from matplotlib import pyplot as plt

FLAGS = flags.FLAGS
KAPPAS = (0.5, 1.0, 2.0, 4.0)
N_PERCLASS = (1, 10, 100)
# Fig. 3's panels: (a) StochEP and the deterministic LIF baselines (b)-(d), by NEURONS name.
PANELS = {'a': 'stochep', 'b': 'lif_lowpass', 'c': 'lif_predictive', 'd': 'lif_schedule'}


def _energy_module():
  """experiments/energy.py (its flags are defined only when it runs as a script)."""
  from experiments import energy  # noqa: PLC0415

  return energy


def settings(smoke: bool) -> dict:
  """The run's sizes: the default experiment's phases (energy.SETTINGS), fewer for --smoke."""
  e = _energy_module()
  s = dict(e.SMOKE if smoke else e.SETTINGS)
  s.update(
    train_steps=1 if smoke else 40,
    n_membrane=16 if smoke else 100,
    n_samples=16 if smoke else 128,
    max_units=512,
  )
  return s


# --------------------------------------------------------------------------
# Configs, training and tracing
# --------------------------------------------------------------------------
def config(
  s: dict, *, kappa: float | None = None, n_perclass: int = 1
) -> ml_collections.ConfigDict:
  """``base_config()`` with the settings ``s``: StochEP (threefry) 784-hidden-(10·n_perclass), EP.

  ``kappa`` (default ``s['kappa']``) and ``n_perclass`` are what Figs. 4 and 5 vary.
  """
  c = base.base_config()
  c.dataset = s['dataset']
  c.network = base.network_config('dense', hidden=tuple(s['hidden']))
  c.network.n_perclass = n_perclass
  kappa = s['kappa'] if kappa is None else kappa
  c.neuron.stochep.update(decay=s['decay'], kappa=kappa, generator='threefry')
  c.ep.update(t_free=s['t_free'], t_nudge=s['t_nudge'], beta=s['beta'], k_avg=s['k_avg'])
  return c


def network(c: ml_collections.ConfigDict):
  """The config's network on flattened images (``load_images``: 784 inputs, 10 classes)."""
  return assembly.make_network(c.network, 784, 10)


def simulator(c: ml_collections.ConfigDict, net):
  """The config's simulator (neuron ``c.neuron.name``, analog input, chunk 25) on ``net``."""
  return assembly.make_simulator(net, c.neuron, c.input, c.simulator, t_free=c.ep.t_free)


def ep_settings(c: ml_collections.ConfigDict) -> estimators.EP:
  """The config's EP phases (``train_briefly`` and the traces take them as ``EP``)."""
  return estimators.EP(**assembly.estimator_settings(c))


def trained(s, data_dir, *, kappa=1.0, n_perclass=1, seed=0, cache=None):
  """A StochEP 784-hidden-(10·n_perclass) network trained briefly; (network, params)."""
  e = _energy_module()
  k = (kappa, n_perclass)
  if cache is not None and k in cache:
    return cache[k]
  c = config(s, kappa=kappa, n_perclass=n_perclass)
  net = network(c)
  params = net.init(jax.random.key(seed))
  stoch, ep = simulator(c, net), ep_settings(c)
  xt, yt = _images(e, s, data_dir, 'train', s['train_steps'] * s['train_batch'])
  params = e.train_briefly(stoch, ep, params, xt, yt, s['train_steps'], s['train_batch'],
                           s['learning_rates'], seed)  # fmt: skip
  if cache is not None:
    cache[k] = (net, params)
  return net, params


def free_then_nudge(sim, params, x, y, ep, key, trace_fn):
  """trace_fn(states) over EP's free phase then its β₁ phase (``estimators.ep_phases``), on time."""
  phases = estimators.ep_phases(sim, ep, params, x, y, key, trace_fn=trace_fn)
  return jax.tree_util.tree_map(
    lambda a, c: jnp.concatenate([a, c]), phases.free.trace, phases.plus.trace
  )


def _stability(sim, ep, params, x, y, key):
  """``stability.phase_stability`` (last K = 10 steps of each phase, tol 1e-3), as lists.

  Per phase EP runs ('free', 'plus' and, symmetric, 'minus'): ``mean_abs_dv`` and
  ``frac_moving`` per neuron layer (hidden first).
  """
  k = min(10, ep.t_free, ep.t_nudge)
  out = stability.phase_stability(sim, ep, params, x, y, key, k=k)
  return {
    phase: {'mean_abs_dv': np.asarray(st.mean_abs_dv).tolist(),
            'frac_moving': np.asarray(st.frac_moving).tolist(), 'k': k, 'tol': 1e-3}
    for phase, st in out.items()
  }  # fmt: skip


# --------------------------------------------------------------------------
# The figures
# --------------------------------------------------------------------------
def fig3(s, data_dir, out_dir, cache):
  e = _energy_module()
  net, params = trained(s, data_dir, cache=cache)
  x, y = _images(e, s, data_dir, 'train', s['n_membrane'])
  x, y = jnp.asarray(x), jnp.asarray(y)
  c = config(s)
  ep = ep_settings(c)
  units = min(s['max_units'], int(np.prod(net.layer_shapes[0])))
  models = PANELS  # panel -> neuron.name (the baselines with their defaults)
  result = {'t_free': ep.t_free, 't_nudge': ep.t_nudge, 'n_samples': int(x.shape[0]),
            'units': units, 'panels': {}}  # fmt: skip
  for panel, name in models.items():
    c.neuron.name = name
    sim = simulator(c, net)
    neuron = sim.neuron
    key = jax.random.key(3) if sim.has_noise(x.shape) else None
    v = jax.jit(lambda p, x, y, k, sim=sim: free_then_nudge(
      sim, p, x, y, ep, k, lambda st, n=neuron: n.membrane(st[0])[:, :units]))(params, x, y, key)  # fmt: skip
    v = np.asarray(v)  # [T, B, units]
    dv = np.abs(np.diff(v, axis=0))  # [T-1, B, units]
    result['panels'][panel] = {
      'model': name,
      'heatmap_first_sample': np.round(v[:, 0].T, 4).tolist(),  # [units, T]
      'mean_abs_dv_per_step': dv.mean((1, 2)).tolist(),  # over the samples and units
      'stability': _stability(sim, ep, params, x, y, key),
      'mean_abs_dv_last10_free': float(np.abs(np.diff(v[ep.t_free - 11 : ep.t_free], axis=0)).mean()),
      'mean_abs_dv_last10_nudge': float(np.abs(np.diff(v[-11:], axis=0)).mean()),
    }  # fmt: skip
  fig, axes = plt.subplots(1, len(models), figsize=(4 * len(models), 3.4), squeeze=False)
  for ax, (panel, r) in zip(axes[0], result['panels'].items()):
    im = ax.imshow(np.asarray(r['heatmap_first_sample']), aspect='auto', cmap='viridis',
                   interpolation='nearest')  # fmt: skip
    ax.axvline(ep.t_free - 0.5, color='w', ls='--', lw=1)
    ax.set_title(f'({panel}) {r["model"]}', fontsize=9)
    ax.set_xlabel('step (free | nudge)')
    ax.set_ylabel('hidden unit')
    fig.colorbar(im, ax=ax)
  fig.suptitle('membrane potential of the first training image (|Δv| over all '
               f'{result["n_samples"]} in the JSON)', fontsize=9)  # fmt: skip
  fig.tight_layout()
  fig.savefig(os.path.join(out_dir, 'fig3_membrane.png'), dpi=100)
  plt.close(fig)
  return result


def fig4(s, data_dir, out_dir, cache):
  e = _energy_module()
  x, _ = _images(e, s, data_dir, 'test', s['n_samples'])
  x = jnp.asarray(x)
  result = {'kappas': list(KAPPAS), 't_free': s['t_free'], 'n_samples': int(x.shape[0]),
            'density': [], 'rasters_first_image': []}  # fmt: skip
  for kappa in KAPPAS:
    net, params = trained(s, data_dir, kappa=kappa, cache=cache)
    sim = simulator(config(s, kappa=kappa), net)
    spikes = jax.jit(lambda p, x, sim=sim: dynamics.free_phase(
      sim, p, x, jax.random.key(4), t_free=s['t_free'], trace_fn=lambda st: st[0].s).trace)(
      params, x)  # fmt: skip
    spikes = np.asarray(spikes)  # [T, B, hidden]
    result['density'].append(float(spikes.mean()))
    units = min(s['max_units'], spikes.shape[-1])
    result['rasters_first_image'].append(spikes[:, 0, :units].T.astype(int).tolist())
  fig, axes = plt.subplots(1, len(KAPPAS), figsize=(3.6 * len(KAPPAS), 3.2), squeeze=False)
  for ax, kappa, d, r in zip(axes[0], KAPPAS, result['density'], result['rasters_first_image']):
    ax.imshow(np.asarray(r), aspect='auto', cmap='Greys', interpolation='nearest')
    ax.set_title(f'κ = {kappa}: density {d:.3f}', fontsize=9)
    ax.set_xlabel('free-phase step')
    ax.set_ylabel('hidden unit')
  fig.tight_layout()
  fig.savefig(os.path.join(out_dir, 'fig4_rasters.png'), dpi=100)
  plt.close(fig)
  return result


def fig5(s, data_dir, out_dir, cache):
  e = _energy_module()
  x, y = _images(e, s, data_dir, 'test', s['n_samples'])
  x, y = jnp.asarray(x), jnp.asarray(y)
  result = {'n_perclass': list(N_PERCLASS), 't_free': s['t_free'], 't_nudge': s['t_nudge'],
            'beta': s['beta'], 'n_samples': int(x.shape[0]), 'error_signal': []}  # fmt: skip
  for n in N_PERCLASS:
    net, params = trained(s, data_dir, n_perclass=n, cache=cache)
    c = config(s, n_perclass=n)
    sim, ep = simulator(c, net), ep_settings(c)

    def trace(st, net=net, sim=sim, params=params):
      g = net.cost_grad(params, sim.neuron.mean(st[-1]), y)
      return jnp.sum(jnp.abs(g).reshape(g.shape[0], -1), -1)

    err = jax.jit(lambda p, x, y, sim=sim, ep=ep, trace=trace: free_then_nudge(
      sim, p, x, y, ep, jax.random.key(5), trace))(params, x, y)  # fmt: skip
    result['error_signal'].append(np.asarray(err).mean(1).tolist())  # [T], mean over samples
  result['mean_error_nudge'] = [float(np.mean(v[s['t_free'] :])) for v in result['error_signal']]
  fig, ax = plt.subplots(figsize=(5.5, 3.6))
  for n, v in zip(N_PERCLASS, result['error_signal']):
    ax.plot(np.arange(len(v)), v, label=f'N_perclass = {n}')
  ax.axvline(s['t_free'] - 0.5, color='k', ls='--', lw=1)
  ax.set_yscale('log')
  ax.set_xlabel('step (free | +β nudge)')
  ax.set_ylabel('Σ_j |∂C/∂s_L,j|')
  ax.set_title(f'output error signal, mean over {result["n_samples"]} test images', fontsize=9)
  ax.legend(fontsize=8, loc='center left')
  fig.tight_layout()
  fig.savefig(os.path.join(out_dir, 'fig5_error.png'), dpi=100)
  plt.close(fig)
  return result


def energy_figure(s, data_dir, out_dir, cache):
  e = _energy_module()
  net, params = trained(s, data_dir, cache=cache)
  x, y = _images(e, s, data_dir, 'test', s['n_samples'])
  source = f'StochEP EP, {s["train_steps"]} SGD steps of batch {s["train_batch"]} from init'
  report = report_lib.energy_report(
    net, params, x, y, s, key=jax.random.key(6), params_source=source
  )
  fig, ax = plt.subplots(figsize=(6, 3.6))
  width = 0.38
  idx = np.arange(len(report_lib.METHODS))
  for i, phase in enumerate(('inference', 'training')):
    vals = [report['methods'][m][phase]['pj'] / 1e6 for m in report_lib.METHODS]
    ax.bar(idx + (i - 0.5) * width, vals, width, label=phase)
  ax.set_xticks(idx, report_lib.METHODS)
  ax.set_yscale('log')
  ax.set_ylabel('µJ per example (45 nm, arithmetic only)')
  ax.set_title(report['architecture'], fontsize=9)
  ax.legend(fontsize=8)
  fig.tight_layout()
  fig.savefig(os.path.join(out_dir, 'energy.png'), dpi=100)
  plt.close(fig)
  report['table'] = report_lib.format_table(report)
  return report


def run(
  workdir: str,
  smoke: bool = False,
  data_dir: str = '',
  train_steps: int = -1,
  dataset: str = 'fashion_mnist',
) -> dict:
  """Trains, draws and writes everything (module docstring); returns the summary."""
  start = time.time()
  s = dict(settings(smoke), dataset=dataset)
  if train_steps >= 0:
    s['train_steps'] = train_steps
  os.makedirs(workdir, exist_ok=True)
  cache, summary, timings = {}, {}, {}
  with tempfile.TemporaryDirectory() as tmp:
    if smoke:
      data_dir = _energy_module().synthetic_dir(tmp)
    for name, fn in (('fig3_membrane', fig3), ('fig4_rasters', fig4), ('fig5_error', fig5),
                     ('energy', energy_figure)):  # fmt: skip
      t = time.time()
      r = fn(s, data_dir, workdir, cache)
      r['settings'] = {k: (list(v) if isinstance(v, tuple) else v) for k, v in s.items()}
      r['data'] = 'synthetic' if smoke else data_dir
      launch.write_json(os.path.join(workdir, f'{name}.json'), r)
      timings[name] = time.time() - t
      print(f'{name}: {timings[name]:.1f}s', flush=True)
  f3 = json.load(open(os.path.join(workdir, 'fig3_membrane.json')))
  f4 = json.load(open(os.path.join(workdir, 'fig4_rasters.json')))
  f5 = json.load(open(os.path.join(workdir, 'fig5_error.json')))
  en = json.load(open(os.path.join(workdir, 'energy.json')))
  summary = {
    'fig3': {
      p: {k: v for k, v in r.items() if k not in ('heatmap_first_sample', 'mean_abs_dv_per_step')}
      for p, r in f3['panels'].items()
    },  # fmt: skip
    'fig4_density': dict(zip(map(str, KAPPAS), f4['density'])),
    'fig5_mean_error_nudge': dict(zip(map(str, N_PERCLASS), f5['mean_error_nudge'])),
    'energy_pj': {
      m: {p: r[p]['pj'] for p in ('inference', 'training')} for m, r in en['methods'].items()
    },  # fmt: skip
    'energy_ratios': en['ratios'],
    'seconds': timings,
    'wall_seconds': time.time() - start,
    'smoke': smoke,
  }
  launch.write_json(os.path.join(workdir, 'summary.json'), summary)
  print(en['table'])
  return summary


def _images(e, s, data_dir, split, n, offset=0):
  """The first ``n`` images of a split of the run's dataset (``s['dataset']``)."""
  return e.load_images(data_dir, split, n, offset, dataset=s['dataset'])


def main(argv):
  del argv
  launch.check_output_folder(FLAGS.workdir)
  r = run(FLAGS.workdir, FLAGS.smoke, FLAGS.data_dir, FLAGS.train_steps, FLAGS.dataset)
  print(json.dumps({k: r[k] for k in ('fig4_density', 'fig5_mean_error_nudge', 'wall_seconds')}))


if __name__ == '__main__':
  flags.DEFINE_string('workdir', None, 'Directory for the PNGs and JSONs.')
  flags.DEFINE_bool('smoke', False, 'Tiny networks, synthetic data (seconds).')
  flags.DEFINE_string('data_dir', data.DEFAULT_FASHION_MNIST_DIR, 'The IDX files of --dataset.')
  flags.DEFINE_enum(
    'dataset', 'fashion_mnist', ['fashion_mnist', 'mnist'], "Images (MNIST: the paper's Figs. 3-4)."
  )
  flags.DEFINE_integer('train_steps', -1, 'SGD steps per network (-1 = 40, smoke 1).')
  flags.mark_flag_as_required('workdir')
  launch.run(main)
