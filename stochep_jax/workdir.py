"""A run's work folder: one run at a time, checkpoints that fall back, strict metrics.

``<workdir>/``
  ``.lock``            held (``fcntl.flock``) by process 0 while the run lives; the
                       kernel releases it when the process dies, so a crashed run
                       never leaves it stuck
  ``checkpoints/N``    orbax checkpoints of the last two completed epochs: the
                       train state and ``meta`` (history, settings, seconds)
  ``corrupt/N``        a checkpoint that failed to restore, moved aside (``N.1``,
                       ``N.2``, ... if N failed before: nothing is deleted)
  ``metrics.json``     strict JSON (non-finite numbers written as ``null``),
                       rewritten atomically after every good epoch
  ``tensorboard/``     event files; ``learning_curves.png`` at the end

``Checkpoints.restore`` tries the newest checkpoint first and falls back to the
previous intact one with a warning. ``config_changes`` lists the fields that
change results and differ from the recorded config. The run record lives here
too: ``resume_meta`` (the settings compared on resume), ``record_epoch``,
``metrics`` (what ``metrics.json`` holds) and ``load_trained`` (a finished or
stopped run's parameters, for the launchers that reuse them).
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import re
import shutil
from typing import Any

import jax
import ml_collections
import orbax.checkpoint as ocp
from absl import logging
from flax import serialization

from stochep_jax import assembly, keys

CHECKPOINT_DIR = 'checkpoints'
CORRUPT_DIR = 'corrupt'
METRICS = 'metrics.json'
# Fields that do not change a run's results: the rest, if changed on resume, stop it.
NOT_RESULT_FIELDS = (
  'data_dir',
  'tfds_dir',
  'eval_batch_size',
  'stop_after_epoch',
  'log_every_steps',
  'chance_warning_epochs',
  'progress',
  'tensorboard',
  'simulator.chunk',
  'simulator.unroll',
  'simulator.fuse_noise',
)
# Fields added after runs were recorded, with the value that reproduces those runs: a
# checkpoint without the field was trained at that value, so resuming at it is no change.
ADDED_FIELDS = {
  'optimizer.clip_norm': 0.0,
  'crop_padding': 4,
  'ep.t_warm': 0,
  'ep.batch_nudges': False,
  'validation_size': 0,
}


class WorkdirError(RuntimeError):
  """A work folder that cannot be used as it is (the message says why and what to do)."""


class WorkdirLock:
  """An exclusive lock on ``<workdir>/.lock`` (process 0 of a run takes it)."""

  def __init__(self, workdir: str, enabled: bool = True):
    self.path = os.path.join(workdir, '.lock')
    self.enabled = enabled
    self._fd = None

  def __enter__(self):
    if not self.enabled:
      return self
    os.makedirs(os.path.dirname(self.path), exist_ok=True)
    fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      holder = os.pread(fd, 200, 0).decode(errors='replace').strip() or 'another process'
      os.close(fd)
      raise WorkdirError(
        f'{os.path.dirname(self.path)} is in use by another run ({holder}); '
        'wait for it or choose another --workdir'
      ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f'pid {os.getpid()} on {os.uname().nodename}'.encode(), 0)
    self._fd = fd
    return self

  def __exit__(self, *exc):
    if self._fd is not None:
      fcntl.flock(self._fd, fcntl.LOCK_UN)
      os.close(self._fd)
      self._fd = None


def finite_or_none(tree):
  """``tree`` with every non-finite float replaced by None (strict JSON)."""
  if isinstance(tree, float):
    return tree if math.isfinite(tree) else None
  if isinstance(tree, dict):
    return {k: finite_or_none(v) for k, v in tree.items()}
  if isinstance(tree, (list, tuple)):
    return [finite_or_none(v) for v in tree]
  return tree


def write_json(path: str, obj: Any) -> None:
  """Writes strict JSON atomically (a reader never sees half a file, NaN becomes null)."""
  with open(path + '.tmp', 'w') as f:
    json.dump(finite_or_none(obj), f, indent=1, default=str, allow_nan=False)
    f.flush()
    os.fsync(f.fileno())  # on disk before it replaces the old file
  os.replace(path + '.tmp', path)


def _flatten(tree: dict, prefix: str = '') -> dict[str, Any]:
  out = {}
  for k, v in tree.items():
    name = f'{prefix}{k}'
    if isinstance(v, dict):
      out.update(_flatten(v, name + '.'))
    else:
      out[name] = tuple(v) if isinstance(v, list) else v
  return out


def config_changes(recorded: dict, current: dict) -> list[tuple[str, Any, Any]]:
  """``(field, recorded, current)`` of every result-changing field that differs."""
  old, new = _flatten(recorded), _flatten(current)
  old = {**{f: v for f, v in ADDED_FIELDS.items() if f in new}, **old}
  skip = lambda f: any(f == n or f.startswith(n + '.') for n in NOT_RESULT_FIELDS)
  return [
    (f, old.get(f), new.get(f))
    for f in sorted(set(old) | set(new))
    if not skip(f) and old.get(f) != new.get(f)
  ]


def _reason(e: BaseException) -> str:
  """The first line of an exception's message (its type where it has none)."""
  text = str(e).strip()
  return text.splitlines()[0][:160] if text else type(e).__name__


