"""Data parallelism: results do not depend on the number of devices or processes."""

import json
import os
import socket
import subprocess
import sys
import types
from unittest import mock

import helpers
import jax
import numpy as np
import orbax.checkpoint as ocp
from absl.testing import absltest, parameterized

from stochep_jax import data, parallel

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAIN = os.path.join(ROOT, 'experiments', 'train.py')
CONFIG = os.path.join(ROOT, 'experiments', 'configs', 'fashion_mnist.py')
PER_CLASS = os.path.join(ROOT, 'experiments', 'per_class.py')
ENERGY = os.path.join(ROOT, 'experiments', 'energy.py')


def _env(devices):
  """``helpers.cpu_env(devices)`` without the tests' persistent compile cache."""
  env = helpers.cpu_env(devices)
  env.pop('JAX_COMPILATION_CACHE_DIR', None)
  return env


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


class DevicesTest(parameterized.TestCase):
  @parameterized.named_parameters(('unforced', None), ('forced_3', 3))
  def test_set_cpu_devices(self, forced):
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
    self.assertEqual(out, ['True', '2'] if forced is None else ['False', '3'])

  def test_one_and_four_devices_give_the_same_step(self):
    out = os.path.join(self.create_tempdir().full_path, 'out.json')
    subprocess.run(
      [sys.executable, os.path.join(ROOT, 'tests', '_parallel_worker.py'), out],
      env=_env(4),
      check=True,
      timeout=600,
    )
    result = json.load(open(out))
    for name in ('crnn', 'stochep'):
      r = result[name]
      self.assertLessEqual(r['max_param_diff'], 1e-5, r)
      # Each device computes only its own examples' input drive: nothing is gathered
      # (the gradients' all-reduce is the step's only collective).
      self.assertEqual(r['all_gathers_4'], 0, r)
      self.assertEqual(r['eval_1']['correct'], r['eval_4']['correct'])  # identical accuracy
      self.assertEqual(r['train_1']['correct'], r['train_4']['correct'])
      np.testing.assert_allclose(r['eval_1']['loss'], r['eval_4']['loss'], rtol=1e-5)
      for k in r['eval_1']:
        if k.startswith('rate'):  # the same spikes: the same firing rates
          np.testing.assert_allclose(r['eval_1'][k], r['eval_4'][k], rtol=1e-6)

  def test_launcher_runs_many_steps_on_two_cpu_devices(self):
    """Regression: with several steps in flight, 2 forced CPU devices hung in XLA:CPU's
    all-reduce under JAX 0.10.2 (aborted after its 40 s rendezvous timeout); ``parallel.paced``
    prevents it (PacedTest checks that it waits). Under JAX 0.12.1 this run does not hang
    without it either (BUILD_NOTES.md, section 3). The devices come from the launcher's
    ``--cpu_devices`` flag."""
    tmp = self.create_tempdir().full_path
    data.write_synthetic_idx(os.path.join(tmp, 'idx'), 1024, 64, seed=2)
    run = subprocess.run(
      [
        sys.executable,
        TRAIN,
        f'--config={CONFIG}:smoke',
        f'--config.data_dir={os.path.join(tmp, "idx")}',
        f'--config.tfds_dir={os.path.join(tmp, "tfds")}',
        '--config.train_subset=1024',  # 32 steps
        '--config.test_subset=0',
        '--config.batch_size=32',
        '--config.eval_batch_size=32',
        '--config.network.hidden=(128,)',
        '--config.ep.t_free=100',
        '--config.num_epochs=1',
        f'--workdir={os.path.join(tmp, "run")}',
        '--cpu_devices=2',
      ],  # steps longer than dispatch
      env=_env(None),
      timeout=600,
      capture_output=True,
      text=True,
    )
    self.assertEqual(run.returncode, 0, run.stdout[-2000:] + run.stderr[-3000:])
    metrics = json.load(open(os.path.join(tmp, 'run', 'metrics.json')))
    self.assertEqual(metrics['epochs'], 1)
    self.assertLen(metrics['devices'], 2)
    self.assertLen(metrics['history'], 1)
    self.assertIsNotNone(metrics['test_accuracy'])
    # Regression: a checkpoint written by 2 devices restores in a 1-device process
    # (orbax's 'Topology mismatch' before), and the evaluation is the launcher's, exactly.
    workdir = os.path.join(tmp, 'run')
    # (energy.py counts the same checkpoint, its images reshaped to the net's [28, 28, 1])
    idx = os.path.join(tmp, 'idx')
    for done in helpers.run_scripts(  # one device each, from one interpreter: one import of JAX
      [
        (PER_CLASS, [f'--workdir={workdir}', '--nomean_field'], tmp),
        (ENERGY, [f'--workdir={workdir}', f'--data_dir={idx}', '--batch=16'], tmp),
      ],
      env=_env(1),
    ):
      self.assertEqual(done.returncode, 0, done.stderr[-3000:])
    per_class = json.load(open(os.path.join(workdir, 'per_class.json')))
    self.assertEqual(per_class['accuracy'], metrics['test_accuracy'])
    counted = json.load(open(os.path.join(workdir, 'energy.json')))
    self.assertIn('epoch 1', counted['params_source'])


