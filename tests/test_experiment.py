"""train_and_evaluate end to end on synthetic IDX files: learning, resume, fast failure."""

import json
import os
import subprocess
import sys
import time

import helpers
import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest

from stochep_jax import data, experiment

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_config(name='fashion_mnist', arg='smoke'):
  return helpers.load_config(name, arg)


@pytest.fixture(scope='module')
def synthetic(tmp_path_factory):
  root = tmp_path_factory.mktemp('synthetic')
  data.write_synthetic_idx(root / 'idx', 2048, 256, seed=0)
  return str(root / 'idx'), str(root / 'tfds')


def smoke_config(synthetic, **overrides):
  c = load_config()
  c.data_dir, c.tfds_dir = synthetic
  c.train_subset = c.test_subset = 0
  for k, v in overrides.items():
    setattr(c, k, v)
  return c


def test_smoke_run_learns_and_writes_metrics(synthetic, tmp_path):
  m = experiment.train_and_evaluate(smoke_config(synthetic, num_epochs=3), str(tmp_path))
  assert m['epochs'] == 3
  # 10 classes: chance is 0.1; over seeds and generators this smoke run ends at 0.40-0.74
  assert m['test_accuracy'] > 0.35
  on_disk = json.load(open(tmp_path / 'metrics.json'))
  for k in ('test_accuracy', 'train_accuracy', 'epochs', 'wall_seconds', 'config'):
    assert k in on_disk
  assert on_disk['config']['neuron']['name'] == 'stochep'
  assert len(on_disk['history']) == 3


@pytest.mark.parametrize('neuron,flag', [('crnn', '--mean_field'), ('stochep', '--nomean_field')])
def test_per_class_reproduces_the_launchers_test_accuracy(synthetic, tmp_path, neuron, flag):
  config = smoke_config(synthetic, num_epochs=1, train_subset=512)
  config.neuron.name = neuron
  config.network.hidden = (16,)  # tinier than the smoke variant: any accuracy will do
  config.ep.update(dict(t_free=10, t_nudge=5, k_avg=3))
  m = experiment.train_and_evaluate(config, str(tmp_path))
  subprocess.run(
    [
      sys.executable,
      os.path.join(ROOT, 'experiments', 'per_class.py'),
      f'--workdir={tmp_path}',
      flag,
    ],
    check=True,
    capture_output=True,
  )
  r = json.load(open(tmp_path / 'per_class.json'))
  assert r['epoch'] == 1 and r['n_test'] == 256 and not r['mean_field']
  assert r['accuracy'] == m['test_accuracy']  # the launcher's evaluation, exactly
  counts, accs = np.array(r['per_class_count']), np.array(r['per_class_accuracy'])
  assert counts.sum() == 256
  np.testing.assert_allclose(np.sum(counts * accs) / 256, r['accuracy'], rtol=1e-12)
  assert len(r['last_layer_max_rate']) == 10 and max(r['last_layer_max_rate']) <= 1.0


def test_resume_continues_where_it_stopped(synthetic, tmp_path):
  straight = experiment.train_and_evaluate(
    smoke_config(synthetic, num_epochs=2), str(tmp_path / 'a')
  )
  stopped = experiment.train_and_evaluate(
    smoke_config(synthetic, num_epochs=2, stop_after_epoch=1), str(tmp_path / 'b')
  )
  assert stopped['epochs'] == 1
  resumed = experiment.train_and_evaluate(
    smoke_config(synthetic, num_epochs=2), str(tmp_path / 'b')
  )
  assert resumed['epochs'] == 2
  for k in ('test_accuracy', 'train_accuracy', 'test_loss', 'train_loss'):
    assert [h[k] for h in resumed['history']] == [h[k] for h in straight['history']]
  # Parameters are bit-for-bit those of the uninterrupted run.
  params = []
  for d in ('a', 'b'):
    with ocp.CheckpointManager(str(tmp_path / d / 'checkpoints')) as mngr:
      params.append(
        mngr.restore(2, args=ocp.args.Composite(state=ocp.args.StandardRestore()))['state'][
          'params'
        ]
      )
  leaves = [np.concatenate([np.ravel(x) for x in jax.tree_util.tree_leaves(p)]) for p in params]
  np.testing.assert_array_equal(leaves[0], leaves[1])


def test_missing_dataset_fails_fast_with_instructions(tmp_path):
  c = load_config()
  c.data_dir = str(tmp_path / 'nowhere')
  t = time.perf_counter()
  with pytest.raises(data.MissingDatasetError) as err:
    experiment.train_and_evaluate(c, str(tmp_path / 'w'))
  assert time.perf_counter() - t < 1.0
  msg = str(err.value)
  assert 'train-images-idx3-ubyte' in msg and str(tmp_path / 'nowhere') in msg
  assert not (tmp_path / 'w').exists()  # nothing was started


def test_launcher_exits_nonzero_with_the_message(tmp_path):
  proc = subprocess.run(
    [
      sys.executable,
      os.path.join(ROOT, 'experiments', 'train.py'),
      f'--config={os.path.join(ROOT, "experiments", "configs", "fashion_mnist.py")}:smoke',
      f'--workdir={tmp_path / "w"}',
      f'--config.data_dir={tmp_path / "none"}',
    ],
    capture_output=True,
    text=True,
    timeout=120,
  )
  assert proc.returncode != 0
  assert 'dataset-fashion-mnist' in proc.stderr and 't10k-labels-idx1-ubyte' in proc.stderr


def test_launcher_cpu_devices_divide_the_batches():
  """train.py --cpu_devices=0: one device per core, fewer if the batches need it."""
  code = '\n'.join(
    [
      'import sys, ml_collections',
      f'sys.path.insert(0, {os.path.join(ROOT, "experiments")!r})',
      'import train',
      'c = ml_collections.ConfigDict(dict(batch_size=128, eval_batch_size=1000))',
      'print(train.cpu_devices(0, c, 1, cores=6), train.cpu_devices(0, c, 1, cores=2),',
      '      train.cpu_devices(0, c, 4, cores=4), train.cpu_devices(0, c, 1, cores=64),',
      '      train.cpu_devices(3, c, 1, cores=2))',
    ]
  )
  out = subprocess.run(
    [sys.executable, '-c', code], check=True, capture_output=True, text=True, timeout=120
  ).stdout.split()
  # gcd(128, 1000) = 8: 6 cores -> 4; 2 -> 2; 4 processes share 8 -> 2 each; 64 -> 8; asked 3 -> 3
  assert out == ['4', '2', '2', '8', '3']
