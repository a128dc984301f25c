"""Shared start-up of the absl launchers in ``experiments/``.

``run(main)`` is ``absl.app.run(main)`` with two differences: INFO records of
orbax, tensorflow-datasets and etils are dropped (they log every file they
write), and ``--help``/``--helpfull`` end with exit status 0 (absl uses 1).
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


def run(main: Callable[[list[str]], None]) -> None:
  """Runs an absl ``main`` (see the module docstring)."""

  def quiet_main(argv):
    logging.get_absl_handler().python_handler.addFilter(QuietLibraries())
    return main(argv)

  try:
    app.run(quiet_main)
  except SystemExit as e:
    if e.code == 1 and any(a.split('=')[0] in _HELP_FLAGS for a in sys.argv[1:]):
      sys.exit(0)
    raise
