"""``train_and_evaluate(config, workdir)``: what the launchers run.

This is the one module that reads an ``ml_collections`` config: it builds the
simulator and gradient estimator from registered names, loads the dataset
through ``stochep_jax.data``, trains with ``training`` and keeps an orbax
checkpoint per epoch (a restarted run with the same workdir resumes), and
writes ``<workdir>/metrics.json``. See ``experiments/configs/`` for the fields.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import orbax.checkpoint as ocp
from absl import logging
from flax import serialization

from stochep_jax import (
  architectures,
  data,
  dynamics,
  estimators,
  inputs,
  neurons,
  parallel,
  training,
)

CHECKPOINT_DIR = 'checkpoints'


def _dict(cfg) -> dict:
  return cfg.to_dict() if isinstance(cfg, ml_collections.ConfigDict) else dict(cfg)


def build_simulator(config: ml_collections.ConfigDict) -> dynamics.Simulator:
  """Network, neuron model and input encoder named by the config."""
  spec = data.DATASETS[config.dataset]
  net_cfg = _dict(config.network)
  network = architectures.ARCHITECTURES.make(
    net_cfg.pop('architecture'), input_shape=spec.image_shape, n_classes=spec.num_classes, **net_cfg
  )
  neuron_cfg = _dict(config.neuron)
  neuron = neurons.NEURONS.make(neuron_cfg.pop('name'), **neuron_cfg)
  input_cfg = _dict(config.input)
  encoder = inputs.ENCODERS.make(input_cfg.pop('name'), t_free=config.ep.t_free, **input_cfg)
  return dynamics.Simulator(network, neuron, encoder, **_dict(config.simulator))


def run_keys(config: ml_collections.ConfigDict) -> tuple[jax.Array, jax.Array, jax.Array]:
  """The run's (initialisation, training, evaluation) keys: fold_in(key(seed), 0 / 1 / 2)."""
  root = jax.random.key(config.seed)
  return tuple(jax.random.fold_in(root, i) for i in range(3))


def build_gradient_fn(config: ml_collections.ConfigDict, sim: dynamics.Simulator):
  """``gradient_fn`` of the estimator named by ``config.method`` (e.g. ``'ep'``).

  Its inputs are augmented as the optional ``config.augment`` says (e.g.
  ``('flip', 'crop')``; absent or empty: none).
  """
  gradient_fn = estimators.ESTIMATORS.make(config.method, sim=sim, **_dict(config.ep))
  return augmented(gradient_fn, tuple(config.get('augment') or ()))


# Training-time augmentations a config can name in ``config.augment`` (``stochep_jax.data``).
AUGMENTATIONS = {'flip': data.random_flip, 'crop': data.random_crop}
# Augmentation keys come from fold_in(batch key, AUGMENT_STREAM): example index 2**32 - 2 is
# reserved (as 2**32 - 1 is for the random-sign draw), so they never meet the phases' keys.
AUGMENT_STREAM = 0xFFFFFFFE


def augmented(gradient_fn, names: tuple[str, ...]):
  """``gradient_fn`` applied to augmented images (inside the jitted train step).

  Augmentation j of example i uses the key
  ``fold_in(fold_in(fold_in(key, AUGMENT_STREAM), index_i), j)``: it depends on
  the batch key and the example's global index only.
  """
  unknown = set(names) - set(AUGMENTATIONS)
  if unknown:
    raise ValueError(
      f'unknown augmentations {sorted(unknown)}; choose from {sorted(AUGMENTATIONS)}'
    )
  if not names:
    return gradient_fn

  def fn(params, x, labels, key, indices=None):
    idx = jnp.arange(x.shape[0]) if indices is None else indices
    keys = dynamics.example_keys(jax.random.fold_in(key, AUGMENT_STREAM), idx)
    for j, name in enumerate(names):
      x = AUGMENTATIONS[name](dynamics.fold_in_each(keys, j), x)
    return gradient_fn(params, x, labels, key, indices)

  return fn


def build_free_fn(config: ml_collections.ConfigDict, sim: dynamics.Simulator):
  """Inference: free phase → (scores, per-example cost, rates)."""
  t_free, k_avg = config.ep.t_free, config.ep.k_avg

  def free_fn(params, x, labels, key, indices):
    res = estimators.free_phase(sim, params, x, key, steps=t_free, k_avg=k_avg, indices=indices)
    return (
      sim.network.scores(params, res.rates),
      sim.network.cost(params, res.rates, labels),
      res.rates,
    )

  return free_fn


