"""The figures of [StochEP] (Figs. 3-5 and the energy table), drawn by one command.

    python experiments/figures.py --workdir=runs/figures            # Fashion-MNIST, minutes on a CPU
    python experiments/figures.py --workdir=runs/figures --demo_workdir=runs/demo_bf16 \
        --conv_workdir=runs/fmnist_conv                           # from trained networks
    python experiments/figures.py --workdir=/tmp/figs --smoke       # synthetic data, seconds

Trains what it needs briefly (StochEP EP 784-512-10 on Fashion-MNIST from ``--data_dir``,
``--train_steps`` SGD steps of batch 128 from initialisation, one network per setting) and writes
to ``--workdir`` a PNG and a JSON of the plotted numbers for each of:

* ``fig3_membrane``: [StochEP] Fig. 3 as the paper draws it: per panel, a heatmap of |Δv| per
  hidden unit (up to 512) and step over a free phase then a +β nudged phase, the mean over
  ``n_membrane`` training images, on a logarithmic colour scale shared by the four panels
  (zero changes in the scale's lowest colour); below it the potential v of the first image.
  Panels: (a) StochEP and the deterministic LIF baselines (b) low-pass, (c) predictive coding
  with a step schedule, (d) step schedule only ([StochEP] Fig. 3), all run on the same
  StochEP-trained weights **[choice]**: the ``--demo_workdir`` checkpoint's (a ``train.py``
  run, e.g. the demo), else the briefly trained network. Each title has the panel's
  ``stochep_jax.stability.phase_stability`` (last 10 steps of the free and the nudged phase:
  mean |Δv| and the fraction of units moving by more than 1e-3); ``reading`` in the JSON
  compares them with what the paper draws (``fig3_reading``). The membrane is the model's
  ``membrane(state)``: u (StochEP), v (LIF), ξ (predictive).
* ``fig4_rasters``: hidden spike rasters (first test image, free phase) for κ ∈ {0.5, 1, 2, 4}
  (one network trained briefly per κ), with the firing density = mean hidden spike per unit and
  step over the free phase and ``n_samples`` test images. [StochEP Fig. 4]: about 0.04 at κ 0.5
  to 0.26 at κ 4 on MNIST. With ``--demo_workdir`` a second row: the trained network's
  weights run at each κ (only κ changes, at inference; ``trained`` in the JSON).
* ``fig5_error``: the output error signal over time for N_perclass ∈ {1, 10, 100} (one dense
  network trained per value), averaged over ``n_samples`` test images. **[choice]** The error
  signal at step t is e^t = Σ_j |∂C/∂s_{L,j}(p_L^t)| = Σ_j |p_{L,j}^t − ŷ_j| (MSE), summed
  over the 10·N_perclass output units: the nudging force is −β times this gradient, so β·e^t
  is the summed magnitude of what the nudge injects. Shown over the free phase (what the
  nudge would inject at that state) and the +β nudged phase.
* ``fig5_conv_error``: the same on the convolutional net of
  ``experiments/configs/fashion_mnist_conv.py`` (2C2FC 32/64, FC 512; its ``:smoke`` variant
  with ``--smoke``), as the paper draws Fig. 5 on a conv net: N_perclass 1, 10, 100 trained
  ``--conv_train_steps`` steps of the config's own estimator and optimiser from initialisation,
  and the ``--conv_workdir`` checkpoint at its own N_perclass (4), if given.
* ``energy``: the table of ``stochep_jax.opcount.report.energy_report`` (as
  ``experiments/energy.py``) on the trained network (``--demo_workdir``) or the briefly
  trained κ = 1 network, and ``n_samples`` test images, drawn as bars of pJ per example.

Networks and simulators are assembled (``stochep_jax.assembly``) from ``config(s)``:
``base_config()`` with the run's sizes, StochEP with threefry noise and the EP phases; the
panels of Fig. 3 change only ``neuron.name``, Fig. 4 ``neuron.stochep.kappa``, Fig. 5
``network.n_perclass``. A checkpoint is never trained further.

``summary.json`` holds every figure's headline numbers and the wall time.
"""

