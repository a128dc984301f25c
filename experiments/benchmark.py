"""Training-step speed of fixed workloads, as JSON, with the GEMM peak of the same run.

    python experiments/benchmark.py --out=bench.json                  # all workloads
    python experiments/benchmark.py --workloads=crnn_fc,inference_fc  # a subset
    python experiments/benchmark.py --noise_bits=32 --chunk=1 ...     # a speed option off
    python experiments/benchmark.py --workloads= --generator_draws=4194304  # generators only

Workloads (symmetric EP, one optax SGD update per step, random inputs in [0, 1]):

* ``crnn_fc``               CRNN 784-512-10, batch 128, T_free 250, T_nudge 25 (×2)
* ``stochep_fc_bernoulli``  the same with StochEP and Bernoulli input spikes
* ``stochep_fc_analog``     StochEP with the analog input current
* ``conv_2c2fc``            StochEP 2C2FC (conv 128, conv 256, FC 512), batch 32,
                            T_free 100, T_nudge 25 (×2)
* ``conv_small``            StochEP 2C2FC 32/64, FC 512, 40 outputs (the shape of
                            ``configs/fashion_mnist_conv.py``), batch 128, T_free 100, T_nudge 40 (×2)
* ``inference_fc``          StochEP 784-512-10 free phase only (T_free 250, batch 128)

``--compute_dtype=bfloat16`` runs every workload under the precision policy
(``precision.Precision``: the dynamics' products with bfloat16 operands and float32
accumulation, ``--min_size`` keeping small connections in float32); the report then
also gives ``efficiency_bf16_peak`` against the bfloat16 GEMM peak of the same run
(``gemm_peak_gflops_bf16``), and ``machine`` names the CPU and its bf16 units.

Stochastic workloads draw their uniforms with ``--generator`` (``hash`` by default,
``threefry`` the ``jax.random`` one) at ``--noise_bits``. The ``generators`` section
gives each generator's own throughput: ``uniforms_per_s`` of threefry and hash at 32
and 8 bits (512 per key, vmapped over per-example keys, as a phase draws them; timed
interleaved in the same run) and ``speedup_vs_threefry32``.

Every workload is compiled first, then all are timed round-robin (each of
``--repeats`` ≥ 5 rounds runs one step of every workload, after two warm-up steps
each), so that the machine's load affects them alike. For each: ``ms_per_step``
(median over the rounds; compilation excluded), ``over_crnn_fc`` (the median of the
per-round ratios to ``crnn_fc``, when both run), ``samples_per_s``, ``compile_s`` (lower + compile),
``gflop_per_step`` counted analytically, ``gflops`` achieved, and ``efficiency`` =
gflops / ``gemm_peak_gflops``, the best float32 GEMM rate measured in the same run
over the workloads' dominant matrix shapes: the best of ``jnp.dot`` on one device,
``jnp.dot`` row-sharded over the benchmark's devices, and numpy.

Devices: the step is data-parallel over all devices (``--devices``), as the
launcher runs it. On a CPU-only host the benchmark first asks for one XLA:CPU
device per core (``--cpu_devices``, ``parallel.set_cpu_devices``), so each core
runs one device's share of the batch; ``--cpu_devices=1`` gives the single-device
step, whose many small per-step kernels XLA:CPU splits over the cores
(BUILD_NOTES.md section 5 compares the two).

FLOPs per training step, with F_ℓ = ``opcount.flops`` (2 × multiply-adds of F_ℓ for
one example), B the batch, T = T_free + 2 T_nudge steps:

    B · [ T · Σ_{ℓ≥2} 2 F_ℓ            (forward and backward currents of every step)
        + D · F_1                      (input drive: D = T for Bernoulli spikes, else 3
                                        phases, as a static drive is computed once a phase)
        + 2 · Σ_ℓ F_ℓ ]                (∂Φ/∂θ at the two nudged states)

Inference: B · [T_free · Σ_{ℓ≥2} 2 F_ℓ + D · F_1] with D = 1 for a static input.
F_ℓ of a conv layer counts the convolution as computed: with 2×2 average pooling
fused into a pooled-kernel convolution (``Conv.fuse_pool``, the default) that is
2·H''·W''·C_out·(k+1)²·C_in per example instead of the plain 2·H'·W'·C_out·k²·C_in
(``gflop_per_step_nominal`` gives the count with the plain one).
Elementwise work (neuron updates, random numbers) is not counted: where it dominates,
``efficiency`` is low by construction and the profile in BUILD_NOTES.md says why.
"""

