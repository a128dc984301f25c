"""Shared start-up of the absl launchers in ``experiments/``.

``run(main)`` is ``absl.app.run(main)`` with these differences: INFO records
of orbax, tensorflow-datasets and etils are dropped (they log every file they
write), ``--help``/``--helpfull`` end with exit status 0 (absl uses 1), a
config override naming no field (``--config.ep.bta=1``) is one line, with the
suggestion ml_collections computes, instead of a traceback, and every bad flag
is one line ``error: ...`` with exit status 1:

* a flag's own check (``require``, ``integer``, ``number``, ``int_list``,
  ``one_of``: absl validators) fails while the flags are parsed, before
  ``main`` runs, so before any data is read or anything compiled;
* ``main`` raises ``LaunchError`` (``flag_errors()`` turns the ValueError of a
  library constructor built from flags into one) or ``read_json`` finds a
  missing or invalid file.

Result files are written by ``write_json``: strict JSON (non-finite numbers
become null), atomically (``workdir.write_json``).
"""

from __future__ import annotations

import contextlib
import json
import logging as py_logging
import math
import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

from absl import app, flags, logging

_HELP_FLAGS = ('-h', '-?', '--help', '--helpshort', '--helpfull', '--helpxml')
_QUIET = ('orbax', 'tensorflow_datasets', 'etils')


class QuietLibraries:
  """A logging filter that keeps warnings but drops the INFO records of noisy libraries."""

  def filter(self, record) -> bool:
    return record.levelno > py_logging.INFO or not any(
      f'/{lib}/' in record.pathname for lib in _QUIET
    )


class LaunchError(Exception):
  """A bad flag or input file: the launcher prints ``error: <message>`` and exits with 1."""


def require(name: str, check: Callable[[Any], bool], expected: str) -> None:
  """``--name`` must pass ``check`` (a flag left at None is not checked), else
  ``error: flag --name=<value>: must be <expected>`` before ``main`` runs."""

  def ok(value) -> bool:
    if value is None:
      return True
    try:
      return bool(check(value))
    except (TypeError, ValueError):
      return False

  flags.register_validator(name, ok, message=f'must be {expected}')


def _is_int(v) -> bool:
  try:
    int(v)
  except (TypeError, ValueError):
    return False
  return not isinstance(v, (bool, float))


def ints_ok(values) -> bool:
  """Whether every entry of a list flag is an integer (for multi-flag checks)."""
  return all(_is_int(v) for v in values)


def integer(name: str, lo: int | None = None, hi: int | None = None) -> None:
  """An integer flag in [lo, hi]."""
  where = f' in [{lo}, {hi}]' if lo is not None and hi is not None else f' >= {lo}'
  require(
    name,
    lambda v: (lo is None or v >= lo) and (hi is None or v <= hi),
    f'an integer{where if lo is not None else ""}',
  )


def number(name: str, lo: float | None = None, hi: float | None = None, *, strict=False) -> None:
  """A finite float flag, > lo (``strict``) or >= lo, and <= hi."""
  where = '' if lo is None else (f' > {lo:g}' if strict else f' >= {lo:g}')
  where += '' if hi is None else f' and <= {hi:g}'
  require(
    name,
    lambda v: (
      math.isfinite(v)
      and (lo is None or (v > lo if strict else v >= lo))
      and (hi is None or v <= hi)
    ),
    f'a finite number{where}',
  )


def int_list(name: str, lo: int = 1, *, allow_empty: bool = False) -> None:
  """A comma-separated list flag of integers >= lo."""
  require(
    name,
    lambda v: (allow_empty or len(v) > 0) and all(_is_int(u) and int(u) >= lo for u in v),
    f'a {"" if allow_empty else "non-empty "}comma-separated list of integers >= {lo}',
  )


def one_of(name: str, choices: Sequence[str]) -> None:
  """A list flag whose every entry is one of ``choices``."""
  require(
    name,
    lambda v: len(v) > 0 and all(u in choices for u in v),
    f'a non-empty comma-separated list of {", ".join(choices)}',
  )


@contextlib.contextmanager
def flag_errors(what: str = ''):
  """Turns a ValueError/TypeError raised inside (a constructor given flag values) into a
  ``LaunchError`` (``what: message``)."""
  try:
    yield
  except (ValueError, TypeError) as e:
    message = ' '.join(str(e).split())
    raise LaunchError(f'{what}: {message}' if what else message) from None


def read_json(path: str, what: str = '') -> Any:
  """The JSON in ``path``; a missing, unreadable or invalid file is a ``LaunchError`` naming it."""
  try:
    with open(path) as f:
      return json.load(f)
  except FileNotFoundError:
    raise LaunchError(f'{path}: no such file{f" ({what})" if what else ""}') from None
  except (OSError, UnicodeDecodeError) as e:
    raise LaunchError(f'{path}: cannot read it ({e.__class__.__name__}: {e})') from None
  except json.JSONDecodeError as e:
    raise LaunchError(f'{path}: not valid JSON ({e}); is it truncated?') from None


def config_file(path: str, flag: str = '') -> str:
  """The full path of a config file (a relative ``path`` is from the repository root); a
  missing file is a ``LaunchError`` (naming ``--flag`` when given). Imports nothing."""
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  full = path if os.path.isabs(path) else os.path.join(root, path)
  if not os.path.isfile(full):
    raise LaunchError(f'{f"flag --{flag}={path}" if flag else path}: no such config file')
  return full


def load_config(path: str, variant: str | None = None, flag: str = ''):
  """``get_config(variant)`` of the config file ``config_file(path, flag)``, as
  ``--config=path[:variant]`` builds it."""
  import importlib.util  # noqa: PLC0415

  full = config_file(path, flag)
  name = os.path.splitext(os.path.basename(full))[0]
  spec = importlib.util.spec_from_file_location(f'_config_{name}', full)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(variant or None)


