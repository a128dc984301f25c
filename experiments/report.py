"""The paper's evidence in one page: every figure and table this project makes, in one HTML file.

    python experiments/report.py --workdir=runs/report --smoke          # tiny synthetic runs, minutes
    python experiments/report.py --workdir=runs/report \
        --demo_workdir=runs/demo_bf16 --backprop_cnn_workdir=runs/backprop_cnn \
        --conv_workdir=runs/fmnist_conv --benchmark_json=bench.json     # from finished runs
    python experiments/report.py --workdir=runs/report_1c --conv_workdir=runs/fmnist_1c \
        --conv_config=experiments/configs/fashion_mnist_1c.py ...       # another conv config
    make report ARGS='--demo_workdir=runs/demo_bf16 ...'

Writes ``<workdir>/report.html``, one self-contained page (its PNGs embedded as base64, no
script, nothing fetched), and ``<workdir>/report.json`` (the numbers it shows and where each
came from). For each piece of evidence the page gives the command that regenerates it:

* **accuracy against backprop** and [StochEP] **Table II**'s rows at the scale we run: the
  final and best test error of StochEP EP, CRNN EP, SNN BPTT (the dense demo config) and the
  backprop MLP of the same shape; the conv config's StochEP EP, the same rows on the conv
  config where given (``--table2_workdirs=conv_crnn_ep=DIR,...``: hours each on a CPU, never
  run here) and the backprop CNN of its shape; learning curves of each;
* **EP against BPTT**: the GDU check (``gradcheck.py``: relative RMSE, sign errors and the
  per-layer cosines), and **memory against T** (``memory.py``);
* the **energy** table and chart, **Figs. 3-5** of [StochEP] (``figures.py``: Fig. 3 as the
  paper draws it, the change |Δv| per unit and step on one log scale, with what the measurement
  says against the paper; Fig. 4's rasters also from the trained demo net; Fig. 5 on the conv
  net), [Lin24] **Fig. 2** (max against average pooling, ``pooling_imbalance.py``);
* the **event-input** and **phase-length** tables, quoted verbatim from BUILD_NOTES.md
  (§4.6, §4.7: they are not recomputed here);
* the machine (CPU model and cores, or the GPU; the GEMM peak of ``--benchmark_json``, a
  ``benchmark.py`` output) and the date.

A run given by its workdir (``--demo_workdir``, ``--conv_workdir``, ``--backprop_workdir``,
``--backprop_cnn_workdir``, ``--table2_workdirs``, ``--gradcheck_workdirs``,
``--memory_workdir``, ``--pooling_workdir``) is read, never trained further: its
``metrics.json`` or JSON output, and for the demo and conv runs their newest checkpoint (not
while the run still holds its lock: a run in progress is read from metrics.json only). What is
not given is run here, under ``<workdir>/runs/``, by the launcher's own command at the size the
flags set (``--epochs``, ``--conv_epochs``, ``--train_subset``, ``--fig_train_steps``,
``--conv_train_steps``, ``--gradcheck_variants``, ``--memory_flags``, ``--pooling_flags``;
defaults: each config's and launcher's own sizes). ``--conv_config`` is the config of the conv
runs (given or made here) and sets the backprop CNN's shape (default ``fashion_mnist_conv.py``,
2C2FC 32/64); ``--smoke`` runs everything tiny on
synthetic images (about 75 s on a 2-core CPU shared with a training run).
"""

from __future__ import annotations

import base64
import datetime
import fcntl
import html
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

from absl import flags

from experiments import launch

FLAGS = flags.FLAGS
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTES = os.path.join(ROOT, 'BUILD_NOTES.md')
DENSE_CONFIG = 'experiments/configs/fashion_mnist.py'
CONV_CONFIG = 'experiments/configs/fashion_mnist_conv.py'
GRADCHECK_CONFIG = 'experiments/configs/gradcheck.py'
# [StochEP] Table II's methods at our scale: name -> (label, train.py overrides on the demo config).
TABLE2 = {
  'stochep_ep': ('StochEP EP', ()),
  'crnn_ep': ('CRNN EP', ('--config.neuron.name=crnn',)),
  'snn_bptt': ('SNN BPTT (straight-through)', ('--config.method=bptt',)),
}
# The same rows on the conv config: read when given (--table2_workdirs), never run here (each
# is hours of a 2-core CPU, BUILD_NOTES.md §4.7); name -> (label, train.py overrides).
CONV_TABLE2 = {
  'conv_crnn_ep': ('CRNN EP', ('--config.neuron.name=crnn',)),
  'conv_snn_bptt': ('SNN BPTT (straight-through)', ('--config.method=bptt',)),
  'conv_sigma_delta_ep': ('Sigma-Delta EP', ('--config.neuron.name=sigma_delta',)),
}
GRADCHECK_VARIANTS = ('', 'crnn', 'stochep')  # energy-based, prototypical, stochastic
# --smoke: each run tiny (seconds), on synthetic images.
SMOKE_TRAIN = (
  '--config.train_subset=0', '--config.test_subset=0', '--config.num_epochs=2',
  '--config.batch_size=64', '--config.eval_batch_size=128', '--config.tensorboard=False',
  '--config.ep.t_free=12', '--config.ep.t_nudge=6', '--config.ep.k_avg=6',
)  # fmt: skip
SMOKE_DENSE = ('--config.network.hidden=(16,)',)
SMOKE_BACKPROP = ('--epochs=2', '--batch_size=64', '--eval_batch_size=128')
SMOKE_MEMORY = (
  '--architectures=784-32-10', '--ts=10,40', '--batch_size=8', '--t_nudge=5', '--k_avg=5',
  '--methods=ep_snn,bptt_snn',
)  # fmt: skip
SMOKE_POOLING = (
  '--channels=4,8', '--fc=16', '--batch=4', '--t_free=12', '--window=6', '--seeds=1',
  '--ep_t_nudge=6', '--ep_k_avg=6', '--noep',
)  # fmt: skip
# figures.settings(smoke) updated for --smoke: fewer images still.
# The networks that figures.py trains briefly stay at initialisation (the trained demo and conv
# runs' checkpoints are what Figs. 3, 4 and 5 read).
SMOKE_FIGURES = dict(
  n_membrane=8, n_samples=8, train_batch=16, t_free=12, t_nudge=6, k_avg=3, train_steps=0,
  conv_train_steps=0,
)  # fmt: skip


