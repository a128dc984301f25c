"""The machine, its devices and versions, whether the bundle's packages import, and a small
dataset prepared through the tfds builders.

python -m gpu_kit.env --out=env.json
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

from absl import app, flags

FLAGS = flags.FLAGS


def define_flags() -> None:
  """The launcher's flags (defined only when it runs, so that the kit's modules import together)."""
  flags.DEFINE_string('out', '', 'JSON output file (default: standard output).')


# Modules the project needs from the bundle (or the image): name -> distribution for a version.
IMPORTS = {
  'tensorflow_datasets': 'tensorflow-datasets',
  'array_record': 'array_record',
  'ml_collections': 'ml_collections',
  'tensorboardX': 'tensorboardX',
  'google.protobuf': 'protobuf',
  'tensorflow_datasets.proto': None,  # the generated protos the data loader parses with
  'tensorflow_metadata.proto.v0.schema_pb2': None,
  'stochep_jax.data.builders': None,  # the tfds builders (imports tfds)
  'stochep_jax.experiment': None,  # orbax, ml_collections, the launcher's code path
}
NVIDIA_SMI = (
  'nvidia-smi',
  '--query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem,power.limit',
  '--format=csv,noheader',
)


def check_imports(names=IMPORTS) -> dict[str, dict]:
  """``{module: {'ok', 'version' or 'error', 'file'}}`` for each module name."""
  import importlib.metadata  # noqa: PLC0415

  out = {}
  for module, dist in names.items():
    try:
      mod = importlib.import_module(module)
      entry = {'ok': True, 'file': getattr(mod, '__file__', None)}
      if dist:
        entry['version'] = importlib.metadata.version(dist)
    except Exception as e:  # noqa: BLE001 - reported, not raised
      entry = {'ok': False, 'error': f'{type(e).__name__}: {e}'}
    out[module] = entry
  return out


def dataset_check() -> dict:
  """Prepares and loads a small synthetic Fashion-MNIST through the tfds builders (the path
  the launcher takes), in a temporary folder."""
  import tempfile  # noqa: PLC0415
  import time  # noqa: PLC0415

  try:
    from stochep_jax import data  # noqa: PLC0415

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
      data.write_synthetic_idx(f'{tmp}/idx', 128, 32, seed=0)
      x, y = data.load_arrays('fashion_mnist', 'train', f'{tmp}/idx', f'{tmp}/tfds')
    return {'ok': True, 'shape': list(x.shape), 'seconds': time.perf_counter() - start}
  except Exception as e:  # noqa: BLE001 - reported, not raised
    return {'ok': False, 'error': f'{type(e).__name__}: {e}'}


def nvidia_smi() -> str | None:
  try:
    return subprocess.run(
      NVIDIA_SMI, capture_output=True, text=True, timeout=30, check=True
    ).stdout.strip()
  except (OSError, subprocess.SubprocessError):
    return None


def describe() -> dict:
  import jax  # noqa: PLC0415
  import jaxlib  # noqa: PLC0415
  import numpy as np  # noqa: PLC0415

  devices = jax.devices()
  stats = None
  try:
    stats = devices[0].memory_stats()
  except Exception:  # noqa: BLE001 - not every backend has them
    pass
  return {
    'python': sys.version.split()[0],
    'executable': sys.executable,
    'platform': platform.platform(),
    'cpu_count': os.cpu_count(),
    'jax': jax.__version__,
    'jaxlib': jaxlib.__version__,
    'numpy': np.__version__,
    'backend': jax.default_backend(),
    'device_count': len(devices),
    'devices': [
      {'str': str(d), 'platform': d.platform, 'device_kind': d.device_kind} for d in devices
    ],
    'device_name': devices[0].device_kind,
    'memory_bytes_limit': (stats or {}).get('bytes_limit'),
    'nvidia_smi': nvidia_smi(),
    'pythonpath': os.environ.get('PYTHONPATH', ''),
    'xla_flags': os.environ.get('XLA_FLAGS', ''),
    'imports': check_imports(),
    'tfds_dataset': dataset_check(),
  }


def main(argv):
  if len(argv) > 1:
    raise app.UsageError('Too many command-line arguments.')
  report = describe()
  text = json.dumps(report, indent=1)
  if FLAGS.out:
    with open(FLAGS.out, 'w') as f:
      f.write(text)
  else:
    print(text)
  failed = [m for m, e in report['imports'].items() if not e['ok']]
  failed += ['tfds_dataset'] if not report['tfds_dataset']['ok'] else []
  if failed:
    sys.exit(f'imports failed: {", ".join(failed)}')


if __name__ == '__main__':
  from experiments import launch  # noqa: PLC0415

  define_flags()
  launch.run(main)