import json
import os
import tempfile
import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import matplotlib
import ml_collections
import numpy as np
from absl import flags

from experiments import launch
from experiments.configs import base, fashion_mnist_conv
from stochep_jax import assembly, data, dynamics, estimators, short_runs, stability
from stochep_jax.opcount import report as report_lib

matplotlib.use('Agg')
from matplotlib import colors as mcolors
from matplotlib import pyplot as plt

FLAGS = flags.FLAGS
KAPPAS = (0.5, 1.0, 2.0, 4.0)
N_PERCLASS = (1, 10, 100)
# Fig. 3's panels: (a) StochEP and the deterministic LIF baselines (b)-(d), by NEURONS name.
PANELS = {'a': 'stochep', 'b': 'lif_lowpass', 'c': 'lif_predictive', 'd': 'lif_schedule'}
# What [StochEP] Fig. 3 shows of each panel, and whether that means its units settle.
PAPER_FIG3 = {
  'a': ('settles smoothly', True),
  'b': ('flickers', False),
  'c': ('converges', True),
  'd': ('fluctuates', False),
}
# **[choice]** A panel's units "settle" when at most this fraction of the hidden units moves
# (mean |Δv| > tol over the last 10 free steps); its layer "settles in the mean" when the
# layer-mean membrane moves by less than tol per step there.
SETTLED_FRACTION = 0.1
TOL = 1e-3


def define_flags() -> None:
  """The launcher's flags, defined when it runs as a script (importing the module for its
  functions defines none, so it never clashes with another launcher's flags)."""
  flags.DEFINE_string('workdir', None, 'Directory for the PNGs and JSONs.')
  flags.DEFINE_bool('smoke', False, 'Tiny networks, synthetic data (seconds).')
  flags.DEFINE_string('data_dir', data.DEFAULT_FASHION_MNIST_DIR, 'The IDX files of --dataset.')
  flags.DEFINE_enum(
    'dataset', 'fashion_mnist', ['fashion_mnist', 'mnist'], "Images (MNIST: the paper's Figs. 3-4)."
  )
  flags.DEFINE_integer('train_steps', -1, 'SGD steps per network (-1 = 40, smoke 1).')
  flags.DEFINE_string('demo_workdir', '', 'A train.py run (StochEP) for Figs. 3, 4, energy.')
  flags.DEFINE_string('conv_workdir', '', 'A train.py run of the conv config for Fig. 5.')
  flags.DEFINE_integer('conv_train_steps', -1, 'Steps per conv net of Fig. 5 (-1 = 40, smoke 1).')
  flags.mark_flag_as_required('workdir')
  launch.integer('train_steps', -1)
  launch.integer('conv_train_steps', -1)


class Trained(NamedTuple):
  """A trained network: its config, simulator (network under its precision policy), params."""

  config: ml_collections.ConfigDict
  sim: dynamics.Simulator
  params: object
  source: str


def settings(smoke: bool) -> dict:
  """The run's sizes: the default experiment's phases (short_runs.SETTINGS), fewer for --smoke."""
  s = dict(short_runs.SMOKE if smoke else short_runs.SETTINGS)
  s.update(
    train_steps=1 if smoke else 40,
    n_membrane=16 if smoke else 100,
    n_samples=16 if smoke else 128,
    max_units=512,
    conv_train_steps=1 if smoke else 40,
    conv_n_samples=8 if smoke else 64,
  )
  if smoke:  # the conv config's :smoke variant, shorter still
    s.update(conv_t_free=12, conv_t_nudge=6, conv_k_avg=3, conv_batch=16)
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


