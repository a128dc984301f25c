"""The GPU kit's steps, each in its own process with its own timeout, and their JSON summary.

    python -m gpu_kit.check --out=DIR            # what gpu_kit/run.sh runs on the GPU machine
    python -m gpu_kit.check --dry_run --out=DIR  # every step with smoke sizes (a CPU will do)
    python -m gpu_kit.check --steps=env,gemm     # a subset (names: STEP_NAMES)

Steps run in the order of ``STEP_NAMES``; each gets ``min(its timeout, time left in
--budget_s)`` and is skipped when less than ``MIN_STEP_S`` is left, so the kit ends inside its
budget; a failing or timed-out step does not stop the next one. This process never starts a
JAX backend (it would take the GPU's memory from the steps). After every step the summary is rewritten
to ``<out>/gpu_kit_summary.json``:

* ``device_name``, ``jax_version``, ``python``, ``dry_run``, ``budget_s``, ``wall_s``, ``ok``;
* ``steps``: per step ``status`` (ok, failed, timeout, skipped), ``seconds``, ``timeout_s``,
  ``returncode``, ``command``, ``output_tail`` and ``result`` (what the step wrote: see
  ``gpu_kit.env``, ``gpu_kit.gemm``, ``gpu_kit.slices``, ``experiments/benchmark.py``'s JSON,
  ``experiments/transpose_speed.py``'s (which transposed-convolution method is fastest on
  this device, and what the dense layers' row-major transposed copy gains there), ``experiments/memory.py``'s memory.json, and for ``tests`` the outcome of
  every test);
* ``slices``: each slice's compile time, median step and projected epoch and run times;
* ``efficiency``: per benchmark dtype and workload, its achieved GFLOP/s against the ``gemm``
  step's peaks of the same dtype (float32: both TF32-default and highest precision);
* ``install``: what ``gpu_kit/run.sh`` reported of the bundle's installation.

Everything a step prints goes to ``<out>/gpu_kit.log``; ``memory.png`` is copied beside it.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from absl import app, flags

ROOT = Path(__file__).resolve().parent.parent
SUMMARY = 'gpu_kit_summary.json'
LOG = 'gpu_kit.log'
MIN_STEP_S = 15.0  # a step is skipped when less time than this is left
RESERVE_S = 5.0  # kept at the end for the summary
BUDGET_S = 450.0  # all the steps on the GPU machine: with the install, under 8 minutes
DRY_RUN_TIMEOUT = 300  # a step of the dry run (a CPU, maybe a loaded one)
DRY_RUN_BUDGET_S = 1800.0

FLAGS = flags.FLAGS


def define_flags() -> None:
  """The launcher's flags (defined only when it runs, so that the kit's modules import together)."""
  flags.DEFINE_string('out', os.environ.get('OUT') or 'runs/gpu_kit', 'Folder of the results.')
  flags.DEFINE_bool('dry_run', False, 'Smoke sizes and one or two steps everywhere (for a CPU).')
  flags.DEFINE_float(
    'budget_s', BUDGET_S, f'Seconds for all the steps together (dry run: {DRY_RUN_BUDGET_S:.0f}).'
  )
  flags.DEFINE_list('steps', [], 'Steps to run (default: all, in the order of STEP_NAMES).')
  flags.DEFINE_string('bundle', str(ROOT / 'gpu_kit' / 'bundle'), 'The prepared bundle folder.')
  flags.DEFINE_string('install_json', '', 'JSON file in which run.sh describes the installation.')
  flags.DEFINE_list('tests', [], 'Test node ids or prefixes (default: GPU_TESTS; dry run: one).')
  flags.DEFINE_string('python', sys.executable, 'Python that runs the steps.')


# The tests that mean something on a GPU (other numerics, kernels, RNG, compiled memory),
# besides any test marked ``gpu``: conv against im2col and the pooled-kernel conv, EP against
# BPTT (dense, conv, CE), the dynamics' spikes and chunking, the neurons' noise, the train
# step, the compiled memory of EP and BPTT. tests/test_parallel.py runs on forced CPU devices.
GPU_TESTS = (
  'tests/test_conv.py',
  'tests/test_estimators.py',
  'tests/test_bptt.py',
  'tests/test_dynamics.py',
  'tests/test_neurons.py',
  'tests/test_training.py',
  'tests/test_memory.py',
)
DRY_RUN_TESTS = ('tests/test_dynamics.py::DynamicsTest::test_nudged_crnn_step_equals_formula',)
# (slice, precision policy's compute dtype): full-size epochs in float32 and bf16
SLICES = (
  ('fashion_mnist_conv', 'bfloat16'),
  ('fashion_mnist_conv', 'float32'),
  ('fashion_mnist_2c2fc', 'float32'),
  ('fashion_mnist_2c2fc', 'bfloat16'),
  ('cifar10_5c', 'float32'),
  ('cifar10_5c', 'bfloat16'),
  ('cifar10_lab21', 'float32'),
)
SLICE_NAMES = tuple(f'{s}_{"bf16" if cd == "bfloat16" else "f32"}' for s, cd in SLICES)
# In order of priority: the budget skips the last ones if the machine is slow.
STEP_NAMES = (
  'env',
  'gemm',
  *(f'slice_{s}' for s in SLICE_NAMES[:4]),
  'benchmark_float32',
  'benchmark_bfloat16',
  'transpose',
  'benchmark_batch_nudges',
  *(f'slice_{s}' for s in SLICE_NAMES[4:]),
  'tests',
  'memory',
)
# Timeouts on the GPU machine (seconds); the budget cuts the last ones if need be.
TIMEOUTS = {
  'env': 45,
  'gemm': 45,
  'tests': 90,
  'slice_fashion_mnist_conv_bf16': 50,
  'slice_fashion_mnist_conv_f32': 50,
  'slice_fashion_mnist_2c2fc_f32': 60,
  'slice_fashion_mnist_2c2fc_bf16': 55,
  'slice_cifar10_5c_f32': 80,
  'slice_cifar10_5c_bf16': 70,
  'slice_cifar10_lab21_f32': 75,
  'benchmark_float32': 55,
  'benchmark_bfloat16': 55,
  'transpose': 40,
  'benchmark_batch_nudges': 40,
  'memory': 50,
}


@dataclasses.dataclass
class Step:
  """One step: a command, its timeout, and the JSON file it leaves (if any)."""

  name: str
  argv: list[str]
  timeout_s: float
  result: str | None = None
  env: dict[str, str] = dataclasses.field(default_factory=dict)
  collect: object = None  # (step, summary entry) -> result, instead of reading ``result``


def _read_json(path):
  if path is None:
    return None
  try:
    with open(path) as f:
      return json.load(f)
  except (OSError, ValueError):
    return None


def _test_results(step: Step, entry: dict) -> dict:
  lines = []
  try:
    with open(step.env['GPU_KIT_TEST_LOG']) as f:
      lines = [json.loads(line) for line in f if line.strip()]
  except (OSError, ValueError):
    pass
  counts = {}
  for line in lines:
    counts[line['outcome']] = counts.get(line['outcome'], 0) + 1
  return {
    'counts': counts,
    'failed': [t['nodeid'] for t in lines if t['outcome'].startswith('failed')],
    'tests': lines,
    'selection': step.env['GPU_KIT_TESTS'].split(','),
  }


def plan(
  work: Path,
  *,
  dry_run: bool = False,
  bundle: Path | None = None,
  python: str = sys.executable,
  tests=None,
) -> list[Step]:
  """Every step of the kit (``STEP_NAMES`` order), writing its results under ``work``."""
  py = [python]
  timeout = (lambda name: DRY_RUN_TIMEOUT) if dry_run else TIMEOUTS.get
  steps = [
    Step('env', [*py, '-m', 'gpu_kit.env', f'--out={work}/env.json'], timeout('env')),
    Step(
      'gemm',
      [*py, '-m', 'gpu_kit.gemm', f'--out={work}/gemm.json']
      + (['--square=256', '--repeats=2', '--trials=1'] if dry_run else []),
      timeout('gemm'),
    ),
  ]
  steps[0].result, steps[1].result = f'{work}/env.json', f'{work}/gemm.json'
  test_env = {
    'GPU_KIT_TESTS': ','.join(tests or (DRY_RUN_TESTS if dry_run else GPU_TESTS)),
    'GPU_KIT_TEST_LOG': f'{work}/tests.jsonl',
  }
  pytest = [*py, '-m', 'pytest', '-q', '-p', 'gpu_kit.pytest_plugin']
  pytest += ['--continue-on-collection-errors', '-o', 'addopts=-ra']
  if not dry_run and importlib.util.find_spec('xdist') is not None:
    pytest += ['-n', '4']  # 4 processes on one GPU, each with a fifth of its memory
    test_env['XLA_PYTHON_CLIENT_MEM_FRACTION'] = '0.2'
  if importlib.util.find_spec('pytest_timeout') is not None:
    pytest += ['--timeout=90']
  steps.append(
    Step('tests', [*pytest, 'tests'], timeout('tests'), env=test_env, collect=_test_results)
  )
  fmnist = Path(bundle) / 'fashion-mnist' if bundle else None
  if dry_run:
    fmnist = work / 'synthetic_fashion_mnist'
  for (config_name, compute_dtype), name in zip(SLICES, SLICE_NAMES):
    argv = [
      *py,
      '-m',
      'gpu_kit.slices',
      f'--slice={config_name}',
      f'--out={work}/slice_{name}.json',
    ]
    argv += [f'--compute_dtype={compute_dtype}', f'--tfds_dir={work}/tfds']
    argv += (
      ['--variant=smoke', '--tiny', '--steps=2', '--eval_steps=1'] if dry_run else ['--steps=5']
    )
    argv.append(f'--max_s={max(timeout(f"slice_{name}") - 15, 10)}')
    if config_name.startswith('fashion_mnist') and fmnist is not None:
      argv.append(f'--data_dir={fmnist}')
    steps.append(
      Step(f'slice_{name}', argv, timeout(f'slice_{name}'), result=f'{work}/slice_{name}.json')
    )
  for dtype in ('float32', 'bfloat16'):  # bfloat16: the precision policy (float32 parameters)
    argv = [*py, str(ROOT / 'experiments' / 'benchmark.py'), f'--out={work}/bench_{dtype}.json']
    argv += [f'--compute_dtype={dtype}', '--repeats=5']
    if dry_run:
      argv += ['--workloads=inference_fc', '--cpu_devices=1']
    steps.append(
      Step(f'benchmark_{dtype}', argv, timeout(f'benchmark_{dtype}'), f'{work}/bench_{dtype}.json')
    )
  argv = [*py, str(ROOT / 'experiments' / 'transpose_speed.py'), f'--out={work}/transpose.json']
  if dry_run:
    argv += ['--shapes=2x7x3x4x4x2x0', '--dense=4x24x8', '--dense_steps=2', '--repeats=2']
  steps.append(Step('transpose', argv, timeout('transpose'), f'{work}/transpose.json'))
  # EP's two nudged phases as one over twice the batch (EP.batch_nudges), against
  # benchmark_bfloat16's same workloads one phase after the other
  argv = [*py, str(ROOT / 'experiments' / 'benchmark.py'), f'--out={work}/bench_batch_nudges.json']
  argv += ['--compute_dtype=bfloat16', '--repeats=5', '--batch_nudges']
  argv += (
    ['--workloads=crnn_fc', '--cpu_devices=1']
    if dry_run
    else ['--workloads=crnn_fc,stochep_fc_bernoulli,conv_small,conv_2c2fc']
  )
  steps.append(
    Step(
      'benchmark_batch_nudges',
      argv,
      timeout('benchmark_batch_nudges'),
      f'{work}/bench_batch_nudges.json',
    )
  )
  argv = [*py, str(ROOT / 'experiments' / 'memory.py'), f'--workdir={work}/memory']
  if dry_run:
    argv += ['--architectures=784-512-10', '--ts=10,20', '--batch_size=8']
    argv += ['--methods=ep_crnn,bptt_crnn']
  else:
    argv += ['--ts=50,500', '--methods=ep_snn,bptt_snn']  # EP's memory flat in T, BPTT's not
  steps.append(Step('memory', argv, timeout('memory'), result=f'{work}/memory/memory.json'))
  return sorted(steps, key=lambda step: STEP_NAMES.index(step.name))  # priority order


def run_step(step: Step, timeout_s: float, log) -> dict:
  """Runs ``step`` (its own process group, killed whole at the timeout); its summary entry."""
  env = dict(os.environ, PYTHONUNBUFFERED='1', **step.env)
  log.write(f'\n===== {step.name}: {" ".join(step.argv)} (timeout {timeout_s:.0f} s)\n')
  log.flush()
  start = time.perf_counter()
  with tempfile.TemporaryFile('w+') as output:
    proc = subprocess.Popen(
      step.argv, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
      returncode = proc.wait(timeout=timeout_s)
      status = 'ok' if returncode == 0 else 'failed'
    except subprocess.TimeoutExpired:
      os.killpg(proc.pid, signal.SIGKILL)
      returncode = proc.wait()
      status = 'timeout'
    output.seek(0)
    text = output.read()
  log.write(text)
  log.write(f'===== {step.name}: {status} in {time.perf_counter() - start:.1f} s\n')
  log.flush()
  entry = {
    'status': status,
    'seconds': time.perf_counter() - start,
    'timeout_s': timeout_s,
    'returncode': returncode,
    'command': step.argv,
    'output_tail': text[-3000:],
  }
  entry['result'] = step.collect(step, entry) if step.collect else _read_json(step.result)
  return entry


def efficiency(summary: dict) -> dict:
  """Each benchmark workload's GFLOP/s against the gemm step's peaks of the same dtype."""
  gemm = ((summary['steps'].get('gemm') or {}).get('result')) or {}
  peaks, by_shape = gemm.get('peak_gflops', {}), gemm.get('gflops', {})
  variants = {'float32': ('float32_default', 'float32_highest'), 'bfloat16': ('bfloat16',)}
  out = {}
  for dtype, names in variants.items():
    bench = (summary['steps'].get(f'benchmark_{dtype}') or {}).get('result') or {}
    for workload, r in (bench.get('workloads') or {}).items():
      e = {
        'ms_per_step': r.get('ms_per_step'),
        'gflops': r.get('gflops'),
        'benchmark_efficiency': r.get('efficiency'),  # against benchmark.py's own float32 peak
      }
      shape = 'x'.join(str(v) for v in r.get('dominant_gemm') or ())
      for v in names:
        if peaks.get(v) and r.get('gflops') is not None:
          e[f'vs_{v}_peak'] = r['gflops'] / peaks[v]
        own = by_shape.get(v, {}).get(shape)
        if own and r.get('gflops') is not None:
          e[f'vs_{v}_own_shape'] = r['gflops'] / own
      out.setdefault(dtype, {})[workload] = e
  return out


def slices(summary: dict) -> dict:
  keys = (
    'data',
    'compile_s',
    'median_step_s',
    'steps_per_epoch',
    'projected_train_epoch_s',
    'projected_eval_s',
    'projected_epoch_s',
    'projected_run_s',
    'memory',
  )
  out = {}
  for name, entry in summary['steps'].items():
    if name.startswith('slice_'):
      r = entry.get('result') or {}
      out[name[len('slice_') :]] = {'status': entry['status'], **{k: r.get(k) for k in keys}}
  return out


def write_summary(summary: dict, out: Path) -> None:
  env = (summary['steps'].get('env') or {}).get('result') or {}
  summary['device_name'] = env.get('device_name')
  summary['jax_version'] = env.get('jax')
  summary['backend'] = env.get('backend')
  summary['slices'] = slices(summary)
  summary['efficiency'] = efficiency(summary)
  summary['ok'] = all(s['status'] == 'ok' for s in summary['steps'].values()) and (
    (summary.get('install') or {}).get('status', 'ok') == 'ok'
  )
  tmp = out / (SUMMARY + '.tmp')
  tmp.write_text(json.dumps(summary, indent=1, default=str))
  os.replace(tmp, out / SUMMARY)


def run_kit(
  steps: list[Step],
  out: Path,
  *,
  budget_s: float,
  dry_run: bool = False,
  install: dict | None = None,
  prepare=None,
  min_step_s: float = MIN_STEP_S,
  reserve_s: float = RESERVE_S,
) -> dict:
  """Runs ``steps`` within ``budget_s`` and returns the summary written to ``out``."""
  out.mkdir(parents=True, exist_ok=True)
  start = time.perf_counter()
  deadline = start + budget_s
  summary = {
    'kit': 'stochep_jax gpu_kit',
    'started': time.strftime('%Y-%m-%dT%H:%M:%S%z'),
    'dry_run': dry_run,
    'budget_s': budget_s,
    'python': sys.version.split()[0],
    'install': install,
    'steps': {},
  }
  with open(out / LOG, 'a') as log:
    if prepare is not None:
      prepare()
    for step in steps:
      left = deadline - time.perf_counter() - reserve_s
      if left < min_step_s:
        summary['steps'][step.name] = {'status': 'skipped', 'reason': 'budget', 'seconds': 0.0}
        log.write(f'\n===== {step.name}: skipped ({left:.0f} s left of the budget)\n')
      else:
        summary['steps'][step.name] = run_step(step, min(step.timeout_s, left), log)
      summary['wall_s'] = time.perf_counter() - start
      write_summary(summary, out)
  return summary


def main(argv):
  if len(argv) > 1:
    raise app.UsageError('Too many command-line arguments.')
  unknown = set(FLAGS.steps) - set(STEP_NAMES)
  if unknown:
    raise app.UsageError(f'unknown steps {sorted(unknown)}; choose from {list(STEP_NAMES)}')
  out = Path(FLAGS.out).resolve()
  work = Path(tempfile.mkdtemp(prefix='gpu_kit_'))
  steps = plan(
    work, dry_run=FLAGS.dry_run, bundle=Path(FLAGS.bundle), python=FLAGS.python, tests=FLAGS.tests
  )
  if FLAGS.steps:
    steps = [s for s in steps if s.name in FLAGS.steps]

  def prepare():
    if FLAGS.dry_run and any(s.name.startswith('slice_fashion_mnist') for s in steps):
      from stochep_jax import data  # noqa: PLC0415 (no JAX: stochep_jax.data is numpy only)

      data.write_synthetic_idx(work / 'synthetic_fashion_mnist', 512, 256, seed=0)

  install = _read_json(FLAGS.install_json) if FLAGS.install_json else None
  budget = FLAGS.budget_s
  if FLAGS.dry_run and not FLAGS['budget_s'].present:
    budget = DRY_RUN_BUDGET_S
  summary = run_kit(
    steps, out, budget_s=budget, dry_run=FLAGS.dry_run, install=install, prepare=prepare
  )
  png = work / 'memory' / 'memory.png'
  if png.exists():
    shutil.copy2(png, out / 'memory.png')
  shutil.rmtree(work, ignore_errors=True)
  print(f'gpu_kit: {out / SUMMARY}, {summary.get("wall_s", 0):.0f} s')
  for name, s in summary['steps'].items():
    print(f'  {name:28s} {s["status"]:8s} {s.get("seconds", 0):6.1f} s')
  print(f'  device {summary["device_name"]}, jax {summary["jax_version"]}, ok {summary["ok"]}')


if __name__ == '__main__':
  from experiments import launch  # noqa: PLC0415

  define_flags()
  launch.run(main)