def define_flags() -> None:
  """The launcher's flags, defined when it runs as a script (importing the module for its
  functions defines none, so it never clashes with another launcher's flags)."""
  flags.DEFINE_string(
    'workdir', None, 'Folder for report.html, report.json and the runs made here.'
  )
  flags.DEFINE_bool('smoke', False, 'Every missing run tiny, on synthetic images (minutes).')
  flags.DEFINE_string('demo_workdir', '', 'A finished train.py run of the dense demo config.')
  flags.DEFINE_string('conv_workdir', '', 'A train.py run of the conv config.')
  flags.DEFINE_string(
    'conv_config', CONV_CONFIG,
    'The conv config: of the conv runs (--conv_workdir, the conv_* Table II rows) and the '
    "backprop CNN's shape (its channels and FC widths), e.g. experiments/configs/fashion_mnist_1c.py.",
  )  # fmt: skip
  flags.DEFINE_string('backprop_workdir', '', 'A backprop.py run of the MLP (784-512-10).')
  flags.DEFINE_string(
    'backprop_cnn_workdir', '', "A backprop.py run of the CNN of --conv_config's shape."
  )
  flags.DEFINE_list(
    'table2_workdirs',
    [],
    'train.py runs of Table II: crnn_ep=DIR,snn_bptt=DIR (the demo config), conv_crnn_ep=DIR,'
    'conv_snn_bptt=DIR,conv_sigma_delta_ep=DIR (the conv config; never run here).',
  )
  flags.DEFINE_list('gradcheck_workdirs', [], 'gradcheck.py outputs (default: three run here).')
  flags.DEFINE_string('memory_workdir', '', 'A memory.py output folder.')
  flags.DEFINE_string('pooling_workdir', '', 'A pooling_imbalance.py output folder.')
  flags.DEFINE_string('benchmark_json', '', 'A benchmark.py --out JSON (the GEMM peak).')
  flags.DEFINE_string('data_dir', '', 'Fashion-MNIST IDX files ("" = the configs\' default).')
  flags.DEFINE_integer('epochs', -1, "Epochs of the dense runs made here (-1 = the config's).")
  flags.DEFINE_integer('conv_epochs', -1, "Epochs of the conv runs made here (-1 = the config's).")
  flags.DEFINE_integer('train_subset', 0, 'Training images of the runs made here (0 = all).')
  flags.DEFINE_integer('fig_train_steps', -1, 'figures.py --train_steps (-1 = its default).')
  flags.DEFINE_integer('conv_train_steps', -1, 'figures.py --conv_train_steps (-1 = its default).')
  flags.DEFINE_list(
    'gradcheck_variants',
    [],
    'gradcheck.py config variants run here, e.g. energy,crnn,stochep (the default) or smoke,crnn',
  )
  flags.DEFINE_multi_string(
    'memory_flags',
    [],
    'A flag for memory.py when run here, e.g. --memory_flags=--ts=50,150 (repeatable).',
  )
  flags.DEFINE_multi_string(
    'pooling_flags',
    [],
    'A flag for pooling_imbalance.py when run here, e.g. --pooling_flags=--seeds=1 (repeatable).',
  )
  flags.mark_flag_as_required('workdir')
  launch.integer('epochs', -1)
  launch.integer('conv_epochs', -1)
  launch.integer('train_subset', 0)
  launch.integer('fig_train_steps', -1)
  launch.integer('conv_train_steps', -1)


# --------------------------------------------------------------------------
# Running the launchers
# --------------------------------------------------------------------------
def command(script: str, *args: str) -> str:
  """The shell command of ``experiments/<script>.py args`` as the page shows it."""
  return shlex.join(['.venv/bin/python', f'experiments/{script}.py', *args])


def run_launcher(script: str, args, log_dir: str, name: str) -> str:
  """Runs a launcher in its own process from the checkout; returns its command. A failure is a
  ``LaunchError`` naming the command and its log."""
  os.makedirs(log_dir, exist_ok=True)
  log = os.path.join(log_dir, f'{name}.log')
  cmd = command(script, *args)
  t = time.time()
  print(f'running {cmd}', flush=True)
  with open(log, 'w') as f:
    rc = subprocess.call(
      [sys.executable, os.path.join(ROOT, 'experiments', f'{script}.py'), *args],
      cwd=ROOT, stdout=f, stderr=subprocess.STDOUT,
      env={**os.environ, 'PYTHONPATH': ROOT + os.pathsep + os.environ.get('PYTHONPATH', '')},
    )  # fmt: skip
  if rc:
    tail = open(log).read().strip().splitlines()[-1:] or ['']
    raise launch.LaunchError(f'{cmd} failed (exit {rc}: {tail[0][:300]}); its output: {log}')
  print(f'  {time.time() - t:.0f}s', flush=True)
  return cmd


def busy(workdir: str) -> bool:
  """Whether a run still holds ``workdir``'s lock (checked with a shared lock, nothing written)."""
  path = os.path.join(workdir, '.lock')
  if not os.path.exists(path):
    return False
  fd = os.open(path, os.O_RDONLY)
  try:
    fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    fcntl.flock(fd, fcntl.LOCK_UN)
    return False
  except BlockingIOError:
    return True
  finally:
    os.close(fd)


def _flatten(d, prefix=''):
  out = {}
  for k, v in d.items():
    if isinstance(v, dict):
      out.update(_flatten(v, f'{prefix}{k}.'))
    else:
      out[f'{prefix}{k}'] = v
  return out


def _value(v) -> str:
  if isinstance(v, (list, tuple)):
    return '(' + ','.join(_value(u) for u in v) + (',)' if len(v) == 1 else ')')
  return str(v)


def train_command(workdir: str, config_file: str, recorded: dict) -> str:
  """The ``train.py`` command that reproduces a run: ``config_file`` with the overrides by which
  the recorded config differs from the file's (``assembly.used_config``)."""
  from stochep_jax import assembly  # noqa: PLC0415

  default = _flatten(assembly.used_config(launch.load_config(config_file)))
  over = [
    f'--config.{k}={_value(v)}'
    for k, v in sorted(_flatten(recorded).items())
    if k not in default or _value(default[k]) != _value(v)
  ]
  return command('train', f'--config={config_file}', f'--workdir={workdir}', '--cpu_devices=0',
                 *over)  # fmt: skip