def conv_config(s: dict, smoke: bool, n_perclass: int) -> ml_collections.ConfigDict:
  """``experiments/configs/fashion_mnist_conv.py`` (``:smoke`` with ``smoke``) at ``n_perclass``;
  ``s['conv_t_free']`` etc., where set, change its phases."""
  c = fashion_mnist_conv.get_config('smoke' if smoke else None)
  c.dataset = s['dataset']
  c.network.n_perclass = n_perclass
  for k in ('t_free', 't_nudge', 'k_avg'):
    if s.get(f'conv_{k}'):
      c.ep[k] = s[f'conv_{k}']
  c.batch_size = s.get('conv_batch') or c.batch_size
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


def with_neuron(t: Trained, name: str, **fields) -> dynamics.Simulator:
  """``t``'s network, input and simulator settings with the neuron model ``name``: the trained
  config's sub-block if it has one, else ``base_config()``'s defaults, updated by ``fields``."""
  c = t.config
  block = c.neuron[name] if name in c.neuron else base.base_config().neuron[name]
  neuron = {'name': name, name: {**assembly.as_dict(block), **fields}}
  return assembly.make_simulator(t.sim.network, neuron, c.input, c.simulator, t_free=c.ep.t_free)


def trained(s, data_dir, *, kappa=1.0, n_perclass=1, seed=0, cache=None):
  """A StochEP 784-hidden-(10·n_perclass) network trained briefly; (network, params)."""
  k = (kappa, n_perclass)
  if cache is not None and k in cache:
    return cache[k]
  c = config(s, kappa=kappa, n_perclass=n_perclass)
  net = network(c)
  params = net.init(jax.random.key(seed))
  stoch, ep = simulator(c, net), ep_settings(c)
  if s['train_steps'] > 0:
    xt, yt = _images(s, data_dir, 'train', s['train_steps'] * s['train_batch'])
    params = short_runs.train_briefly(stoch, ep, params, xt, yt, s['train_steps'],
                                      s['train_batch'], s['learning_rates'], seed)  # fmt: skip
  if cache is not None:
    cache[k] = (net, params)
  return net, params


def brief(s, data_dir, cache) -> Trained:
  """The briefly trained κ = 1 network as a ``Trained``."""
  c = config(s)
  net, params = trained(s, data_dir, cache=cache)
  source = f'StochEP EP, {s["train_steps"]} SGD steps of batch {s["train_batch"]} from init'
  return Trained(c, simulator(c, net), params, source)


def from_checkpoint(workdir: str) -> Trained:
  """A ``train.py`` run's newest checkpoint (``launch.load_trained``), never trained further."""
  c, sim, params, epoch = launch.load_trained(workdir)
  return Trained(c, sim, params, f'checkpoint {workdir}, epoch {epoch}')


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
  out = jax.jit(
    lambda p, x, y, key: stability.phase_stability(sim, ep, p, x, y, key, k=k, tol=TOL)
  )(
    params, x, y, key
  )  # one program (run eagerly, each phase and each operation around it compiles on its own)
  return {
    phase: {'mean_abs_dv': np.asarray(st.mean_abs_dv).tolist(),
            'frac_moving': np.asarray(st.frac_moving).tolist(), 'k': k, 'tol': TOL}
    for phase, st in out.items()
  }  # fmt: skip


def _round(a, digits=3):
  """A float array as nested lists of ``digits`` significant digits (smaller JSON)."""
  return np.vectorize(lambda v: float(f'{v:.{digits}g}'), otypes=[float])(np.asarray(a)).tolist()


