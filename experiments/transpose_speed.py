"""Times the two methods of the transposed convolution (``connections.conv_transpose_gemm``)
and the two operands of a dense layer's transposed product (``connections.matmul``'s ``w_t``).

    python experiments/transpose_speed.py --out=transpose.json
    python experiments/transpose_speed.py --shapes=32x13x128x256x4x2x0 --dtypes=float32
    python experiments/transpose_speed.py --shapes= --dense=128x2704x512   # dense only

The transposed product is a conv layer's backward current, computed at every step of every
phase: ``'fold'`` (one GEMM of the cotangent against every kernel tap, then a fold by stride
phase) or ``'phases'`` (the zero-padded cotangent's taps against the kernel regrouped by
stride phase); ``'auto'``, the library's default, takes 'fold' for float32 operands and
'phases' under bfloat16, as measured on XLA:CPU (BUILD_NOTES.md 4.2). This tool measures the
choice on the device it runs on (the GPU check kit runs it).

A shape is ``BxHxCxKxkxsxp``: batch B, an H×H input of C channels, K output channels, a k×k
kernel, stride s, padding p on every side. The defaults: conv 2 of 2C2FC 128/256 at batch 32
and of the conv config (32/64) at batch 128, both with their 2×2 average pooling fused into
a 4×4 stride-2 kernel on the 13×13 output of conv 1; and a 3×3 stride-1 'SAME' convolution
of 128 to 256 channels on 16×16 at batch 32.

Prints JSON: for every shape and operand dtype (``--dtypes``; bfloat16 = the precision
policy's bf16 operands with float32 accumulation), each method's median milliseconds over
``--repeats`` round-robin rounds after compilation, ``fastest``, ``auto`` (the method the
library picks) and ``max_abs_diff`` between the two methods' results (float rounding only:
both are exact adjoints).

A dense shape is ``BxKxN``: batch B, K units below, N above (``w``: [K, N]). Its backward
current ``g @ wᵀ`` is computed ``--dense_steps`` times in one loop, as a phase computes it
with the weights prepared once outside the loop, two ways: ``'transposed_operand'`` (the
product reads ``w`` as stored) and ``'row_major_copy'`` (it reads ``transposed(w)``, what
``Dense.prepare`` keeps under a precision policy); the JSON's ``dense`` entry gives, per shape
and dtype, each way's median milliseconds a step, its GFLOP/s and ``max_abs_diff`` between the
two currents. The defaults: the FC layer of the one-conv config (2704 → 512) and of the conv
config (1600 → 512), batch 128.
"""

from __future__ import annotations

import json
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import flags
from jax import lax

from experiments import launch
from stochep_jax import connections

FLAGS = flags.FLAGS
DEFAULT_SHAPES = ('32x13x128x256x4x2x0', '128x13x32x64x4x2x0', '32x16x128x256x3x1x1')
METHODS = ('fold', 'phases')
DEFAULT_DENSE = ('128x2704x512', '128x1600x512')
DENSE_METHODS = ('transposed_operand', 'row_major_copy')


def define_flags() -> None:
  """The launcher's flags (defined only when it runs, so that launchers import together)."""
  flags.DEFINE_list('shapes', list(DEFAULT_SHAPES), 'Shapes BxHxCxKxkxsxp (see the docstring).')
  flags.DEFINE_list('dtypes', ['float32', 'bfloat16'], 'Operand dtypes: float32, bfloat16.')
  flags.DEFINE_list('dense', list(DEFAULT_DENSE), 'Dense shapes BxKxN (see the docstring).')
  flags.DEFINE_integer('dense_steps', 100, 'Backward products in each timed dense loop.')
  flags.DEFINE_integer('repeats', 20, 'Timed round-robin rounds (the median is reported).')
  flags.DEFINE_string('out', '', 'Also write the JSON here.')
  launch.integer('dense_steps', 1)


def parse_shape(text: str) -> tuple[int, ...]:
  """``'BxHxCxKxkxsxp'`` -> seven positive integers (p may be 0); ValueError naming the text."""
  try:
    values = tuple(int(v) for v in text.lower().split('x'))
  except ValueError:
    values = ()
  if len(values) != 7 or min(values[:6]) < 1 or values[6] < 0:
    raise ValueError(f'shape {text!r}: need BxHxCxKxkxsxp, seven integers (p >= 0, the rest >= 1)')
  h, k, p = values[1], values[4], values[6]
  if h + 2 * p < k:
    raise ValueError(f'shape {text!r}: a {k}x{k} kernel does not fit {h}x{h} padded by {p}')
  return values


def parse_dense(text: str) -> tuple[int, int, int]:
  """``'BxKxN'`` -> three positive integers; ValueError naming the text."""
  try:
    values = tuple(int(v) for v in text.lower().split('x'))
  except ValueError:
    values = ()
  if len(values) != 3 or min(values) < 1:
    raise ValueError(f'dense shape {text!r}: need BxKxN, three positive integers')
  return values