import dataclasses
import json
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags

import stochep_jax as sep
from experiments import launch
from stochep_jax import assembly, parallel, precision, training
from stochep_jax.opcount import synapses

FLAGS = flags.FLAGS


def define_flags() -> None:
  """The launcher's flags, defined when it runs as a script (importing the module for its
  functions defines none, so it never clashes with another launcher's flags)."""
  flags.DEFINE_string('out', '', 'JSON output file (default: standard output).')
  flags.DEFINE_list(
    'workloads',
    [
      'crnn_fc',
      'stochep_fc_bernoulli',
      'stochep_fc_analog',
      'conv_2c2fc',
      'conv_small',
      'inference_fc',
    ],
    'Workloads to run.',
  )
  flags.DEFINE_integer('repeats', 7, 'Timed steps (median reported); at least 5.')
  flags.DEFINE_integer('chunk', 25, 'Simulator.chunk: steps of noise/drive generated at once.')
  flags.DEFINE_integer('unroll', 1, 'Simulator.unroll: lax.scan unroll factor.')
  flags.DEFINE_integer(
    'noise_bits',
    32,
    'Resolution of the uniforms (noise.uniform): 32 (exact; fastest with hash) or 8.',
  )
  flags.DEFINE_enum(
    'generator', 'hash', list(sep.noise.GENERATORS), 'Generator of the uniforms (noise.uniform).'
  )
  flags.DEFINE_integer(
    'generator_draws',
    1 << 21,
    'Uniforms per timed call of the "generators" section (draws/s of every generator '
    'and resolution, interleaved, one device); 0 skips it.',
  )
  flags.DEFINE_bool(
    'threefry_partitionable',
    True,
    'jax_threefry_partitionable while tracing (False: the older, faster '
    'on CPU, non-partitionable threefry).',
  )
  flags.DEFINE_bool('donate', True, 'Donate the train state buffers to the step.')
  flags.DEFINE_enum('dtype', 'float32', ['float32', 'bfloat16'], 'Parameter and state dtype.')
  flags.DEFINE_enum(
    'compute_dtype',
    'float32',
    list(precision.COMPUTE_DTYPES),
    'Precision policy (precision.Precision): operand type of the dynamics products, float32 '
    'accumulation; parameters, states and the EP update stay in --dtype.',
  )
  flags.DEFINE_integer(
    'min_size', 0, 'Precision policy: connections with fewer weights keep float32 products.'
  )
  flags.DEFINE_enum(
    'conv_impl',
    'auto',
    list(sep.connections.CONV_IMPLS),
    'Conv.impl of the conv workload (auto: im2col on CPU, XLA elsewhere).',
  )
  flags.DEFINE_integer(
    'devices', 0, 'Data-parallel over this many devices (0 = all), as the launcher does.'
  )
  flags.DEFINE_integer(
    'cpu_devices',
    os.cpu_count() or 1,
    'XLA:CPU devices to create (parallel.set_cpu_devices; default one per '
    'core). Only the CPU backend; ignored when XLA_FLAGS forces a count.',
  )
  flags.DEFINE_bool(
    'fuse_noise',
    True,
    "Simulator.fuse_noise: the neurons' uniforms drawn inside each step (False: per chunk).",
  )
  flags.DEFINE_bool('fuse_pool', True, 'Conv.fuse_pool: average pooling as a pooled-kernel conv.')
  flags.DEFINE_bool(
    'batch_nudges',
    False,
    'EP.batch_nudges: the two nudged phases as one over twice the batch (False: one after the other).',
  )
  flags.DEFINE_bool(
    'hoist_drive',
    True,
    'Compute a static input drive F_1(x) once per phase (False: as a '
    'time-varying input, recomputed every step; with --chunk=1, one GEMM per '
    'step inside the scan).',
  )