# --------------------------------------------------------------------------
# The figures
# --------------------------------------------------------------------------
def fig3_reading(result: dict) -> list[str]:
  """What the measured panels say against what the paper draws, from the numbers only.

  Per panel: the paper's reading (``PAPER_FIG3``), the fraction of hidden units moving and
  their mean |Δv| over the last 10 free steps, and whether the units settle (at most
  ``SETTLED_FRACTION`` moving) or only their layer mean does; then the panels ordered by
  mean |Δv|.
  """
  lines = []
  for panel, r in result['panels'].items():
    st = r['stability']['free']
    frac, mdv, mean_dv = st['frac_moving'][0], st['mean_abs_dv'][0], r['layer_mean_abs_dv_free']
    paper, paper_settles = PAPER_FIG3[panel]
    settles = frac <= SETTLED_FRACTION
    in_mean = mean_dv < TOL
    how = ('its units settle' if settles else
           'its units keep moving, but their layer mean settles' if in_mean else
           'its units and their layer mean keep moving')  # fmt: skip
    verdict = 'agrees with' if settles == paper_settles else 'disagrees with'
    lines.append(
      f'({panel}) {r["model"]}: the paper draws it {paper}; we measure {100 * frac:.0f} % of '
      f'the hidden units moving by more than {TOL:g} per step over the last {st["k"]} free '
      f'steps (mean |Δv| {mdv:.2g}; the layer mean moves {mean_dv:.2g} per step): {how}, '
      f'which {verdict} the paper.'
    )
  order = sorted(result['panels'], key=lambda p: -result['panels'][p]['stability']['free']
                 ['mean_abs_dv'][0])  # fmt: skip
  dv = {p: r['stability']['free']['mean_abs_dv'][0] for p, r in result['panels'].items()}
  ref = dv.get('a') or 1.0
  lines.append(
    'Least to most stable by mean |Δv| over the last free steps: '
    + ' > '.join(f'({p}) {result["panels"][p]["model"]} ({dv[p] / ref:.2g}× (a))' for p in order)
    + '.'
  )
  return lines


def fig3(s, data_dir, out_dir, cache, t: Trained | None = None):
  t = t or brief(s, data_dir, cache)
  net, params = t.sim.network, t.params
  x, y = _images(s, data_dir, 'train', s['n_membrane'])
  x, y = jnp.asarray(x.reshape(len(x), *net.input_shape)), jnp.asarray(y)
  ep = ep_settings(t.config)
  units = min(s['max_units'], int(np.prod(net.layer_shapes[0])))
  result = {'t_free': ep.t_free, 't_nudge': ep.t_nudge, 'n_samples': int(x.shape[0]),
            'units': units, 'params_source': t.source, 'panels': {}}  # fmt: skip
  for panel, name in PANELS.items():
    sim = with_neuron(t, name)
    neuron = sim.neuron
    key = jax.random.key(3) if sim.has_noise(x.shape) else None

    def trace(st, n=neuron):
      v = n.membrane(st[0])
      return v.reshape(v.shape[0], -1)[:, :units]

    v = jax.jit(lambda p, x, y, k, sim=sim, trace=trace: free_then_nudge(
      sim, p, x, y, ep, k, trace))(params, x, y, key)  # fmt: skip
    v = np.asarray(v, np.float32)  # [T, B, units]
    dv = np.abs(np.diff(v, axis=0))  # [T-1, B, units]
    free = v[ep.t_free - 11 : ep.t_free]
    result['panels'][panel] = {
      'model': name,
      'abs_dv_heatmap': _round(dv.mean(1).T),  # [units, T-1], mean over the samples
      'heatmap_first_sample': _round(v[:, 0].T, 4),  # [units, T]
      'mean_abs_dv_per_step': dv.mean((1, 2)).tolist(),  # over the samples and units
      'stability': _stability(sim, ep, params, x, y, key),
      'mean_abs_dv_last10_free': float(np.abs(np.diff(free, axis=0)).mean()),
      'mean_abs_dv_last10_nudge': float(np.abs(np.diff(v[-11:], axis=0)).mean()),
      'layer_mean_abs_dv_free': float(np.abs(np.diff(free.mean(-1), axis=0)).mean()),
    }  # fmt: skip
  result['reading'] = fig3_reading(result)
  heat = [np.asarray(r['abs_dv_heatmap']) for r in result['panels'].values()]
  positive = np.concatenate([h[h > 0] for h in heat] + [np.ones(0)])
  vmax = float(positive.max()) if positive.size else 1.0
  vmin = float(max(positive.min(), vmax * 1e-6)) if positive.size else vmax * 1e-6
  result['color_scale'] = {'vmin': vmin, 'vmax': vmax, 'norm': 'log', 'shared': True}
  norm = mcolors.LogNorm(vmin=vmin, vmax=vmax)
  magma = plt.get_cmap('magma')
  cmap = magma.with_extremes(bad=magma(0.0))  # |Δv| = 0 (a frozen unit): the lowest colour
  n = len(PANELS)
  fig, axes = plt.subplots(2, n, figsize=(4.2 * n, 7), squeeze=False, layout='constrained')
  for i, (panel, r) in enumerate(result['panels'].items()):
    h = np.asarray(r['abs_dv_heatmap'])
    im = axes[0, i].imshow(np.ma.masked_less_equal(h, 0), aspect='auto', cmap=cmap, norm=norm,
                           interpolation='nearest')  # fmt: skip
    f, p = r['stability']['free'], r['stability']['plus']
    axes[0, i].set_title(
      f'({panel}) {r["model"]}\nfree: |Δv| {f["mean_abs_dv"][0]:.1e}, moving '
      f'{100 * f["frac_moving"][0]:.0f} %\nnudge: |Δv| {p["mean_abs_dv"][0]:.1e}, moving '
      f'{100 * p["frac_moving"][0]:.0f} %', fontsize=8)  # fmt: skip
    axes[0, i].set_xlabel('step (free | +β nudge)')
    pot = axes[1, i].imshow(np.asarray(r['heatmap_first_sample']), aspect='auto',
                            cmap='viridis', interpolation='nearest')  # fmt: skip
    axes[1, i].set_title(f'({panel}) potential v, first image', fontsize=8)
    axes[1, i].set_xlabel('step (free | +β nudge)')
    fig.colorbar(pot, ax=axes[1, i])
    for row in range(2):
      axes[row, i].axvline(ep.t_free - 0.5, color='w', ls='--', lw=1)
    axes[0, i].set_ylabel('hidden unit')
    axes[1, i].set_ylabel('hidden unit')
  fig.colorbar(im, ax=list(axes[0]), label='|Δv| per step (log, one scale)')
  fig.suptitle(f'|Δv| per hidden unit and step, mean over {result["n_samples"]} training images; '
               f'{t.source}', fontsize=9)  # fmt: skip
  fig.savefig(os.path.join(out_dir, 'fig3_membrane.png'), dpi=90)
  plt.close(fig)
  return result


