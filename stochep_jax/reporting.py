"""What a run shows while it runs and leaves behind: progress, TensorBoard, curves.

* ``Progress``: a ``tqdm`` bar per epoch with ETA on a terminal, plain periodic
  lines otherwise (``config.progress``: 'auto', 'bar', 'lines', 'none');
  process 0 only.
* ``Scalars``: TensorBoard event files in ``<workdir>/tensorboard`` (written
  with ``tensorboardX``, no TensorFlow): the per-epoch metrics and per-layer
  firing rates.
* ``epoch_line`` (the line printed per epoch) and ``warn_at_chance`` (the
  warning of a run whose training accuracy stays at chance);
* ``plot_learning_curves(history, path)``: a PNG of accuracy and loss per epoch
  (``experiments/plot_metrics.py WORKDIR`` redraws it from ``metrics.json``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from absl import logging


class Progress:
  """Per-epoch progress: a bar on a terminal, periodic lines elsewhere, or nothing."""

  def __init__(self, mode: str, every: int, enabled: bool = True, stream=None):
    self.stream = stream or sys.stderr
    if mode == 'auto':
      mode = 'bar' if getattr(self.stream, 'isatty', lambda: False)() else 'lines'
    self.mode = mode if enabled else 'none'
    self.every = every
    self._bar = None

  def start(self, epoch: int, num_epochs: int, total: int) -> None:
    self.epoch, self.num_epochs, self.total = epoch, num_epochs, total
    if self.mode == 'bar':
      from tqdm import tqdm  # noqa: PLC0415  (only on a terminal)

      self._bar = tqdm(
        total=total, desc=f'epoch {epoch}/{num_epochs}', unit='step', file=self.stream, leave=False
      )

  def update(self, step: int, metrics: dict | None = None) -> None:
    """After step ``step`` (1-based); ``metrics`` (running accuracy, loss) when at hand."""
    if self._bar is not None:
      self._bar.update(step - self._bar.n)
      if metrics:
        self._bar.set_postfix(acc=f'{metrics["accuracy"]:.3f}', loss=f'{metrics["loss"]:.4f}')
    elif self.mode == 'lines' and metrics:
      print(
        f'epoch {self.epoch} step {step}/{self.total}  train acc {metrics["accuracy"]:.4f} '
        f'loss {metrics["loss"]:.4f}',
        file=self.stream,
        flush=True,
      )

  def close(self) -> None:
    if self._bar is not None:
      self._bar.close()
      self._bar = None


class Scalars:
  """TensorBoard scalars of a run (process 0; a no-op when disabled)."""

  def __init__(self, logdir: str, enabled: bool = True):
    self._writer = None
    if enabled:
      from tensorboardX import SummaryWriter  # noqa: PLC0415

      self._writer = SummaryWriter(logdir)

  def write(self, epoch: int, scalars: dict[str, float]) -> None:
    if self._writer is None:
      return
    for name, value in scalars.items():
      if value is not None:
        self._writer.add_scalar(name, value, epoch)
    self._writer.flush()

  def close(self) -> None:
    if self._writer is not None:
      self._writer.close()


def epoch_scalars(entry: dict) -> dict[str, float]:
  """A history entry as TensorBoard tags: ``train/accuracy``, ``test/rate_layer1``, ..."""
  out = {}
  for k, v in entry.items():
    split, _, name = k.partition('_')
    if split in ('train', 'test', 'validation') and isinstance(v, (int, float)):
      out[f'{split}/{name}'] = v
  if 'seconds' in entry:
    out['time/epoch_seconds'] = entry['seconds']
  return out


def plot_learning_curves(history: Sequence[dict], path: str, title: str = '') -> str:
  """Accuracy (error) and loss per epoch, train and test (and validation, where the history
  has it), as a PNG at ``path``."""
  import matplotlib  # noqa: PLC0415

  matplotlib.use('Agg')
  import matplotlib.pyplot as plt  # noqa: PLC0415

  epochs = [h['epoch'] for h in history]
  fig, (ax_err, ax_loss) = plt.subplots(1, 2, figsize=(9, 3.4))
  splits = [('train', '-'), ('test', '--')]
  splits += [('validation', ':')] if any('validation_accuracy' in h for h in history) else []
  for split, style in splits:
    acc = [h.get(f'{split}_accuracy') for h in history]
    loss = [h.get(f'{split}_loss') for h in history]
    ax_err.plot(epochs, [None if a is None else 100 * (1 - a) for a in acc], style, label=split)
    ax_loss.plot(epochs, loss, style, label=split)
  ax_err.set(xlabel='epoch', ylabel='error (%)')
  ax_loss.set(xlabel='epoch', ylabel='loss')
  for ax in (ax_err, ax_loss):
    ax.grid(alpha=0.3)
    ax.legend()
  if title:
    fig.suptitle(title)
  fig.tight_layout()
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  fig.savefig(path, dpi=110)
  plt.close(fig)
  return path


def warn_at_chance(history, chance: float, epochs: int, say) -> None:
  """Warns (once, at the N-th epoch) when train accuracy has stayed near chance N epochs."""
  if not epochs or len(history) < epochs:
    return
  recent = [h['train_accuracy'] for h in history[-epochs:]]
  if all(a < 1.5 * chance for a in recent) and (
    len(history) == epochs or history[-epochs - 1]['train_accuracy'] >= 1.5 * chance
  ):
    msg = (
      f'warning: training accuracy has stayed at chance ({recent[-1]:.3f}, chance {chance:.3f}) '
      f'for {epochs} epochs; check the learning rates and β'
    )
    logging.warning(msg)
    say(msg)


def epoch_line(epoch, num_epochs, train, test, seconds, validation=None):
  rates = ' '.join(f'{train[k]:.3f}' for k in sorted(train) if k.startswith('rate'))
  grad = (
    f'|grad| {train["grad_norm"]:.3g} (max {train["grad_norm_max"]:.3g})  '
    if 'grad_norm' in train
    else ''
  )
  return (
    f'epoch {epoch:3d}/{num_epochs}  train acc {train["accuracy"]:.4f} '
    f'loss {train["loss"]:.4f}  test acc {test["accuracy"]:.4f} loss {test["loss"]:.4f}  '
    + (
      f'val acc {validation["accuracy"]:.4f} loss {validation["loss"]:.4f}  ' if validation else ''
    )
    + f'rates [{rates}]  {grad}{seconds:.1f}s'
  )