def _timed(fns: dict, args, repeats: int) -> tuple[dict, dict]:
  """(results, median ms) of each compiled function, timed round-robin."""
  results = {m: jax.block_until_ready(f(*args)) for m, f in fns.items()}  # compiled here
  times = {m: [] for m in fns}
  for _ in range(repeats):
    for m, f in fns.items():
      t = time.perf_counter()
      jax.block_until_ready(f(*args))
      times[m].append(time.perf_counter() - t)
  return results, {m: float(np.median(v)) * 1e3 for m, v in times.items()}


def measure_dense(shapes, dtypes, repeats: int, steps: int) -> dict:
  """The ``dense`` entry of the module docstring's report."""
  out = {}
  for text in shapes:
    b, k, n = parse_dense(text)
    g = jax.random.normal(jax.random.key(0), (b, n))
    w = jax.random.normal(jax.random.key(1), (k, n)) / np.sqrt(k)
    for dtype in dtypes:
      cd = None if dtype == 'float32' else dtype

      def loop(g, w, method, cd=cd):
        w = w.astype(cd or w.dtype)  # prepared once, outside the loop
        w_t = connections.transposed(w) if method == 'row_major_copy' else None

        def current(x):  # ∂⟨matmul(a, w), x⟩/∂a: the backward current into the layer below
          a = jnp.zeros((b, k), jnp.float32)
          return jax.grad(
            lambda a: jnp.sum(connections.matmul(a, w, cd or 'float32', w_t=w_t) * x)
          )(a)

        def body(_, carry):  # each step's input depends on the last current: no hoisting
          x, acc = carry
          da = current(x)
          return x + 1e-9 * da[:, :1], acc + da

        return lax.fori_loop(0, steps, body, (g, jnp.zeros((b, k), jnp.float32)))[1] / steps

      fns = {m: jax.jit(lambda g, w, m=m: loop(g, w, m)) for m in DENSE_METHODS}
      results, ms = _timed(fns, (g, w), repeats)
      per_step = {m: v / steps for m, v in ms.items()}
      diff = np.max(
        np.abs(np.asarray(results[DENSE_METHODS[0]]) - np.asarray(results[DENSE_METHODS[1]]))
      )
      out.setdefault(text, {})[dtype] = {
        'ms_per_step': per_step,
        'gflops': {m: 2 * b * k * n / v / 1e6 for m, v in per_step.items()},
        'copy_speedup': per_step['transposed_operand'] / per_step['row_major_copy'],
        'max_abs_diff': float(diff),
      }
  return out


def measure(shapes, dtypes, repeats: int) -> dict:
  """The report of the module docstring, as a dict."""
  out = {'device': str(jax.devices()[0]), 'backend': jax.default_backend(), 'shapes': {}}
  for text in shapes:
    b, h, c, k, kk, s, p = parse_shape(text)
    ho = (h + 2 * p - kk) // s + 1
    g = jax.random.normal(jax.random.key(0), (b, ho, ho, k))
    w = jax.random.normal(jax.random.key(1), (kk, kk, c, k)) / np.sqrt(kk * kk * c)
    for dtype in dtypes:
      cd = None if dtype == 'float32' else dtype
      fns = {
        m: jax.jit(
          lambda g, w, m=m: connections.conv_transpose_gemm(
            g, w, (s, s), ((p, p), (p, p)), (h, h), cd, m
          )
        )
        for m in METHODS
      }
      results, ms = _timed(fns, (g, w), repeats)
      auto = connections.transpose_method(cd)
      diff = np.max(np.abs(np.asarray(results['fold']) - np.asarray(results['phases'])))
      out['shapes'].setdefault(text, {})[dtype] = {
        'ms': ms,
        'fastest': min(ms, key=ms.get),
        'auto': auto,
        'auto_over_fastest': ms[auto] / min(ms.values()),
        'max_abs_diff': float(diff),
      }
  return out


def main(argv):
  del argv
  for d in FLAGS.dtypes:
    if d not in ('float32', 'bfloat16'):
      raise launch.LaunchError(f"--dtypes: {d!r} is not 'float32' or 'bfloat16'")
  if FLAGS.repeats < 1:
    raise launch.LaunchError(f'--repeats={FLAGS.repeats}: must be >= 1')
  for flag, parse in (('shapes', parse_shape), ('dense', parse_dense)):
    for text in FLAGS[flag].value:
      try:
        parse(text)
      except ValueError as e:
        raise launch.LaunchError(f'--{flag}: {e}') from None
  report = measure(FLAGS.shapes, FLAGS.dtypes, FLAGS.repeats)
  report['dense'] = measure_dense(FLAGS.dense, FLAGS.dtypes, FLAGS.repeats, FLAGS.dense_steps)
  text = json.dumps(report, indent=1)
  print(text)
  if FLAGS.out:
    with open(FLAGS.out, 'w') as f:
      f.write(text + '\n')


if __name__ == '__main__':
  define_flags()
  launch.run(main)