def _rasters(sim, params, x, t_free, max_units):
  """(density, raster of the first image [units, T]) of a free phase."""
  spikes = jax.jit(lambda p, x: dynamics.free_phase(
    sim, p, x, jax.random.key(4), t_free=t_free, trace_fn=lambda st: st[0].s).trace)(
    params, x)  # fmt: skip
  spikes = np.asarray(spikes).reshape(t_free, x.shape[0], -1)  # [T, B, hidden]
  units = min(max_units, spikes.shape[-1])
  return float(spikes.mean()), spikes[:, 0, :units].T.astype(int).tolist()


def fig4(s, data_dir, out_dir, cache, t: Trained | None = None):
  x, _ = _images(s, data_dir, 'test', s['n_samples'])
  result = {'kappas': list(KAPPAS), 't_free': s['t_free'], 'n_samples': int(x.shape[0]),
            'density': [], 'rasters_first_image': []}  # fmt: skip
  for kappa in KAPPAS:
    net, params = trained(s, data_dir, kappa=kappa, cache=cache)
    sim = simulator(config(s, kappa=kappa), net)
    d, r = _rasters(sim, params, jnp.asarray(x), s['t_free'], s['max_units'])
    result['density'].append(d)
    result['rasters_first_image'].append(r)
  rows = [('brief', result)]
  if t is not None and t.config.neuron.name == 'stochep':
    xt = jnp.asarray(x.reshape(len(x), *t.sim.network.input_shape))
    tr = {'source': t.source, 't_free': t.config.ep.t_free, 'density': [],
          'rasters_first_image': []}  # fmt: skip
    for kappa in KAPPAS:
      d, r = _rasters(with_neuron(t, 'stochep', kappa=kappa), t.params, xt, tr['t_free'],
                      s['max_units'])  # fmt: skip
      tr['density'].append(d)
      tr['rasters_first_image'].append(r)
    result['trained'] = tr
    rows.append(('trained', tr))
  fig, axes = plt.subplots(len(rows), len(KAPPAS), figsize=(3.6 * len(KAPPAS), 3.2 * len(rows)),
                           squeeze=False)  # fmt: skip
  for (what, r), ax_row in zip(rows, axes):
    for ax, kappa, d, raster in zip(ax_row, KAPPAS, r['density'], r['rasters_first_image']):
      ax.imshow(np.asarray(raster), aspect='auto', cmap='Greys', interpolation='nearest')
      label = (f'trained at κ {t.config.neuron.stochep.kappa:g}, run at κ = {kappa}'
               if what == 'trained' else f'κ = {kappa}')  # fmt: skip
      ax.set_title(f'{label}: density {d:.3f}', fontsize=8)
      ax.set_xlabel('free-phase step')
      ax.set_ylabel('hidden unit')
  if len(rows) > 1:
    fig.suptitle(f'top: one network trained briefly per κ; bottom: {t.source}', fontsize=9)
  fig.tight_layout()
  fig.savefig(os.path.join(out_dir, 'fig4_rasters.png'), dpi=90)
  plt.close(fig)
  return result