def cnn_shape(conv_config: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
  """The conv config's channels and FC widths: the backprop CNN of the same shape."""
  net = launch.load_config(conv_config).network
  return tuple(net.channels), tuple(net.fc)


def backprop_command(workdir: str, m: dict) -> str:
  f = m.get('flags', {})
  args = [f'--workdir={workdir}', f'--epochs={m.get("epochs")}']
  if f.get('channels'):
    args.append('--channels=' + ','.join(map(str, f['channels'])))
  if f.get('hidden'):
    args.append('--hidden=' + ','.join(map(str, f['hidden'])))
  for k in ('lr', 'schedule', 'batch_size', 'seed', 'activation', 'readout', 'n_perclass', 'init'):
    if k in f:
      args.append(f'--{k}={f[k]}')
  if f.get('augment'):
    args += ['--augment=' + ','.join(f['augment']), f'--crop_padding={f["crop_padding"]}']
  return command('backprop', *args)


# --------------------------------------------------------------------------
# The runs: reused or made here
# --------------------------------------------------------------------------
class Runs:
  """Every run the page reads: ``path``, ``command`` and whether it was reused, by name."""

  def __init__(self, workdir: str, smoke: bool):
    self.workdir, self.smoke = workdir, smoke
    self.root = os.path.join(workdir, 'runs')
    self.logs = os.path.join(workdir, 'logs')
    self.entries: dict[str, dict] = {}
    self.data_args: tuple[str, ...] = ()
    self.backprop_data: tuple[str, ...] = ()
    self.data_dir = ''

  def add(self, name, what, path, cmd, reused, note=''):
    self.entries[name] = {'what': what, 'path': path, 'command': cmd, 'reused': reused,
                          'note': note}  # fmt: skip

  def synthetic(self):
    """--smoke: synthetic IDX files and their tfds cache, inside the workdir."""
    from stochep_jax import short_runs  # noqa: PLC0415

    idx = os.path.join(self.workdir, 'data', 'idx')
    tfds = os.path.join(self.workdir, 'data', 'tfds')
    if not os.path.exists(os.path.join(idx, 't10k-labels-idx1-ubyte.gz')):
      short_runs.synthetic_dir(idx)
    self.data_dir = idx
    self.data_args = (f'--config.data_dir={idx}', f'--config.tfds_dir={tfds}')
    self.backprop_data = (f'--data_dir={idx}', f'--tfds_dir={tfds}')

  def size_args(self, epochs: int, subset: int) -> list[str]:
    out = [f'--config.num_epochs={epochs}'] if epochs > 0 else []
    return out + ([f'--config.train_subset={subset}'] if subset > 0 else [])

  def train(self, name, what, given, config_file, extra=(), epochs=-1, subset=0):
    """A ``train.py`` run: ``given`` (reused) or trained here; returns its path."""
    if given:
      launch.check_run_folder(given)
      m = launch.read_json(os.path.join(given, 'metrics.json'))
      note = 'still training (its lock is held): read from metrics.json only' if busy(given) else ''
      self.add(name, what, given, train_command(given, config_file, m['config']), True, note)
      return given
    path = os.path.join(self.root, name)
    if self.smoke:
      smoke = SMOKE_TRAIN + (SMOKE_DENSE if config_file == DENSE_CONFIG else ())
      args = [f'--config={config_file}:smoke', f'--workdir={path}', *smoke, *self.data_args]
    else:
      args = [f'--config={config_file}', f'--workdir={path}', '--cpu_devices=0',
              *self.size_args(epochs, subset)]  # fmt: skip
    args += ['--config.progress=none', *extra]
    self.add(name, what, path, run_launcher('train', args, self.logs, name), False)
    return path

  def backprop(self, name, what, given, channels=(), hidden=(512,), epochs=-1):
    if given:
      m = launch.read_json(os.path.join(given, 'metrics.json'), 'written by backprop.py')
      self.add(name, what, given, backprop_command(given, m), True)
      return given
    path = os.path.join(self.root, name)
    if self.smoke:
      channels, hidden = tuple(4 * 2**i for i in range(len(channels))), (16,)
      args = [f'--workdir={path}', *SMOKE_BACKPROP, *self.backprop_data]
    else:
      args = [f'--workdir={path}'] + ([f'--epochs={epochs}'] if epochs > 0 else [])
    if channels:
      args.append('--channels=' + ','.join(map(str, channels)))
    args.append('--hidden=' + ','.join(map(str, hidden)))
    self.add(name, what, path, run_launcher('backprop', args, self.logs, name), False)
    return path

  def launcher_json(self, name, what, script, given, out_file, args_fn, extra_args=()):
    """A launcher that writes ``<workdir>/<out_file>`` (gradcheck, memory, pooling)."""
    if given:
      j = launch.read_json(os.path.join(given, out_file), f'written by experiments/{script}.py')
      self.add(name, what, given, command(script, f'--workdir={given}', *args_fn(j)), True)
      return given
    path = os.path.join(self.root, name)
    args = [f'--workdir={path}', *extra_args]
    self.add(name, what, path, run_launcher(script, args, self.logs, name), False)
    return path


# --------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------
def esc(x) -> str:
  return html.escape(str(x))


def img(path: str, alt: str) -> str:
  """A PNG embedded as base64 (checked to be a PNG)."""
  with open(path, 'rb') as f:
    raw = f.read()
  if not raw.startswith(b'\x89PNG\r\n\x1a\n'):
    raise launch.LaunchError(f'{path}: not a PNG')
  data = base64.b64encode(raw).decode()
  return f'<img alt="{esc(alt)}" src="data:image/png;base64,{data}">'


def table(head, rows) -> str:
  out = ['<table><tr>' + ''.join(f'<th>{esc(h)}</th>' for h in head) + '</tr>']
  for r in rows:
    out.append('<tr>' + ''.join(f'<td>{esc(c)}</td>' for c in r) + '</tr>')
  return '\n'.join(out) + '</table>'


def code(cmds) -> str:
  cmds = [cmds] if isinstance(cmds, str) else cmds
  return '<pre class="cmd">' + '\n'.join(esc(c) for c in cmds) + '</pre>'


def markdown(text: str) -> str:
  """BUILD_NOTES markdown, as written: tables as tables, paragraphs with bold and code."""

  def inline(s):
    s = esc(s)
    s = re.sub(r'\*\*(.+?)\*\*', r'<b>\1</b>', s)
    return re.sub(r'`([^`]+)`', r'<code>\1</code>', s)

  out = []
  for block in re.split(r'\n\s*\n', text.strip()):
    lines = block.strip().splitlines()
    if lines and all(ln.lstrip().startswith('|') for ln in lines):
      rows = [[c.strip() for c in ln.strip().strip('|').split('|')] for ln in lines]
      rows = [r for r in rows if not all(re.fullmatch(r':?-+:?', c) for c in r)]
      out.append('<table>' + ''.join(
        '<tr>' + ''.join(f'<{t}>{inline(c)}</{t}>' for c in r) + '</tr>'
        for t, r in zip(['th'] + ['td'] * len(rows), rows)) + '</table>')  # fmt: skip
    elif lines and lines[0].startswith('#'):
      out.append(f'<h4>{inline(lines[0].lstrip("#").strip())}</h4>')
      if len(lines) > 1:
        out.append(f'<p>{inline(" ".join(lines[1:]))}</p>')
    else:
      out.append(f'<p>{inline(" ".join(ln.strip() for ln in lines))}</p>')
  return '\n'.join(out)


def notes_section(number: str, stop: str | None = None) -> str:
  """The text of BUILD_NOTES.md's ``### <number>`` section (up to ``stop``, if given)."""
  text = open(NOTES).read()
  m = re.search(rf'^### {re.escape(number)}\b.*?(?=^##)', text + '\n##', re.M | re.S)
  if not m:
    raise launch.LaunchError(f'{NOTES}: no section ### {number}')
  body = m.group(0)
  if stop and stop in body:
    body = body[: body.index(stop)]
  return body


CSS = """
body{font-family:sans-serif;max-width:1250px;margin:1em auto;padding:0 1em;color:#222}
h1{font-size:1.6em} h2{border-bottom:2px solid #444;margin-top:1.6em} h4{margin-bottom:.2em}
table{border-collapse:collapse;margin:.6em 0;font-size:.85em}
td,th{border:1px solid #aaa;padding:2px 6px;text-align:left;vertical-align:top}
th{background:#eee} img{max-width:100%;border:1px solid #ddd;margin:.4em 0}
pre{background:#f4f4f4;padding:.5em;overflow-x:auto;font-size:.8em;white-space:pre-wrap}
.note{background:#fff6d5;border-left:4px solid #e0b000;padding:.4em .8em;margin:.6em 0}
.quote{border-left:4px solid #88a;padding-left:.8em;font-size:.9em}
"""


# --------------------------------------------------------------------------
# The sections
# --------------------------------------------------------------------------
def machine(benchmark_json: str) -> dict:
  """CPU model and cores (/proc/cpuinfo), accelerators (JAX), the benchmark's GEMM peak."""
  import jax  # noqa: PLC0415

  out = {'date_utc': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
         'python': platform.python_version(), 'jax': jax.__version__,
         'cores': os.cpu_count()}  # fmt: skip
  try:
    text = open('/proc/cpuinfo').read()
    out['cpu_model'] = next(
      (ln.split(':', 1)[1].strip() for ln in text.splitlines() if ln.startswith('model name')), ''
    )
    out['logical_cpus'] = sum(ln.startswith('processor') for ln in text.splitlines())
  except OSError:
    out['cpu_model'] = platform.processor()
  accel = [d for d in jax.devices() if d.platform != 'cpu']
  out['accelerators'] = [f'{d.platform}: {d.device_kind}' for d in accel] or ['none (CPU only)']
  if benchmark_json:
    b = launch.read_json(benchmark_json, 'written by experiments/benchmark.py')
    out['gemm_peak_gflops'] = b.get('gemm_peak_gflops')
    out['gemm_peak_gflops_bf16'] = b.get('gemm_peak_gflops_bf16')
    out['benchmark'] = benchmark_json
  return out


def _error(m: dict, key: str) -> float | None:
  v = m.get(key)
  return None if v is None else 100 * (1 - v)


def _fmt(v, spec='.2f', unit=' %') -> str:
  return '–' if v is None else f'{v:{spec}}{unit}'


def _describe(m: dict) -> str:
  """A train.py run's network, neuron and method, from its metrics.json config."""
  c = m['config']
  n = c['network']
  sizes = ','.join(map(str, n.get('channels') or ())) + ('/' if n.get('channels') else '')
  sizes += ','.join(map(str, n.get('fc') or n.get('hidden') or ()))
  return (f'{n["architecture"]} {sizes}, {c["neuron"]["name"]}, {c.get("method", "ep")}, '
          f'{c["dataset"]}')  # fmt: skip


def accuracy_section(runs: Runs, paths: dict, out_dir: str) -> tuple[str, dict]:
  """Table II rows at our scale and the learning curves (dense, conv)."""
  import matplotlib  # noqa: PLC0415

  matplotlib.use('Agg')
  from matplotlib import pyplot as plt  # noqa: PLC0415

  conv_rows = [n for n in CONV_TABLE2 if n in paths]
  groups = {'dense': ['stochep_ep', 'crnn_ep', 'snn_bptt', 'backprop'],
            'conv': ['conv_stochep_ep', *conv_rows, 'backprop_cnn']}  # fmt: skip
  rows, numbers = [], {}
  fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
  for ax, (group, names) in zip(axes, groups.items()):
    for name in names:
      m = launch.read_json(os.path.join(paths[name], 'metrics.json'))
      hist = m.get('history') or []
      if not hist:
        continue
      err = [100 * (1 - h['test_accuracy']) for h in hist]
      ax.plot([h['epoch'] for h in hist], err, marker='.', label=runs.entries[name]['what'])
      model = _describe(m) if 'config' in m else m.get('model', '')
      best = m.get('best_test_accuracy', max(h['test_accuracy'] for h in hist))
      planned = (m.get('config') or {}).get('num_epochs') or len(hist)
      numbers[name] = {'test_error': _error(m, 'test_accuracy'), 'best_test_error': 100 * (1 - best),
                       'train_accuracy': m.get('train_accuracy'), 'epochs': len(hist),
                       'planned_epochs': planned}  # fmt: skip
      epochs = str(len(hist)) if len(hist) >= planned else f'{len(hist)} of {planned} (unfinished)'
      rows.append([group, runs.entries[name]['what'], model, epochs,
                   _fmt(numbers[name]['test_error']), _fmt(numbers[name]['best_test_error']),
                   _fmt(100 * m['train_accuracy'] if m.get('train_accuracy') else None),
                   _fmt(m.get('wall_seconds'), '.0f', ' s'),
                   ('reused' if runs.entries[name]['reused'] else 'trained here')
                   + (f' ({runs.entries[name]["note"]})' if runs.entries[name]['note'] else '')])  # fmt: skip
    ax.set_title(f'{group} networks', fontsize=9)
    ax.set_xlabel('epoch')
    ax.set_ylabel('test error (%)')
    ax.legend(fontsize=7)
  fig.tight_layout()
  png = os.path.join(out_dir, 'learning_curves.png')
  fig.savefig(png, dpi=90)
  plt.close(fig)
  body = table(['net', 'method', 'run (network, neuron, method, data)', 'epochs', 'test error',
                'best test error', 'train accuracy', 'wall time', 'source'], rows)  # fmt: skip
  body += img(png, 'learning curves: test error per epoch')
  missing = [label for n, (label, _) in CONV_TABLE2.items() if n not in paths]
  body += (
    '<p class="note">'
    + (f'Not given (--table2_workdirs={",".join(n + "=DIR" for n in CONV_TABLE2)}), so not '
       f'shown: {", ".join(missing)} on the conv config (hours each on a CPU, never run by '
       'this page; BUILD_NOTES.md §4.7). ' if missing else '')
    + "[StochEP] Table II's CIFAR-10 rows need a GPU.</p>"
  )  # fmt: skip
  cmds = [runs.entries[n]['command'] for ns in groups.values() for n in ns]
  return body + '<h4>Commands</h4>' + code(cmds), numbers


def gradcheck_section(runs: Runs, names: list[str]) -> tuple[str, dict]:
  rows, body, numbers = [], '', {}
  for name in names:
    path = runs.entries[name]['path']
    g = launch.read_json(os.path.join(path, 'gradcheck.json'))
    st = g['settings']
    label = f'{st["setting"]} {st["architecture"]}, β {st["beta"]}, T {st["T"]}, K {st["K"]}'
    numbers[name] = {'settings': label, 'layers': g['layers']}
    for layer, m in g['layers'].items():
      rows.append([label, layer, f'{m["rel_rmse"]:.3g}', f'{m["sign_error"]:.4f}',
                   f'{m["cosine"]:.5f}'])  # fmt: skip
    png = os.path.join(path, 'gradcheck.png')
    if os.path.exists(png):
      body += f'<h4>{esc(label)}</h4>' + img(png, f'GDU check: {label}')
  head = ['setting', 'layer (parameter group or neurons)', 'rel. RMSE', 'sign errors', 'cosine']
  cmds = [runs.entries[n]['command'] for n in names]
  return table(head, rows) + body + '<h4>Commands</h4>' + code(cmds), numbers


def memory_section(runs: Runs) -> tuple[str, dict]:
  e = runs.entries['memory']
  m = launch.read_json(os.path.join(e['path'], 'memory.json'))
  ts = [str(t) for t in m['settings']['ts']]
  rows = []
  for arch, methods in m['results'].items():
    for method, by_t in methods.items():
      rows.append([arch, method] + [f'{by_t[t]["total_bytes"] / 2**20:.1f}' for t in ts])
  body = table(['architecture', 'method'] + [f'T {t} (MiB)' for t in ts], rows)
  body += (
    f"<p>XLA's compiled memory of one training step, batch {m['settings']['batch_size']}, "
    f"T_nudge {m['settings']['t_nudge']}: EP's does not grow with T, BPTT's does.</p>"
  )
  png = os.path.join(e['path'], 'memory.png')
  if os.path.exists(png):
    body += img(png, 'memory against T')
  return body + code(e['command']), m['results']


def pooling_section(runs: Runs, out_dir: str) -> tuple[str, dict]:
  """[Lin24] Fig. 2: backward/forward current ratio per layer, max vs average pooling."""
  import matplotlib  # noqa: PLC0415

  matplotlib.use('Agg')
  from matplotlib import pyplot as plt  # noqa: PLC0415

  e = runs.entries['pooling']
  p = launch.read_json(os.path.join(e['path'], 'pooling_imbalance.json'))
  keys = [k for k in ('ratio', 'align_b', 'align_f') if k in p['avg']['mean']]
  fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.2), squeeze=False)
  for ax, k in zip(axes[0], keys):
    for i, pool in enumerate(('avg', 'max')):
      v = p[pool]['mean'][k]
      ax.bar([j + (i - 0.5) * 0.38 for j in range(len(v))], v, 0.38, label=f'{pool} pooling')
    ax.set_xticks(range(len(v)), [f'layer {j + 1}' for j in range(len(v))])
    ax.set_title({'ratio': 'RMS(I_backward) / RMS(I_forward)',
                  'align_b': 'cos(time-mean I_b, I_b of the rates)',
                  'align_f': 'cos(time-mean I_f, I_f of the rates)'}[k], fontsize=8)  # fmt: skip
    ax.legend(fontsize=7)
  fig.tight_layout()
  png = os.path.join(out_dir, 'lin24_fig2_pooling.png')
  fig.savefig(png, dpi=90)
  plt.close(fig)
  rows = []
  for pool in ('avg', 'max'):
    mean = p[pool]['mean']
    for k in keys:
      rows.append([pool, k, ', '.join(f'{v:.3g}' for v in mean[k])])
    if 'ep_cosine' in mean:
      rows.append([pool, 'EP vs mean-field BPTT cosine', f'{float(mean["ep_cosine"]):.3g}'])
  body = img(png, '[Lin24] Fig. 2: activation imbalance, max vs average pooling')
  body += table(['pooling', 'quantity (per layer)', 'mean over seeds'], rows)
  body += f'<p>Settings: {esc(json.dumps(p["settings"]))}</p>' + code(e['command'])
  return body, {pool: p[pool]['mean'] for pool in ('avg', 'max')}


