"""The GPU kit (gpu_kit/), on a CPU: bundle preparation, installation, the runner and its summary."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from pathlib import Path

from absl.testing import absltest

from gpu_kit import check, gemm, prepare, pytest_plugin, slices

ROOT = Path(__file__).resolve().parent.parent


def _fake_wheel_dir(folder: Path, specs) -> None:
  for name, version in prepare.pinned(specs):
    (folder / f'{prepare.normalize(name)}-{version}-py3-none-any.whl').write_bytes(b'w' * 100)


def _tiny_wheel(folder: Path, name: str = 'gk_tiny', version: str = '0.1') -> Path:
  """A minimal pure-Python wheel holding ``name/__init__.py`` (VALUE = 42)."""
  dist = f'{name}-{version}.dist-info'
  files = {
    f'{name}/__init__.py': 'VALUE = 42\n',
    f'{dist}/METADATA': f'Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n',
    f'{dist}/WHEEL': 'Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n',
  }
  files[f'{dist}/RECORD'] = ''.join(f'{p},,\n' for p in files) + f'{dist}/RECORD,,\n'
  path = folder / f'{name}-{version}-py3-none-any.whl'
  with zipfile.ZipFile(path, 'w') as z:
    for p, text in files.items():
      z.writestr(p, text)
  return path


class PrepareTest(absltest.TestCase):
  def setUp(self):
    super().setUp()
    self.tmp = Path(self.create_tempdir().full_path)
    self.wheels = self.tmp / 'wheels_in'
    self.wheels.mkdir()
    _fake_wheel_dir(self.wheels, prepare.WHEELS + prepare.FALLBACK)
    self.fmnist = self.tmp / 'fmnist'
    self.fmnist.mkdir()
    for name in prepare.FASHION_MNIST_FILES:
      (self.fmnist / name).write_bytes(b'x' * 1000)

  def test_layout_and_size_accounting(self):
    bundle = self.tmp / 'bundle'
    (bundle / 'stale').mkdir(parents=True)  # emptied first
    m = prepare.prepare(bundle, wheel_dir=self.wheels, fmnist_dir=str(self.fmnist), tree=5000)
    self.assertEqual(
      sorted(p.name for p in bundle.iterdir()),
      ['fallback', 'fashion-mnist', 'manifest.json', 'wheels'],
    )
    self.assertLen(list((bundle / 'wheels').glob('*.whl')), len(prepare.WHEELS))
    self.assertEqual([e['name'] for e in m['fallback']], ['protobuf'])
    self.assertEqual(
      sorted(p.name for p in (bundle / 'fashion-mnist').iterdir()),
      sorted(prepare.FASHION_MNIST_FILES),
    )
    on_disk = sum(p.stat().st_size for p in bundle.rglob('*') if p.is_file())
    self.assertEqual(m['bundle_bytes'], on_disk)
    self.assertEqual(m['total_bytes'], on_disk + 5000)
    self.assertEqual(m['limit_bytes'], 64 * 2**20)
    written = json.loads((bundle / 'manifest.json').read_text())
    self.assertEqual(written['wheels'], m['wheels'])
    self.assertEqual(
      {e['name'] for e in written['wheels']},
      {'tensorflow-datasets', 'array_record', 'ml_collections', 'tensorboardX'}
      | {n for n, _ in prepare.WHEELS},
    )

  def test_over_the_limit_fails(self):
    with self.assertRaisesRegex(RuntimeError, 'over the'):
      prepare.prepare(
        self.tmp / 'b', wheel_dir=self.wheels, fmnist_dir=str(self.fmnist), limit_mib=0.001
      )

  def test_missing_files_are_named(self):
    prepare.find_wheel(self.wheels, *prepare.pinned([('array_record', '')])[0]).unlink()
    with self.assertRaisesRegex(FileNotFoundError, 'array_record'):
      prepare.prepare(self.tmp / 'b', wheel_dir=self.wheels, fmnist_dir=str(self.fmnist))
    with self.assertRaisesRegex(FileNotFoundError, 'dataset-fashion-mnist'):
      prepare.prepare(self.tmp / 'c', packages=(), fallback=(), fmnist_dir=str(self.tmp))

  def test_wheel_names_and_tree(self):
    (self.tmp / 'tensorboardx-2.6.5-py3-none-any.whl').write_bytes(b'')
    self.assertIsNotNone(prepare.find_wheel(self.tmp, 'tensorboardX', '2.6.5'))
    self.assertIsNone(prepare.find_wheel(self.tmp, 'tensorboardX', '2.6'))
    self.assertEqual(prepare.normalize('dm-tree'), 'dm_tree')
    self.assertGreater(prepare.tree_bytes(ROOT), 10_000)
    self.assertLess(prepare.tree_bytes(ROOT), 16 * 2**20)  # leaves room for the bundle


class InstallTest(absltest.TestCase):
  def test_tiny_wheel_installs_offline_into_a_target(self):
    tmp = Path(self.create_tempdir().full_path)
    wheel = _tiny_wheel(tmp)
    target = tmp / 'site'
    subprocess.run(
      [sys.executable, '-m', 'pip', 'install', '-q', '--no-index', '--no-deps', '--no-compile']
      + ['--target', str(target), str(wheel)],
      check=True,
      timeout=120,
    )
    out = subprocess.run(
      [sys.executable, '-c', 'import gk_tiny; print(gk_tiny.VALUE, gk_tiny.__file__)'],
      env=dict(os.environ, PYTHONPATH=str(target)),
      check=True,
      capture_output=True,
      text=True,
      timeout=60,
    ).stdout.split()
    self.assertEqual(out[0], '42')
    self.assertTrue(out[1].startswith(str(target)))


class RunScriptTest(absltest.TestCase):
  """gpu_kit/run.sh: installs the bundle, then runs the steps; results in --out."""

  def _run(self, bundle: Path, *args):
    tmp = Path(self.create_tempdir().full_path)
    env = dict(
      os.environ, PYTHON=sys.executable, GPU_KIT_BUNDLE=str(bundle), GPU_KIT_SITE=str(tmp / 'site')
    )
    env.pop('OUT', None)
    proc = subprocess.run(
      ['bash', str(ROOT / 'gpu_kit' / 'run.sh'), '--dry_run', f'--out={tmp}/out', *args],
      env=env,
      capture_output=True,
      text=True,
      timeout=180,
    )
    summary = json.loads((tmp / 'out' / check.SUMMARY).read_text())
    return proc, summary, tmp

  def test_dry_run_installs_and_writes_the_summary(self):
    bundle = Path(self.create_tempdir().full_path)
    (bundle / 'wheels').mkdir()
    _tiny_wheel(bundle / 'wheels')
    proc, s, tmp = self._run(bundle, '--steps=env,gemm')
    self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
    self.assertTrue((tmp / 'site' / 'gk_tiny' / '__init__.py').exists())
    self.assertEqual(s['install']['status'], 'ok')
    self.assertEqual(s['install']['wheels'], 1)
    self.assertFalse(s['install']['fallback_protobuf'])
    for key in ('device_name', 'jax_version', 'backend', 'python', 'dry_run', 'budget_s', 'wall_s'):
      self.assertIn(key, s)
    for key in ('steps', 'slices', 'efficiency', 'ok', 'install'):
      self.assertIn(key, s)
    self.assertEqual(s['device_name'], 'cpu')
    self.assertTrue(s['ok'], s['steps'])
    self.assertEqual(list(s['steps']), ['env', 'gemm'])
    for step in s['steps'].values():
      self.assertEqual(step['status'], 'ok')
      for key in ('seconds', 'timeout_s', 'returncode', 'command', 'output_tail', 'result'):
        self.assertIn(key, step)
    self.assertTrue(all(e['ok'] for e in s['steps']['env']['result']['imports'].values()))
    self.assertEqual(set(s['steps']['gemm']['result']['peak_gflops']), set(gemm.VARIANTS))
    self.assertTrue((tmp / 'out' / check.LOG).exists())
    self.assertTrue((tmp / 'out' / 'install.log').exists())

  def test_missing_bundle_is_reported_and_the_steps_still_run(self):
    proc, s, _ = self._run(Path(self.create_tempdir().full_path), '--steps=env')
    self.assertEqual(s['install']['status'], 'failed')
    self.assertIn('make gpu-kit', s['install']['detail'])
    self.assertEqual(s['steps']['env']['status'], 'ok')
    self.assertFalse(s['ok'])


def _step(name, code, timeout_s=30.0, result=None):
  return check.Step(name, [sys.executable, '-c', code], timeout_s, result=result)


def _gone(pid: int, wait_s: float = 10.0) -> bool:
  """Whether process ``pid`` has ended (no such process, or a zombie), waiting for a SIGKILL
  already sent to land (at most ``wait_s``); one still running then is killed here."""
  deadline = time.monotonic() + wait_s
  while True:
    try:
      with open(f'/proc/{pid}/stat') as f:
        state = f.read().rpartition(')')[2].split()[0]
    except FileNotFoundError:
      return True
    if state in ('Z', 'X'):
      return True
    if time.monotonic() > deadline:
      os.kill(pid, signal.SIGKILL)  # no leftover sleeper after a failed test
      return False
    time.sleep(0.05)


class CheckTest(absltest.TestCase):
  def test_timeout_kills_the_step_and_the_next_one_runs(self):
    tmp = Path(self.create_tempdir().full_path)
    res = tmp / 'b.json'
    # Step a starts a child of its own (same process group), says so, and would then sleep 60 s.
    slow = (
      'import subprocess, time\n'
      'child = subprocess.Popen(["sleep", "60"])\n'
      'print("started child", child.pid, flush=True)\n'
      'time.sleep(60)\n'
      'print("finished", flush=True)\n'
    )
    steps = [
      _step('a', slow, timeout_s=3.0),
      _step('fails', 'raise SystemExit(3)'),
      _step('b', f'import json; json.dump({{"x": 1}}, open({str(res)!r}, "w"))', result=res),
    ]
    s = check.run_kit(steps, tmp / 'out', budget_s=120)
    a = s['steps']['a']
    self.assertEqual(a['status'], 'timeout')
    self.assertEqual(a['timeout_s'], 3.0)
    self.assertEqual(a['returncode'], -signal.SIGKILL)  # killed, not ended on its own
    self.assertIn('started child', a['output_tail'])
    self.assertNotIn('finished', a['output_tail'])
    # The whole process group was killed: a's own child is gone too (or a zombie).
    child = int(a['output_tail'].split('started child ')[1].split()[0])
    self.assertTrue(_gone(child), f'child {child} of the step outlived the timeout')
    self.assertEqual(s['steps']['fails']['status'], 'failed')
    self.assertEqual(s['steps']['fails']['returncode'], 3)
    self.assertEqual(s['steps']['b']['result'], {'x': 1})
    self.assertFalse(s['ok'])
    written = json.loads((tmp / 'out' / check.SUMMARY).read_text())
    self.assertEqual(written['steps']['b']['status'], 'ok')

  def test_budget_cuts_and_skips(self):
    tmp = Path(self.create_tempdir().full_path)
    steps = [_step('a', 'import time; time.sleep(60)'), _step('b', 'pass')]
    s = check.run_kit(steps, tmp, budget_s=3.0, min_step_s=1.0, reserve_s=0.5)
    # a's own timeout is 30 s: it gets what the budget leaves (3 − 0.5 reserve), then is killed.
    self.assertEqual(s['steps']['a']['status'], 'timeout')
    self.assertEqual(s['steps']['a']['returncode'], -signal.SIGKILL)
    self.assertGreaterEqual(s['steps']['a']['timeout_s'], 1.0)
    self.assertLessEqual(s['steps']['a']['timeout_s'], 2.5)
    self.assertEqual(s['steps']['b'], {'status': 'skipped', 'reason': 'budget', 'seconds': 0.0})

  def test_plan(self):
    work = Path('/tmp/work')
    gpu = check.plan(work, bundle=Path('/b'))
    dry = check.plan(work, dry_run=True)
    self.assertEqual([s.name for s in gpu], list(check.STEP_NAMES))
    self.assertEqual([s.name for s in dry], list(check.STEP_NAMES))
    self.assertEqual(set(check.TIMEOUTS), set(check.STEP_NAMES))
    # The kit ends inside 8 minutes: the budget plus the install and start-up.
    self.assertLessEqual(check.BUDGET_S + 20, 8 * 60)
    for path in check.GPU_TESTS:
      self.assertTrue((ROOT / path.split('::')[0]).exists(), path)
    for path in check.DRY_RUN_TESTS:
      self.assertTrue((ROOT / path.split('::')[0]).exists(), path)
    by_name = {s.name: s for s in gpu}
    for name in ('slice_fashion_mnist_2c2fc_f32', 'slice_fashion_mnist_conv_bf16'):
      self.assertIn('--data_dir=/b/fashion-mnist', by_name[name].argv)
    # the precision policy: float32 parameters, bf16 products
    self.assertIn('--compute_dtype=bfloat16', by_name['benchmark_bfloat16'].argv)
    self.assertNotIn('--dtype=bfloat16', by_name['benchmark_bfloat16'].argv)
    # the paired nudged phases against the bf16 benchmark's sequential ones
    self.assertIn('--batch_nudges', by_name['benchmark_batch_nudges'].argv)
    self.assertIn('--compute_dtype=bfloat16', by_name['benchmark_batch_nudges'].argv)
    for slice_name, cd in check.SLICES:
      argv = by_name[f'slice_{slice_name}_{"bf16" if cd == "bfloat16" else "f32"}'].argv
      self.assertIn(f'--slice={slice_name}', argv)
      self.assertIn(f'--compute_dtype={cd}', argv)
    self.assertIn('--variant=smoke', {s.name: s for s in dry}['slice_cifar10_5c_f32'].argv)

  def test_efficiency_against_the_same_dtype_peaks(self):
    summary = {
      'steps': {
        'gemm': {
          'result': {
            'peak_gflops': {'float32_default': 400.0, 'float32_highest': 50.0, 'bfloat16': 800.0},
            'gflops': {'float32_default': {'1x2x3': 100.0}},
          }
        },
        'benchmark_float32': {
          'result': {'workloads': {'w': {'gflops': 20.0, 'dominant_gemm': [1, 2, 3]}}}
        },
        'benchmark_bfloat16': {'result': {'workloads': {'w': {'gflops': 40.0}}}},
      }
    }
    e = check.efficiency(summary)
    self.assertEqual(e['float32']['w']['vs_float32_default_peak'], 0.05)
    self.assertEqual(e['float32']['w']['vs_float32_highest_peak'], 0.4)
    self.assertEqual(e['float32']['w']['vs_float32_default_own_shape'], 0.2)
    self.assertEqual(e['bfloat16']['w']['vs_bfloat16_peak'], 0.05)


class PytestPluginTest(absltest.TestCase):
  def test_selects_listed_and_gpu_marked_tests_and_logs_them(self):
    tmp = Path(self.create_tempdir().full_path)
    (tmp / 'pytest.ini').write_text('[pytest]\n')
    (tmp / 'test_x.py').write_text(
      textwrap.dedent("""
        import pytest
        def test_listed(): pass
        def test_other(): pass
        @pytest.mark.gpu
        def test_marked(): assert False
      """)
    )
    log = tmp / 'log.jsonl'
    env = dict(
      os.environ,
      PYTHONPATH=str(ROOT),
      GPU_KIT_TESTS='test_x.py::test_listed',
      GPU_KIT_TEST_LOG=str(log),
    )
    subprocess.run(
      [
        sys.executable,
        '-m',
        'pytest',
        '-q',
        '-p',
        'gpu_kit.pytest_plugin',
        '-p',
        'no:cacheprovider',
      ]
      + ['-W', 'error::pytest.PytestUnknownMarkWarning', 'test_x.py'],
      cwd=tmp,
      env=env,
      capture_output=True,
      timeout=120,
    )
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    self.assertEqual(
      {line['nodeid']: line['outcome'] for line in lines},
      {'test_x.py::test_listed': 'passed', 'test_x.py::test_marked': 'failed'},
    )
    self.assertTrue(pytest_plugin.selected('a.py::T::t[1]', ['a.py::T']))
    self.assertFalse(pytest_plugin.selected('a.py::T2::t', ['a.py::T']))


class ModulesTest(absltest.TestCase):
  def test_gemm_rates(self):
    r = gemm.measure([(16, 8, 4)], list(gemm.VARIANTS), repeats=1, trials=1)
    self.assertEqual(r['shapes'], ['16x8x4'])
    for v in gemm.VARIANTS:
      self.assertGreater(r['peak_gflops'][v], 0)
    self.assertEqual(gemm.parse_shape('1X2x3'), (1, 2, 3))
    self.assertTrue(all(len(s) == 3 for s in gemm.default_shapes()))

  def test_slice_reports_the_projection(self):
    config = slices.load_config(slices.SLICES['cifar10_lab21'], 'smoke')
    config.network.channels = (2, 2, 2, 2)
    config.ep.update(dict(t_free=4, t_nudge=2, k_avg=1))
    config.batch_size, config.eval_batch_size = 8, 16
    phases = []
    r = slices.time_slice(
      config, steps=2, eval_steps=1, report=lambda x: phases.append(x['status'])
    )
    self.assertEqual(r['data'], 'random')  # no CIFAR-10 files here
    self.assertEqual(phases[0], 'data')
    self.assertEqual(phases[-1], 'done')
    self.assertLen(r['step_s'], 2)
    self.assertTrue(r['finite'])
    self.assertEqual(r['steps_per_epoch'], 512 // 8)  # the smoke variant's train_subset
    self.assertEqual(r['eval_batches'], 256 // 16)
    self.assertAlmostEqual(
      r['projected_epoch_s'], r['projected_train_epoch_s'] + r['projected_eval_s']
    )
    self.assertAlmostEqual(r['projected_run_s'], r['projected_epoch_s'] * config.num_epochs)

  def test_launchers_help_does_no_work(self):
    with tempfile.TemporaryDirectory() as tmp:
      procs = [  # all at once: one import per core
        subprocess.Popen(
          [sys.executable, '-m', f'gpu_kit.{module}', '--help'],
          cwd=ROOT,
          env=dict(os.environ, OUT=tmp),
          stdout=subprocess.PIPE,
          stderr=subprocess.PIPE,
          text=True,
        )
        for module in ('check', 'slices', 'gemm', 'env')
      ]
      for proc in procs:
        out, err = proc.communicate(timeout=120)
        self.assertEqual(proc.returncode, 0, err)
        self.assertIn('--out', out)
      self.assertEqual(os.listdir(tmp), [])


if __name__ == '__main__':
  absltest.main()
