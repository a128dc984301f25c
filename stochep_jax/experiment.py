"""``train_and_evaluate(config, workdir)``: what the launchers run.

A short composition, flax-examples style: check the config and build the run once
(``validate``, ``assembly``), load the data, restore the work folder (``workdir``),
then per epoch train, evaluate, check, record, save and report (``reporting``). A run
restarted with the same workdir resumes from its last completed epoch; a run
that diverges stops with its last good checkpoint and ``metrics.json`` intact.
See ``experiments/configs/base.py`` for the fields.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import os
import signal
import time
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from stochep_jax import assembly, data, evaluation, keys, parallel, reporting, training, validate
from stochep_jax import workdir as workdir_lib


class DivergenceError(RuntimeError):
  """Training produced a non-finite loss, rate or parameter (the message says where)."""


class Interrupted(BaseException):  # noqa: N818  (like KeyboardInterrupt: not an Exception)
  """SIGINT or SIGTERM arrived (``stop_on_signals``); ``exit_code`` is 128 + the signal."""

  def __init__(self, signum: int):
    self.signum = signum
    self.name = signal.Signals(signum).name
    self.exit_code = 128 + signum
    super().__init__(self.name)


_deferred: list[int] | None = None  # signals held back while a checkpoint is being written


def _on_signal(signum, frame):
  del frame
  if _deferred is not None:
    _deferred.append(signum)
  else:
    raise Interrupted(signum)


def stop_on_signals() -> None:
  """SIGINT and SIGTERM raise ``Interrupted`` in the main thread (held back while an
  epoch's checkpoint and metrics.json are written, so both stay consistent)."""
  for sig in (signal.SIGINT, signal.SIGTERM):
    signal.signal(sig, _on_signal)


@contextlib.contextmanager
def _uninterrupted():
  global _deferred
  outer, _deferred = _deferred, [] if _deferred is None else _deferred
  try:
    yield
  finally:
    pending, _deferred = _deferred, outer
    if outer is None and pending:
      raise Interrupted(pending[0])


class _FirstCall:
  """A data-parallel step compiled ahead of its first call, timed and measured.

  The first call lowers and compiles the jitted step for its arguments (the
  compilation and that one step are timed and kept out of the epochs) and reads
  XLA's memory analysis of the compiled program (``memory``: bytes per device,
  ``training.compiled_memory``); every call then runs the compiled program (paced on
  forced CPU devices, ``parallel.paced``). Its arguments keep their shapes: the
  training batches drop the remainder, the evaluation pads the last batch.
  """

  def __init__(self, jitted, mesh, name: str, report):
    self.jitted, self.mesh, self.name, self.report = jitted, mesh, name, report
    self.seconds, self.memory, self.call = None, None, None

  def __call__(self, *args):
    if self.call is not None:
      return self.call(*args)
    t0 = time.perf_counter()
    compiled = self.jitted.lower(*args).compile()
    self.memory = training.compiled_memory(compiled)
    self.call = parallel.paced(compiled, self.mesh)
    out = jax.block_until_ready(self.call(*args))
    self.seconds = time.perf_counter() - t0
    self.report(self.name, self.seconds, self.memory)
    return out


def _load(config):
  """Train, test and validation sources (the last, None without ``validation_size``) and the
  train and test example counts (checked labels and images).

  The validation examples are the training split's last ``validation_size``: the training
  source holds the others."""
  tfds_dir = config.get('tfds_dir') or None
  spec = data.DATASETS[config.dataset]
  if jax.process_count() == 1:  # one process: the split in memory (fastest)
    sources = []
    for split in ('train', 'test'):
      images, labels = data.load_arrays(config.dataset, split, config.data_dir, tfds_dir)
      data.check_examples(images, labels, spec.num_classes, f'{config.dataset} {split}')
      sources.append(data.ArraySource(images, labels))
  else:  # several: each reads only its slice of every batch
    sources = [
      data.SplitReader(config.dataset, split, config.data_dir, tfds_dir)
      for split in ('train', 'test')
    ]
  (train, test), validation = sources, None
  held_out = config.get('validation_size') or 0
  if held_out:
    if held_out >= len(train):
      raise validate.ConfigError(
        f'config.validation_size={held_out}: must be smaller than the training split '
        f'({len(train)} examples), whose last validation_size examples it holds out'
      )
    train, validation = data.hold_out(train, held_out)
  sizes = [
    min(len(s), config.get(f'{split}_subset') or len(s))
    for s, split in ((train, 'train'), (test, 'test'))
  ]
  return (train, test, validation), sizes


@dataclasses.dataclass
class _Steps:
  train: Any
  eval: Any
  state: Any
  steps_per_epoch: int
  dtype: Any


def _assemble(run: assembly.Assembled, mesh, n_train: int, report) -> _Steps:
  """The run's jitted, data-parallel steps and its fresh train state."""
  init_key, train_key, eval_key = keys.run_keys(run.config.seed)
  steps_per_epoch = n_train // run.config.batch_size
  state, optimizer = run.train_state(init_key, steps_per_epoch)
  state = parallel.replicate(state, mesh)
  train_fn, eval_fn = run.train_step(optimizer), run.eval_step()
  train = parallel.data_parallel(lambda st, b: train_fn(st, b, train_key), mesh, donate_state=True)
  evaluate_ = parallel.data_parallel(lambda p, b: eval_fn(p, b, eval_key), mesh)
  return _Steps(
    _FirstCall(train, mesh, 'train step', report),
    _FirstCall(evaluate_, mesh, 'eval step', report),
    state,
    steps_per_epoch,
    jnp.dtype(run.config.dtype),
  )


def _all_finite(tree) -> bool:
  return bool(
    jax.tree_util.tree_reduce(
      lambda a, b: a & b, jax.tree_util.tree_map(lambda x: jnp.all(jnp.isfinite(x)), tree), True
    )
  )


def _non_finite(metrics: dict) -> list[str]:
  return [k for k, v in metrics.items() if not np.isfinite(v)]


def _train_epoch(config, steps, source, epoch, limit, mesh, progress, last_good):
  """One epoch of training: ``(state, metrics)``; raises DivergenceError on a non-finite loss."""
  pidx, pcount = jax.process_index(), jax.process_count()
  sums, state = None, steps.state
  batches = data.reader_batches(
    source,
    config.batch_size,
    limit=limit,
    seed=config.seed,
    epoch=epoch,
    process_index=pidx,
    process_count=pcount,
  )
  progress.start(epoch, config.num_epochs, steps.steps_per_epoch)
  every = config.log_every_steps
  for i, local in enumerate(batches):
    local['image'] = local['image'].astype(steps.dtype)
    state, m = steps.train(state, parallel.global_batch(local, mesh))
    sums = training.accumulate(sums, m)
    if every and (i + 1) % every == 0:
      running = training.summarize(sums)
      if not np.isfinite(running['loss']):
        progress.close()
        raise DivergenceError(_diverged(epoch, f'step {i + 1}', ['loss'], last_good))
      progress.update(i + 1, running)
    else:
      progress.update(i + 1)
  progress.close()
  return state, training.summarize(sums)


def _evaluate(config, steps: _Steps, source, mesh, limit=None, padded_to=None) -> dict:
  """Metrics of the current parameters over a source (its first ``limit`` examples, batches
  padded to ``padded_to``), every device and host."""
  return evaluation.evaluate(
    steps.eval,
    steps.state.params,
    source,
    config.eval_batch_size,
    mesh,
    limit=limit,
    dtype=steps.dtype,
    padded_to=padded_to,
  )


def _check_finite(
  epoch: int, train: dict, test: dict, params, last_good: int, validation: dict | None = None
) -> None:
  """DivergenceError naming what is non-finite: a metric, or else a parameter."""
  bad = _non_finite(train) + [f'test_{k}' for k in _non_finite(test)]
  bad += [f'validation_{k}' for k in _non_finite(validation or {})]
  if not bad and not _all_finite(params):
    bad = ['parameters']
  if bad:
    raise DivergenceError(_diverged(epoch, 'end', bad, last_good))


def _save(ckpt, workdir: str, epoch: int, state, meta: dict, config, main_process: bool) -> int:
  """Saves the epoch's checkpoint (on disk when this returns), then lists it in
  metrics.json; a signal waits until both are done. Returns the epoch."""
  with _uninterrupted():
    ckpt.save(epoch, state, meta)  # every process
    if main_process:
      workdir_lib.write_json(
        os.path.join(workdir, workdir_lib.METRICS),
        workdir_lib.metrics(meta, assembly.used_config(config), state.params),
      )
  return epoch


def _diverged(epoch: int, where: str, what: list[str], last_good: int) -> str:
  kept = f'epoch {last_good}' if last_good else 'none yet'
  return (
    f'training diverged: non-finite {", ".join(what)} at epoch {epoch} {where}; '
    f'nothing saved for it (last good checkpoint: {kept}; metrics.json unchanged)'
  )


def train_and_evaluate(
  config: ml_collections.ConfigDict, workdir: str, *, allow_config_change: bool = False
) -> dict[str, Any]:
  """Trains and evaluates every epoch; returns what it writes to metrics.json.

  Args:
    config: an experiment config (``experiments/configs/*.py``).
    workdir: checkpoints, ``metrics.json``, TensorBoard events and the curves
      go here (see ``stochep_jax.workdir``). A run restarted with the same
      workdir resumes from the last completed epoch; ``config.stop_after_epoch``
      (0 = never) ends a run early on purpose, leaving the schedule of
      ``num_epochs`` unchanged.
    allow_config_change: resume even if result-changing fields differ from the
      recorded ones (the history then records which epochs ran with which); a
      train state whose shapes differ (another width) is still refused.

  ``dtype='float64'`` runs with ``jax_enable_x64`` (for this call, if it is off);
  ``metrics.json`` records the parameters' actual dtype (``param_dtype``). An epoch
  is announced and listed in ``metrics.json`` only once its checkpoint is on disk.

  Raises:
    validate.ConfigError: a bad field (before any data is read or the workdir made).
    data.MissingDatasetError: the original files are missing.
    workdir_lib.WorkdirError: the workdir is in use, a file, or not writable (all
      before the data), its checkpoints unusable, the resume would change the
      settings (compared before any state is restored), or a save failed.
    DivergenceError: a non-finite loss, rate or parameter.
    Interrupted: SIGINT/SIGTERM after ``stop_on_signals()`` (the launcher's one line).
  """
  validate.check_fields(config)
  x64 = config.dtype == 'float64' and not jax.config.jax_enable_x64
  with jax.enable_x64(True) if x64 else contextlib.nullcontext():  # float64 is float64
    return _train_and_evaluate(config, workdir, allow_config_change)


def _train_and_evaluate(config, workdir: str, allow_config_change: bool) -> dict[str, Any]:
  run = validate.check_config(config)  # every field, built once, before data or compilation
  data.check_files(config.dataset, config.data_dir)
  main_process = jax.process_index() == 0
  say = (lambda msg: print(msg, flush=True)) if main_process else (lambda msg: None)
  mesh = parallel.make_mesh()
  validate.check_batches(config, None, None, mesh.size, jax.process_count())  # before the data
  if main_process:  # a folder that cannot take a checkpoint stops the run before the data
    workdir_lib.check_writable(workdir)

  with workdir_lib.WorkdirLock(workdir, enabled=main_process):  # taken before the data too
    (train_src, test_src, val_src), (n_train, n_test) = _load(config)
    validate.check_batches(config, n_train, n_test, mesh.size, jax.process_count())
    test_batch = evaluation.padded_batch_size(
      config.eval_batch_size, n_test, mesh.size, jax.process_count()
    )
    steps = _assemble(run, mesh, n_train, lambda n, s, m: say(_compiled_line(n, s, m)))
    ckpt = workdir_lib.Checkpoints(workdir)
    steps.state, meta, start = _restore(
      ckpt, steps.state, config, allow_config_change, main_process
    )
    if start:
      say(f'resumed from the checkpoint of epoch {start}')
    progress = reporting.Progress(config.progress, config.log_every_steps, main_process)
    scalars = reporting.Scalars(
      os.path.join(workdir, 'tensorboard'), config.tensorboard and main_process
    )
    chance = 1.0 / data.DATASETS[config.dataset].num_classes
    try:
      last_good = start
      for epoch in range(start + 1, config.num_epochs + 1):
        t0, compiled0 = time.time(), _compile_seconds(steps)
        steps.state, train = _train_epoch(
          config,
          steps,
          train_src,
          epoch,
          config.get('train_subset') or None,
          mesh,
          progress,
          last_good,
        )
        test = _evaluate(config, steps, test_src, mesh, config.get('test_subset') or None)
        val = None  # the held-out examples, in batches of the test's compiled eval step
        if val_src is not None:
          val = _evaluate(config, steps, val_src, mesh, padded_to=test_batch)
        _check_finite(epoch, train, test, steps.state.params, last_good, val)
        seconds = time.time() - t0 - (_compile_seconds(steps) - compiled0)
        entry = workdir_lib.record_epoch(meta, epoch, seconds, train, test, val)
        meta['compiled_memory_bytes'] = {
          'train_step': steps.train.memory,
          'eval_step': steps.eval.memory,
        }
        last_good = _save(ckpt, workdir, epoch, steps.state, meta, config, main_process)
        if main_process:
          say(reporting.epoch_line(epoch, config.num_epochs, train, test, seconds, val))
          scalars.write(epoch, reporting.epoch_scalars(entry))
          reporting.warn_at_chance(meta['history'], chance, config.chance_warning_epochs, say)
        if epoch == config.get('stop_after_epoch'):  # a time-sliced job: resume later
          break
    finally:
      progress.close()
      scalars.close()
      ckpt.close()
    metrics = workdir_lib.metrics(meta, assembly.used_config(config), steps.state.params)
    if main_process:
      _finish(workdir, config, meta, metrics, say)
  return metrics


def _restore(ckpt, state, config, allow_config_change: bool, main_process: bool):
  """``(state, meta, start epoch)``: the newest usable checkpoint, or the fresh state.

  The recorded settings are compared before any train state is restored: a changed
  shape is a config change, never a "corrupt" checkpoint.
  """
  current = assembly.used_config(config)
  state, meta, start = ckpt.restore(
    state,
    main_process,
    check=lambda m, step: workdir_lib.resume_meta(
      copy.deepcopy(m), current, allow_config_change, step
    ),
  )
  return state, workdir_lib.resume_meta(meta, current, allow_config_change, start), start


def _finish(workdir: str, config, meta: dict, metrics: dict, say) -> None:
  """metrics.json, the learning curves and the final line (process 0)."""
  workdir_lib.write_json(os.path.join(workdir, workdir_lib.METRICS), metrics)
  if meta['history']:
    reporting.plot_learning_curves(
      meta['history'], os.path.join(workdir, 'learning_curves.png'), config.dataset
    )
  acc = metrics['test_accuracy']
  say(
    f'final test accuracy {acc:.4f} (error {100 * (1 - acc):.2f}%) after '
    f'{metrics["epochs"]} epochs, {metrics["wall_seconds"]:.0f}s'
    if acc is not None
    else 'no epoch ran'
  )


def _compiled_line(name: str, seconds: float, memory: dict | None) -> str:
  mib = f' ({memory["total_bytes"] / 2**20:.1f} MiB a device, XLA)' if memory else ''
  return f'compiled the {name} in {seconds:.1f}s{mib}'


def _compile_seconds(steps: _Steps) -> float:
  return (steps.train.seconds or 0.0) + (steps.eval.seconds or 0.0)