def figures_section(fig_dir: str, summary: dict, fig_cmd: str) -> dict[str, str]:
  """Figs. 3, 4, 5 and the energy table, from figures.py's outputs in ``fig_dir``."""
  j = {n: json.load(open(os.path.join(fig_dir, f'{n}.json'))) for n in
       ('fig3_membrane', 'fig4_rasters', 'fig5_error', 'fig5_conv_error', 'energy')}  # fmt: skip
  out = {}
  f3 = j['fig3_membrane']
  reading = ''.join(f'<li>{esc(s)}</li>' for s in f3['reading'])
  out['fig3'] = (
    f'<p>Network: {esc(f3["params_source"])}; {f3["n_samples"]} training images, the first '
    f'{f3["units"]} hidden units; free phase {f3["t_free"]} steps then +β phase '
    f'{f3["t_nudge"]}. Top: |Δv| per unit and step (mean over the images), one log colour '
    f'scale for the four panels ({f3["color_scale"]["vmin"]:.2g} to '
    f'{f3["color_scale"]["vmax"]:.2g}; black: no change); bottom: the potential of the first '
    f'image.</p>' + img(os.path.join(fig_dir, 'fig3_membrane.png'), '[StochEP] Fig. 3')
    + f'<div class="note"><b>Against the paper</b> (computed from the numbers above):<ul>'
    f'{reading}</ul></div>' + code(fig_cmd)
  )  # fmt: skip
  f4 = j['fig4_rasters']
  rows = [['one network trained briefly per κ'] + [f'{d:.3f}' for d in f4['density']]]
  if 'trained' in f4:
    rows.append(
      [f4['trained']['source'] + ' (κ changed at inference)']
      + [f'{d:.3f}' for d in f4['trained']['density']]
    )
  out['fig4'] = (img(os.path.join(fig_dir, 'fig4_rasters.png'), '[StochEP] Fig. 4')
                 + table(['firing density'] + [f'κ = {k}' for k in f4['kappas']], rows)
                 + code(fig_cmd))  # fmt: skip
  f5, f5c = j['fig5_error'], j['fig5_conv_error']
  rows = [['conv ' + f5c['architecture'], n, src, f'{v:.3g}'] for n, src, v in
          zip(f5c['n_perclass'], f5c['sources'], f5c['mean_error_nudge'])]  # fmt: skip
  rows += [['dense 784-…', n, f'{f5["settings"]["train_steps"]} SGD steps from init', f'{v:.3g}']
           for n, v in zip(f5['n_perclass'], f5['mean_error_nudge'])]  # fmt: skip
  out['fig5'] = (img(os.path.join(fig_dir, 'fig5_conv_error.png'), '[StochEP] Fig. 5, conv net')
                 + img(os.path.join(fig_dir, 'fig5_error.png'), 'Fig. 5 on the dense net')
                 + table(['network', 'N_perclass', 'weights', 'mean error signal, nudge phase'],
                         rows) + code(fig_cmd))  # fmt: skip
  en = j['energy']
  out['energy'] = (f'<pre>{esc(en["table"])}</pre>' + img(os.path.join(fig_dir, 'energy.png'),
                   'energy per example') + f'<p>Left out: {esc(en["left_out"])}.</p>'
                   + code(fig_cmd))  # fmt: skip
  return out


