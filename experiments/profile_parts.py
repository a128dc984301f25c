"""The parts of benchmark.py's stochep_fc_bernoulli and conv_2c2fc steps, each timed alone.

    python experiments/profile_parts.py > parts.json

Prints JSON (median ms of 7 runs, compile excluded): the uniforms one training
step draws (per-example keys, 25 steps at once, 8- and 32-bit), the input-drive
GEMMs of one FC step with Bernoulli input, and 150 free steps of full-size
2C2FC with the CRNN and with StochEP (8-bit noise), both assembled from
``base_config()`` (``conv_config``). BUILD_NOTES.md, section 5, uses them to say
where the time of a step goes.
"""

import json
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import app

import stochep_jax as sep
from experiments import launch
from experiments.configs import base
from stochep_jax import assembly, noise


def timeit(f, *a, n=7):
  jax.block_until_ready(f(*a))
  ts = []
  for _ in range(n):
    t = time.perf_counter()
    jax.block_until_ready(f(*a))
    ts.append(time.perf_counter() - t)
  return float(np.median(ts)) * 1e3


def conv_config(neuron: str):
  """base_config with full-size 2C2FC and ``neuron``: 'crnn', or 'stochep' with 8-bit threefry."""
  c = base.base_config()
  c.network = base.network_config('2c2fc')
  c.neuron.name = neuron
  c.neuron.stochep.update(noise_bits=8, generator='threefry')
  return c


def main(argv):
  if len(argv) > 1:
    raise app.UsageError('Too many command-line arguments.')
  out = {}
  B, T = 128, 300
  keys = jax.random.split(jax.random.key(0), B)
  for bits in (8, 32):
    # the uniforms of one training step: 784 input + 522 neurons per example per time step
    f = jax.jit(
      jax.vmap(
        lambda k: jax.lax.map(
          lambda t: noise.uniform(jax.random.fold_in(k, t), (25, 1306), bits).sum(0),
          jnp.arange(T // 25),
        ).sum()
      )
    )
    out[f'fc_uniforms_per_step_ms_bits{bits}'] = timeit(f, keys)
  x = jax.random.uniform(jax.random.key(1), (25 * B, 784))
  w = jax.random.uniform(jax.random.key(2), (784, 512))
  g = jax.jit(lambda x, w: jax.lax.map(lambda i: (x + i) @ w, jnp.arange(T // 25)).sum())
  out['fc_drive_gemms_per_step_ms'] = timeit(g, x, w)
  # conv: uniforms of one 2C2FC step (B 32, T 150, 13·13·128 + 5·5·256 + 512 + 10 neurons)
  n_conv = 13 * 13 * 128 + 5 * 5 * 256 + 512 + 10
  keys32 = keys[:32]
  for bits in (8, 32):
    f = jax.jit(
      jax.vmap(
        lambda k: jax.lax.map(
          lambda t: noise.uniform(jax.random.fold_in(k, t), (25, n_conv), bits).sum(0),
          jnp.arange(6),
        ).sum()
      )
    )
    out[f'conv_uniforms_per_step_ms_bits{bits}'] = timeit(f, keys32)
  sims = {
    name: assembly.simulator(conv_config(n))
    for name, n in (('crnn', 'crnn'), ('stochep8', 'stochep'))
  }
  params = sims['crnn'].network.init(jax.random.key(0))
  xc = jax.random.uniform(jax.random.key(1), (32, 28, 28, 1))
  for name, sim in sims.items():
    f = jax.jit(lambda p, x, k: sep.free_phase(sim, p, x, k, t_free=150).rates)
    out[f'conv_150_free_steps_ms_{name}'] = timeit(
      f, params, xc, None if name == 'crnn' else jax.random.key(3), n=3
    )
  print(json.dumps(out, indent=1))


if __name__ == '__main__':
  launch.run(main)
