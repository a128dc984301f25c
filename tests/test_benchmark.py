"""experiments/benchmark.py: its JSON, its analytic FLOP count and its device setting."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize('cpu_devices', [1, 2])
def test_inference_workload_json(tmp_path, cpu_devices):
  out = tmp_path / 'bench.json'
  env = dict(os.environ, JAX_PLATFORMS='cpu')
  env.pop('XLA_FLAGS', None)
  subprocess.run(
    [
      sys.executable,
      os.path.join(ROOT, 'experiments', 'benchmark.py'),
      '--workloads=inference_fc',
      '--repeats=5',
      f'--cpu_devices={cpu_devices}',
      f'--out={out}',
    ],
    env=env,
    check=True,
    timeout=600,
    capture_output=True,
  )
  d = json.load(open(out))
  w = d['workloads']['inference_fc']
  assert w['devices'] == cpu_devices
  assert len(w['times_ms']) == 5 and w['ms_per_step'] == pytest.approx(
    sorted(w['times_ms'])[2]
  )  # the median
  # 784-512-10, batch 128, T_free 250, static drive once: B·[T·2·F_2 + F_1], F = 2·in·out.
  assert w['gflop_per_step'] == pytest.approx(128 * (250 * 2 * 2 * 512 * 10 + 2 * 784 * 512) / 1e9)
  assert w['gflops'] == pytest.approx(w['gflop_per_step'] / w['ms_per_step'] * 1e3)
  assert w['samples_per_s'] == pytest.approx(128 / w['ms_per_step'] * 1e3)
  # The peak is the best method on the workload's dominant shape, measured in this run.
  methods = d['gemm_peaks_by_method']['128x784x512']
  assert set(methods) == (
    {'jnp_dot', 'numpy'} if cpu_devices == 1 else {'jnp_dot', 'numpy', 'jnp_dot_2_devices'}
  )
  assert d['gemm_peak_gflops'] == max(methods.values())
  assert w['efficiency'] == pytest.approx(w['gflops'] / d['gemm_peak_gflops'])
  assert d['options']['cpu_devices'] == cpu_devices