def page(sections: list[tuple[str, str]], header: str) -> str:
  toc = ''.join(
    f'<li><a href="#s{i}">{esc(t)}</a></li>' for i, (t, _) in enumerate(sections)
  )  # fmt: skip
  body = ''.join(f'<h2 id="s{i}">{esc(t)}</h2>\n{b}\n' for i, (t, b) in enumerate(sections))
  return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
          f'<title>stochep_jax: the evidence</title><style>{CSS}</style></head><body>'
          f'<h1>StochEP in JAX: the papers\' evidence, as measured here</h1>{header}'
          f'<ol>{toc}</ol>{body}</body></html>\n')  # fmt: skip


def screenshot(html_path: str, png_path: str, size=(1200, 3000), timeout: int = 120) -> bool:
  """The page as a headless Chromium draws it (Debian's ``chromium``), a PNG of ``size``;
  False where no Chromium is installed."""
  exe = shutil.which('chromium') or shutil.which('chromium-browser')
  if not exe:
    return False
  with tempfile.TemporaryDirectory() as profile:
    subprocess.run(
      [
        exe,
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--hide-scrollbars',
        '--no-first-run',
        f'--user-data-dir={profile}',
        f'--screenshot={os.path.abspath(png_path)}',
        f'--window-size={size[0]},{size[1]}',
        'file://' + os.path.abspath(html_path),
      ],
      capture_output=True,
      timeout=timeout,
      check=True,
      env={**os.environ, 'HOME': profile, 'XDG_CACHE_HOME': profile, 'XDG_CONFIG_HOME': profile},
    )  # fmt: skip  (its profile, cache and config in a temporary folder, nothing in ~)
  return os.path.exists(png_path)


