"""Builds the GPU kit's bundle: wheels the GPU image lacks, the Fashion-MNIST files, a manifest.

    .venv/bin/python gpu_kit/prepare.py                      # download into gpu_kit/bundle
    .venv/bin/python gpu_kit/prepare.py --wheel_dir=DIR      # take the wheels from DIR instead

Layout of the bundle (git-ignored; carried to the GPU machine beside the working tree)::

    wheels/*.whl          installed there with pip --no-index --no-deps --target
    fallback/*.whl        protobuf, installed only if the image's protobuf cannot load
                          the bundle's generated protos (gpu_kit/run.sh checks)
    fashion-mnist/*.gz    the four original IDX files
    manifest.json         every file with its size, the totals and the size limit

Wheels: Python 3.12, CPython, manylinux x86-64 (``pip download --only-binary=:all:``); a
package published only as a source archive (promise) is built here into a pure-Python wheel.
Versions are those installed in the Python that runs this script (the tested combination),
else ``WHEELS``' defaults. The bundle and the working tree travel together and must stay under
``--limit_mib`` (64 MiB): the script fails otherwise.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from stochep_jax import data

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BUNDLE = ROOT / 'gpu_kit' / 'bundle'
FASHION_MNIST_DIR = data.DEFAULT_FASHION_MNIST_DIR
FASHION_MNIST_FILES = (
  'train-images-idx3-ubyte.gz',
  'train-labels-idx1-ubyte.gz',
  't10k-images-idx3-ubyte.gz',
  't10k-labels-idx1-ubyte.gz',
)
MIB = 2**20
LIMIT_MIB = 64.0

# (distribution, default version): what the GPU image lacks among the project's runtime needs.
# tensorflow-datasets' own requirements that the image has (absl-py, etils, numpy, protobuf,
# psutil, pyarrow, requests, tqdm, wrapt) are not bundled (KINDS.md's package list).
WHEELS = (
  ('tensorflow-datasets', '4.9.10'),
  ('array_record', '0.8.6'),
  ('ml_collections', '1.1.0'),
  ('tensorboardX', '2.6.5'),
  ('dm-tree', '0.1.10'),
  ('immutabledict', '4.3.1'),
  ('promise', '2.3'),
  ('simple-parsing', '0.1.9'),
  ('docstring-parser', '0.18.0'),
  ('tensorflow-metadata', '1.21.0'),
  ('googleapis-common-protos', '1.76.0'),
  ('termcolor', '3.3.0'),
  ('toml', '0.10.2'),
  ('importlib_resources', '7.1.0'),
)
# Installed on the GPU machine only when the image's protobuf is older than the bundle's
# generated code needs (tensorflow-metadata and googleapis-common-protos: protobuf >= 6.33).
FALLBACK = (('protobuf', '7.36.2'),)
# Published as a source archive only: built with ``pip wheel`` (pure Python).
SOURCE_ONLY = frozenset({'promise'})
PLATFORMS = (
  'manylinux_2_28_x86_64',
  'manylinux_2_27_x86_64',
  'manylinux_2_24_x86_64',
  'manylinux_2_17_x86_64',
  'manylinux2014_x86_64',
  'manylinux1_x86_64',
)


def normalize(name: str) -> str:
  """A distribution name as wheel file names spell it (PEP 427/503: ``-``/``.`` -> ``_``)."""
  return re.sub(r'[-_.]+', '_', name).lower()


def pinned(packages=WHEELS) -> list[tuple[str, str]]:
  """``packages`` with each version replaced by the installed one, where installed."""
  out = []
  for name, default in packages:
    try:
      version = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
      version = default
    out.append((name, version))
  return out


def find_wheel(folder: Path, name: str, version: str) -> Path | None:
  """The wheel of ``name==version`` in ``folder`` (None if absent)."""
  prefix = f'{normalize(name)}-{version}-'
  for path in sorted(folder.glob('*.whl')):
    if path.name.lower().startswith(prefix.lower()):
      return path
  return None


def _pip(*args: str) -> None:
  subprocess.run([sys.executable, '-m', 'pip', *args], check=True)


def download(name: str, version: str, dest: Path) -> Path:
  """Fetches the wheel of ``name==version`` for CPython 3.12 manylinux x86-64 into ``dest``."""
  with tempfile.TemporaryDirectory() as tmp:
    if name in SOURCE_ONLY:
      _pip('wheel', '-q', '--no-deps', '-w', tmp, f'{name}=={version}')
    else:
      platforms = [a for p in PLATFORMS for a in ('--platform', p)]
      _pip(
        'download',
        '-q',
        '--no-deps',
        '--only-binary=:all:',
        '--python-version',
        '3.12',
        '--implementation',
        'cp',
        *platforms,
        '-d',
        tmp,
        f'{name}=={version}',
      )
    wheel = find_wheel(Path(tmp), name, version)
    if wheel is None:
      raise RuntimeError(f'pip gave no wheel for {name}=={version}')
    return Path(shutil.copy2(wheel, dest / wheel.name))


def tree_bytes(root: Path = ROOT) -> int:
  """Bytes of the working tree that travels: tracked and untracked-not-ignored files."""
  try:
    names = subprocess.run(
      ['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
      cwd=root,
      check=True,
      capture_output=True,
    ).stdout.split(b'\0')
  except (OSError, subprocess.CalledProcessError):
    return 0
  total = 0
  for name in filter(None, names):
    path = root / os.fsdecode(name)
    if path.is_file() and not path.is_symlink():
      total += path.stat().st_size
  return total


def _entry(path: Path, bundle: Path, **extra) -> dict:
  return {'file': path.relative_to(bundle).as_posix(), 'bytes': path.stat().st_size, **extra}


def prepare(
  bundle: Path = DEFAULT_BUNDLE,
  *,
  wheel_dir: Path | None = None,
  fmnist_dir: str | None = FASHION_MNIST_DIR,
  packages=WHEELS,
  fallback=FALLBACK,
  limit_mib: float = LIMIT_MIB,
  tree: int | None = None,
) -> dict:
  """Fills ``bundle`` (emptied first) and returns the manifest it writes.

  Args:
    bundle: The bundle folder.
    wheel_dir: Take the wheels from this folder (no download); None: download them.
    fmnist_dir: Folder of the four Fashion-MNIST IDX files (None: none bundled).
    packages: ``(name, default version)`` of the wheels to bundle.
    fallback: likewise, for ``fallback/``.
    limit_mib: The most that bundle plus working tree may weigh.
    tree: Bytes of the working tree (None: measured with git).

  Raises:
    FileNotFoundError: A wheel missing from ``wheel_dir`` or a dataset file missing.
    RuntimeError: The bundle plus the working tree exceed ``limit_mib``.
  """
  bundle = Path(bundle)
  if bundle.exists():
    shutil.rmtree(bundle)
  manifest = {'wheels': [], 'fallback': [], 'fashion_mnist': []}
  for group, specs in (('wheels', packages), ('fallback', fallback)):
    dest = bundle / group
    dest.mkdir(parents=True)
    for name, version in pinned(specs):
      if wheel_dir is not None:
        src = find_wheel(Path(wheel_dir), name, version)
        if src is None:
          raise FileNotFoundError(f'no wheel of {name}=={version} in {wheel_dir}')
        path = Path(shutil.copy2(src, dest / src.name))
      else:
        path = download(name, version, dest)
      manifest[group].append(_entry(path, bundle, name=name, version=version))
      print(f'{group}/{path.name}: {path.stat().st_size / MIB:.2f} MiB', flush=True)
  if fmnist_dir is not None:
    dest = bundle / 'fashion-mnist'
    dest.mkdir()
    for name in FASHION_MNIST_FILES:
      src = Path(fmnist_dir) / name
      if not src.is_file():
        raise FileNotFoundError(
          f'{src} is missing: install the Debian package dataset-fashion-mnist or pass --fmnist_dir'
        )
      manifest['fashion_mnist'].append(_entry(Path(shutil.copy2(src, dest / name)), bundle))
  bundle_bytes = sum(e['bytes'] for group in manifest.values() for e in group)
  tree = tree_bytes() if tree is None else tree
  manifest.update(
    bundle_bytes=bundle_bytes,
    tree_bytes=tree,
    total_bytes=bundle_bytes + tree,
    limit_bytes=int(limit_mib * MIB),
    python=f'{sys.version_info.major}.{sys.version_info.minor}',
  )
  text = json.dumps(manifest, indent=1)
  (bundle / 'manifest.json').write_text(text)
  manifest['bundle_bytes'] += len(text)
  manifest['total_bytes'] += len(text)
  print(
    f'bundle {bundle}: {manifest["bundle_bytes"] / MIB:.2f} MiB; with the working tree '
    f'({tree / MIB:.2f} MiB) {manifest["total_bytes"] / MIB:.2f} MiB of {limit_mib:g} MiB',
    flush=True,
  )
  if manifest['total_bytes'] > manifest['limit_bytes']:
    raise RuntimeError(
      f'bundle plus working tree weigh {manifest["total_bytes"] / MIB:.2f} MiB, over the '
      f'{limit_mib:g} MiB that can travel to the GPU machine'
    )
  return manifest


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--bundle', default=str(DEFAULT_BUNDLE), help='the bundle folder (emptied)')
  parser.add_argument('--wheel_dir', default=None, help='take the wheels from here, no download')
  parser.add_argument('--fmnist_dir', default=FASHION_MNIST_DIR, help='Fashion-MNIST IDX files')
  parser.add_argument('--no_fmnist', action='store_true', help='bundle no Fashion-MNIST files')
  parser.add_argument('--limit_mib', type=float, default=LIMIT_MIB, help='bundle + tree limit')
  args = parser.parse_args(argv)
  try:
    prepare(
      Path(args.bundle),
      wheel_dir=Path(args.wheel_dir) if args.wheel_dir else None,
      fmnist_dir=None if args.no_fmnist else args.fmnist_dir,
      limit_mib=args.limit_mib,
    )
  except (FileNotFoundError, RuntimeError, subprocess.CalledProcessError) as e:
    sys.exit(f'error: {e}')


if __name__ == '__main__':
  main()