class PacedTest(absltest.TestCase):
  """``parallel.paced`` waits for each step on a mesh of several CPU devices, nowhere else."""

  def _mesh(self, *platforms):
    devices = np.array([types.SimpleNamespace(platform=p) for p in platforms], dtype=object)
    return types.SimpleNamespace(devices=devices)

  def test_waits_on_several_cpu_devices_only(self):
    def step(x):
      return x + 1

    for platforms in (('cpu',), ('gpu', 'gpu'), ('tpu',)):
      self.assertIs(parallel.paced(step, self._mesh(*platforms)), step, platforms)
    paced = parallel.paced(step, self._mesh('cpu', 'cpu'))
    self.assertIsNot(paced, step)
    with mock.patch.object(jax, 'block_until_ready', wraps=jax.block_until_ready) as wait:
      self.assertEqual(paced(1), 2)
    wait.assert_called_once_with(2)


class ProcessesTest(absltest.TestCase):
  def test_two_processes_agree_with_one(self):
    """The launcher on 2 processes × 2 CPU devices (jax.distributed on 127.0.0.1)."""
    tmp = self.create_tempdir().full_path
    data.write_synthetic_idx(os.path.join(tmp, 'idx'), 128, 64, seed=1)
    common = [
      f'--config={CONFIG}:smoke',
      f'--config.data_dir={os.path.join(tmp, "idx")}',
      f'--config.tfds_dir={os.path.join(tmp, "tfds")}',
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
      [sys.executable, TRAIN, *common, f'--workdir={os.path.join(tmp, "single")}'],
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
          f'--workdir={os.path.join(tmp, "multi")}',
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
    self.assertEqual([p.returncode for p in procs], [0, 0], logs[0][-3000:] + logs[1][-3000:])
    single = json.load(open(os.path.join(tmp, 'single', 'metrics.json')))
    multi = json.load(open(os.path.join(tmp, 'multi', 'metrics.json')))
    self.assertEqual(multi['processes'], 2)
    self.assertLen(multi['devices'], 4)
    self.assertEqual(multi['test_accuracy'], single['test_accuracy'])
    self.assertEqual(multi['train_accuracy'], single['train_accuracy'])
    self.assertIn('final test accuracy', logs[0])
    self.assertNotIn('final test accuracy', logs[1])
    single_state = _restore(os.path.join(tmp, 'single'), 1)
    target = jax.tree_util.tree_map(
      lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding), single_state
    )
    multi_state = _restore(os.path.join(tmp, 'multi'), 1, target)
    for a, b in zip(
      jax.tree_util.tree_leaves(single_state['params']),
      jax.tree_util.tree_leaves(multi_state['params']),
    ):
      np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5)


class StartUpChecksTest(absltest.TestCase):
  def test_cpu_device_count_must_be_positive(self):
    for n in (-1, 0, 2.5):
      with self.assertRaisesRegex(ValueError, f'^set_cpu_devices: n={n}: must be an integer >= 1$'):
        parallel.set_cpu_devices(n)

  def test_multi_host_arguments_go_together(self):
    with self.assertRaisesRegex(
      ValueError, 'coordinator_address=.*needs num_processes and process_id'
    ):
      parallel.initialize('host:1234', num_processes=2)
    with self.assertRaisesRegex(ValueError, r'process_id=2: must be an integer in \[0, 1\]'):
      parallel.initialize('host:1234', num_processes=2, process_id=2)
    with self.assertRaisesRegex(ValueError, 'num_processes=0: must be an integer >= 1'):
      parallel.initialize('host:1234', num_processes=0, process_id=0)


if __name__ == '__main__':
  absltest.main()