def _probe(folder: str, what: str) -> None:
  """Creates ``folder`` if needed and writes a file there; WorkdirError naming it if not."""
  if os.path.exists(folder) and not os.path.isdir(folder):
    raise WorkdirError(
      f'{what} {folder} is a file, not a folder; move it or choose another --workdir'
    )
  try:
    os.makedirs(folder, exist_ok=True)
    probe = os.path.join(folder, f'.write_probe.{os.getpid()}')
    with open(probe, 'w') as f:
      f.write('x')
    os.remove(probe)
  except OSError as e:
    raise WorkdirError(
      f'{what} {folder} cannot be written ({e.strerror or _reason(e)}); choose another --workdir'
    ) from None


def check_local(folder: str, what: str = 'the work folder') -> None:
  """``folder`` is a local (or mounted, POSIX) path, not a URL such as ``gs://...``.

  The lock (``fcntl.flock``), the atomic JSON writes (``os.replace``) and the
  checks here need a POSIX filesystem; a URL would otherwise become a local
  folder named ``gs:``.
  """
  if re.match(r'^[A-Za-z][A-Za-z0-9+.-]*://', folder):
    raise WorkdirError(
      f'{what} {folder} is a URL; work folders must be local or mounted (POSIX) paths'
    )


def check_writable(workdir: str) -> None:
  """The work folder is a local path (``check_local``), and it and its checkpoints
  folder exist (created if not) and take files.

  Run before any data is read, so a run that could not save stops at once.
  """
  check_local(workdir)
  _probe(workdir, 'the work folder')
  _probe(os.path.join(workdir, CHECKPOINT_DIR), 'the checkpoints folder')


def last_saved(workdir: str) -> int:
  """The newest completed checkpoint's epoch in ``workdir`` (0 if none); reads only names."""
  try:
    names = os.listdir(os.path.join(workdir, CHECKPOINT_DIR))
  except OSError:
    return 0
  folder = os.path.join(workdir, CHECKPOINT_DIR)
  return max(
    (int(n) for n in names if n.isdigit() and os.path.isdir(os.path.join(folder, n))), default=0
  )


def _shapes(tree) -> dict[str, tuple]:
  """``{'params.layers.0.w': shape}`` of a state dict or of orbax's tree metadata."""
  out = {}
  for path, leaf in jax.tree_util.tree_leaves_with_path(tree, is_leaf=lambda x: x is None):
    name = '.'.join(str(getattr(k, 'key', getattr(k, 'idx', k))) for k in path)
    out[name] = tuple(getattr(leaf, 'shape', ()) or ())
  return out


