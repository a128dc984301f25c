"""Runs several Python scripts as ``python SCRIPT ARGS`` would, from one interpreter.

    python tests/_fork_runner.py CALLS.json RESULTS.json

The launcher tests start many short launcher processes (``--help``, bad flags) whose own work
takes milliseconds next to the second each spends importing JAX, flax, orbax and the library.
This runner imports JAX, the library and the scripts' modules once (``experiments.<name>``,
which defines no flag), then forks one child per call. The child changes to the call's folder,
sends its stdout and stderr to the call's files, sets ``sys.argv`` and ``sys.path[0]`` as the
interpreter does for a script, runs the script as ``__main__`` and exits with the status the
interpreter would give (``SystemExit``'s code, 1 after an uncaught exception's traceback). Its
shutdown is the interpreter's without the teardown of the modules (a third of a second with
JAX loaded): it joins the threads that are not daemons, runs the atexit handlers, flushes
stdout and stderr, then ``os._exit``. The runner forks before any JAX backend exists, so every
child initialises its own (JAX warns at a fork only after that). One difference from a fresh
interpreter: a module the runner preloaded is not imported again, so a file beside the script
that shadows it (a ``jax.py``) is not what the script gets.

CALLS.json: ``{"jobs": N, "calls": [{"script", "args", "cwd", "stdout", "stderr"}, ...]}``;
at most N children run at once. RESULTS.json gets the exit status of each call, in order.
"""

import atexit
import importlib
import json
import os
import runpy
import sys
import threading
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _preload(calls) -> None:
  """Imports JAX and the library (a launcher may import them only in ``main``), then each
  script's module under its package name (experiments/x.py: experiments.x)."""
  importlib.import_module('jax')
  importlib.import_module('stochep_jax')
  for call in calls:
    script = os.path.abspath(call['script'])
    package = os.path.basename(os.path.dirname(script))
    if os.path.dirname(os.path.dirname(script)) == ROOT and package == 'experiments':
      importlib.import_module(f'experiments.{os.path.splitext(os.path.basename(script))[0]}')


def _child(call) -> int:
  """Runs one call in this (forked) process; returns its exit status."""
  os.chdir(call['cwd'])
  for fd, path in ((1, call['stdout']), (2, call['stderr'])):
    out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(out, fd)
    os.close(out)
  sys.argv = [call['script'], *call['args']]
  sys.path[0] = os.path.dirname(os.path.abspath(call['script']))
  try:
    runpy.run_path(call['script'], run_name='__main__')
  except SystemExit as e:  # as the interpreter maps it: None 0, an int itself, else printed, 1
    if e.code is None or isinstance(e.code, int):
      return e.code or 0
    print(e.code, file=sys.stderr)
    return 1
  except BaseException:  # noqa: BLE001  (the interpreter prints any uncaught exception)
    traceback.print_exc()
    return 1
  return 0


def _exit(code: int) -> None:
  """Leaves this child as the interpreter would, less the teardown of the modules."""
  try:
    for thread in threading.enumerate():
      if thread is not threading.main_thread() and not thread.daemon:
        thread.join()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
  finally:
    os._exit(code)


def main(calls_path: str, results_path: str) -> int:
  with open(calls_path) as f:
    spec = json.load(f)
  calls, jobs = spec['calls'], max(1, int(spec.get('jobs', 1)))
  _preload(calls)
  status, running = [None] * len(calls), {}
  for i, call in enumerate(calls):
    while len(running) >= jobs:
      pid, code = os.wait()
      status[running.pop(pid)] = os.waitstatus_to_exitcode(code)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
      _exit(_child(call))
    running[pid] = i
  while running:
    pid, code = os.wait()
    status[running.pop(pid)] = os.waitstatus_to_exitcode(code)
  with open(results_path, 'w') as f:
    json.dump(status, f)
  return 0


if __name__ == '__main__':
  sys.exit(main(*sys.argv[1:]))
