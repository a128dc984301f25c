"""Synaptic operations of one step and one phase, per layer entry, counted from outputs.

The convention is that of docs/model.md, "Operations and energy".

This module owns the counting convention and the per-layer entries
(``layer{ℓ}.fwd``, ``layer{ℓ}.bwd``, ``readout``): ``spike_ops`` counts one
step's outputs, ``phase_ops`` runs a phase and counts all of its steps and its
input. ``opcount`` builds on it: inference and training steps, the ANN
reference, totals and energy.

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
Fan-outs, synapses and FLOPs are in ``synapses``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from stochep_jax import dynamics, energy
from stochep_jax import keys as keys_lib
from stochep_jax.opcount.synapses import synapse_fanin, synapse_fanout

Array = jax.Array
Params = Any
Counts = dict[str, dict[str, float]]  # entry name -> {'ac': ..., 'mac': ...}

__all__ = [
  'Counts',
  'in_shapes',
  'phase_counts',
  'phase_ops',
  'readout_ops',
  'recorder',
  'spike_ops',
]


def in_shapes(net: energy.Network) -> tuple[tuple[int, ...], ...]:
  """The input shape of every connection: x, then the layers but the last."""
  return (tuple(net.input_shape),) + tuple(net.layer_shapes[:-1])


def _fans(net: energy.Network):
  """Per connection (fan-out of its input, fan-in of its output), as float32 arrays."""
  return [
    (jnp.asarray(synapse_fanout(c, s), jnp.float32), jnp.asarray(synapse_fanin(c, s), jnp.float32))
    for c, s in zip(net.connections, in_shapes(net))
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


def _input_events(sim, x, keys, steps, t0, count_zeros):
  """Input → layer 1: (events [B], binary) over the phase."""
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


def readout_ops(net: energy.Network, steps_nudged: int, final: int) -> dict:
  """A cross-entropy readout's MACs: logits and their adjoint per nudged step, logits at the end."""
  s = net.readout_synapses
  if not s:  # MSE: no weights
    return {}
  return {'readout': {'ac': 0.0, 'mac': float(2 * s * steps_nudged + s * final)}}


def recorder(sim: dynamics.Simulator, count_zeros: bool = False):
  """The per-step recording that counting needs: ``trace_fn`` for ``Simulator.run_phase``
  (or ``estimators.ep_phases``) giving each step's ``spike_ops`` of the outputs."""
  return lambda st: spike_ops(sim.network, sim.outputs(st), count_zeros)


def phase_counts(
  sim: dynamics.Simulator,
  x: Array,
  keys: Array | None,
  start,
  trace,
  *,
  steps: int,
  t0: int = 0,
  nudged: bool = False,
  count_zeros: bool = False,
) -> Counts:
  """A phase's synaptic operations from what ``recorder`` recorded.

  The T currents of the phase are computed from the outputs of its initial
  state and of its first T−1 steps; those are counted, with the input's.

  Args:
    sim: the simulated system.
    x: batched input.
    keys: the phase's per-example keys (as ``run_phase``), or None.
    start: ``recorder(sim)(states)`` of the phase's initial states.
    trace: the phase's trace under ``recorder(sim)``.
    steps, t0: the phase's steps and its first global step.
    nudged: a nudged phase (a cross-entropy readout then counts its MACs).
    count_zeros: charge zero-valued real outputs too (as ``recorder``).

  Returns:
    Per-example ``{entry: {'ac', 'mac'}}`` (jax scalars).
  """
  ev0, bi0 = start
  ev_t, bi_t = trace
  events = {k: ev0[k] + ev_t[k][:-1].sum(0) for k in ev0}
  binary = {k: bi0[k] & jnp.all(bi_t[k][:-1]) for k in bi0}
  events['layer1.fwd'], binary['layer1.fwd'] = _input_events(sim, x, keys, steps, t0, count_zeros)
  counts = _split(events, binary)
  if nudged:
    counts.update(readout_ops(sim.network, steps, 0))
  return _order(counts)


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
  """Runs one phase and counts its synaptic operations (``phase_counts``).

  Args:
    sim, params, x, keys, states, steps, t0, beta, labels: as
      ``Simulator.run_phase``.
    count_zeros: charge zero-valued real outputs too.

  Returns:
    ``(counts, result)``: per-example ``{entry: {'ac', 'mac'}}`` (jax scalars)
    and the phase's ``PhaseResult`` (rates over the last step).
  """
  record = recorder(sim, count_zeros)
  res = sim.run_phase(
    params, x, keys, states, steps=steps, t0=t0, beta=beta, labels=labels, trace_fn=record
  )
  counts = phase_counts(
    sim, x, keys, record(states), res.trace, steps=steps, t0=t0,
    nudged=labels is not None, count_zeros=count_zeros,
  )  # fmt: skip
  return counts, res
