"""experiments/energy.py and experiments/figures.py: their JSON on tiny smoke runs."""

import ast
import json
import os
import subprocess
import sys
import tempfile
from unittest import mock

import helpers
import numpy as np
from absl.testing import absltest

from stochep_jax.opcount import report as report_lib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The smoke runs, shorter still: phases, batches and image counts (not the 784-32-10 shapes).
# fig3 needs t_free >= 11 and t_free + t_nudge >= 11 (the last 10 steps of each phase).
# The networks stay at initialisation: the brief training is tests/test_short_runs.py's (each
# trained network here would be one more train step to compile, ten in all).
PHASES = dict(t_free=12, t_nudge=6, k_avg=3)
TINY_FIGURES = dict(
  PHASES,
  train_steps=0,
  train_batch=8,
  n_membrane=4,
  n_samples=4,
  conv_n_samples=4,
  conv_train_steps=0,
  conv_t_free=12,
  conv_t_nudge=6,
  conv_k_avg=3,
  conv_batch=8,
)
TINY_ENERGY = dict(PHASES, batch=4)


_load = helpers.launcher


class EnergyTest(absltest.TestCase):
  def test_help_does_no_work(self):
    """--help with no JAX backend (any JAX computation or compilation raises) prints usage."""
    cwd = self.create_tempdir().full_path
    out = subprocess.run(
      [sys.executable, os.path.join(ROOT, 'experiments', 'energy.py'), '--help'],
      capture_output=True,
      text=True,
      cwd=cwd,
      env={**os.environ, 'JAX_PLATFORMS': 'no_such_platform'},
      timeout=120,
    )
    self.assertEqual(out.returncode, 0, out.stderr[-2000:])
    self.assertIn('--batch', out.stdout + out.stderr)
    self.assertEqual(os.listdir(cwd), [])  # nothing written where it ran

  def test_smoke_json(self):
    energy = _load('energy')
    out = os.path.join(tempfile.mkdtemp(), 'energy.json')
    with mock.patch.object(energy, 'SMOKE', dict(energy.SMOKE, **TINY_ENERGY)):
      r = energy.run(smoke=True, out=out)
    self.assertTrue(os.path.exists(out))
    self.assertEqual(set(r['methods']), set(report_lib.METHODS))
    self.assertEqual(r['params_source'], 'initialisation')
    self.assertEqual(r['architecture'], '784-32-10')
    for m, row in r['methods'].items():
      for phase in ('inference', 'training'):
        self.assertEqual(set(row[phase]), {'ac', 'mac', 'pj'})
        e = r['energy_model']
        self.assertAlmostEqual(
          row[phase]['pj'], row[phase]['ac'] * e['e_ac_pj'] + row[phase]['mac'] * e['e_mac_pj']
        )
      self.assertGreater(row['training']['pj'], row['inference']['pj'], m)
    self.assertEqual(set(r['methods']['stochep_ep']['counts']['training']),
                     {'free', 'plus', 'minus', 'update'})  # fmt: skip
    # Spikes are ACs, CRNN states and the ANN are MACs only.
    self.assertGreater(r['methods']['stochep_ep']['inference']['ac'], 0)
    self.assertEqual(r['methods']['crnn_ep']['training']['ac'], 0)
    self.assertEqual(r['methods']['ann_bp']['training']['ac'], 0)
    # The ANN's counts by hand: forward 784·32 + 32·10, backward 784·32 + 2·32·10.
    self.assertEqual(r['methods']['ann_bp']['inference']['mac'], 784 * 32 + 320)
    self.assertEqual(r['methods']['ann_bp']['training']['mac'], 2 * 784 * 32 + 3 * 320)
    self.assertEqual(r['methods']['snn_bptt']['inference'], r['methods']['stochep_ep']['inference'])
    self.assertIn('snn_bptt_over_stochep_ep_training_pj', r['ratios'])
    self.assertIn('stochep_ep', report_lib.format_table(r))


