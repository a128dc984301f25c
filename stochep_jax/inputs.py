"""Input encoders: how x enters layer 1 at step t (SPEC 3.2, 4.1).

An encoder is a frozen dataclass with

* ``static``: True if x^t does not depend on t or noise (then F_1(x) is
  computed once per phase, outside the time loop);
* ``noise(key, shape, dtype)``: per-example randomness for one step, or None;
* ``encode(x, noise, t) -> x^t``: batched;
* ``mean(x)``: the expected input rate, at which EP's ∂Φ/∂θ is evaluated.

Encoders:

* ``AnalogInput`` (default **[choice]**): x is injected as an analog current.
* ``BernoulliInput``: x^t ~ Bernoulli(x) per pixel and step (x in [0, 1]).
* ``FrameInput``: time-varying input ``x`` of shape [B, F, ...]; frames are
  spread evenly over the free phase and the nudge phases see the last frame
  **[choice]**.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from stochep_jax import noise as noise_lib
from stochep_jax import registry

Array = jax.Array

ENCODERS = registry.Registry('input encoder')


@ENCODERS.register('analog')
@dataclasses.dataclass(frozen=True)
class AnalogInput:
  """x^t = x."""

  static = True

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
  """

  noise_bits: int = 32
  static = False

  def noise(self, key, shape, dtype=jnp.float32):
    return noise_lib.uniform(key, shape, self.noise_bits, dtype)

  def encode(self, x, noise, t):
    del t
    return (noise < x).astype(x.dtype)

  def mean(self, x):
    return x

  def example_shape(self, x_shape):
    return tuple(x_shape[1:])


@ENCODERS.register('frames')
@dataclasses.dataclass(frozen=True)
class FrameInput:
  """A frame sequence x[:, f] spread over the free phase of ``t_free`` steps.

  Step t sees frame min(⌊t F / t_free⌋, F − 1); nudge phases (t ≥ t_free) see
  the last frame.
  """

  t_free: int
  static = False

  def noise(self, key, shape, dtype=jnp.float32):
    del key, shape, dtype
    return None

  def frame_index(self, t, num_frames):
    return jnp.minimum((t * num_frames) // self.t_free, num_frames - 1)

  def encode(self, x, noise, t):
    del noise
    return jnp.take(x, self.frame_index(t, x.shape[1]), axis=1)

  def mean(self, x):
    return x[:, -1]

  def example_shape(self, x_shape):
    return tuple(x_shape[2:])