def _error_signal(sim, ep, params, x, y, key):
  """Σ_j |∂C/∂s_L,j| at the output's expected value, per step of free then +β phase,
  mean over the images ([T])."""
  net = sim.network

  def trace(st):
    g = net.cost_grad(params, sim.neuron.mean(st[-1]), y)
    return jnp.sum(jnp.abs(g).reshape(g.shape[0], -1), -1)

  err = jax.jit(lambda p, x, y: free_then_nudge(sim, p, x, y, ep, key, trace))(params, x, y)
  return np.asarray(err).mean(1).tolist()


def _plot_error(result, labels, path, title):
  fig, ax = plt.subplots(figsize=(5.5, 3.6))
  for label, v, tf in zip(labels, result['error_signal'], result['t_free_each']):
    line = ax.plot(np.arange(len(v)), v, label=label)
    ax.axvline(tf - 0.5, color=line[0].get_color(), ls='--', lw=0.8)
  ax.set_yscale('log')
  ax.set_xlabel('step (free | +β nudge)')
  ax.set_ylabel('Σ_j |∂C/∂s_L,j|')
  ax.set_title(title, fontsize=9)
  ax.legend(fontsize=7, loc='center left')
  fig.tight_layout()
  fig.savefig(path, dpi=90)
  plt.close(fig)


def fig5(s, data_dir, out_dir, cache):
  x, y = _images(s, data_dir, 'test', s['n_samples'])
  x, y = jnp.asarray(x), jnp.asarray(y)
  result = {'n_perclass': list(N_PERCLASS), 't_free': s['t_free'], 't_nudge': s['t_nudge'],
            'beta': s['beta'], 'n_samples': int(x.shape[0]), 'error_signal': []}  # fmt: skip
  for n in N_PERCLASS:
    net, params = trained(s, data_dir, n_perclass=n, cache=cache)
    c = config(s, n_perclass=n)
    sim, ep = simulator(c, net), ep_settings(c)
    result['error_signal'].append(_error_signal(sim, ep, params, x, y, jax.random.key(5)))
  result['mean_error_nudge'] = [float(np.mean(v[s['t_free'] :])) for v in result['error_signal']]
  result['t_free_each'] = [s['t_free']] * len(N_PERCLASS)
  _plot_error(result, [f'N_perclass = {n}' for n in N_PERCLASS],
              os.path.join(out_dir, 'fig5_error.png'),
              f'dense net: output error signal, mean over {result["n_samples"]} test images')  # fmt: skip
  return result


