"""Where a conv step's time goes: the free phase of 2C2FC StochEP, timed and profiled by operation.

    python experiments/profile_conv.py > profile.json
    PYTHONPATH=<an older checkout> python experiments/profile_conv.py   # the same on older code

Prints JSON: for the conv config's width (conv 32/64, FC 512, batch 64) and full-size 2C2FC
(128/256, FC 512, batch 32), one device using every core, the median wall milliseconds per
step of a 50-step free phase (5 runs, compile excluded; float32, hash generator, rates from p),
and the milliseconds per step of the eight most expensive XLA operation kinds in a profiler
trace of two more runs (``ynn_fusion``: matrix products; ``slice_pad_fusion``: the strided
scatter of an im2col adjoint; ``compare_convert`` / ``broadcast_multiply``: the neurons and their
random numbers). Kinds are summed over threads, so they may add up to more than the step.
It uses only the library's public API (and ``experiments/launch.py`` for the start-up), so an
older checkout's library can be profiled the same way (``PYTHONPATH``) and the two timed
alternately (BUILD_NOTES.md, 4.2).
"""

import collections
import glob
import gzip
import json
import tempfile
import time

import jax
import numpy as np
from absl import app

import stochep_jax as sep
from experiments import launch

NETS = {'small_b64': ((32, 64), 64), 'full_b32': ((128, 256), 32)}
T = 50


def profile(channels, batch) -> dict:
  net = sep.convnet((28, 28, 1), channels, (512,), 10)
  sim = sep.Simulator(net, sep.StochEP(generator='hash'), rate='mean', chunk=25)
  params = net.init(jax.random.key(0))
  x = jax.random.uniform(jax.random.key(1), (batch, 28, 28, 1))
  run = jax.jit(lambda p, k: sep.free_phase(sim, p, x, k, t_free=T, k_avg=10).rates)
  jax.block_until_ready(run(params, jax.random.key(0)))
  times = []
  for r in range(5):
    t = time.perf_counter()
    jax.block_until_ready(run(params, jax.random.key(r)))
    times.append(time.perf_counter() - t)
  folder = tempfile.mkdtemp()
  with jax.profiler.trace(folder, create_perfetto_trace=True):
    for r in range(2):
      jax.block_until_ready(run(params, jax.random.key(r)))
  path = sorted(glob.glob(folder + '/**/*.trace.json.gz', recursive=True))[-1]
  trace = json.load(gzip.open(path))
  events = trace['traceEvents'] if isinstance(trace, dict) else trace
  total = collections.Counter()
  skip = ('Thunk', '$', 'Slinky', 'Pjit', 'while')
  for e in events:
    if e.get('ph') == 'X' and 'dur' in e and not e['name'].startswith(skip):
      head, _, tail = e['name'].rpartition('.')
      total[head if tail.isdigit() else e['name']] += e['dur']
  return {
    'ms_per_step': float(np.median(times)) * 1e3 / T,
    'top_ops_ms_per_step': {k: round(v / 1e3 / 2 / T, 3) for k, v in total.most_common(8)},
  }


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {" ".join(argv[1:])}')
  print(json.dumps({name: profile(*spec) for name, spec in NETS.items()}, indent=1))


if __name__ == '__main__':
  launch.run(main)
