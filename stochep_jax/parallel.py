"""Data parallelism over a device mesh, on one host or many.

The batch is sharded along a 1-D mesh axis ``'data'``; parameters and
optimiser state are replicated. The training step is the same pure function
as on one device, jitted with ``NamedSharding``s: XLA partitions it and
inserts the all-reduce of the gradient (EP's update is a mean over the batch).

Results do not depend on the number of devices or processes: example i draws
its spikes from ``fold_in(batch key, index_i)`` with ``index_i`` its global
index in the split, and a global batch is the same set of examples however it
is sliced (``data.batch_indices``). Only floating-point reduction order
differs.

Several XLA:CPU devices in one process (``set_cpu_devices`` or
``--xla_force_host_platform_device_count``) need ``paced``: their collectives
deadlock when several steps are in flight.

Multi-host: call ``initialize`` (``jax.distributed.initialize``) first; each
process feeds its slice of every global batch (``global_batch``) and reads
only that slice from the tfds source.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from stochep_jax import checks

DATA = 'data'


def initialize(
  coordinator_address: str | None = None,
  num_processes: int | None = None,
  process_id: int | None = None,
) -> None:
  """Starts JAX's distributed runtime (no arguments: detect the cluster, e.g. SLURM/TPU).

  With ``coordinator_address``, ``num_processes`` and ``process_id`` are required
  (0 <= process_id < num_processes); a ValueError names what is missing.
  """
  if num_processes is not None:
    checks.integer('initialize', 'num_processes', num_processes, 1)
  if coordinator_address:
    if num_processes is None or process_id is None:
      checks.fail(
        'initialize',
        'coordinator_address',
        coordinator_address,
        'needs num_processes and process_id too',
      )
  if process_id is not None:
    hi = None if num_processes is None else num_processes - 1
    checks.integer('initialize', 'process_id', process_id, 0, hi)
  jax.distributed.initialize(
    coordinator_address=coordinator_address, num_processes=num_processes, process_id=process_id
  )


def set_cpu_devices(n: int) -> bool:
  """Asks for ``n`` XLA:CPU devices (call before JAX's first computation).

  One CPU device per core makes a data-parallel step run one device's share
  per core: on a small CPU host that is faster and steadier than one device
  whose many small per-step kernels are split over the cores. Only the CPU
  backend is affected (accelerator hosts keep their devices). Returns False,
  changing nothing, when ``XLA_FLAGS`` already forces a device count.
  """
  checks.integer('set_cpu_devices', 'n', n, 1)
  if '--xla_force_host_platform_device_count' in os.environ.get('XLA_FLAGS', ''):
    return False
  jax.config.update('jax_num_cpu_devices', int(n))
  return True


def make_mesh(devices=None) -> Mesh:
  """A 1-D mesh over ``devices`` (default: every device of every process)."""
  devices = jax.devices() if devices is None else list(devices)
  return Mesh(np.asarray(devices), (DATA,))


def batch_sharding(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P(DATA))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def global_batch(local: dict[str, np.ndarray], mesh: Mesh) -> dict[str, jax.Array]:
  """Global arrays from this process's slice of a batch (sharded along 'data')."""
  sharding = batch_sharding(mesh)
  return {
    k: jax.make_array_from_process_local_data(sharding, np.asarray(v)) for k, v in local.items()
  }


def replicate(tree: Any, mesh: Mesh) -> Any:
  """Places an identical (host or device) pytree on every device of the mesh."""
  sharding = replicated(mesh)
  return jax.tree_util.tree_map(
    lambda x: jax.make_array_from_process_local_data(sharding, np.asarray(x)), tree
  )


def data_parallel(step: Callable, mesh: Mesh, *, donate_state: bool = False) -> Callable:
  """Jits ``step(state_or_params, batch)``: the batch sharded, the state replicated.

  Close over constants such as PRNG keys. The outputs (new state, metric
  sums) are replicated.
  """
  rep = replicated(mesh)
  return jax.jit(
    step,
    in_shardings=(rep, batch_sharding(mesh)),
    out_shardings=rep,
    donate_argnums=(0,) if donate_state else (),
  )


def paced(step: Callable, mesh: Mesh) -> Callable:
  """``step``, waiting for each call's result when the mesh has several XLA:CPU devices.

  Forced host devices (``XLA_FLAGS=--xla_force_host_platform_device_count=N``)
  share one small thread pool. With several data-parallel steps dispatched
  ahead (JAX's asynchronous dispatch), the pool's threads can all wait in an
  all-reduce for a device whose part has no thread to run on; XLA:CPU aborts
  after its 40 s rendezvous timeout (measured with JAX 0.10.2: 2 devices on
  2 cores hang within the first few hundred steps, every time). Waiting for
  each step keeps one step in flight. Other meshes get ``step`` itself
  (asynchronous dispatch kept).
  """
  devices = mesh.devices.flat
  if mesh.devices.size == 1 or any(d.platform != 'cpu' for d in devices):
    return step

  def wait(*args):
    return jax.block_until_ready(step(*args))

  return wait