def fig5_conv(s, data_dir, out_dir, cache, conv: Trained | None = None, smoke: bool = False):
  """Fig. 5 on the conv config's network (module docstring)."""
  del cache
  x, y = _images(s, data_dir, 'test', s['conv_n_samples'])
  steps = s['conv_train_steps']
  nets = []
  for n in N_PERCLASS:
    c = conv_config(s, smoke, n)
    xt, yt = _images(s, data_dir, 'train', max(steps * c.batch_size, 1))
    sim, params = short_runs.train_config_briefly(c, xt, yt, steps)
    nets.append((n, Trained(c, sim, params, f'{steps} steps of the config from init')))
  if conv is not None:
    n = conv.config.network.n_perclass
    nets.append((n, conv))
    nets.sort(key=lambda e: e[0])
  result = {'n_perclass': [], 'sources': [], 'error_signal': [], 't_free_each': [],
            'architecture': '', 'n_samples': int(x.shape[0])}  # fmt: skip
  for n, t in nets:
    ep = ep_settings(t.config)
    xs = jnp.asarray(x.reshape(len(x), *t.sim.network.input_shape))
    err = _error_signal(t.sim, ep, t.params, xs, jnp.asarray(y), jax.random.key(5))
    result['n_perclass'].append(n)
    result['sources'].append(t.source)
    result['error_signal'].append(err)
    result['t_free_each'].append(ep.t_free)
    result['architecture'] = _shape(t.sim.network)
  result['mean_error_nudge'] = [
    float(np.mean(v[tf:])) for v, tf in zip(result['error_signal'], result['t_free_each'])
  ]
  labels = [f'N_perclass = {n}' + (' (checkpoint)' if 'checkpoint' in src else '')
            for n, src in zip(result['n_perclass'], result['sources'])]  # fmt: skip
  _plot_error(result, labels, os.path.join(out_dir, 'fig5_conv_error.png'),
              f'conv net {result["architecture"]}: output error signal, mean over '
              f'{result["n_samples"]} test images')  # fmt: skip
  return result


def _shape(net) -> str:
  """'784-32x13x13-...' style sizes of a network's input and neuron layers."""
  return '-'.join('x'.join(map(str, s)) for s in (net.input_shape, *net.layer_shapes))


