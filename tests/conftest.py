"""Test-session settings.

Identical programs (the same train step in a resumed run, the same small nets in
several tests) are compiled once: JAX's persistent compilation cache is kept in
``.pytest_cache/jax`` (override with ``JAX_COMPILATION_CACHE_DIR``).
"""

import os

import jax

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
jax.config.update(
  'jax_compilation_cache_dir',
  os.environ.get('JAX_COMPILATION_CACHE_DIR', os.path.join(_ROOT, '.pytest_cache', 'jax')),
)
jax.config.update('jax_persistent_cache_min_compile_time_secs', 0.5)
