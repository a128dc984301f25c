"""experiments/energy.py (its JSON on a tiny smoke run) and experiments/figures.py (what needs no
figure run: the figures themselves are checked on the report's smoke build, tests/test_report.py)."""

import ast
import os
import tempfile
from unittest import mock

import helpers
from absl.testing import absltest

from stochep_jax.opcount import report as report_lib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# energy.py's smoke run, shorter still: phases and batch (not the 784-32-10 shapes).
TINY_ENERGY = dict(t_free=12, t_nudge=6, k_avg=3, batch=4)


_load = helpers.launcher


class EnergyTest(absltest.TestCase):
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
  """What needs no figure run; the figures' JSON is checked on the report page's smoke build
  (tests/test_report.py, ``ReportTest``: one ``figures.run`` for both)."""

  def test_brief_network_without_a_checkpoint(self):
    """Without --demo_workdir, Fig. 3 and the energy table read a briefly trained κ = 1 net."""
    figures = _load('figures')
    s = dict(figures.settings(True), train_steps=0, dataset='fashion_mnist')
    t = figures.brief(s, '', {})
    self.assertEqual(t.source, f'StochEP EP, 0 SGD steps of batch {s["train_batch"]} from init')
    self.assertEqual(t.sim.network.layer_shapes, ((32,), (10,)))
    self.assertEqual((t.config.ep.t_free, t.config.neuron.stochep.kappa), (s['t_free'], 1.0))

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


if __name__ == '__main__':
  absltest.main()
