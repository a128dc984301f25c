"""pytest plugin of the GPU kit (``pytest -p gpu_kit.pytest_plugin tests``).

* Registers the ``gpu`` marker (a test meaningful on a GPU; the kit runs every such test).
* With ``$GPU_KIT_TESTS`` set (comma-separated node ids or their prefixes, e.g.
  ``tests/test_conv.py`` or ``tests/test_conv.py::ConvTest``), keeps only the tests they name
  and those marked ``gpu``; the others are deselected.
* With ``$GPU_KIT_TEST_LOG`` set, appends one JSON line per finished test (node id, outcome,
  seconds) as it finishes, so a run stopped by a timeout still says what it did.
"""

from __future__ import annotations

import json
import os

TESTS_ENV = 'GPU_KIT_TESTS'
LOG_ENV = 'GPU_KIT_TEST_LOG'
_CONFIG = {}


def selected(nodeid: str, prefixes) -> bool:
  """Whether ``nodeid`` is one of ``prefixes`` or lies under one (``::`` or ``[`` follows)."""
  return any(
    nodeid == p or nodeid.startswith(p + '::') or nodeid.startswith(p + '[') for p in prefixes
  )


def pytest_configure(config):
  config.addinivalue_line('markers', 'gpu: meaningful on a GPU; the GPU kit (gpu_kit) runs it')
  _CONFIG['config'] = config


def pytest_collection_modifyitems(config, items):
  names = os.environ.get(TESTS_ENV)
  if names is None:
    return
  prefixes = [p.strip() for p in names.split(',') if p.strip()]
  keep, drop = [], []
  for item in items:
    wanted = selected(item.nodeid, prefixes) or item.get_closest_marker('gpu') is not None
    (keep if wanted else drop).append(item)
  if drop:
    config.hook.pytest_deselected(items=drop)
  items[:] = keep


def pytest_runtest_logreport(report):
  path = os.environ.get(LOG_ENV)
  config = _CONFIG.get('config')
  if not path or (config is not None and hasattr(config, 'workerinput')):
    return  # an xdist worker: the controller writes the line
  if report.when == 'call' or (report.when == 'setup' and report.outcome != 'passed'):
    outcome = report.outcome if report.when == 'call' else f'{report.outcome} (setup)'
    line = {'nodeid': report.nodeid, 'outcome': outcome, 'seconds': report.duration}
    if report.failed:
      line['message'] = str(report.longrepr)[-1500:]
    with open(path, 'a') as f:
      f.write(json.dumps(line) + '\n')