# --------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------
def run(
  workdir: str,
  smoke: bool = False,
  *,
  demo_workdir: str = '',
  conv_workdir: str = '',
  conv_config: str = CONV_CONFIG,
  backprop_workdir: str = '',
  backprop_cnn_workdir: str = '',
  table2_workdirs: dict | None = None,
  gradcheck_workdirs: list | None = None,
  memory_workdir: str = '',
  pooling_workdir: str = '',
  benchmark_json: str = '',
  data_dir: str = '',
  epochs: int = -1,
  conv_epochs: int = -1,
  train_subset: int = 0,
  fig_train_steps: int = -1,
  conv_train_steps: int = -1,
  gradcheck_variants: list | None = None,
  memory_flags: list | None = None,
  pooling_flags: list | None = None,
  figure_overrides: dict | None = None,
  argv: list | None = None,
) -> dict:
  """Builds the page (module docstring); returns ``report.json``'s content."""
  from experiments import figures  # noqa: PLC0415

  start = time.time()
  os.makedirs(workdir, exist_ok=True)
  runs = Runs(workdir, smoke)
  if smoke:
    runs.synthetic()
  else:
    from stochep_jax import data  # noqa: PLC0415

    runs.data_dir = data_dir or data.DEFAULT_FASHION_MNIST_DIR  # figures.py, pooling_imbalance.py
    if data_dir:
      runs.data_args = (f'--config.data_dir={data_dir}',)
      runs.backprop_data = (f'--data_dir={data_dir}',)
  table2 = dict(table2_workdirs or {})
  timings = {}

  def timed(name, fn):
    t = time.time()
    r = fn()
    timings[name] = time.time() - t
    return r

  paths = {}
  for name, (label, extra) in TABLE2.items():
    given = demo_workdir if name == 'stochep_ep' else table2.get(name, '')
    paths[name] = timed(name, lambda n=name, g=given, lb=label, ex=extra: runs.train(
      n, f'{lb}, dense', g, DENSE_CONFIG, ex, epochs, train_subset))  # fmt: skip
  paths['backprop'] = timed('backprop', lambda: runs.backprop(
    'backprop', 'backprop MLP, same shape', backprop_workdir, epochs=epochs))  # fmt: skip
  paths['conv_stochep_ep'] = timed('conv_stochep_ep', lambda: runs.train(
    'conv_stochep_ep', 'StochEP EP, conv config', conv_workdir, conv_config, (), conv_epochs,
    train_subset))  # fmt: skip
  for name, (label, extra) in CONV_TABLE2.items():
    if table2.get(name):
      paths[name] = runs.train(name, f'{label}, conv config', table2[name], conv_config, extra)
  channels, hidden = cnn_shape(conv_config)
  paths['backprop_cnn'] = timed('backprop_cnn', lambda: runs.backprop(
    'backprop_cnn', 'backprop CNN, same shape', backprop_cnn_workdir, channels=channels,
    hidden=hidden, epochs=conv_epochs))  # fmt: skip
  gc_names = []
  given_gc = list(gradcheck_workdirs or [])
  variants = gradcheck_variants or (['smoke'] if smoke else GRADCHECK_VARIANTS)
  variants = (
    [None] * len(given_gc)
    if given_gc
    else ['' if v == 'energy' else v.replace('+', ',') for v in variants]
  )
  for i, v in enumerate(variants):
    name = f'gradcheck{i}'
    gc_names.append(name)
    arg = f'{GRADCHECK_CONFIG}:{v}' if v else GRADCHECK_CONFIG
    given = given_gc[i] if given_gc else ''
    timed(name, lambda n=name, g=given, a=arg: _gradcheck(runs, n, g, a))
  timed('memory', lambda: runs.launcher_json(
    'memory', 'memory against T', 'memory', memory_workdir, 'memory.json', memory_args,
    SMOKE_MEMORY if smoke else memory_flags or ()))  # fmt: skip
  timed('pooling', lambda: runs.launcher_json(
    'pooling', '[Lin24] Fig. 2 pooling', 'pooling_imbalance', pooling_workdir,
    'pooling_imbalance.json', pooling_args, (SMOKE_POOLING if smoke else tuple(pooling_flags or ())) + (
      (f'--data_dir={runs.data_dir}',) if runs.data_dir else ())))  # fmt: skip

  # Figures 3-5 and the energy table, from the trained demo (and conv) checkpoints.
  fig_dir = os.path.join(workdir, 'figures')
  demo_ckpt = paths['stochep_ep'] if not busy(paths['stochep_ep']) else ''
  conv_ckpt = paths['conv_stochep_ep'] if not busy(paths['conv_stochep_ep']) else ''
  over = dict(SMOKE_FIGURES if smoke else {}, **(figure_overrides or {}))
  fig_args = [f'--workdir={fig_dir}'] + (['--smoke'] if smoke else [])
  fig_args += [f'--demo_workdir={demo_ckpt}'] if demo_ckpt else []
  fig_args += [f'--conv_workdir={conv_ckpt}'] if conv_ckpt else []
  fig_args += [f'--data_dir={runs.data_dir}'] if runs.data_dir else []
  fig_args += [f'--train_steps={fig_train_steps}'] if fig_train_steps >= 0 else []
  fig_args += [f'--conv_train_steps={conv_train_steps}'] if conv_train_steps >= 0 else []
  fig_cmd = command('figures', *fig_args)
  print(f'running (in this process) {fig_cmd}', flush=True)
  fig_summary = timed('figures', lambda: figures.run(
    fig_dir, smoke, runs.data_dir, fig_train_steps, 'fashion_mnist', demo_ckpt, conv_ckpt,
    conv_train_steps, over))  # fmt: skip
  if over:
    fig_cmd += f'   # with the sizes {json.dumps(over)} (report.py SMOKE_FIGURES)'

  # The page.
  mach = machine(benchmark_json)
  numbers = {'machine': mach, 'runs': runs.entries, 'seconds': timings}
  sections = []
  acc, numbers['accuracy'] = accuracy_section(runs, paths, workdir)
  sections.append(('Accuracy against backprop, and [StochEP] Table II at our scale', acc))
  gc, numbers['gradcheck'] = gradcheck_section(runs, gc_names)
  sections.append(('EP against BPTT: the GDU check [Ern19], per-layer cosines', gc))
  mem, numbers['memory'] = memory_section(runs)
  sections.append(('Memory against T: EP and BPTT', mem))
  figs = figures_section(fig_dir, fig_summary, fig_cmd)
  for key, name, ckpt, what in (('fig3', 'stochep_ep', demo_ckpt, 'Figs. 3, 4 and the energy table'),
                                ('fig5', 'conv_stochep_ep', conv_ckpt, 'Fig. 5')):  # fmt: skip
    if not ckpt:
      figs[key] = (f'<p class="note">{esc(paths[name])} is still training (its lock is held): '
                   f'its checkpoint is not loaded; {what} use briefly trained networks '
                   'instead. Rerun the report when the run has finished.</p>') + figs[key]  # fmt: skip
  numbers['figures'] = fig_summary
  sections.append(('Energy: operations and pJ per example', figs['energy']))
  sections.append(('[StochEP] Fig. 3: membrane stability of StochEP and the LIF baselines',
                   figs['fig3']))  # fmt: skip
  sections.append(('[StochEP] Fig. 4: spike rasters and firing density against κ', figs['fig4']))
  sections.append(('[StochEP] Fig. 5: the output error signal against N_perclass', figs['fig5']))
  pool, numbers['pooling'] = pooling_section(runs, workdir)
  sections.append(('[Lin24] Fig. 2: activation imbalance of max and average pooling', pool))
  for number, title, stop in (
    ('4.6', 'Event input (as recorded in BUILD_NOTES.md §4.6)', None),
    ('4.7', 'Phase lengths and batch size of the conv net (as recorded in BUILD_NOTES.md §4.7)', '**The full run**'),
  ):  # fmt: skip
    sections.append((title, f'<p class="note">Quoted verbatim from BUILD_NOTES.md §{number}; '
                     'not recomputed by this report.</p><div class="quote">'
                     + markdown(notes_section(number, stop)) + '</div>'))  # fmt: skip
  prov = table(['run', 'what', 'folder', 'source', 'command'], [
    [n, e['what'], e['path'], ('reused' if e['reused'] else 'made here')
     + (f'; {e["note"]}' if e['note'] else ''), e['command']] for n, e in runs.entries.items()])  # fmt: skip
  gemm = (f'; GEMM peak {mach["gemm_peak_gflops"]:.0f} GFLOP/s float32, '
          f'{mach["gemm_peak_gflops_bf16"] or 0:.0f} bf16 (from {esc(mach["benchmark"])})'
          if mach.get('gemm_peak_gflops') else
          '; no GEMM peak (pass --benchmark_json=&lt;benchmark.py output&gt;)')  # fmt: skip
  me = (f'<p><b>Made</b> {esc(mach["date_utc"])} on {esc(mach.get("cpu_model", "?"))}, '
        f'{mach["cores"]} cores; accelerators: {esc(", ".join(mach["accelerators"]))}{gemm}; '
        f'Python {esc(mach["python"])}, JAX {esc(mach["jax"])}'
        f'{"; <b>smoke run</b>: tiny networks on synthetic images, the numbers mean nothing" if smoke else ""}'
        f'.</p><p>This page: </p>' + code(command('report', *(argv or [f'--workdir={workdir}'])))
        + '<details><summary>Every run this page reads</summary>' + prov + '</details>')  # fmt: skip
  text = page(sections, me)
  out = os.path.join(workdir, 'report.html')
  with open(out + '.tmp', 'w') as f:
    f.write(text)
  os.replace(out + '.tmp', out)
  png = os.path.join(workdir, 'report.png')
  if os.path.exists(png):
    os.remove(png)
  shot = screenshot(out, png)
  print(f'wrote {png}' if shot else 'no chromium: no screenshot (apt-get install chromium)')
  numbers['wall_seconds'] = time.time() - start
  launch.write_json(os.path.join(workdir, 'report.json'), numbers)
  print(f'wrote {out} ({len(text) / 2**20:.1f} MiB) in {numbers["wall_seconds"]:.0f}s')
  return numbers