@dataclasses.dataclass(frozen=True)
class PerStepAnalogInput(sep.AnalogInput):
  """The analog input treated as time-varying: its drive is recomputed at every step."""

  static = False


WORKLOADS = {
  'crnn_fc': dict(arch='dense', neuron='crnn', encoder='analog', batch=128, t_free=250, t_nudge=25),
  'stochep_fc_bernoulli': dict(
    arch='dense', neuron='stochep', encoder='bernoulli', batch=128, t_free=250, t_nudge=25
  ),
  'stochep_fc_analog': dict(
    arch='dense', neuron='stochep', encoder='analog', batch=128, t_free=250, t_nudge=25
  ),
  'conv_2c2fc': dict(
    arch='2c2fc', neuron='stochep', encoder='analog', batch=32, t_free=100, t_nudge=25
  ),
  # the shape of experiments/configs/fashion_mnist_conv.py (its phases: T_free 100, T_nudge 40)
  'conv_small': dict(
    arch='2c2fc',
    arch_kwargs=dict(channels=(32, 64), fc=(512,), n_perclass=4),
    neuron='stochep',
    encoder='analog',
    batch=128,
    t_free=100,
    t_nudge=40,
  ),
  'inference_fc': dict(
    arch='dense', neuron='stochep', encoder='analog', batch=128, t_free=250, t_nudge=0
  ),
}


def _block(registry, name, **wanted):
  """A config block ``{name, name: fields}`` with the wanted fields the model takes."""
  fields = registry.fields(name)
  return {'name': name, name: {k: v for k, v in wanted.items() if k in fields}}


def build(w):
  if w['arch'] == 'dense':
    net = sep.dense(784, [512], 10)
  else:
    net = sep.ARCHITECTURES.make(
      w['arch'], input_shape=(28, 28, 1), n_classes=10, **w.get('arch_kwargs', {})
    )
    net = dataclasses.replace(
      net,
      connections=tuple(
        dataclasses.replace(c, impl=FLAGS.conv_impl, fuse_pool=FLAGS.fuse_pool)
        if isinstance(c, sep.Conv)
        else c
        for c in net.connections
      ),
    )
  net = precision.Precision(FLAGS.compute_dtype, FLAGS.min_size).apply(net)
  noise = dict(noise_bits=FLAGS.noise_bits, generator=FLAGS.generator)
  neuron = assembly.make_neuron(_block(sep.NEURONS, w['neuron'], decay=0.5, kappa=1.0, **noise))
  encoder = assembly.make_encoder(_block(sep.ENCODERS, w['encoder'], **noise), w['t_free'])
  if encoder.static and not FLAGS.hoist_drive:
    encoder = PerStepAnalogInput()  # the benchmark's own encoder: not in the registry
  return sep.Simulator(
    net, neuron, encoder, chunk=FLAGS.chunk, unroll=FLAGS.unroll, fuse_noise=FLAGS.fuse_noise
  )


def flop_count(sim, w, nominal: bool = False) -> float:
  """The analytic count of the module docstring, in FLOPs per step."""
  net = sim.network
  in_shapes = (tuple(net.input_shape),) + net.layer_shapes[:-1]
  f = [synapses.flops(c, s, nominal=nominal) for c, s in zip(net.connections, in_shapes)]
  training_step = w['t_nudge'] > 0
  t = w['t_free'] + (2 * w['t_nudge'] if training_step else 0)
  drive = t if not sim.encoder.static else (3 if training_step else 1)
  total = t * 2 * sum(f[1:]) + drive * f[0] + (2 * sum(f) if training_step else 0)
  return float(w['batch'] * total)


