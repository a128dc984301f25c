"""Operation counts and energy of inference and training (SPEC 9).

Synaptic operations are counted from the actual outputs of a run: at every
step each layer's currents are computed from its neighbours' outputs of the
previous step, and every *nonzero* presynaptic value costs one operation per
synapse it drives (its fan-out):

* a binary presynaptic value (a spike, or a Bernoulli input pixel) is one
  accumulate (AC) per synapse;
* a real-valued one (a CRNN state, an analog input) is one multiply-accumulate
  (MAC) per synapse.

A layer counts as binary when every value it sent during the phase is 0 or 1
(checked on the values themselves, so no model needs declaring); zeros cost
nothing (event-driven hardware; **[choice]**, ``count_zeros=True`` charges
every real-valued unit, zeros included, as a dense processor does).

The network is bidirectional (Φ = Σ_ℓ ⟨F_ℓ(s_{ℓ-1}), s_ℓ⟩, the Hopfield / CRNN
energy): the current of layer ℓ is I_ℓ = F_ℓ(s_{ℓ-1}) + ∂⟨F_{ℓ+1}(s_ℓ), s_{ℓ+1}⟩/∂s_ℓ,
so the output of a hidden layer ℓ drives the next layer through W_{ℓ+1}
(entry ``layer{ℓ+1}.fwd``, its forward fan-out) *and* the previous layer
through W_ℓᵀ (entry ``layer{ℓ}.bwd``, its fan-out through the transposed map,
which is the fan-in of its units in F_ℓ). The input x drives layer 1 only
(``layer1.fwd``); layer 1 sends nothing back to the input; the output layer
drives only ``layer{L}.bwd``.

Fan-out (``synapse_fanout``): for a dense layer the number of output units;
for a convolution kernel height × width × output channels, fewer at borders
and for rows/columns that only dropped pooling windows would use; computed
exactly as the transposed convolution (a ``jax.vjp``) of a ones kernel applied
to the mask of the used output positions. Backward fan-out
(``synapse_fanin``): a dense unit drives all inputs; a conv unit drives
kh·kw·C_in inputs per convolution output it is made of (its pooling window:
4 of them for 2×2 average pooling, fewer inputs at padded borders). For max
pooling the backward fan-out of a pooled unit is one window position's
(**[choice]**: the largest in its window, the arg-max is not tracked). The
synapses are those of the plain convolution (before pooling), whatever the
simulator computes (``Conv.fuse_pool`` changes the arithmetic, not the
network). Pooling's averages, biases, the neuron updates, the random numbers
and the nudging force are elementwise and not counted.

Input: a static input's drive F_1(x) is computed once per phase, as the
simulator does (**[choice]**: a constant current held by the neuron; a
time-varying or Bernoulli input is counted at every step from its actual
values, redrawn with the encoder's key of the key tree, ``keys.layer_key(keys.time_key(k_i, t), None)``).
Fan-outs, synapses and FLOPs are in ``synapses`` (re-exported here).

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
import math
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from stochep_jax import dynamics, energy, estimators
from stochep_jax import keys as keys_lib
from stochep_jax.synapses import (
  conv_pads,
  flops,
  gemm_shape,
  num_synapses,
  synapse_fanin,
  synapse_fanout,
)

Array = jax.Array
Params = Any
Counts = dict[str, dict[str, float]]  # entry name -> {'ac': ..., 'mac': ...}

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


# --------------------------------------------------------------------------
# Counting from outputs
# --------------------------------------------------------------------------
def _in_shapes(net: energy.Network):
  return (tuple(net.input_shape),) + tuple(net.layer_shapes[:-1])


def _fans(net: energy.Network):
  """Per connection (fan-out of its input, fan-in of its output), as float32 arrays."""
  return [
    (jnp.asarray(synapse_fanout(c, s), jnp.float32), jnp.asarray(synapse_fanin(c, s), jnp.float32))
    for c, s in zip(net.connections, _in_shapes(net))
  ]


def _weighted(values: Array, fan: Array, count_zeros: bool = False) -> Array:
  """Σ over a unit's fan for every sending unit: [B]."""
  sent = jnp.ones_like(values) if count_zeros else (values != 0).astype(jnp.float32)
  return jnp.sum((sent * fan).reshape(values.shape[0], -1), axis=-1)


def _binary(values: Array) -> Array:
  return jnp.all((values == 0) | (values == 1))


def spike_ops(net: energy.Network, outs: Sequence[Array], count_zeros: bool = False):
  """Synaptic events sent by the neuron layers' outputs ``outs`` in one step.

  Args:
    net: the network.
    outs: the outputs of layers 1..L, each ``[B, *layer_shape]``.
    count_zeros: charge zeros too (dense hardware).

  Returns:
    ``(events, binary)``: ``events`` maps ``layer{ℓ}.fwd`` (ℓ ≥ 2, sent by
    layer ℓ−1) and ``layer{ℓ}.bwd`` (sent by layer ℓ) to per-example counts
    [B]; ``binary`` maps the same names to whether every sent value was 0/1.
  """
  fans = _fans(net)
  events, binary = {}, {}
  for l in range(1, net.num_layers + 1):
    if l >= 2:
      name = f'layer{l}.fwd'
      events[name] = _weighted(outs[l - 2], fans[l - 1][0], count_zeros)
      binary[name] = _binary(outs[l - 2])
      name = f'layer{l}.bwd'
      events[name] = _weighted(outs[l - 1], fans[l - 1][1], count_zeros)
      binary[name] = _binary(outs[l - 1])
  return events, binary


