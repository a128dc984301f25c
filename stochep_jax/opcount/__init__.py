"""Operation counts and energy of inference and training: one package.

The convention is that of docs/model.md, "Operations and energy".

* ``opcount.synapses``: the static accounting of a connection (synapses,
  fan-out and fan-in, FLOPs, GEMM shapes);
* ``opcount.events``: synaptic operations counted from a run's outputs (what
  costs an AC or a MAC, both directions of the recurrent network, the input's
  drive, the per-layer entries ``layer{ℓ}.fwd`` / ``.bwd``);
* this module, the network and step level: ``inference_ops``,
  ``ep_training_ops`` (on ``estimators.ep_phases``, the phases EP trains with),
  ``bptt_training_ops``, ``ann_ops``, ``totals`` and ``EnergyModel``; the
  package's public API (the names in ``__all__``, from the two modules above too);
* ``opcount.report``: the energy table of StochEP EP, CRNN EP, SNN BPTT and an
  ANN on one batch (``energy_report``), which ``experiments/energy.py`` and the
  figures print and draw.

Learning (per example, always MACs):

* EP: Δθ contrasts ∂Φ/∂θ at the two nudged rates: one outer product per
  synapse and nudged state, 2·S_ℓ MACs per connection (S_ℓ its synapses,
  ``num_synapses``; for a conv layer S_ℓ counts every (input, output) pair, so
  this is the conv weight gradient). The optimizer's update of θ (once per
  batch, not per example) is left out.
* BPTT through T steps (**[choice]**, dense MACs): per step and connection
  ℓ ≥ 2 the error is propagated back through W_ℓ and W_ℓᵀ and both weight
  gradients (δI_ℓ s_{ℓ-1}ᵀ and s_ℓ δI_{ℓ-1}ᵀ) are formed: 4·S_ℓ MACs; the input
  connection needs no error propagation and one outer product per computed
  drive (once for a static input, T times otherwise): D·S_1. Its forward
  pass is the free phase at the same T, counted like EP's.
* the ANN reference (``ann_ops``): forward Σ n_{ℓ-1} n_ℓ MACs; backward the
  weight gradients (the same number) and the error propagation through every
  layer but the first.

Energy (``EnergyModel``): E = N_AC·E_AC + N_MAC·E_MAC with the 45 nm float32
values of [Horowitz 2014] (add 0.9 pJ, multiply 3.7 pJ, so E_MAC 4.6 pJ), the
convention of syops-counter and NeuroBench. **Left out**: memory traffic
(reading weights and states from SRAM/DRAM costs more than the arithmetic at
45 nm, and BPTT's stored trajectory more still), control, the elementwise
neuron and RNG work, and the readout's cost when it is the MSE (no weights).

References:
  M. Horowitz, "Computing's energy problem (and what we can do about it)",
  ISSCC 2014.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import jax

from stochep_jax import dynamics, energy, estimators
from stochep_jax import keys as keys_lib
from stochep_jax.opcount import events
from stochep_jax.opcount.events import Counts, phase_ops, spike_ops
from stochep_jax.opcount.events import in_shapes as _in_shapes
from stochep_jax.opcount.events import readout_ops as _readout_ops
from stochep_jax.opcount.synapses import (
  conv_pads,
  flops,
  gemm_shape,
  num_synapses,
  synapse_fanin,
  synapse_fanout,
)

Array = jax.Array
Params = Any

__all__ = [
  'EnergyModel',
  'ann_ops',
  'bptt_training_ops',
  'conv_pads',
  'ep_training_ops',
  'flops',
  'gemm_shape',
  'inference_ops',
  'num_synapses',
  'phase_ops',
  'spike_ops',
  'synapse_fanin',
  'synapse_fanout',
  'totals',
]


_example_keys = keys_lib.batch_example_keys
_phase_keys = keys_lib.phase_keys


def _floats(tree):
  return jax.tree_util.tree_map(float, jax.device_get(tree))


def inference_ops(
  sim: dynamics.Simulator,
  params: Params,
  x: Array,
  key: Array | None,
  *,
  t_free: int,
  indices: Array | None = None,
  count_zeros: bool = False,
) -> dict[str, Counts]:
  """Operations per example of inference: the free phase of ``t_free`` steps.

  Returns:
    ``{'free': counts}`` (floats); a cross-entropy readout adds its logits.
  """

  @jax.jit
  def run(params, x, key):
    keys = _phase_keys(_example_keys(key, x.shape[0], indices), keys_lib.FREE)
    counts, _ = phase_ops(
      sim, params, x, keys, sim.init_states(x.shape[0], x.dtype), steps=t_free,
      count_zeros=count_zeros,
    )  # fmt: skip
    return counts

  counts = _floats(run(params, x, key))
  counts.update(_readout_ops(sim.network, 0, 1))
  return {'free': counts}


def _update_ops(net: energy.Network, per_connection: int) -> Counts:
  out = {
    f'layer{i + 1}': {'ac': 0.0, 'mac': float(per_connection * num_synapses(c, s))}
    for i, (c, s) in enumerate(zip(net.connections, _in_shapes(net)))
  }
  if net.readout_synapses:
    out['readout'] = {'ac': 0.0, 'mac': float(per_connection * net.readout_synapses)}
  return out


def ep_training_ops(
  sim: dynamics.Simulator,
  ep: estimators.EP,
  params: Params,
  x: Array,
  labels: Array,
  key: Array | None,
  indices: Array | None = None,
  count_zeros: bool = False,
) -> dict[str, Counts]:
  """Operations per example of one EP training step (``estimators.ep_update``).

  The phases are ``estimators.ep_phases``'s, the ones EP's update runs: the
  same keys, the same (under random-sign nudging, signed) β, the same states.

  Returns:
    ``{'free', 'plus', 'minus', 'update'}`` (no ``'minus'`` for one-sided
    and random-sign nudging), each ``{entry: {'ac', 'mac'}}`` (floats).
  """

  @jax.jit
  def run(params, x, labels, key):
    b = x.shape[0]
    keys = _example_keys(key, b, indices)
    record = events.recorder(sim, count_zeros)
    phases = estimators.ep_phases(sim, ep, params, x, labels, key, indices, trace_fn=record)
    numbers = estimators.phase_numbers(ep)

    def count(name, start, steps, t0):
      return events.phase_counts(
        sim, x, _phase_keys(keys, numbers[name]), start, getattr(phases, name).trace,
        steps=steps, t0=t0, nudged=name != 'free', count_zeros=count_zeros,
      )  # fmt: skip

    out = {'free': count('free', record(sim.init_states(b, x.dtype)), ep.t_free, 0)}
    free_end = jax.tree_util.tree_map(lambda a: a[-1], phases.free.trace)
    for name in [n for n in numbers if n != 'free']:
      out[name] = count(name, free_end, ep.t_nudge, ep.t_free)
    return out

  out = _floats(run(params, x, labels, key))
  out['update'] = _update_ops(sim.network, 2)
  return out


def bptt_training_ops(
  sim: dynamics.Simulator,
  bptt: estimators.BPTT,
  params: Params,
  x: Array,
  labels: Array,
  key: Array | None,
  indices: Array | None = None,
  count_zeros: bool = False,
) -> dict[str, Counts]:
  """Operations per example of one BPTT step (``estimators.bptt_gradient``).

  ``'forward'``: the free phase of ``bptt.t_free`` steps, counted from its
  outputs (the straight-through network's forward spikes are those of
  ``sim`` with the same keys). ``'backward'``: the dense-MAC convention of the
  module docstring, T·Σ_{ℓ≥2} 4·S_ℓ + D·S_1.
  """
  forward = inference_ops(
    sim, params, x, key, t_free=bptt.t_free, indices=indices, count_zeros=count_zeros
  )['free']
  net = sim.network
  t = bptt.t_free
  d = 1 if sim.encoder.static else t
  backward = {}
  for i, (c, s) in enumerate(zip(net.connections, _in_shapes(net))):
    per = (d if i == 0 else 4 * t) * num_synapses(c, s)
    backward[f'layer{i + 1}'] = {'ac': 0.0, 'mac': float(per)}
  if net.readout_synapses:
    backward['readout'] = {'ac': 0.0, 'mac': float(2 * net.readout_synapses)}
  return {'forward': forward, 'backward': backward}


def ann_ops(sizes: Sequence[int]) -> dict[str, Counts]:
  """MACs per example of a dense ReLU ANN with layer sizes ``sizes`` (e.g. 784, 512, 10).

  ``'forward'``: n_{ℓ-1}·n_ℓ per layer. ``'backward'``: per layer the weight
  gradient (n_{ℓ-1}·n_ℓ) plus, for every layer but the first, the error
  propagated to its input (n_{ℓ-1}·n_ℓ). Biases, ReLU and the loss are not
  counted.
  """
  forward, backward = {}, {}
  for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
    forward[f'layer{i + 1}'] = {'ac': 0.0, 'mac': float(a * b)}
    backward[f'layer{i + 1}'] = {'ac': 0.0, 'mac': float(a * b * (1 if i == 0 else 2))}
  return {'forward': forward, 'backward': backward}


def totals(counts) -> dict[str, float]:
  """{'ac', 'mac'} summed over every entry of ``counts`` (any nesting of counts dicts)."""
  if isinstance(counts, dict) and set(counts) == {'ac', 'mac'}:
    return {'ac': float(counts['ac']), 'mac': float(counts['mac'])}
  out = {'ac': 0.0, 'mac': 0.0}
  for v in counts.values():
    t = totals(v)
    out['ac'] += t['ac']
    out['mac'] += t['mac']
  return out


# --------------------------------------------------------------------------
# Energy
# --------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class EnergyModel:
  """Energy per operation: E = N_AC·E_AC + N_MAC·E_MAC (module docstring for what is left out).

  Attributes:
    e_ac_pj: energy of an accumulate, pJ (45 nm float32 add: 0.9).
    e_mac_pj: energy of a multiply-accumulate, pJ (float32 multiply 3.7 + add 0.9).
    process_nm: the process node the constants belong to.
    source: where the constants come from.
  """

  e_ac_pj: float = 0.9
  e_mac_pj: float = 4.6
  process_nm: int = 45
  source: str = 'Horowitz, ISSCC 2014 (float32, 45 nm); syops-counter / NeuroBench convention'

  def pj(self, counts) -> float:
    """Energy in pJ of ``counts`` (any nesting accepted by ``totals``)."""
    t = totals(counts)
    return t['ac'] * self.e_ac_pj + t['mac'] * self.e_mac_pj