class FiguresTest(absltest.TestCase):
  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.workdir = tempfile.mkdtemp()
    figures = _load('figures')
    smoke_settings = figures.settings
    tiny = lambda smoke: dict(smoke_settings(smoke), **TINY_FIGURES)
    with mock.patch.object(figures, 'settings', tiny):
      cls.summary = figures.run(cls.workdir, smoke=True)

  def _json(self, name):
    with open(os.path.join(self.workdir, f'{name}.json')) as f:
      return json.load(f)

  def test_files(self):
    for name in ('fig3_membrane', 'fig4_rasters', 'fig5_error', 'fig5_conv_error', 'energy'):
      self.assertTrue(os.path.getsize(os.path.join(self.workdir, f'{name}.png')) > 0, name)
      self.assertTrue(os.path.exists(os.path.join(self.workdir, f'{name}.json')), name)
    self.assertTrue(self.summary['smoke'])

  def test_fig3_shapes(self):
    f = self._json('fig3_membrane')
    t = f['t_free'] + f['t_nudge']
    self.assertEqual(f['panels']['a']['model'], 'stochep')
    self.assertEqual(set(f['panels']), {'a', 'b', 'c', 'd'})
    for panel in f['panels'].values():
      heat = np.asarray(panel['heatmap_first_sample'])
      self.assertEqual(heat.shape, (f['units'], t))
      self.assertEqual(np.asarray(panel['abs_dv_heatmap']).shape, (f['units'], t - 1))
      self.assertLen(panel['mean_abs_dv_per_step'], t - 1)
    # One log colour scale for all panels, from their positive values.
    scale = f['color_scale']
    self.assertEqual((scale['norm'], scale['shared']), ('log', True))
    top = max(np.max(p['abs_dv_heatmap']) for p in f['panels'].values())
    self.assertAlmostEqual(scale['vmax'], top, places=6)
    self.assertLen(f['reading'], 5)  # one line per panel and the ordering
    self.assertIn('StochEP EP', f['params_source'])

  def test_fig3_reading_from_the_numbers(self):
    """Units moving but their mean settled (as measured for StochEP) disagrees with 'settles'."""
    figures = _load('figures')

    def panel(model, frac, dv, mean_dv):
      st = {'frac_moving': [frac], 'mean_abs_dv': [dv], 'k': 10}
      return {'model': model, 'stability': {'free': st}, 'layer_mean_abs_dv_free': mean_dv}

    r = {'panels': {'a': panel('stochep', 0.84, 5e-3, 1e-4), 'b': panel('lif_lowpass', 0.05,
         1.4e-2, 1e-2), 'c': panel('lif_predictive', 0.0, 5e-5, 1e-6),
         'd': panel('lif_schedule', 0.04, 2.4e-4, 1e-5)}}  # fmt: skip
    a, b, c, d, order = figures.fig3_reading(r)
    self.assertIn('84 %', a)
    self.assertIn('their layer mean settles', a)
    self.assertIn('disagrees with the paper', a)
    self.assertIn('disagrees with the paper', b)  # 5 % moving: it does not flicker
    self.assertIn('agrees with the paper', c)
    self.assertRegex(
      order,
      r'\(b\) lif_lowpass \(2\.8× \(a\)\) > \(a\) stochep \(1× \(a\)\) > '
      r'\(d\) lif_schedule .* > \(c\) lif_predictive',
    )

  def test_figures_does_not_import_a_launcher(self):
    tree = ast.parse(open(os.path.join(ROOT, 'experiments', 'figures.py')).read())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    self.assertNotIn('energy', names)
    self.assertNotIn('experiments.energy', names)

  def test_fig4_shapes(self):
    """Rasters are 0/1 [units, T_free]; densities in [0, 1] (their order is reported, not asserted)."""
    f = self._json('fig4_rasters')
    self.assertEqual(f['kappas'], [0.5, 1.0, 2.0, 4.0])
    self.assertLen(f['density'], 4)
    for d, r in zip(f['density'], f['rasters_first_image']):
      r = np.asarray(r)
      self.assertEqual(r.shape, (32, f['t_free']))
      self.assertTrue(set(np.unique(r)) <= {0, 1})
      self.assertTrue(0 <= d <= 1)

  def test_fig5_error_grows_with_n_perclass(self):
    f = self._json('fig5_error')
    self.assertEqual(f['n_perclass'], [1, 10, 100])
    for v in f['error_signal']:
      self.assertLen(v, f['t_free'] + f['t_nudge'])
    m = f['mean_error_nudge']
    self.assertLess(m[0], m[1])
    self.assertLess(m[1], m[2])

  def test_fig5_on_the_conv_config(self):
    f = self._json('fig5_conv_error')
    self.assertEqual(f['n_perclass'], [1, 10, 100])
    self.assertTrue(f['architecture'].startswith('28x28x1-'))
    for v, tf in zip(f['error_signal'], f['t_free_each']):
      self.assertLen(v, tf + 6)
      self.assertTrue(np.isfinite(v).all())

  def test_energy_table(self):
    f = self._json('energy')
    self.assertEqual(set(f['methods']), {'stochep_ep', 'crnn_ep', 'snn_bptt', 'ann_bp'})
    self.assertIn('StochEP EP', f['params_source'])


if __name__ == '__main__':
  absltest.main()
