"""Training-step memory: EP's does not grow with T, BPTT's grows linearly.

As in docs/model.md, "References by backpropagation".

Runs ``experiments/memory.py`` (XLA's compiled memory analysis, nothing is
trained) on a small 784-64-10 net, batch 16, T = 50 and 500.
"""

import json
import os
import tempfile

import helpers
from absl.testing import absltest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
BATCH, UNITS = 16, 64 + 10


class MemoryTest(absltest.TestCase):
  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    workdir = tempfile.mkdtemp()
    helpers.run_script(
      os.path.join(ROOT, 'experiments', 'memory.py'),
      f'--workdir={workdir}',
      '--architectures=784-64-10,not_registered',
      '--ts=50,500',
      f'--batch_size={BATCH}',
      check=True,
    )
    with open(os.path.join(workdir, 'memory.json')) as f:
      cls.report = json.load(f)
    cls.results = cls.report['results']['784-64-10']
    cls.png = os.path.exists(os.path.join(workdir, 'memory.png'))

  def test_report_shape(self):
    self.assertEqual(set(self.results), {'ep_snn', 'ep_crnn', 'bptt_snn', 'bptt_crnn'})
    self.assertEqual(self.report['settings']['skipped_architectures'], ['not_registered'])
    self.assertTrue(self.png)
    for by_t in self.results.values():
      self.assertEqual(set(by_t), {'50', '500'})
      for m in by_t.values():
        self.assertEqual(
          m['total_bytes'],
          m['argument_bytes'] + m['output_bytes'] - m['alias_bytes'] + m['temp_bytes'],
        )

  def test_ep_memory_does_not_grow_with_steps(self):
    # Equal up to a few bytes of XLA scalar bookkeeping (64 B measured for ep_snn).
    for method in ('ep_snn', 'ep_crnn'):
      a, b = self.results[method]['50'], self.results[method]['500']
      for key in ('argument_bytes', 'output_bytes', 'alias_bytes'):
        self.assertEqual(a[key], b[key], method)
      self.assertLessEqual(abs(a['temp_bytes'] - b['temp_bytes']), 256, method)

  def test_stochep_noise_is_not_stored(self):
    """The neurons' uniforms are drawn inside each step (``Simulator.fuse_noise``): StochEP
    EP's memory exceeds the CRNN's by far less than one chunk of pre-drawn noise."""
    chunk_bytes = 25 * BATCH * UNITS * 4  # memory.py's chunk of float32 uniforms
    for t in ('50', '500'):
      extra = self.results['ep_snn'][t]['total_bytes'] - self.results['ep_crnn'][t]['total_bytes']
      self.assertLess(extra, chunk_bytes // 4, t)

  def test_bptt_memory_grows_with_steps(self):
    # At least one float32 state per unit, example and extra step must be kept.
    floor = 450 * BATCH * UNITS * 4
    for method in ('bptt_snn', 'bptt_crnn'):
      growth = self.results[method]['500']['temp_bytes'] - self.results[method]['50']['temp_bytes']
      self.assertGreaterEqual(growth, floor, method)
      self.assertGreater(
        self.results[method]['500']['total_bytes'],
        5 * self.results['ep_crnn']['500']['total_bytes'],
        method,
      )


if __name__ == '__main__':
  absltest.main()