def energy_figure(s, data_dir, out_dir, cache, t: Trained | None = None):
  t = t or brief(s, data_dir, cache)
  net = t.sim.network
  x, y = _images(s, data_dir, 'test', s['n_samples'])
  x = x.reshape(len(x), *net.input_shape)
  ep, c = t.config.ep, t.config
  es = dict(s, t_free=ep.t_free, t_nudge=ep.t_nudge, beta=ep.beta, k_avg=ep.k_avg)
  if c.neuron.name == 'stochep':
    es.update(decay=c.neuron.stochep.decay, kappa=c.neuron.stochep.kappa)
  report = report_lib.energy_report(
    net, t.params, x, y, es, key=jax.random.key(6), params_source=t.source
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
  fig.savefig(os.path.join(out_dir, 'energy.png'), dpi=90)
  plt.close(fig)
  report['table'] = report_lib.format_table(report)
  return report


FIGURES = ('fig3_membrane', 'fig4_rasters', 'fig5_error', 'fig5_conv_error', 'energy')


def run(
  workdir: str,
  smoke: bool = False,
  data_dir: str = '',
  train_steps: int = -1,
  dataset: str = 'fashion_mnist',
  demo_workdir: str = '',
  conv_workdir: str = '',
  conv_train_steps: int = -1,
  overrides: dict | None = None,
) -> dict:
  """Trains, draws and writes everything (module docstring); returns the summary.

  ``demo_workdir`` / ``conv_workdir``: ``train.py`` runs whose newest checkpoints Figs. 3, 4
  and the energy table (dense) and Fig. 5 on the conv net use; ``overrides`` update the
  settings (``settings(smoke)``). With ``smoke`` and no ``data_dir``, synthetic images.
  """
  start = time.time()
  s = dict(settings(smoke), dataset=dataset, **(overrides or {}))
  if train_steps >= 0:
    s['train_steps'] = train_steps
  if conv_train_steps >= 0:
    s['conv_train_steps'] = conv_train_steps
  os.makedirs(workdir, exist_ok=True)
  demo = from_checkpoint(demo_workdir) if demo_workdir else None
  conv = from_checkpoint(conv_workdir) if conv_workdir else None
  cache, timings = {}, {}
  with tempfile.TemporaryDirectory() as tmp:
    synthetic = smoke and not data_dir
    if synthetic:
      data_dir = short_runs.synthetic_dir(tmp)
    jobs = (
      ('fig3_membrane', lambda: fig3(s, data_dir, workdir, cache, demo)),
      ('fig4_rasters', lambda: fig4(s, data_dir, workdir, cache, demo)),
      ('fig5_error', lambda: fig5(s, data_dir, workdir, cache)),
      ('fig5_conv_error', lambda: fig5_conv(s, data_dir, workdir, cache, conv, smoke)),
      ('energy', lambda: energy_figure(s, data_dir, workdir, cache, demo)),
    )
    for name, fn in jobs:
      t = time.time()
      r = fn()
      r['settings'] = {k: (list(v) if isinstance(v, tuple) else v) for k, v in s.items()}
      r['data'] = 'synthetic' if synthetic else data_dir
      launch.write_json(os.path.join(workdir, f'{name}.json'), r)
      timings[name] = time.time() - t
      print(f'{name}: {timings[name]:.1f}s', flush=True)
  f3, f4, f5, f5c, en = (json.load(open(os.path.join(workdir, f'{n}.json'))) for n in FIGURES)
  summary = {
    'fig3': {
      p: {
        k: v
        for k, v in r.items()
        if k not in ('heatmap_first_sample', 'mean_abs_dv_per_step', 'abs_dv_heatmap')
      }
      for p, r in f3['panels'].items()
    },  # fmt: skip
    'fig3_reading': f3['reading'],
    'fig3_params': f3['params_source'],
    'fig4_density': dict(zip(map(str, KAPPAS), f4['density'])),
    'fig4_density_trained': dict(zip(map(str, KAPPAS), f4['trained']['density']))
    if 'trained' in f4
    else None,
    'fig5_mean_error_nudge': dict(zip(map(str, N_PERCLASS), f5['mean_error_nudge'])),
    'fig5_conv_mean_error_nudge': dict(zip(map(str, f5c['n_perclass']), f5c['mean_error_nudge'])),
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


def _images(s, data_dir, split, n, offset=0):
  """The first ``n`` images of a split of the run's dataset (``s['dataset']``), flattened."""
  return short_runs.load_images(data_dir, split, n, offset, dataset=s['dataset'])


def main(argv):
  del argv
  launch.check_output_folder(FLAGS.workdir)
  for flag in ('demo_workdir', 'conv_workdir'):
    if FLAGS[flag].value:
      try:  # before any work
        launch.check_run_folder(FLAGS[flag].value)
      except launch.LaunchError as e:
        raise launch.LaunchError(str(e).replace('--workdir=', f'--{flag}=')) from None
  # --smoke reads synthetic images unless --data_dir is given
  data_dir = FLAGS.data_dir if FLAGS['data_dir'].present or not FLAGS.smoke else ''
  r = run(FLAGS.workdir, FLAGS.smoke, data_dir, FLAGS.train_steps, FLAGS.dataset,
          FLAGS.demo_workdir, FLAGS.conv_workdir, FLAGS.conv_train_steps)  # fmt: skip
  print(json.dumps({k: r[k] for k in ('fig4_density', 'fig5_mean_error_nudge', 'wall_seconds')}))


if __name__ == '__main__':
  define_flags()
  launch.run(main)