def _gradcheck(runs: Runs, name: str, given: str, config_arg: str) -> str:
  if given:
    g = launch.read_json(os.path.join(given, 'gradcheck.json'), 'written by gradcheck.py')
    st = g['settings']
    variant = [{'prototypical': 'crnn', 'stochastic': 'stochep'}.get(st['setting'], '')]
    variant += ['one_sided'] if st.get('nudging') == 'one_sided' else []
    variant += ['3fc'] if st.get('architecture', '').count('-') == 4 else []
    variant += ['smoke'] if st.get('architecture') == '20-16-5' else []
    variant = ','.join(v for v in variant if v)
    arg = f'{GRADCHECK_CONFIG}:{variant}' if variant else GRADCHECK_CONFIG
    runs.add(name, 'GDU check', given, command('gradcheck', f'--config={arg}', f'--workdir={given}'),
             True, 'the config variant as its settings record; other overrides not shown')  # fmt: skip
    return given
  path = os.path.join(runs.root, name)
  args = [f'--config={config_arg}', f'--workdir={path}']
  runs.add(name, 'GDU check', path, run_launcher('gradcheck', args, runs.logs, name), False)
  return path


def _list(v) -> str:
  return ','.join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)


def memory_args(j: dict) -> list[str]:
  """memory.py's flags from its memory.json."""
  st = j['settings']
  args = [f'--architectures={_list(list(j["results"]))}', f'--ts={_list(st["ts"])}']
  args += [f'--methods={_list(list(st["methods"]))}']
  return args + [f'--{k}={st[k]}' for k in ('batch_size', 't_nudge', 'k_avg', 'chunk') if k in st]