def _padded(batches, size: int):
  """Batches padded to ``size`` rows (one compilation), with a ``mask`` of real rows."""
  for batch in batches:
    n = batch['label'].shape[0]
    batch = {
      k: np.concatenate([v, np.zeros((size - n,) + v.shape[1:], v.dtype)]) for k, v in batch.items()
    }
    batch['mask'] = np.arange(size) < n
    yield batch


def evaluate(
  eval_step, params, source, batch_size: int, mesh, *, limit: int | None = None, dtype=np.float32
) -> dict[str, float]:
  """Free-phase metrics over a whole split (this process feeds its slice of each batch)."""
  pcount = jax.process_count()
  local = data.reader_batches(
    source,
    batch_size,
    limit=limit,
    seed=0,
    epoch=0,
    shuffle=False,
    drop_remainder=False,
    process_index=jax.process_index(),
    process_count=pcount,
  )
  sums = None
  for batch in _padded(local, batch_size // pcount):
    batch['image'] = batch['image'].astype(dtype)
    m = eval_step(params, parallel.global_batch(batch, mesh))
    sums = m if sums is None else jax.tree_util.tree_map(jnp.add, sums, m)
  return training.summarize(sums)


def _format(epoch, num_epochs, train, test, seconds):
  rates = ' '.join(f'{train[k]:.3f}' for k in sorted(train) if k.startswith('rate'))
  return (
    f'epoch {epoch:3d}/{num_epochs}  train acc {train["accuracy"]:.4f} '
    f'loss {train["loss"]:.4f}  test acc {test["accuracy"]:.4f} loss {test["loss"]:.4f}  '
    f'rates [{rates}]  {seconds:.1f}s'
  )


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
  """Trains and evaluates every epoch; returns what it writes to metrics.json.

  Args:
    config: an experiment config (``experiments/configs/*.py``).
    workdir: checkpoints go to ``workdir/checkpoints``, metrics to
      ``workdir/metrics.json``. A run restarted with the same workdir resumes
      from the last completed epoch; ``config.stop_after_epoch`` (0 = never)
      ends a run early on purpose (time-limited jobs), leaving the learning-rate
      schedule of ``num_epochs`` unchanged.
  """
  data.check_files(config.dataset, config.data_dir)  # fails fast, before any work
  tfds_dir = config.get('tfds_dir') or None
  pidx, pcount = jax.process_index(), jax.process_count()
  main_process = pidx == 0
  if pcount == 1:  # one process: the split in memory (fastest)
    train_src, test_src = (
      data.ArraySource(*data.load_arrays(config.dataset, split, config.data_dir, tfds_dir))
      for split in ('train', 'test')
    )
  else:  # several: each reads only its slice of every batch
    train_src, test_src = (
      data.SplitReader(config.dataset, split, config.data_dir, tfds_dir)
      for split in ('train', 'test')
    )
  train_limit, test_limit = config.get('train_subset') or None, config.get('test_subset') or None
  n_train = min(len(train_src), train_limit or len(train_src))

  mesh = parallel.make_mesh()
  sim = build_simulator(config)
  init_key, train_key, eval_key = run_keys(config)
  dtype = jnp.dtype(config.get('dtype') or 'float32')  # bfloat16: for accelerators
  params = sim.network.init(init_key, dtype)
  opt_cfg = _dict(config.optimizer)
  steps_per_epoch = n_train // config.batch_size
  if opt_cfg.pop('schedule', 'constant') == 'cosine':
    opt_cfg['decay_steps'] = config.num_epochs * steps_per_epoch
  optimizer = training.make_optimizer(params, opt_cfg.pop('learning_rates'), **opt_cfg)
  state = parallel.replicate(training.init_train_state(params, optimizer), mesh)
  train_fn = training.make_train_step(build_gradient_fn(config, sim), optimizer)
  eval_fn = training.make_eval_step(build_free_fn(config, sim))
  train_step = parallel.paced(
    parallel.data_parallel(lambda st, b: train_fn(st, b, train_key), mesh, donate_state=True), mesh
  )
  eval_step = parallel.paced(
    parallel.data_parallel(lambda p, b: eval_fn(p, b, eval_key), mesh), mesh
  )

  os.makedirs(workdir, exist_ok=True)
  mngr = ocp.CheckpointManager(
    os.path.abspath(os.path.join(workdir, CHECKPOINT_DIR)),
    options=ocp.CheckpointManagerOptions(max_to_keep=2),
  )
  meta = {'history': [], 'wall_seconds': 0.0}
  start_epoch = 0
  if mngr.latest_step() is not None:
    start_epoch = mngr.latest_step()
    restored = mngr.restore(
      start_epoch,
      args=ocp.args.Composite(
        state=ocp.args.StandardRestore(serialization.to_state_dict(state)),
        meta=ocp.args.JsonRestore(),
      ),
    )
    state = serialization.from_state_dict(state, restored['state'])
    meta = restored['meta']
    logging.info('resumed from %s at epoch %d', workdir, start_epoch)
    if main_process:
      print(f'resumed from the checkpoint of epoch {start_epoch}', flush=True)

  for epoch in range(start_epoch + 1, config.num_epochs + 1):
    t0 = time.time()
    sums = None
    batches = data.reader_batches(
      train_src,
      config.batch_size,
      limit=train_limit,
      seed=config.seed,
      epoch=epoch,
      process_index=pidx,
      process_count=pcount,
    )
    for i, local in enumerate(batches):
      local['image'] = local['image'].astype(dtype)
      state, m = train_step(state, parallel.global_batch(local, mesh))
      sums = m if sums is None else jax.tree_util.tree_map(jnp.add, sums, m)
      if config.log_every_steps and (i + 1) % config.log_every_steps == 0:
        s = training.summarize(sums)
        logging.info(
          'epoch %d step %d/%d train acc %.4f loss %.4f',
          epoch,
          i + 1,
          steps_per_epoch,
          s['accuracy'],
          s['loss'],
        )
    train = training.summarize(sums)
    test = evaluate(
      eval_step, state.params, test_src, config.eval_batch_size, mesh, limit=test_limit, dtype=dtype
    )
    seconds = time.time() - t0
    meta['wall_seconds'] += seconds
    meta['history'].append(
      {
        'epoch': epoch,
        'seconds': seconds,
        **{f'train_{k}': v for k, v in train.items()},
        **{f'test_{k}': v for k, v in test.items()},
      }
    )
    mngr.save(
      epoch,
      args=ocp.args.Composite(  # every process takes part
        state=ocp.args.StandardSave(serialization.to_state_dict(state)),
        meta=ocp.args.JsonSave(meta),
      ),
    )
    if main_process:
      print(_format(epoch, config.num_epochs, train, test, seconds), flush=True)
      _write_metrics(workdir, config, meta)
    if epoch == config.get('stop_after_epoch'):  # a time-sliced job: resume later
      break
  mngr.wait_until_finished()
  mngr.close()
  metrics = _metrics(config, meta)
  if main_process:
    _write_metrics(workdir, config, meta)
    print(
      f'final test accuracy {metrics["test_accuracy"]:.4f} (error '
      f'{100 * (1 - metrics["test_accuracy"]):.2f}%) after {metrics["epochs"]} epochs, '
      f'{metrics["wall_seconds"]:.0f}s',
      flush=True,
    )
  return metrics


def _metrics(config: ml_collections.ConfigDict, meta: dict) -> dict:
  history = meta['history']
  last = history[-1] if history else {}
  return {
    'test_accuracy': last.get('test_accuracy'),
    'train_accuracy': last.get('train_accuracy'),
    'best_test_accuracy': max((h['test_accuracy'] for h in history), default=None),
    'epochs': len(history),
    'wall_seconds': meta['wall_seconds'],
    'processes': jax.process_count(),
    'devices': [str(d) for d in jax.devices()],
    'history': history,
    'config': config.to_dict(),
  }


def _write_metrics(workdir: str, config: ml_collections.ConfigDict, meta: dict) -> None:
  """Writes metrics.json atomically (process 0 only)."""
  path = os.path.join(workdir, 'metrics.json')
  with open(path + '.tmp', 'w') as f:
    json.dump(_metrics(config, meta), f, indent=1, default=str)
  os.replace(path + '.tmp', path)