def _split(events: dict, binary: dict) -> Counts:
  """Per-example means as {'ac', 'mac'} by entry."""
  out = {}
  for name, n in events.items():
    n = jnp.mean(n)
    b = binary[name]
    out[name] = {'ac': jnp.where(b, n, 0.0), 'mac': jnp.where(b, 0.0, n)}
  return out


def _order(counts: dict) -> dict:
  def key(name):
    layer, _, d = name.partition('.')
    return (int(layer[5:]) if layer[5:].isdigit() else 10**6, d != 'fwd', name)

  return {k: counts[k] for k in sorted(counts, key=key)}


def _input_events(sim, params, x, keys, steps, t0, count_zeros):
  """Input → layer 1: (events [B], binary) over the phase."""
  del params
  fan = _fans(sim.network)[0][0]
  enc = sim.encoder
  if enc.static:
    xt = enc.encode(x, None, t0)
    return _weighted(xt, fan, count_zeros), _binary(xt)
  ex_shape = enc.example_shape(x.shape)

  def one(t):
    noise = None
    if keys is not None:
      noise = jax.vmap(
        lambda k: enc.noise(keys_lib.layer_key(keys_lib.time_key(k, t), None), ex_shape, x.dtype)
      )(keys)
    xt = enc.encode(x, noise, t)
    return _weighted(xt, fan, count_zeros), _binary(xt)

  ev, bi = lax.map(one, t0 + jnp.arange(steps))
  return ev.sum(0), jnp.all(bi)


def _readout_ops(net: energy.Network, steps_nudged: int, final: int) -> dict:
  """A cross-entropy readout's MACs: logits and their adjoint per nudged step, logits at the end."""
  if net.readout.out_units() is not None:  # MSE: no weights
    return {}
  s = math.prod(net.layer_shapes[-1]) * net.readout.n_classes
  return {'readout': {'ac': 0.0, 'mac': float(2 * s * steps_nudged + s * final)}}


def phase_ops(
  sim: dynamics.Simulator,
  params: Params,
  x: Array,
  keys: Array | None,
  states: tuple,
  *,
  steps: int,
  t0: int = 0,
  beta=0.0,
  labels: Array | None = None,
  count_zeros: bool = False,
):
  """Runs one phase and counts its synaptic operations.

  The T currents of the phase are computed from the outputs of ``states``
  and of the phase's first T−1 steps; those are counted.

  Args:
    sim, params, x, keys, states, steps, t0, beta, labels: as
      ``Simulator.run_phase``.
    count_zeros: charge zero-valued real outputs too.

  Returns:
    ``(counts, result)``: per-example ``{entry: {'ac', 'mac'}}`` (jax scalars)
    and the phase's ``PhaseResult`` (rates over the last step).
  """
  net = sim.network

  def trace_fn(st):
    return spike_ops(net, sim.outputs(st), count_zeros)

  res = sim.run_phase(
    params, x, keys, states, steps=steps, t0=t0, beta=beta, labels=labels, trace_fn=trace_fn
  )
  ev0, bi0 = spike_ops(net, sim.outputs(states), count_zeros)
  ev_t, bi_t = res.trace
  events = {k: ev0[k] + ev_t[k][:-1].sum(0) for k in ev0}
  binary = {k: bi0[k] & jnp.all(bi_t[k][:-1]) for k in bi0}
  events['layer1.fwd'], binary['layer1.fwd'] = _input_events(
    sim, params, x, keys, steps, t0, count_zeros
  )
  counts = _split(events, binary)
  if labels is not None:
    counts.update(_readout_ops(net, steps, 0))
  return _order(counts), res


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
    keys = _phase_keys(_example_keys(key, x.shape[0], indices), estimators.FREE)
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
  if net.readout.out_units() is None:
    s = math.prod(net.layer_shapes[-1]) * net.readout.n_classes
    out['readout'] = {'ac': 0.0, 'mac': float(per_connection * s)}
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

  The phases run with ``ep_update``'s keys (free from fold_in(k_i, FREE), the
  nudged phases from PLUS, or MINUS without shared noise).

  Returns:
    ``{'free', 'plus', 'minus', 'update'}`` (no ``'minus'`` for one-sided
    and random-sign nudging), each ``{entry: {'ac', 'mac'}}`` (floats).
  """

  @jax.jit
  def run(params, x, labels, key):
    b = x.shape[0]
    keys = _example_keys(key, b, indices)
    free_c, free = phase_ops(
      sim, params, x, _phase_keys(keys, estimators.FREE), sim.init_states(b, x.dtype),
      steps=ep.t_free, count_zeros=count_zeros,
    )  # fmt: skip

    def nudge(beta, phase):
      c, _ = phase_ops(
        sim, params, x, _phase_keys(keys, phase), free.states, steps=ep.t_nudge,
        t0=ep.t_free, beta=beta, labels=labels, count_zeros=count_zeros,
      )  # fmt: skip
      return c

    out = {'free': free_c}
    if ep.nudging == 'symmetric':
      out['plus'] = nudge(ep.beta, estimators.PLUS)
      out['minus'] = nudge(-ep.beta, keys_lib.minus_phase(ep.shared_noise))
    else:
      out['plus'] = nudge(ep.beta, estimators.PLUS)
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
  if net.readout.out_units() is None:
    s = math.prod(net.layer_shapes[-1]) * net.readout.n_classes
    backward['readout'] = {'ac': 0.0, 'mac': float(2 * s)}
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