def dominant_gemm(sim, w) -> tuple[int, int, int]:
  """(m, k, n) of the workload's largest matrix product (its input drive)."""
  net = sim.network
  c = net.connections[0]
  rows = w['batch'] * (1 if sim.encoder.static else FLAGS.chunk)
  if isinstance(c, sep.Conv):  # the largest conv layer's im2col product
    shapes = (tuple(net.input_shape),) + net.layer_shapes[:-1]
    conv = [(cc, s) for cc, s in zip(net.connections, shapes) if isinstance(cc, sep.Conv)]
    cc, s = max(conv, key=lambda p: synapses.flops(*p))
    m, k, n = synapses.gemm_shape(cc, s)
    return (w['batch'] * m, k, n)
  return (rows, int(np.prod(net.input_shape)), c.features)


def gemm_peaks(m, k, n, mesh, repeats=7) -> dict[str, float]:
  """GFLOP/s of an (m×k)·(k×n) product by method: float32 ``jnp.dot`` on one
  device, ``jnp.dot`` with the rows sharded over the benchmark's mesh (when it has
  several devices), numpy; and ``jnp_dot_bf16``, bfloat16 operands with float32
  accumulation on one device. The float32 peak is the best of the float32 ones."""
  rng = np.random.default_rng(0)
  a, b = rng.random((m, k), np.float32), rng.random((k, n), np.float32)
  dot = jax.jit(jnp.dot)
  methods = {
    'jnp_dot': (lambda x, y: dot(x, y).block_until_ready(), (jnp.asarray(a), jnp.asarray(b))),
    'numpy': (np.dot, (a, b)),
  }
  if mesh.devices.size > 1 and m % mesh.devices.size == 0:
    rows, rep = parallel.batch_sharding(mesh), parallel.replicated(mesh)
    sdot = jax.jit(jnp.dot, in_shardings=(rows, rep), out_shardings=rows)
    methods[f'jnp_dot_{mesh.devices.size}_devices'] = (
      lambda x, y: sdot(x, y).block_until_ready(),
      (jax.device_put(a, rows), jax.device_put(b, rep)),
    )
  bdot = jax.jit(lambda x, y: jnp.matmul(x, y, preferred_element_type=jnp.float32))
  methods['jnp_dot_bf16'] = (
    lambda x, y: bdot(x, y).block_until_ready(),
    (jnp.asarray(a, jnp.bfloat16), jnp.asarray(b, jnp.bfloat16)),
  )
  rates = {}
  for name, (fn, args) in methods.items():
    fn(*args)
    best = float('inf')
    for _ in range(repeats):
      t = time.perf_counter()
      fn(*args)
      best = min(best, time.perf_counter() - t)
    rates[name] = 2.0 * m * k * n / best / 1e9
  return rates


def make_step(sim, w):
  dtype = jnp.dtype(FLAGS.dtype)
  net = sim.network
  params = net.init(jax.random.key(0), dtype)
  x = jax.random.uniform(jax.random.key(1), (w['batch'], *net.input_shape), dtype)
  labels = jnp.arange(w['batch']) % 10
  key = jax.random.key(2)
  mesh = _mesh(w['batch'])
  if w['t_nudge'] == 0:
    fn = parallel.data_parallel(
      lambda p, x: sep.predict(sim, p, x, key, t_free=w['t_free'], k_avg=10), mesh
    )
    return fn, (parallel.replicate(params, mesh), _shard(x, mesh)), lambda state, out: state
  ep = sep.EP(w['t_free'], w['t_nudge'], beta=0.5, k_avg=10, batch_nudges=FLAGS.batch_nudges)
  grad_fn = sep.estimators.ESTIMATORS.make('ep', sim=sim, **vars(ep))
  step, state, _ = training.start(grad_fn, params, [0.05] * len(net.layer_names()))
  batch = {'image': x, 'label': labels, 'index': jnp.arange(w['batch'])}
  fn = parallel.data_parallel(lambda st, b: step(st, b, key), mesh, donate_state=FLAGS.donate)
  state = parallel.replicate(state, mesh)
  return fn, (state, _shard(batch, mesh)), lambda state, out: out[0]


