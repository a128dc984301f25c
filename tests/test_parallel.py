"""Data parallelism: results do not depend on the number of devices or processes."""

import json
import os
import socket
import subprocess
import sys

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest

from stochep_jax import data

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAIN = os.path.join(ROOT, 'experiments', 'train.py')
CONFIG = os.path.join(ROOT, 'experiments', 'configs', 'fashion_mnist.py')


def _env(devices):
  """A subprocess environment on the CPU backend with ``devices`` forced devices
  (None: no forced count); XLA_FLAGS's other flags (conftest's FAST_COMPILE) are kept."""
  xla = [f for f in os.environ.get('XLA_FLAGS', '').split() if 'device_count' not in f]
  if devices is not None:
    xla.append(f'--xla_force_host_platform_device_count={devices}')
  env = dict(os.environ, JAX_PLATFORMS='cpu', XLA_FLAGS=' '.join(xla))
  if not xla:
    env.pop('XLA_FLAGS')
  env.pop('JAX_COMPILATION_CACHE_DIR', None)
  return env


@pytest.mark.parametrize('forced', [None, 3])
def test_set_cpu_devices(forced):
  """``set_cpu_devices`` makes that many CPU devices, unless XLA_FLAGS forces a count."""
  code = (
    'from stochep_jax import parallel; ok = parallel.set_cpu_devices(2); '
    'import jax; print(ok, jax.device_count())'
  )
  out = subprocess.run(
    [sys.executable, '-c', code],
    env=_env(forced),
    cwd=ROOT,
    check=True,
    capture_output=True,
    text=True,
    timeout=120,
  ).stdout.split()
  assert out == (['True', '2'] if forced is None else ['False', '3'])


def test_one_and_four_devices_give_the_same_step(tmp_path):
  out = tmp_path / 'out.json'
  subprocess.run(
    [sys.executable, os.path.join(ROOT, 'tests', '_parallel_worker.py'), str(out)],
    env=_env(4),
    check=True,
    timeout=600,
  )
  result = json.load(open(out))
  for name in ('crnn', 'stochep'):
    r = result[name]
    assert r['max_param_diff'] <= 1e-5, r
    # Each device computes only its own examples' input drive: nothing is gathered
    # (the gradients' all-reduce is the step's only collective).
    assert r['all_gathers_4'] == 0, r
    assert r['eval_1']['correct'] == r['eval_4']['correct']  # identical accuracy
    assert r['train_1']['correct'] == r['train_4']['correct']
    np.testing.assert_allclose(r['eval_1']['loss'], r['eval_4']['loss'], rtol=1e-5)
    for k in r['eval_1']:
      if k.startswith('rate'):  # the same spikes: the same firing rates
        np.testing.assert_allclose(r['eval_1'][k], r['eval_4'][k], rtol=1e-6)


def test_launcher_runs_many_steps_on_two_cpu_devices(tmp_path):
  """Regression: with several steps in flight, 2 forced CPU devices hung in XLA:CPU's
  all-reduce (aborted after its 40 s rendezvous timeout); ``parallel.paced`` prevents it.
  The devices come from the launcher's ``--cpu_devices`` flag."""
  data.write_synthetic_idx(tmp_path / 'idx', 8192, 64, seed=2)
  run = subprocess.run(
    [
      sys.executable,
      TRAIN,
      f'--config={CONFIG}:smoke',
      f'--config.data_dir={tmp_path / "idx"}',
      f'--config.tfds_dir={tmp_path / "tfds"}',
      '--config.train_subset=8192',
      '--config.test_subset=0',
      '--config.batch_size=32',
      '--config.eval_batch_size=32',
      '--config.network.hidden=(512,)',
      '--config.ep.t_free=100',
      '--config.num_epochs=1',
      f'--workdir={tmp_path / "run"}',
      '--cpu_devices=2',
    ],  # steps longer than dispatch
    env=_env(None),
    timeout=600,
    capture_output=True,
    text=True,
  )
  assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
  metrics = json.load(open(tmp_path / 'run' / 'metrics.json'))
  assert metrics['epochs'] == 1 and len(metrics['devices']) == 2
  assert len(metrics['history']) == 1 and metrics['test_accuracy'] is not None


def _free_port():
  with socket.socket() as s:
    s.bind(('127.0.0.1', 0))
    return s.getsockname()[1]


def _restore(workdir, epoch, target=None):
  """A checkpoint's state onto this process's devices (``target`` gives the shardings)."""
  with ocp.CheckpointManager(os.path.join(workdir, 'checkpoints')) as mngr:
    return mngr.restore(epoch, args=ocp.args.Composite(state=ocp.args.StandardRestore(target)))[
      'state'
    ]


def test_two_processes_agree_with_one(tmp_path):
  """The launcher on 2 processes × 2 CPU devices (jax.distributed on 127.0.0.1)."""
  data.write_synthetic_idx(tmp_path / 'idx', 128, 64, seed=1)
  common = [
    f'--config={CONFIG}:smoke',
    f'--config.data_dir={tmp_path / "idx"}',
    f'--config.tfds_dir={tmp_path / "tfds"}',
    '--config.train_subset=64',
    '--config.test_subset=0',
    '--config.batch_size=32',
    '--config.eval_batch_size=32',
    '--config.num_epochs=1',
    '--config.network.hidden=(16,)',  # tinier than the smoke variant: the same comparisons
    '--config.ep.t_free=10',
    '--config.ep.t_nudge=5',
    '--config.ep.k_avg=3',
  ]
  subprocess.run(
    [sys.executable, TRAIN, *common, f'--workdir={tmp_path / "single"}'],
    env=_env(1),
    check=True,
    timeout=600,
    capture_output=True,
  )
  port = _free_port()
  procs = [
    subprocess.Popen(
      [
        sys.executable,
        TRAIN,
        *common,
        f'--workdir={tmp_path / "multi"}',
        f'--coordinator_address=127.0.0.1:{port}',
        '--num_processes=2',
        f'--process_id={i}',
      ],
      env=_env(2),
      stdout=subprocess.PIPE,
      stderr=subprocess.STDOUT,
      text=True,
    )
    for i in range(2)
  ]
  logs = [p.communicate(timeout=600)[0] for p in procs]
  assert all(p.returncode == 0 for p in procs), logs[0][-3000:] + logs[1][-3000:]
  single = json.load(open(tmp_path / 'single' / 'metrics.json'))
  multi = json.load(open(tmp_path / 'multi' / 'metrics.json'))
  assert multi['processes'] == 2 and len(multi['devices']) == 4
  assert multi['test_accuracy'] == single['test_accuracy']
  assert multi['train_accuracy'] == single['train_accuracy']
  assert 'final test accuracy' in logs[0] and 'final test accuracy' not in logs[1]
  single_state = _restore(tmp_path / 'single', 1)
  target = jax.tree_util.tree_map(
    lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding), single_state
  )
  multi_state = _restore(tmp_path / 'multi', 1, target)
  for a, b in zip(
    jax.tree_util.tree_leaves(single_state['params']),
    jax.tree_util.tree_leaves(multi_state['params']),
  ):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5)
