"""Test-session settings.

Identical programs (the same train step in a resumed run, the same small nets in
several tests, the same smoke run in several launcher subprocesses) are compiled once: JAX's
persistent compilation cache is kept in ``.pytest_cache/jax`` (override with
``JAX_COMPILATION_CACHE_DIR``), for the tests and the processes they start.

On a CPU-only machine, XLA compiles without LLVM's optimisations
(``FAST_COMPILE``, added to ``XLA_FLAGS`` and so to the launchers the tests start):
the tests' programs are small and many, so compiling them is most of the suite's
time; the HLO passes (and so the programs and their compiled memory) are unchanged. Set
``STOCHEP_TEST_FULL_OPT=1`` to compile as the launchers do.

absltest's flags are marked parsed (so ``create_tempdir`` works under pytest),
and every temporary file a test or a library makes (tfds writes ``tmp*``
folders) lands in pytest's own temporary folder, never in the system's.
"""

import importlib.metadata
import os
import tempfile

import jax
import pytest
from absl import flags
from absl.testing import absltest  # noqa: F401  (defines --test_tmpdir)

FAST_COMPILE = '--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true'


def _accelerator_plugin() -> bool:
  """Whether a JAX GPU/TPU plugin is installed (then XLA's defaults are kept)."""
  names = {(d.metadata['Name'] or '').lower() for d in importlib.metadata.distributions()}
  return any(
    n.startswith(('jax-cuda', 'jax_cuda', 'jax-rocm', 'jax_rocm', 'libtpu')) for n in names
  )


if not (os.environ.get('STOCHEP_TEST_FULL_OPT') or os.environ.get('GPU_KIT_TESTS')):
  if not _accelerator_plugin() and 'xla_backend_optimization_level' not in os.environ.get(
    'XLA_FLAGS', ''
  ):
    os.environ['XLA_FLAGS'] = f'{os.environ.get("XLA_FLAGS", "")} {FAST_COMPILE}'.strip()

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Set in the environment as well, so that the launchers the tests start as subprocesses (the
# report's smoke runs, the resumed runs, ...) share the cache: JAX reads both at import.
os.environ.setdefault('JAX_COMPILATION_CACHE_DIR', os.path.join(_ROOT, '.pytest_cache', 'jax'))
os.environ.setdefault('JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS', '0.5')
jax.config.update('jax_compilation_cache_dir', os.environ['JAX_COMPILATION_CACHE_DIR'])
jax.config.update(
  'jax_persistent_cache_min_compile_time_secs',
  float(os.environ['JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS']),
)
flags.FLAGS.mark_as_parsed()


@pytest.fixture(autouse=True, scope='session')
def _temporary_files_stay_inside(tmp_path_factory):
  """``tempfile`` (and so tfds and absltest) write under pytest's base temporary folder."""
  folder = str(tmp_path_factory.mktemp('tmp'))
  old = tempfile.tempdir
  os.environ['TMPDIR'] = folder
  tempfile.tempdir = folder
  flags.FLAGS.test_tmpdir = folder
  yield
  tempfile.tempdir = old


def pytest_configure(config):
  # gpu_kit/check.py runs these (besides its GPU_TESTS list) on a GPU machine.
  config.addinivalue_line('markers', 'gpu: meaningful on a GPU; the GPU kit (gpu_kit) runs it')


# The longest test classes (a class's setUpClass runs once per xdist worker that gets one of its
# tests), measured with `pytest --durations`: `make test` hands out whole classes
# (`--dist loadscope`) in collection order (`--no-loadscope-reorder`), these first, so that no
# long class starts last and leaves the other worker idle at the end.
LONG_FIRST = (
  'tests/test_report.py::ReportTest',
  'tests/test_parallel.py',
  'tests/test_packaging.py',
  'tests/test_launchers.py',
  'tests/test_memory.py',
  'tests/test_gdu.py',
  'tests/test_runs.py',
)


def pytest_collection_modifyitems(items):
  def rank(item):
    return next((i for i, p in enumerate(LONG_FIRST) if item.nodeid.startswith(p)), len(LONG_FIRST))

  items.sort(key=rank)  # stable: the rest keep their order