def _mesh(batch: int):
  """The first ``--devices`` devices, fewer if needed so that they divide ``batch``."""
  devices = jax.devices()[: FLAGS.devices or None]
  n = len(devices)
  while batch % n:
    n -= 1
  return parallel.make_mesh(devices[:n])


def _shard(tree, mesh):
  return jax.device_put(tree, parallel.batch_sharding(mesh))


@dataclasses.dataclass
class Compiled:
  """A workload's compiled step and what it runs on (``state`` advances every step)."""

  step: object
  state: object
  rest: tuple
  next_state: object
  compile_s: float
  sim: sep.Simulator
  w: dict

  def run_once(self) -> float:
    """One step; returns its wall time in seconds."""
    t = time.perf_counter()
    out = self.step(self.state, *self.rest)
    jax.block_until_ready(out)
    self.state = self.next_state(self.state, out)
    return time.perf_counter() - t


def compile_workload(name) -> Compiled:
  w = WORKLOADS[name]
  sim = build(w)
  fn, args, next_state = make_step(sim, w)
  t = time.perf_counter()
  compiled = fn.lower(*args).compile()
  return Compiled(compiled, args[0], args[1:], next_state, time.perf_counter() - t, sim, w)


def run_all(names) -> dict:
  """Every workload compiled first, then timed round-robin: each round runs one step of
  every workload, so that a change of the machine's load affects them alike."""
  entries = {name: compile_workload(name) for name in names}
  for e in entries.values():  # two warm-up steps each
    e.run_once(), e.run_once()
  times = {name: [] for name in names}
  for _ in range(FLAGS.repeats):
    for name, e in entries.items():
      times[name].append(e.run_once())
  results = {}
  for name, e in entries.items():
    sim, w = e.sim, e.w
    ms = float(np.median(times[name]) * 1e3)
    gflop = flop_count(sim, w) / 1e9
    results[name] = {
      'ms_per_step': ms,
      'samples_per_s': w['batch'] / ms * 1e3,
      'compile_s': e.compile_s,
      'gflop_per_step': gflop,
      'gflops': gflop / ms * 1e3,
      'gflop_per_step_nominal': flop_count(sim, w, nominal=True) / 1e9,
      'dominant_gemm': dominant_gemm(sim, w),
      'times_ms': [t * 1e3 for t in times[name]],
      'devices': _mesh(w['batch']).devices.size,
      'settings': w,
    }
    if name != 'crnn_fc' and 'crnn_fc' in times:  # per-round ratios: the same moment's load
      ratio = np.asarray(times[name]) / np.asarray(times['crnn_fc'])
      results[name]['over_crnn_fc'] = float(np.median(ratio))
  return results


def cpu_info() -> dict:
  """The CPU's model and its bfloat16 matrix units, from /proc/cpuinfo (Linux)."""
  try:
    with open('/proc/cpuinfo') as f:
      text = f.read()
  except OSError:
    return {}
  model = next((ln.split(':', 1)[1].strip() for ln in text.splitlines() if 'model name' in ln), '')
  flags_line = next((ln for ln in text.splitlines() if ln.startswith('flags')), '')
  units = [u for u in ('avx512_bf16', 'amx_bf16', 'amx_tile') if f' {u}' in flags_line]
  return {'cpu_model': model, 'bf16_units': units}


