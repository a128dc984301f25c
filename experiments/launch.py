"""Shared start-up of the absl launchers in ``experiments/``.

``run(main)`` is ``absl.app.run(main)`` with three differences: INFO records
of orbax, tensorflow-datasets and etils are dropped (they log every file they
write), ``--help``/``--helpfull`` end with exit status 0 (absl uses 1), and a
config override naming no field (``--config.ep.bta=1``) is one line, with the
suggestion ml_collections computes, instead of a traceback.
"""

from __future__ import annotations

import logging as py_logging
import sys
from collections.abc import Callable

from absl import app, logging

_HELP_FLAGS = ('-h', '-?', '--help', '--helpshort', '--helpfull', '--helpxml')
_QUIET = ('orbax', 'tensorflow_datasets', 'etils')


class QuietLibraries:
  """A logging filter that keeps warnings but drops the INFO records of noisy libraries."""

  def filter(self, record) -> bool:
    return record.levelno > py_logging.INFO or not any(
      f'/{lib}/' in record.pathname for lib in _QUIET
    )


def _parse_flags(argv):
  """absl's parser; a config override of an unknown field becomes a one-line error."""
  try:
    return app.parse_flags_with_usage(argv)
  except (AttributeError, KeyError) as e:
    text = str(e.args[0] if e.args else e).strip('\'"').replace('\\n', '\n').replace("\\'", "'")
    lines = [ln.strip().strip('\'"') for ln in text.splitlines() if ln.strip()]
    field = lines[0] if lines else '?'
    hint = f' ({lines[1][0].lower()}{lines[1][1:]})' if len(lines) > 1 else ''
    flag = next(
      (a.split('=')[0] for a in argv[1:] if a.startswith('--config.') and field in a), '--config'
    )
    sys.exit(f'error: {flag}: the config has no field {field!r}{hint}')


def run(main: Callable[[list[str]], None]) -> None:
  """Runs an absl ``main`` (see the module docstring)."""

  def quiet_main(argv):
    logging.get_absl_handler().python_handler.addFilter(QuietLibraries())
    return main(argv)

  try:
    app.run(quiet_main, flags_parser=_parse_flags)
  except SystemExit as e:
    if e.code == 1 and any(a.split('=')[0] in _HELP_FLAGS for a in sys.argv[1:]):
      sys.exit(0)
    raise
