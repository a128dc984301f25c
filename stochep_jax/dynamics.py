"""A phase: one ``lax.scan`` of neuron steps driven by the currents ∂Φ/∂s.

At step t (global index, counted from the start of the free phase) every layer
receives

    I_ℓ^t = ∂Φ/∂s_ℓ (x^t, out^{t-1})  −  β ∂C/∂s_L (mean^{t-1}) · [ℓ = L]

computed with ``jax.grad`` of Φ (``energy.Network.currents``), and every
neuron takes one pure step. Randomness is explicit: each example has its own
key k_i; step t of layer ℓ uses ``fold_in(fold_in(k_i, t), ℓ)`` (ℓ = 0 is the
input encoder). So draws are independent per example, layer and step, and an
example's spikes do not depend on the batch it sits in or the device it runs
on.

Speed (all exact: the same keys give the same spikes):

* a static input's drive F_1(x) is computed once per phase, outside the loop;
* the keys of ``chunk`` steps are drawn at once; the neurons' uniforms are
  then drawn inside each step from its keys (``fuse_noise``: fused with the
  neuron update, never stored), the input encoder's for the whole chunk, so
  that a time-varying input's drive is one matrix product over the chunk (a
  GEMM of chunk·B rows); memory grows with ``chunk``, not with the number of
  steps;
* ``unroll`` is passed to the inner ``lax.scan``.

Rates: ``PhaseResult.rates`` is the mean over the last ``k_avg`` steps of the
outputs (``rate='output'``, the spikes for StochEP, the default) or of the
neurons' means (``rate='mean'``, the firing probabilities: less variance), as in
docs/model.md, "Phases and the EP update".

Entry points: ``free_phase`` (β = 0 from the zero state, the free-phase keys of
``stochep_jax.keys``) and ``predict`` (its class scores, i.e. inference); EP's
nudged phases and BPTT (``estimators``) start from them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct
from jax import lax

from stochep_jax import checks
from stochep_jax import energy as energy_lib
from stochep_jax import inputs as inputs_lib
from stochep_jax import keys as keys_lib

Array = jax.Array
Params = Any
RATES = ('output', 'mean')  # what a phase's rates average: outputs, or the firing probabilities


@struct.dataclass
class PhaseResult:
  """What a phase returns.

  Attributes:
    states: final neuron state of every layer.
    rates: mean over the last k_avg steps (see the module docstring).
    trace: ``trace_fn(states)`` stacked over steps (leading axis T), or None.
  """

  states: tuple
  rates: tuple
  trace: Any = None


@dataclasses.dataclass(frozen=True)
class Simulator:
  """A network, its neuron model and its input encoder, simulated in time.

  Attributes:
    network: the energy model (``energy.Network``).
    neuron: a neuron model (``neurons``); the same model for every layer.
    encoder: an input encoder (``inputs``).
    rate: ``'output'`` or ``'mean'`` (see the module docstring).
    chunk: steps whose keys (and the encoder's noise and a time-varying drive)
      are generated at once.
    unroll: ``lax.scan`` unroll factor of the step loop.
    fuse_noise: draw each step's neuron noise inside the step, from keys drawn
      for the chunk (the draws fuse with the neuron update and are never
      stored); False draws the chunk's neuron noise at once, before its steps.
      The same spikes either way.
  """

  network: energy_lib.Network
  neuron: Any
  encoder: Any = inputs_lib.AnalogInput()
  rate: str = 'output'
  chunk: int = 1
  unroll: int = 1
  fuse_noise: bool = True

  def __post_init__(self):
    checks.choice('Simulator', 'rate', self.rate, RATES)
    checks.integer('Simulator', 'chunk', self.chunk, 1)
    checks.integer('Simulator', 'unroll', self.unroll, 1)
    checks.boolean('Simulator', 'fuse_noise', self.fuse_noise)

  # -- states -----------------------------------------------------------------
  def init_states(self, batch: int, dtype=jnp.float32) -> tuple:
    """The zero state of every layer for a batch."""
    return tuple(
      self.neuron.init_state((batch, *shape), dtype) for shape in self.network.layer_shapes
    )

  def outputs(self, states) -> tuple:
    return tuple(self.neuron.output(s) for s in states)

  def means(self, states) -> tuple:
    return tuple(self.neuron.mean(s) for s in states)

  def mean_field(self) -> Simulator:
    """The deterministic counterpart: a stochastic neuron model's mean field
    (``neuron.mean_field()``, SPEC 3.2), the same states; deterministic models as they are."""
    if self.neuron.stochastic:
      return dataclasses.replace(self, neuron=self.neuron.mean_field())
    return self

  # -- one step -----------------------------------------------------------------
  def step(
    self,
    params: Params,
    drive: Array,
    states: tuple,
    outs: tuple,
    layer_noise: tuple,
    beta=0.0,
    labels: Array | None = None,
  ):
    """One synchronous step of all layers. Returns (states, outputs)."""
    currents = self.network.currents(params, drive, outs)
    if labels is not None:
      force = self.network.cost_grad(params, self.neuron.mean(states[-1]), labels)
      currents = currents[:-1] + (currents[-1] - beta * force,)
    new = [self.neuron.update(s, i, n) for s, i, n in zip(states, currents, layer_noise)]
    return tuple(n[0] for n in new), tuple(n[1] for n in new)

  def _step_keys(self, keys: Array, ts: Array):
    """Keys of steps ``ts`` for every example: (input, per-layer tuple), each [c, B]."""

    def one(k, t):
      kt = keys_lib.time_key(k, t)
      layers = tuple(keys_lib.layer_key(kt, l) for l in range(self.network.num_layers))
      return keys_lib.layer_key(kt, None), layers

    return jax.vmap(lambda t: jax.vmap(lambda k: one(k, t))(keys))(ts)

  def _layer_noise(self, layer_keys: tuple, dtype, lead: int = 1) -> tuple:
    """The neurons' noise from their keys: per layer, keys with ``lead`` leading axes
    ([B] for one step, [c, B] for a chunk)."""
    out = []
    for k, shape in zip(layer_keys, self.network.layer_shapes):
      draw = lambda kk, shape=shape: self.neuron.noise(kk, shape, dtype)
      for _ in range(lead):
        draw = jax.vmap(draw)
      out.append(draw(k))
    return tuple(out)

  def _encoder_noise(self, enc_keys: Array, x_shape, dtype):
    ex_shape = self.encoder.example_shape(x_shape)
    return jax.vmap(jax.vmap(lambda k: self.encoder.noise(k, ex_shape, dtype)))(enc_keys)

  def _noise(self, keys: Array, ts: Array, x_shape, dtype):
    """Noise of steps ``ts`` for every example: (input, per-layer), leading [c, B]."""
    enc_keys, layer_keys = self._step_keys(keys, ts)
    return self._encoder_noise(enc_keys, x_shape, dtype), self._layer_noise(layer_keys, dtype, 2)

  def _noisy(self, x_shape, dtype) -> tuple[bool, bool]:
    """(the encoder draws noise, the neurons draw noise)."""
    key = jax.random.key(0)
    enc, layers = jax.eval_shape(
      lambda: self._noise(key[None], jnp.zeros((1,), jnp.int32), x_shape, dtype)
    )
    return bool(jax.tree_util.tree_leaves(enc)), bool(jax.tree_util.tree_leaves(layers))

  def has_noise(self, x_shape, dtype=jnp.float32) -> bool:
    return any(self._noisy(x_shape, dtype))

  # -- a phase -----------------------------------------------------------------
  def run_phase(
    self,
    params: Params,
    x: Array,
    keys: Array | None,
    states: tuple,
    *,
    steps: int,
    t0: int | Array = 0,
    k_avg: int = 1,
    beta=0.0,
    labels: Array | None = None,
    trace_fn: Callable[[tuple], Any] | None = None,
  ) -> PhaseResult:
    """Runs ``steps`` steps from ``states``.

    Args:
      params: network parameters.
      x: batched input ([B, *input_shape], or [B, F, *input_shape] for frames).
      keys: per-example keys [B] (``keys.example_keys``); None for deterministic
        models with a deterministic encoder.
      states: initial neuron states (``init_states`` or a previous phase's).
      steps: number of steps (static).
      t0: global index of the first step (keys and frames depend on it).
      k_avg: rates average the last ``k_avg`` steps (1 <= k_avg <= steps).
      beta: nudging strength (a scalar, may be traced, or one per example [B]);
        used if ``labels`` given.
      labels: integer class labels [B]; None for a free phase.
      trace_fn: optional function of the states recorded at every step.

    Returns:
      A ``PhaseResult``.
    """
    if not 1 <= k_avg <= steps:
      raise ValueError(f'need 1 <= k_avg <= steps, got k_avg={k_avg}, steps={steps}')
    got, want = self.encoder.example_shape(x.shape), tuple(self.network.input_shape)
    if tuple(got) != want:
      lead = self.encoder.layout
      raise ValueError(
        f'input of shape {tuple(x.shape)} for a network that takes examples of shape {want} '
        f'(x must be [{lead}, {", ".join(map(str, want))}])'
      )
    dtype = jax.tree_util.tree_leaves(states)[0].dtype
    if jnp.ndim(beta):  # one β per example, broadcast over the output layer once, not per step
      beta = jnp.reshape(beta, (-1,) + (1,) * len(self.network.layer_shapes[-1])).astype(dtype)
    params = self.network.prepare(params)  # pooled kernels and casts once, not every step
    enc_noisy, neuron_noisy = self._noisy(x.shape, dtype)
    noisy = enc_noisy or neuron_noisy
    if noisy and keys is None:
      raise ValueError('this neuron model or encoder is stochastic: pass per-example keys')
    static_drive = self.network.input_drive(params, x) if self.encoder.static else None
    no_noise = (None,) * self.network.num_layers
    x_shape = x.shape

    def body(carry, xs):
      st, outs, acc = carry
      t_local, drive, layer_xs = xs  # layer_xs: this step's keys (fuse_noise) or noise
      drive = static_drive if drive is None else drive
      fused = self.fuse_noise and layer_xs is not None
      layer_noise = self._layer_noise(layer_xs, dtype) if fused else layer_xs
      st, outs = self.step(
        params, drive, st, outs, no_noise if layer_noise is None else layer_noise, beta, labels
      )
      if fused:  # the spikes stored once: XLA would otherwise redo the draws in each consumer
        st, outs = lax.optimization_barrier((st, outs))
      vals = outs if self.rate == 'output' else self.means(st)
      w = (t_local >= steps - k_avg).astype(dtype)
      acc = tuple(a + w * v for a, v in zip(acc, vals))
      return (st, outs, acc), (None if trace_fn is None else trace_fn(st))

    def run_chunk(carry, start, c):
      ts_local = start + jnp.arange(c)
      ts = t0 + ts_local
      enc_noise = layer_xs = drive = None
      if noisy:
        enc_keys, layer_keys = self._step_keys(keys, ts)
        if enc_noisy:
          enc_noise = self._encoder_noise(enc_keys, x_shape, dtype)
        if neuron_noisy:
          layer_xs = layer_keys if self.fuse_noise else self._layer_noise(layer_keys, dtype, 2)
      if not self.encoder.static:
        # Frames batch-major, [B, c, ...]: merging (B, c) keeps a batch-sharded
        # input sharded (merging (c, B) would make GSPMD all-gather the frames and
        # compute every device's drive on every device).
        frames = jax.vmap(
          lambda n, t: self.encoder.encode(x, n, t), (None if enc_noise is None else 0, 0), 1
        )(enc_noise, ts)
        flat = self.network.input_drive(params, frames.reshape((-1,) + frames.shape[2:]))
        drive = jnp.swapaxes(flat.reshape(frames.shape[:2] + flat.shape[1:]), 0, 1)
      return lax.scan(body, carry, (ts_local, drive, layer_xs), unroll=min(self.unroll, c))

    acc0 = tuple(jnp.zeros(v.shape, dtype) for v in self.outputs(states))
    carry = (states, self.outputs(states), acc0)
    chunk = self.chunk if (noisy or not self.encoder.static) else steps
    n_full, rem = divmod(steps, chunk)
    traces = []
    if n_full:
      carry, ys = lax.scan(lambda cr, i: run_chunk(cr, i * chunk, chunk), carry, jnp.arange(n_full))
      traces.append(jax.tree_util.tree_map(lambda y: y.reshape((-1,) + y.shape[2:]), ys))
    if rem:
      carry, ys = run_chunk(carry, n_full * chunk, rem)
      traces.append(ys)
    trace = None
    if trace_fn is not None:
      trace = jax.tree_util.tree_map(lambda *ys: jnp.concatenate(ys, 0), *traces)
    st, _, acc = carry
    return PhaseResult(states=st, rates=tuple(a / k_avg for a in acc), trace=trace)

  def residual(
    self,
    params: Params,
    x: Array,
    states: tuple,
    *,
    t: int | Array,
    beta=0.0,
    labels: Array | None = None,
  ) -> Array:
    """‖out^{t+1} − out^t‖ per example after ``states`` (deterministic models).

    The convergence diagnostic (docs/model.md, "References by backpropagation"):
    one more step from ``states`` without noise; returns the L2 norm over all
    layers, shape [B].
    """
    params = self.network.prepare(params)
    drive = self.network.input_drive(
      params, x if self.encoder.static else self.encoder.encode(x, None, t)
    )
    outs = self.outputs(states)
    _, new = self.step(params, drive, states, outs, (None,) * len(states), beta, labels)
    sq = sum(jnp.sum((n - o).reshape(n.shape[0], -1) ** 2, axis=-1) for n, o in zip(new, outs))
    return jnp.sqrt(sq)


def free_phase(
  sim: Simulator,
  params: Params,
  x: Array,
  key: Array | None,
  *,
  t_free: int,
  k_avg: int = 1,
  indices: Array | None = None,
  trace_fn=None,
  t_warm: int = 0,
) -> PhaseResult:
  """The free phase (β = 0) from the zero state, or from a mean-field warm start.

  Args:
    sim: the simulated system.
    params: network parameters.
    x: batched input.
    key: the batch's key (None for deterministic systems).
    t_free: the number of free steps T_free (as ``predict`` and ``EP``).
    k_avg: rates average the last k_avg steps.
    indices: global example indices [B] (default 0..B-1) for per-example keys.
    trace_fn: optional per-step recording (see ``Simulator.run_phase``) of the
      T_free steps.
    t_warm: mean-field warm start: ``t_warm`` steps of ``sim.mean_field()``
      from the zero state first (no noise), and the T_free steps from its
      state. By SPEC 3.2's mean-field theorem the stochastic network's mean
      follows the mean-field dynamics, so the warm start brings the state near
      the fixed point without spikes; the T_free steps then only need to mix
      the noise in. 0 (the default) = no warm start. Needs a static input.
  """
  checks.integer('free_phase', 't_warm', t_warm, 0)
  states = sim.init_states(x.shape[0], x.dtype)
  if t_warm:
    if not sim.encoder.static:
      raise ValueError(
        f'a mean-field warm start (t_warm={t_warm}) needs a static input encoder '
        f'(AnalogInput), not {type(sim.encoder).__name__}'
      )
    states = sim.mean_field().run_phase(params, x, None, states, steps=t_warm).states
  keys = keys_lib.batch_example_keys(key, x.shape[0], indices)
  return sim.run_phase(
    params,
    x,
    keys_lib.phase_keys(keys, keys_lib.FREE),
    states,
    steps=t_free,
    k_avg=k_avg,
    trace_fn=trace_fn,
  )


def predict(
  sim: Simulator,
  params: Params,
  x: Array,
  key: Array | None,
  *,
  t_free: int,
  k_avg: int = 1,
  indices: Array | None = None,
  t_warm: int = 0,
) -> Array:
  """Class scores [B, n_classes] after the free phase (inference; ``t_warm``: ``free_phase``)."""
  res = free_phase(sim, params, x, key, t_free=t_free, k_avg=k_avg, indices=indices, t_warm=t_warm)
  return sim.network.scores(params, res.rates)
