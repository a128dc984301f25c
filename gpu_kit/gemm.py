"""GEMM peaks of this run's device by dtype: the denominators of the kit's efficiencies.

    python -m gpu_kit.gemm --out=gemm.json [--square=8192 --shapes=128x784x512,...]

Variants (``VARIANTS``): ``float32_highest`` (float32 inputs, ``precision='highest'``: true
float32 products), ``float32_default`` (float32 inputs with XLA's default precision, which on
NVIDIA GPUs since Ampere runs TF32 tensor-core products; the benchmark's float32 steps use
it), ``bfloat16`` (bfloat16 inputs and output, float32 accumulation). For each variant and
(m, k, n): the best over ``--trials`` of ``--repeats`` products dispatched back to back and
waited for once, in GFLOP/s (2·m·k·n per product). Shapes: an ``--square`` product (the
device's capability) and the dominant products of ``experiments/benchmark.py``'s workloads
(``default_shapes``); tiny shapes measure dispatch overhead as much as the GEMM, as the
workloads' own steps do.
"""

from __future__ import annotations

import json
import time

from absl import app, flags

FLAGS = flags.FLAGS


def define_flags() -> None:
  """The launcher's flags (defined only when it runs, so that the kit's modules import together)."""
  flags.DEFINE_string('out', '', 'JSON output file (default: standard output).')
  flags.DEFINE_integer('square', 8192, 'Size N of the N x N x N product (0: none).')
  flags.DEFINE_list('shapes', [], "More products as MxKxN; default: the benchmark workloads'.")
  flags.DEFINE_list('variants', ['float32_highest', 'float32_default', 'bfloat16'], 'Variants.')
  flags.DEFINE_integer('repeats', 10, 'Products per timed trial.')
  flags.DEFINE_integer('trials', 3, 'Timed trials (the best is reported).')


# name -> (input dtype, jax precision)
VARIANTS = {
  'float32_highest': ('float32', 'highest'),
  'float32_default': ('float32', None),
  'bfloat16': ('bfloat16', None),
}


def shape_key(m: int, k: int, n: int) -> str:
  return f'{m}x{k}x{n}'


def parse_shape(text: str) -> tuple[int, int, int]:
  m, k, n = (int(v) for v in text.lower().split('x'))
  return m, k, n


def default_shapes() -> list[tuple[int, int, int]]:
  """The dominant products of benchmark.py's workloads at its default flags: the FC input
  drive (batch 128, and 128 x 25 rows for a chunk of Bernoulli input frames) and 2C2FC's
  largest im2col convolution at batch 32."""
  from stochep_jax import architectures, connections  # noqa: PLC0415

  shapes = [(128, 784, 512), (128 * 25, 784, 512)]
  try:  # the im2col product of 2C2FC's largest convolution (opcount, or Conv's own method)
    try:
      from stochep_jax import opcount  # noqa: PLC0415

      gemm_shape = opcount.gemm_shape
    except ImportError:
      gemm_shape = connections.Conv.gemm_shape
    net = architectures.ARCHITECTURES.make('2c2fc', input_shape=(28, 28, 1), n_classes=10)
    in_shapes = (tuple(net.input_shape),) + net.layer_shapes[:-1]
    convs = [
      gemm_shape(c, s)
      for c, s in zip(net.connections, in_shapes)
      if isinstance(c, connections.Conv)
    ]
    m, k, n = max(convs, key=lambda p: p[0] * p[1] * p[2])
    shapes.append((32 * m, k, n))
  except Exception:  # noqa: BLE001 - the square and dense shapes still measure the peak
    pass
  return shapes


def gemm_rate(m: int, k: int, n: int, variant: str, *, repeats: int = 10, trials: int = 3):
  """GFLOP/s of an (m×k)·(k×n) product in ``variant`` (see the module docstring)."""
  import jax  # noqa: PLC0415
  import jax.numpy as jnp  # noqa: PLC0415

  dtype, precision = VARIANTS[variant]
  ka, kb = jax.random.split(jax.random.key(0))
  a = jax.random.uniform(ka, (m, k), jnp.float32).astype(dtype)
  b = jax.random.uniform(kb, (k, n), jnp.float32).astype(dtype)
  dot = jax.jit(lambda x, y: jnp.dot(x, y, precision=precision))
  jax.block_until_ready(dot(a, b))
  jax.block_until_ready(dot(a, b))
  best = float('inf')
  for _ in range(trials):
    t = time.perf_counter()
    outs = [dot(a, b) for _ in range(repeats)]
    jax.block_until_ready(outs)
    best = min(best, (time.perf_counter() - t) / repeats)
    del outs
  return 2.0 * m * k * n / best / 1e9


def measure(shapes, variants, *, repeats: int = 10, trials: int = 3) -> dict:
  """``{'gflops': {variant: {MxKxN: rate}}, 'peak_gflops': {variant: best rate}, ...}``."""
  import jax  # noqa: PLC0415

  rates = {v: {} for v in variants}
  errors = {}
  for v in variants:
    for m, k, n in shapes:
      try:
        rates[v][shape_key(m, k, n)] = gemm_rate(m, k, n, v, repeats=repeats, trials=trials)
      except Exception as e:  # noqa: BLE001 - reported per variant and shape
        errors[f'{v}/{shape_key(m, k, n)}'] = f'{type(e).__name__}: {e}'
  return {
    'gflops': rates,
    'peak_gflops': {v: max(r.values()) for v, r in rates.items() if r},
    'shapes': [shape_key(*s) for s in shapes],
    'variants': {v: {'dtype': VARIANTS[v][0], 'precision': VARIANTS[v][1]} for v in variants},
    'device': jax.devices()[0].device_kind,
    'backend': jax.default_backend(),
    'repeats': repeats,
    'trials': trials,
    'errors': errors,
  }


def main(argv):
  if len(argv) > 1:
    raise app.UsageError('Too many command-line arguments.')
  unknown = set(FLAGS.variants) - set(VARIANTS)
  if unknown:
    raise app.UsageError(f'unknown variants {sorted(unknown)}; choose from {sorted(VARIANTS)}')
  shapes = [parse_shape(s) for s in FLAGS.shapes] if FLAGS.shapes else default_shapes()
  if FLAGS.square:
    shapes = [(FLAGS.square,) * 3, *shapes]
  report = measure(shapes, FLAGS.variants, repeats=FLAGS.repeats, trials=FLAGS.trials)
  text = json.dumps(report, indent=1)
  if FLAGS.out:
    with open(FLAGS.out, 'w') as f:
      f.write(text)
  else:
    print(text)


if __name__ == '__main__':
  from experiments import launch  # noqa: PLC0415

  define_flags()
  launch.run(main)