class Checkpoints:
  """The run's orbax checkpoints (train state + meta), with fallback on restore.

  Saves are synchronous: when ``save`` returns, the checkpoint is on disk (orbax
  writes it to a temporary folder and renames it), so an epoch is announced only
  once it is kept; a save that fails raises WorkdirError with one line.
  """

  def __init__(self, workdir: str, max_to_keep: int = 2):
    self.workdir = os.path.abspath(workdir)
    self.directory = os.path.join(self.workdir, CHECKPOINT_DIR)
    self.mngr = ocp.CheckpointManager(
      self.directory,
      item_handlers={'state': ocp.StandardCheckpointHandler(), 'meta': ocp.JsonCheckpointHandler()},
      options=ocp.CheckpointManagerOptions(
        max_to_keep=max_to_keep, enable_async_checkpointing=False
      ),
    )

  def shape_changes(self, step: int, state) -> list[tuple[str, Any, Any]]:
    """``(leaf, stored shape, current shape)`` of every train-state leaf that differs
    between checkpoint ``step`` and ``state`` (None where one side lacks it)."""
    stored = self.mngr.item_metadata(step)['state']
    if stored is None:
      return []
    old, new = _shapes(dict(stored)), _shapes(serialization.to_state_dict(state))
    rank = lambda k: (not k.startswith('params.'), -len(old.get(k) or new.get(k) or ()), k)
    names = sorted(set(old) | set(new), key=rank)  # the parameters' matrices first
    return [(k, old.get(k), new.get(k)) for k in names if old.get(k) != new.get(k)]

  def restore(self, state, main_process: bool = True, check=None):
    """``(state, meta, epoch)`` of the newest intact checkpoint, or ``(state, None, 0)``.

    ``check(meta, step)``, if given, runs on a checkpoint's meta BEFORE its train state
    is restored (e.g. to compare the recorded config); what it raises propagates, and
    the checkpoint stays where it is. A checkpoint whose meta or state does not
    restore is moved to ``corrupt/`` and the previous one tried.
    """
    steps = sorted(self.mngr.all_steps(), reverse=True)
    for step in steps:
      try:
        meta = self.mngr.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))['meta']
        changes = self.shape_changes(step, state)
      except Exception as e:  # noqa: BLE001  (orbax/TensorStore raise many kinds)
        self._corrupt(step, e, main_process)
        continue
      if check is not None:
        check(meta, step)
      if changes:
        raise WorkdirError(cannot_carry_over(self.directory, step, changes))
      try:
        restored = self.mngr.restore(
          step,
          args=ocp.args.Composite(
            state=ocp.args.StandardRestore(serialization.to_state_dict(state))
          ),
        )
        return serialization.from_state_dict(state, restored['state']), meta, step
      except Exception as e:  # noqa: BLE001
        self._corrupt(step, e, main_process)
    if steps:
      raise WorkdirError(
        f'no checkpoint in {self.directory} restores (tried {steps}); remove '
        f'{self.workdir} (or choose another --workdir) to start again'
      )
    return state, None, 0

  def _corrupt(self, step: int, e: BaseException, main_process: bool) -> None:
    msg = f'warning: checkpoint {self.directory}/{step} failed to restore ({_reason(e)})'
    if main_process:
      dst = self._move_aside(step)
      print(f'{msg}; moved it to {dst}', flush=True)
    logging.warning(msg)
    self.mngr.reload()

  def _move_aside(self, step: int) -> str:
    """Moves checkpoint ``step`` to ``corrupt/step`` (``step.1``, ``step.2``, ... if taken)."""
    src = os.path.join(self.directory, str(step))
    base = os.path.join(self.workdir, CORRUPT_DIR, str(step))
    dst, n = base, 0
    while os.path.lexists(dst):
      n += 1
      dst = f'{base}.{n}'
    if os.path.exists(src):
      os.makedirs(os.path.dirname(dst), exist_ok=True)
      shutil.move(src, dst)
    return dst

  def save(self, epoch: int, state, meta: dict) -> None:
    """Writes checkpoint ``epoch`` and returns once it is on disk.

    Raises:
      WorkdirError: it could not be written (no space, a file in the way, no
        permission); the previous checkpoint is untouched.
    """
    try:
      self.mngr.save(
        epoch,
        args=ocp.args.Composite(
          state=ocp.args.StandardSave(serialization.to_state_dict(state)),
          meta=ocp.args.JsonSave(finite_or_none(meta)),
        ),
      )
      self.mngr.wait_until_finished()
      self.mngr.reload()
      path = os.path.join(self.directory, str(epoch))
      if epoch not in self.mngr.all_steps() or not os.path.isdir(path):  # orbax can say "saved"
        raise OSError(f'{path} is not a finished checkpoint after saving')
    except Exception as e:  # noqa: BLE001  (OSError, or orbax's wrapping of it)
      kept = [s for s in self.mngr.all_steps() if s < epoch]
      prev = f'epoch {max(kept)} in {self.directory}' if kept else 'none yet'
      raise WorkdirError(
        f'saving the checkpoint of epoch {epoch} failed ({_reason(e)}); '
        f'last saved: {prev}; free space or fix {self.directory} and rerun to resume'
      ) from None

  def close(self) -> None:
    try:
      self.mngr.wait_until_finished()
    finally:
      self.mngr.close()


def cannot_carry_over(directory: str, step: int, changes) -> str:
  """One line: the train state of checkpoint ``step`` does not fit the current one."""
  leaf, old, new = changes[0]
  what = (
    f'{leaf} has shape {old} there and {new} now'
    if old is not None and new is not None
    else f'{leaf} is {"only in the checkpoint" if new is None else "new"}'
  )
  more = f' (and {len(changes) - 1} more)' if len(changes) > 1 else ''
  return (
    f'the train state of {directory}/{step} cannot carry over to these settings: '
    f'{what}{more}; use another --workdir (or the recorded settings)'
  )


