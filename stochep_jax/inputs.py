"""Input encoders: how x enters layer 1 at step t (docs/model.md, "Input").

An encoder is a frozen dataclass with

* ``static``: True if x^t does not depend on t or noise (then F_1(x) is
  computed once per phase, outside the time loop);
* ``noise(key, shape, dtype)``: per-example randomness for one step, or None;
* ``encode(x, noise, t) -> x^t``: batched;
* ``mean(x)``: the expected input rate, at which EP's ∂Φ/∂θ is evaluated;
* ``layout``: the axes of ``x`` before an example's own, ``'B'`` (one image per
  example) or ``'B, F'`` (F frames per example); ``example_shape(x.shape)``
  drops them.

Encoders:

* ``AnalogInput`` (default **[choice]**): x is injected as an analog current.
* ``BernoulliInput``: x^t ~ Bernoulli(x) per pixel and step (x in [0, 1]).
* ``FrameInput``: time-varying input ``x`` of shape [B, F, ...]; frames are
  spread evenly over the free phase; what the nudge phases see is
  ``nudge_input`` **[choice]**: the last frame (default), the time-averaged
  frame, or the sequence continuing to play (cycling); optionally through an
  input trace (``trace_decay``, a normalised exponential filter of the frames).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from stochep_jax import checks, registry
from stochep_jax import noise as noise_lib

Array = jax.Array

ENCODERS = registry.Registry('input encoder')


@ENCODERS.register('analog')
@dataclasses.dataclass(frozen=True)
class AnalogInput:
  """x^t = x."""

  static = True
  layout = 'B'

  def noise(self, key, shape, dtype=jnp.float32):
    del key, shape, dtype
    return None

  def encode(self, x, noise, t):
    del noise, t
    return x

  def mean(self, x):
    return x

  def example_shape(self, x_shape):
    return tuple(x_shape[1:])


@ENCODERS.register('bernoulli')
@dataclasses.dataclass(frozen=True)
class BernoulliInput:
  """x^t = [U^t < x]: one Bernoulli spike per pixel and step.

  Attributes:
    noise_bits: resolution of the uniforms (see ``noise.uniform``).
    generator: their generator, ``'threefry'`` or ``'hash'`` (``noise.uniform``).
  """

  noise_bits: int = 32
  generator: str = 'threefry'
  static = False
  layout = 'B'

  def __post_init__(self):
    checks.choice('BernoulliInput', 'noise_bits', self.noise_bits, noise_lib.BITS_CHOICES)
    checks.choice('BernoulliInput', 'generator', self.generator, noise_lib.GENERATORS)

  def noise(self, key, shape, dtype=jnp.float32):
    return noise_lib.uniform(key, shape, self.noise_bits, dtype, self.generator)

  def encode(self, x, noise, t):
    del t
    return (noise < x).astype(x.dtype)

  def mean(self, x):
    return x

  def example_shape(self, x_shape):
    return tuple(x_shape[1:])


NUDGE_INPUTS = ('last', 'mean', 'continue')


@ENCODERS.register('frames')
@dataclasses.dataclass(frozen=True)
class FrameInput:
  """A frame sequence x[:, f] (F frames) spread over the free phase of ``t_free`` steps.

  Free phase: step t < t_free plays frame ⌊t F / t_free⌋. What the nudge
  phases (t ≥ t_free, both start at t_free) see is ``nudge_input``
  **[choice]**:

  * ``'last'`` (default): the input the free phase ended with, held (frame
    F − 1 without a trace; docs/model.md, "Input");
  * ``'mean'``: the time-averaged frame (1/F) Σ_f x[:, f];
  * ``'continue'``: the sequence keeps playing at the same rate, cycling: step t
    plays frame ⌊t F / t_free⌋ mod F, so the nudge phases restart at frame 0
    at t = t_free and play frame ⌊(t − t_free) F / t_free⌋ mod F.

  Input trace ``trace_decay`` = γ **[choice]** (default 0: none): layer 1
  receives the normalised exponential trace of the frames played so far,
  x̃^t = Σ_{s≤t} γ^{t−s} x^{f(s)} / Σ_{s≤t} γ^{t−s} (a synaptic filter on the
  input; γ = 0 is the frame itself, γ = 1 the running mean of the frames so
  far). With ``'last'`` the nudge phases hold x̃^{t_free−1}, so the nudged
  phases and inference see the same input; with ``'continue'`` the trace
  keeps integrating the frames played (needs ``t_nudge``).

  ``mean(x)``, the input at which EP evaluates ∂Φ/∂θ, is what the nudged
  rates were measured with: the held input (``'last'``), the averaged frame,
  or for ``'continue'`` the average input of the rate window (steps
  t_free + t_nudge − k_avg … t_free + t_nudge − 1) when ``t_nudge`` and
  ``k_avg`` are given, else the average of all frames. Configs should tie
  those two to the ``ep`` block (``config.ep.get_ref('k_avg')``).

  Attributes:
    t_free: free-phase length in steps.
    nudge_input: ``'last'``, ``'mean'`` or ``'continue'``.
    t_nudge: nudge-phase length (used by ``'continue'`` only; 0 = unknown).
    k_avg: rate window of the nudge phases (``'continue'`` only; 0 = unknown).
    trace_decay: γ in [0, 1] of the input trace (0 = the frames themselves).
  """

  t_free: int
  nudge_input: str = 'last'
  t_nudge: int = 0
  k_avg: int = 0
  trace_decay: float = 0.0
  static = False
  layout = 'B, F'

  def __post_init__(self):
    own = 'FrameInput'
    checks.integer(own, 't_free', self.t_free, 1)
    checks.choice(own, 'nudge_input', self.nudge_input, NUDGE_INPUTS)
    checks.integer(own, 't_nudge', self.t_nudge, 0)
    checks.integer(own, 'k_avg', self.k_avg, 0, self.t_nudge or None)
    checks.number(own, 'trace_decay', self.trace_decay, 0.0, 1.0)
    if self.trace_decay and self.nudge_input == 'continue' and not self.t_nudge:
      checks.fail(
        own, 't_nudge', self.t_nudge, "must be > 0 with nudge_input='continue' and a trace_decay"
      )

  def noise(self, key, shape, dtype=jnp.float32):
    del key, shape, dtype
    return None

  def frame_index(self, t, num_frames, xp=jnp):
    """The frame step t plays (free phase, and nudge phases for 'last'/'continue').

    ``xp=np`` gives a numpy constant (for tables built at trace time: inside a
    ``jit`` a ``jnp`` result would be a tracer even for constant ``t``).
    """
    played = (t * num_frames) // self.t_free
    if self.nudge_input == 'continue':
      return played % num_frames
    return xp.minimum(played, num_frames - 1)

  def trace_weights(self, num_frames: int) -> np.ndarray:
    """Row t: the weight of each frame in x̃^t ([T, F], rows sum to 1), the normalised trace.

    A constant of the encoder (numpy, built at trace time, not per step): T =
    t_free rows ('last'/'mean': the free phase's trace, held from t_free − 1
    on) or t_free + t_nudge rows ('continue').
    """
    n = self.t_free + (self.t_nudge if self.nudge_input == 'continue' else 0)
    steps = np.arange(n)
    age = steps[:, None] - steps[None, :]  # [t, s]
    decay = np.where(age >= 0, float(self.trace_decay) ** np.maximum(age, 0), 0.0)
    frames = self.frame_index(steps, num_frames, xp=np)
    w = decay @ np.eye(num_frames)[frames]
    return w / w.sum(axis=1, keepdims=True)

  def _traced(self, x, t):
    table = self.trace_weights(x.shape[1])
    row = jnp.asarray(table, x.dtype)[jnp.minimum(t, table.shape[0] - 1)]
    return jnp.tensordot(row, x, axes=(0, 1))

  def encode(self, x, noise, t):
    del noise
    if self.trace_decay:
      played = self._traced(x, t)
    else:
      played = jnp.take(x, self.frame_index(t, x.shape[1]), axis=1)
    if self.nudge_input == 'mean':
      return jnp.where(t >= self.t_free, jnp.mean(x, axis=1), played)
    return played

  def mean(self, x):
    if self.nudge_input == 'last':
      return self._traced(x, self.t_free - 1) if self.trace_decay else x[:, -1]
    if self.nudge_input == 'continue' and self.t_nudge and self.k_avg:
      start = self.t_free + self.t_nudge - self.k_avg
      window = jnp.arange(start, start + self.k_avg)
      if self.trace_decay:
        w = self.trace_weights(x.shape[1])[start:].mean(axis=0)
        return jnp.tensordot(jnp.asarray(w, x.dtype), x, axes=(0, 1))
      return jnp.mean(jnp.take(x, self.frame_index(window, x.shape[1]), axis=1), axis=1)
    return jnp.mean(x, axis=1)

  def example_shape(self, x_shape):
    return tuple(x_shape[2:])