def check_run_folder(workdir: str) -> None:
  """A ``train.py`` work folder: its ``metrics.json`` is valid JSON that records a config."""
  if not os.path.isdir(workdir):
    raise LaunchError(f'flag --workdir={workdir}: no such folder')
  path = os.path.join(workdir, 'metrics.json')
  metrics = read_json(path, 'written by experiments/train.py')
  if not isinstance(metrics, dict) or not isinstance(metrics.get('config'), dict):
    raise LaunchError(f'{path}: records no config (not a train.py run folder?)')


def load_trained(workdir: str):
  """``workdir.load_trained(workdir)`` after ``check_run_folder``; no checkpoint, or a
  recorded config the library refuses, is a ``LaunchError``."""
  from stochep_jax import workdir as workdir_lib  # noqa: PLC0415  (imports JAX: not at --help)

  check_run_folder(workdir)
  try:
    return workdir_lib.load_trained(workdir)
  except FileNotFoundError as e:
    raise LaunchError(str(e)) from None
  except (ValueError, TypeError, KeyError) as e:
    message = ' '.join(str(e).split())
    raise LaunchError(f'{workdir}/metrics.json: its config cannot be rebuilt: {message}') from None


def check_output_folder(folder: str, flag: str = 'workdir') -> None:
  """``folder`` is a local path, exists or can be created, and is writable (checked before
  any work)."""
  if re.match(r'^[A-Za-z][A-Za-z0-9+.-]*://', folder):
    raise LaunchError(f'flag --{flag}={folder}: a URL; use a local or mounted (POSIX) path')
  try:
    os.makedirs(folder, exist_ok=True)
  except OSError as e:
    raise LaunchError(f'flag --{flag}={folder}: cannot create it ({e.strerror})') from None
  if not os.access(folder, os.W_OK):
    raise LaunchError(f'flag --{flag}={folder}: not writable')


def write_json(path: str, obj: Any) -> None:
  """Writes strict JSON atomically (``workdir.write_json``), creating the folder."""
  from stochep_jax import workdir

  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  workdir.write_json(path, obj)


def _user_errors() -> tuple[type[BaseException], ...]:
  """The errors that are the user's (one line, no traceback): ``LaunchError``, a bad config
  (``validate.ConfigError``) and missing or damaged dataset files, where loaded."""
  errors: list[type[BaseException]] = [LaunchError]
  data = sys.modules.get('stochep_jax.data')
  if data is not None:
    errors += [data.MissingDatasetError, data.OriginalFileError, data.CacheError]
  validate = sys.modules.get('stochep_jax.validate')
  if validate is not None:
    errors.append(validate.ConfigError)
  return tuple(errors)


def _parse_flags(argv):
  """absl's parser; a bad flag or a config override of an unknown field is a one-line error."""
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    sys.exit(f'error: {" ".join(str(e).split())}')
  except (AttributeError, KeyError) as e:
    text = str(e.args[0] if e.args else e).strip('\'"').replace('\\n', '\n').replace("\\'", "'")
    lines = [ln.strip().strip('\'"') for ln in text.splitlines() if ln.strip()]
    field = lines[0] if lines else '?'
    hint = f' ({lines[1][0].lower()}{lines[1][1:]})' if len(lines) > 1 else ''
    flag = next(
      (a.split('=')[0] for a in argv[1:] if a.startswith('--config.') and field in a), '--config'
    )
    sys.exit(f'error: {flag}: the config has no field {field!r}{hint}')


def _multi_host(f) -> bool:
  """The multi-process flags go together (see ``shared_flag_checks``)."""
  n, i, address = f['num_processes'], f['process_id'], f['coordinator_address']
  if address:
    return n is not None and i is not None and n >= 1 and 0 <= i < n
  if n is not None or i is not None:  # without an address only cluster auto-detection uses them
    return bool(f.get('distributed')) and (n is None or n >= 1)
  return True


def shared_flag_checks() -> None:
  """Checks of the start-up flags several launchers share, for those a launcher defines:
  ``--cpu_devices`` >= 0, and ``--coordinator_address``, ``--num_processes`` and
  ``--process_id`` given together (process_id in [0, num_processes)); without an address,
  num_processes and process_id need ``--distributed`` (cluster auto-detection)."""
  fv = flags.FLAGS
  if 'cpu_devices' in fv:
    integer('cpu_devices', 0)
  names = ['coordinator_address', 'num_processes', 'process_id']
  if all(n in fv for n in names):
    names += ['distributed'] if 'distributed' in fv else []
    flags.register_multi_flags_validator(
      names,
      _multi_host,
      message='--coordinator_address, --num_processes and --process_id go together '
      '(0 <= process_id < num_processes); without the address, --distributed',
    )


def run(main: Callable[[list[str]], None]) -> None:
  """Runs an absl ``main`` (see the module docstring)."""
  shared_flag_checks()

  def quiet_main(argv):
    logging.get_absl_handler().python_handler.addFilter(QuietLibraries())
    try:
      if len(argv) > 1:
        raise LaunchError(f'unexpected arguments: {" ".join(argv[1:])} (flags start with --)')
      return main(argv)
    except Exception as e:
      if isinstance(e, _user_errors()):
        sys.exit(f'error: {" ".join(str(e).split())}')
      raise

  try:
    app.run(quiet_main, flags_parser=_parse_flags)
  except SystemExit as e:
    if e.code == 1 and any(a.split('=')[0] in _HELP_FLAGS for a in sys.argv[1:]):
      sys.exit(0)
    raise