# --------------------------------------------------------------------------
# The run record: resume metadata, the epochs' history and metrics.json
# --------------------------------------------------------------------------
def resume_meta(meta: dict | None, current: dict, allow_config_change: bool, start: int) -> dict:
  """The meta of a new run (``meta`` None), or of a resumed one after comparing settings.

  Args:
    meta: the restored checkpoint's meta (history, wall seconds, settings), or None.
    current: the run's config as recorded (``assembly.used_config``).
    allow_config_change: continue with changed result fields (recorded in
      ``settings``) instead of refusing.
    start: the restored epoch.

  Raises:
    WorkdirError: the recorded settings differ and ``allow_config_change`` is off.
  """
  if meta is None:
    return {'history': [], 'wall_seconds': 0.0, 'settings': [{'from_epoch': 1, 'config': current}]}
  settings = meta.setdefault('settings', [])
  if settings:
    changes = config_changes(settings[-1]['config'], current)
    if changes and not allow_config_change:
      listed = '; '.join(f'{f}: {a!r} -> {b!r}' for f, a, b in changes)
      raise WorkdirError(
        f'the checkpoint of epoch {start} was trained with other settings ({listed}); '
        'pass --allow_config_change to continue with the new ones, or use another --workdir'
      )
    if changes:
      settings.append(
        {
          'from_epoch': start + 1,
          'changes': [{'field': f, 'was': a, 'now': b} for f, a, b in changes],
          'config': current,
        }
      )
  else:
    settings.append({'from_epoch': start + 1, 'config': current})
  return meta


def record_epoch(
  meta: dict, epoch: int, seconds: float, train: dict, test: dict, validation: dict | None = None
) -> dict:
  """Appends an epoch to ``meta['history']`` (and its seconds to the wall time); returns it.

  ``validation``: the held-out training examples' metrics (``config.validation_size``)."""
  meta['wall_seconds'] += seconds
  entry = {
    'epoch': epoch,
    'seconds': seconds,
    **{f'train_{k}': v for k, v in train.items()},
    **{f'test_{k}': v for k, v in test.items()},
    **{f'validation_{k}': v for k, v in (validation or {}).items()},
  }
  meta['history'].append(entry)
  return entry


def metrics(meta: dict, config: dict, params) -> dict:
  """What ``metrics.json`` holds: the last and best accuracies, the history, the
  settings' changes, the devices, the parameters' dtype, the compiled steps' memory
  and the ``config`` as recorded."""
  history = meta['history']
  last = history[-1] if history else {}
  out = {
    'test_accuracy': last.get('test_accuracy'),
    'train_accuracy': last.get('train_accuracy'),
    'best_test_accuracy': max((h['test_accuracy'] for h in history), default=None),
    'epochs': len(history),
    'wall_seconds': meta['wall_seconds'],
    'processes': jax.process_count(),
    'devices': [str(d) for d in jax.devices()],
    # what the parameters are actually stored in (float64 needs jax_enable_x64, turned on)
    'param_dtype': str(jax.tree_util.tree_leaves(params)[0].dtype),
    # XLA's memory analysis of the compiled train and eval steps, bytes a device
    # (training.compiled_memory), as compiled by the run's latest part
    'compiled_memory_bytes': meta.get('compiled_memory_bytes'),
    'history': history,
    'settings': [{k: v for k, v in s.items() if k != 'config'} for s in meta.get('settings', [])],
    'config': config,
  }
  validated = [h for h in history if 'validation_accuracy' in h]
  if validated:  # config.validation_size: the epoch a model choice on held-out examples makes
    best = max(validated, key=lambda h: h['validation_accuracy'])  # the first of equals
    out['validation_accuracy'] = last.get('validation_accuracy')
    out['best_validation_epoch'] = best['epoch']
    out['best_validation_accuracy'] = best['validation_accuracy']
    out['test_accuracy_at_best_validation'] = best['test_accuracy']
  return out


def load_trained(workdir: str):
  """``(config, sim, params, epoch)`` of a finished or stopped run's newest checkpoint.

  The config is the one ``metrics.json`` records, built again (``assembly.build``);
  the parameters land on this process's default device, whatever device count wrote
  them (the whole train state is the restore target, so orbax reshards).
  """
  with open(os.path.join(workdir, METRICS)) as f:
    config = ml_collections.ConfigDict(json.load(f)['config'])
  run = assembly.build(config)
  state, _ = run.train_state(keys.run_keys(config.seed)[0], steps_per_epoch=1)
  state, _, epoch = Checkpoints(workdir).restore(state, main_process=False)
  if not epoch:
    raise FileNotFoundError(f'no checkpoint in {os.path.join(workdir, CHECKPOINT_DIR)}')
  return config, run.simulator, state.params, epoch
