"""experiments/energy.py and experiments/figures.py: their JSON on tiny smoke runs."""

import importlib.util
import os
import subprocess
import sys
import tempfile
import time

from absl.testing import absltest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _load(name):
  spec = importlib.util.spec_from_file_location(
    f'{name}_launcher', os.path.join(ROOT, 'experiments', f'{name}.py')
  )
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


class EnergyTest(absltest.TestCase):
  def test_help_is_fast(self):
    start = time.time()
    subprocess.run(
      [sys.executable, os.path.join(ROOT, 'experiments', 'energy.py'), '--help'],
      check=True,
      capture_output=True,
      timeout=60,
    )
    self.assertLess(time.time() - start, 10)

  def test_smoke_json(self):
    energy = _load('energy')
    out = os.path.join(tempfile.mkdtemp(), 'energy.json')
    r = energy.run(smoke=True, out=out)
    self.assertTrue(os.path.exists(out))
    self.assertEqual(set(r['methods']), set(energy.METHODS))
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
    self.assertIn('stochep_ep', energy.format_table(r))


if __name__ == '__main__':
  absltest.main()
