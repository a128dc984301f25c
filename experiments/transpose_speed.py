"""Times the two methods of the transposed convolution (``connections.conv_transpose_gemm``).

    python experiments/transpose_speed.py --out=transpose.json
    python experiments/transpose_speed.py --shapes=32x13x128x256x4x2x0 --dtypes=float32

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
"""

from __future__ import annotations

import json
import time

import jax
import numpy as np
from absl import flags

from experiments import launch
from stochep_jax import connections

FLAGS = flags.FLAGS
DEFAULT_SHAPES = ('32x13x128x256x4x2x0', '128x13x32x64x4x2x0', '32x16x128x256x3x1x1')
METHODS = ('fold', 'phases')


def define_flags() -> None:
  """The launcher's flags (defined only when it runs, so that launchers import together)."""
  flags.DEFINE_list('shapes', list(DEFAULT_SHAPES), 'Shapes BxHxCxKxkxsxp (see the docstring).')
  flags.DEFINE_list('dtypes', ['float32', 'bfloat16'], 'Operand dtypes: float32, bfloat16.')
  flags.DEFINE_integer('repeats', 20, 'Timed round-robin rounds (the median is reported).')
  flags.DEFINE_string('out', '', 'Also write the JSON here.')


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
      results = {m: jax.block_until_ready(f(g, w)) for m, f in fns.items()}  # compiled here
      times = {m: [] for m in METHODS}
      for _ in range(repeats):
        for m, f in fns.items():
          t = time.perf_counter()
          jax.block_until_ready(f(g, w))
          times[m].append(time.perf_counter() - t)
      ms = {m: float(np.median(v)) * 1e3 for m, v in times.items()}
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
  for text in FLAGS.shapes:
    try:
      parse_shape(text)
    except ValueError as e:
      raise launch.LaunchError(f'--shapes: {e}') from None
  report = measure(FLAGS.shapes, FLAGS.dtypes, FLAGS.repeats)
  text = json.dumps(report, indent=1)
  print(text)
  if FLAGS.out:
    with open(FLAGS.out, 'w') as f:
      f.write(text + '\n')


if __name__ == '__main__':
  define_flags()
  launch.run(main)
