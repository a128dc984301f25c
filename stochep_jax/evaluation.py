"""Free-phase metrics over a whole split, on every device and host.

``evaluate`` reads the split in order (no shuffle, the last batch kept), pads
each process's slice of a batch to a fixed size so the step compiles once, and
marks the real rows with ``mask`` so padding never counts; ``eval_step`` (from
``training.make_eval_step``) returns sums that are added up here and turned
into means by ``training.summarize``.
"""

from __future__ import annotations

import math

import jax
import numpy as np

from stochep_jax import data, parallel, training


def _padded(batches, size: int):
  """Batches padded to ``size`` rows (one compilation), with a ``mask`` of real rows."""
  for batch in batches:
    n = batch['label'].shape[0]
    batch = {
      k: np.concatenate([v, np.zeros((size - n,) + v.shape[1:], v.dtype)]) for k, v in batch.items()
    }
    batch['mask'] = np.arange(size) < n
    yield batch


def padded_batch_size(batch_size: int, n: int, devices: int, processes: int = 1) -> int:
  """The global batch ``evaluate`` runs: ``batch_size``, capped at the ``n`` examples of the
  split rounded up to a multiple of the device (and process) count, so an eval batch larger
  than the split does not pad it to ``batch_size`` rows."""
  step = math.lcm(max(devices, 1), max(processes, 1))
  return min(batch_size, max(step, -(-n // step) * step))


def evaluate(
  eval_step,
  params,
  source,
  batch_size: int,
  mesh,
  *,
  limit: int | None = None,
  dtype=np.float32,
  padded_to: int | None = None,
) -> dict[str, float]:
  """Free-phase metrics over a whole split (this process feeds its slice of each batch).

  The batch is ``padded_batch_size``: at most the split's size (rounded up to the devices);
  ``padded_to``: every batch padded to this global size instead (a step compiled for
  another split's batches evaluates this one).
  """
  pcount = jax.process_count()
  n = len(source) if not limit else min(limit, len(source))
  batch_size = padded_to or padded_batch_size(batch_size, n, mesh.devices.size, pcount)
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
    sums = training.accumulate(sums, m)
  return training.summarize(sums)
