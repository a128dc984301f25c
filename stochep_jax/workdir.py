"""A run's work folder: one run at a time, checkpoints that fall back, strict metrics.

``<workdir>/``
  ``.lock``            held (``fcntl.flock``) by process 0 while the run lives; the
                       kernel releases it when the process dies, so a crashed run
                       never leaves it stuck
  ``checkpoints/N``    orbax checkpoints of the last two completed epochs: the
                       train state and ``meta`` (history, settings, seconds)
  ``corrupt/N``        a checkpoint that failed to restore, moved aside (nothing
                       is deleted)
  ``metrics.json``     strict JSON (non-finite numbers written as ``null``),
                       rewritten atomically after every good epoch
  ``tensorboard/``     event files; ``learning_curves.png`` at the end

``Checkpoints.restore`` tries the newest checkpoint first and falls back to the
previous intact one with a warning. ``config_changes`` lists the fields that
change results and differ from the recorded config.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import shutil
from typing import Any

import orbax.checkpoint as ocp
from absl import logging
from flax import serialization

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
  skip = lambda f: any(f == n or f.startswith(n + '.') for n in NOT_RESULT_FIELDS)
  return [
    (f, old.get(f), new.get(f))
    for f in sorted(set(old) | set(new))
    if not skip(f) and old.get(f) != new.get(f)
  ]


class Checkpoints:
  """The run's orbax checkpoints (train state + meta), with fallback on restore."""

  def __init__(self, workdir: str, max_to_keep: int = 2):
    self.workdir = os.path.abspath(workdir)
    self.directory = os.path.join(self.workdir, CHECKPOINT_DIR)
    self.mngr = ocp.CheckpointManager(
      self.directory, options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep)
    )

  def restore(self, state, main_process: bool = True):
    """``(state, meta, epoch)`` of the newest intact checkpoint, or ``(state, None, 0)``."""
    steps = sorted(self.mngr.all_steps(), reverse=True)
    for step in steps:
      try:
        restored = self.mngr.restore(
          step,
          args=ocp.args.Composite(
            state=ocp.args.StandardRestore(serialization.to_state_dict(state)),
            meta=ocp.args.JsonRestore(),
          ),
        )
        return serialization.from_state_dict(state, restored['state']), restored['meta'], step
      except Exception as e:  # noqa: BLE001  (orbax/TensorStore raise many kinds)
        reason = str(e).strip().splitlines()[0][:160] if str(e).strip() else type(e).__name__
        if 'structure' in reason and 'match' in reason:  # intact, but of another train state
          raise WorkdirError(
            f'the checkpoint {self.directory}/{step} holds another train state (the network or '
            'optimizer changed); use another --workdir'
          ) from None
        msg = f'warning: checkpoint {self.directory}/{step} failed to restore ({reason})'
        if main_process:
          self._move_aside(step)
          print(f'{msg}; moved it to {self.workdir}/{CORRUPT_DIR}/{step}', flush=True)
        logging.warning(msg)
        self.mngr.reload()
    if steps:
      raise WorkdirError(
        f'no checkpoint in {self.directory} restores (tried {steps}); remove '
        f'{self.workdir} (or choose another --workdir) to start again'
      )
    return state, None, 0

  def _move_aside(self, step: int) -> None:
    src = os.path.join(self.directory, str(step))
    dst = os.path.join(self.workdir, CORRUPT_DIR, str(step))
    if os.path.exists(src):
      os.makedirs(os.path.dirname(dst), exist_ok=True)
      if os.path.exists(dst):
        shutil.rmtree(dst)
      shutil.move(src, dst)

  def save(self, epoch: int, state, meta: dict) -> None:
    self.mngr.save(
      epoch,
      args=ocp.args.Composite(
        state=ocp.args.StandardSave(serialization.to_state_dict(state)),
        meta=ocp.args.JsonSave(finite_or_none(meta)),
      ),
    )

  def close(self) -> None:
    self.mngr.wait_until_finished()
    self.mngr.close()