def pooling_args(j: dict) -> list[str]:
  """pooling_imbalance.py's flags from its JSON."""
  ep = [] if 'ep_cosine' in j.get('avg', {}).get('mean', {}) else ['--noep']
  return [f'--{k}={_list(v)}' for k, v in j['settings'].items()] + ep


def _pairs(values) -> dict:
  names = [n for n in (*TABLE2, *CONV_TABLE2) if n != 'stochep_ep']
  out = {}
  for v in values:
    name, sep, path = v.partition('=')
    if not sep or name not in names:
      raise launch.LaunchError(
        f'flag --table2_workdirs: {v!r}: must be NAME=DIR with NAME one of {", ".join(names)}'
      )
    out[name] = path
  return out


def check_run_folder(flag: str, path: str) -> None:
  """``launch.check_run_folder``, its message naming ``--flag``."""
  try:
    launch.check_run_folder(path)
  except launch.LaunchError as e:
    raise launch.LaunchError(str(e).replace('flag --workdir=', f'flag --{flag}=')) from None


def main(argv):
  del argv
  launch.check_output_folder(FLAGS.workdir)
  table2 = _pairs(FLAGS.table2_workdirs)
  launch.config_file(FLAGS.conv_config, 'conv_config')  # before anything runs
  for flag in ('demo_workdir', 'conv_workdir'):
    if FLAGS[flag].value:
      check_run_folder(flag, FLAGS[flag].value)
  for path in table2.values():
    check_run_folder('table2_workdirs', path)
  if FLAGS.benchmark_json:
    launch.read_json(FLAGS.benchmark_json, 'written by experiments/benchmark.py')
  run(
    FLAGS.workdir, FLAGS.smoke, demo_workdir=FLAGS.demo_workdir, conv_workdir=FLAGS.conv_workdir,
    conv_config=FLAGS.conv_config,
    backprop_workdir=FLAGS.backprop_workdir, backprop_cnn_workdir=FLAGS.backprop_cnn_workdir,
    table2_workdirs=table2, gradcheck_workdirs=FLAGS.gradcheck_workdirs,
    memory_workdir=FLAGS.memory_workdir, pooling_workdir=FLAGS.pooling_workdir,
    benchmark_json=FLAGS.benchmark_json, data_dir=FLAGS.data_dir, epochs=FLAGS.epochs,
    conv_epochs=FLAGS.conv_epochs, train_subset=FLAGS.train_subset,
    fig_train_steps=FLAGS.fig_train_steps, conv_train_steps=FLAGS.conv_train_steps,
    gradcheck_variants=FLAGS.gradcheck_variants, memory_flags=FLAGS.memory_flags,
    pooling_flags=FLAGS.pooling_flags, argv=sys.argv[1:],
  )  # fmt: skip


if __name__ == '__main__':
  define_flags()
  launch.run(main)