def generator_throughput(draws: int, repeats: int) -> dict:
  """Uniforms per second of each (generator, bits), drawn as a phase draws them:
  512 per key, vmapped over draws // 512 per-example keys, materialised.
  Timed interleaved (every variant once per round), median of ``repeats`` rounds."""
  n = 512
  keys = sep.example_keys(jax.random.key(0), jnp.arange(max(draws // n, 1)))
  fns = {
    f'{g}{b}': jax.jit(jax.vmap(lambda k, g=g, b=b: sep.noise.uniform(k, (n,), b, jnp.float32, g)))
    for g in sep.noise.GENERATORS
    for b in sep.noise.VALID_BITS
  }
  times = {name: [] for name in fns}
  for f in fns.values():
    jax.block_until_ready(f(keys))
  for _ in range(repeats):
    for name, f in fns.items():
      t = time.perf_counter()
      jax.block_until_ready(f(keys))
      times[name].append(time.perf_counter() - t)
  total = keys.shape[0] * n
  rates = {name: total / float(np.median(ts)) for name, ts in times.items()}
  return {
    'draws_per_call': total,
    'uniforms_per_s': rates,
    'speedup_vs_threefry32': {name: r / rates['threefry32'] for name, r in rates.items()},
  }


def main(argv):
  del argv
  if FLAGS.repeats < 5:
    raise app.UsageError('--repeats must be at least 5')
  unknown = set(FLAGS.workloads) - set(WORKLOADS)
  if unknown:
    raise app.UsageError(f'unknown workloads {sorted(unknown)}; choose from {sorted(WORKLOADS)}')
  parallel.set_cpu_devices(FLAGS.cpu_devices)
  with jax.threefry_partitionable(FLAGS.threefry_partitionable):
    results = run_all(FLAGS.workloads)
    for name, r in results.items():
      ratio = f' ({r["over_crnn_fc"]:.2f}x crnn_fc)' if 'over_crnn_fc' in r else ''
      print(f'{name}: {r["ms_per_step"]:.1f} ms/step{ratio}', file=sys.stderr, flush=True)
    generators = None
    if FLAGS.generator_draws:
      generators = generator_throughput(FLAGS.generator_draws, FLAGS.repeats)
      for name, r in generators['uniforms_per_s'].items():
        print(f'generator {name}: {r / 1e6:.0f} M uniforms/s', file=sys.stderr, flush=True)
  shapes = sorted({tuple(r['dominant_gemm']) for r in results.values()})
  by_method = {f'{m}x{k}x{n}': gemm_peaks(m, k, n, _mesh(m)) for m, k, n in shapes}
  peaks = {s: max(v for m, v in r.items() if not m.endswith('bf16')) for s, r in by_method.items()}
  peak = max(peaks.values()) if peaks else None
  peak_bf16 = max((r['jnp_dot_bf16'] for r in by_method.values()), default=None)
  for r in results.values():
    r['efficiency'] = r['gflops'] / peak
    r['peak_own_shape_gflops'] = peaks['{}x{}x{}'.format(*r['dominant_gemm'])]
    if FLAGS.compute_dtype != 'float32':
      r['efficiency_bf16_peak'] = r['gflops'] / peak_bf16
  report = {
    'gemm_peak_gflops': peak,
    'gemm_peak_gflops_bf16': peak_bf16,
    'gemm_peaks_by_shape': peaks,
    'gemm_peaks_by_method': by_method,
    'workloads': results,
    **({'generators': generators} if generators else {}),
    'options': {
      k: FLAGS[k].value
      for k in (
        'chunk',
        'unroll',
        'noise_bits',
        'generator',
        'generator_draws',
        'threefry_partitionable',
        'donate',
        'dtype',
        'compute_dtype',
        'min_size',
        'hoist_drive',
        'fuse_noise',
        'conv_impl',
        'fuse_pool',
        'batch_nudges',
        'devices',
        'cpu_devices',
        'repeats',
      )
    },
    'machine': {
      **cpu_info(),
      'devices': [str(d) for d in jax.devices()[: FLAGS.devices or None]],
      'cpu_count': os.cpu_count(),
      'jax': jax.__version__,
    },
  }
  text = json.dumps(report, indent=1)
  if FLAGS.out:
    with open(FLAGS.out, 'w') as f:
      f.write(text)
  else:
    print(text)


if __name__ == '__main__':
  define_flags()
  launch.run(main)
