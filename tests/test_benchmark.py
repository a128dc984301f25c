"""experiments/benchmark.py: its JSON, its analytic FLOP count and its device setting."""

import json
import os

import helpers
from absl.testing import absltest, parameterized

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class BenchmarkTest(parameterized.TestCase):
  def assertApprox(self, actual, expected):
    """``actual == pytest.approx(expected)``: within 1e-6 of ``expected`` (relative) or 1e-12."""
    self.assertLessEqual(
      abs(actual - expected), max(1e-6 * abs(expected), 1e-12), f'{actual} != approx({expected})'
    )

  def run_benchmark(self, *flags) -> dict:
    """benchmark.py with ``flags`` on the CPU backend (no forced device count); its JSON."""
    out = os.path.join(self.create_tempdir().full_path, 'bench.json')
    env = dict(os.environ, JAX_PLATFORMS='cpu')
    env.pop('XLA_FLAGS', None)
    helpers.run_script(
      os.path.join(ROOT, 'experiments', 'benchmark.py'), *flags, f'--out={out}', env=env,
      check=True, timeout=600,
    )  # fmt: skip
    with open(out) as f:
      return json.load(f)

  @parameterized.named_parameters(('one_device', 1), ('two_devices', 2))
  def test_inference_workload_json(self, cpu_devices):
    d = self.run_benchmark(
      '--workloads=inference_fc', '--repeats=5', f'--cpu_devices={cpu_devices}'
    )
    w = d['workloads']['inference_fc']
    self.assertEqual(w['devices'], cpu_devices)
    self.assertLen(w['times_ms'], 5)
    self.assertApprox(w['ms_per_step'], sorted(w['times_ms'])[2])  # the median
    # 784-512-10, batch 128, T_free 250, static drive once: B·[T·2·F_2 + F_1], F = 2·in·out.
    self.assertApprox(w['gflop_per_step'], 128 * (250 * 2 * 2 * 512 * 10 + 2 * 784 * 512) / 1e9)
    self.assertApprox(w['gflops'], w['gflop_per_step'] / w['ms_per_step'] * 1e3)
    self.assertApprox(w['samples_per_s'], 128 / w['ms_per_step'] * 1e3)
    # The peak is the best method on the workload's dominant shape, measured in this run.
    methods = d['gemm_peaks_by_method']['128x784x512']
    f32 = {'jnp_dot', 'numpy'} | ({'jnp_dot_2_devices'} if cpu_devices == 2 else set())
    self.assertEqual(set(methods), f32 | {'jnp_dot_bf16'})
    self.assertEqual(d['gemm_peak_gflops'], max(methods[m] for m in f32))
    self.assertEqual(d['gemm_peak_gflops_bf16'], methods['jnp_dot_bf16'])
    self.assertApprox(w['efficiency'], w['gflops'] / d['gemm_peak_gflops'])
    self.assertEqual(d['options']['cpu_devices'], cpu_devices)

  _two_workloads = None

  def two_workloads_bf16(self) -> dict:
    """One run for the two tests below (each run is a process of its own, most of its time
    fixed costs): two workloads under the bf16 policy, timed in the same rounds."""
    if BenchmarkTest._two_workloads is None:
      BenchmarkTest._two_workloads = self.run_benchmark(
        '--workloads=inference_fc,crnn_fc',
        '--repeats=5',
        '--cpu_devices=1',
        '--generator_draws=0',
        '--compute_dtype=bfloat16',
        '--min_size=10000',
        '--batch_nudges',
      )
    return BenchmarkTest._two_workloads

  def test_bf16_policy_is_applied_and_reported(self):
    d = self.two_workloads_bf16()
    self.assertEqual((d['options']['compute_dtype'], d['options']['min_size']), ('bfloat16', 10000))
    self.assertTrue(d['options']['batch_nudges'])  # the two nudged phases as one
    for w in d['workloads'].values():
      self.assertApprox(w['efficiency_bf16_peak'], w['gflops'] / d['gemm_peak_gflops_bf16'])
    self.assertIn('cpu_model', d['machine'])
    self.assertIsInstance(d['machine']['bf16_units'], list)

  def test_workloads_timed_round_robin_with_ratios_to_crnn(self):
    """Two workloads timed in the same rounds: each has ``--repeats`` times, and the
    ratio to crnn_fc is the median of the per-round ratios."""
    w = self.two_workloads_bf16()['workloads']
    self.assertNotIn('over_crnn_fc', w['crnn_fc'])
    a, b = w['inference_fc']['times_ms'], w['crnn_fc']['times_ms']
    self.assertLen(a, 5)
    self.assertLen(b, 5)
    self.assertApprox(w['inference_fc']['over_crnn_fc'], sorted(x / y for x, y in zip(a, b))[2])


if __name__ == '__main__':
  absltest.main()
