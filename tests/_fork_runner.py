"""A server that runs Python scripts as ``python SCRIPT ARGS`` would, forked from one interpreter.

    python tests/_fork_runner.py REPLY_FD      # requests on stdin, one JSON line each

The tests start many short launcher processes (``--help``, bad flags, small runs) whose own work
is often shorter than the two seconds each spends importing JAX, flax, orbax, tfds, matplotlib
and the library. This server imports those once (``PRELOAD``), and each script's module
(``experiments.<name>``, which defines no flag) the first time a request names it; then it forks
one child per call. The child reads nothing (stdin is /dev/null), changes to the call's folder,
sends its stdout and stderr to the call's files (stderr to the stdout file when it names none),
sets ``sys.argv`` and ``sys.path[0]`` as the interpreter does for a script, runs the script as
``__main__`` and exits with the status the interpreter would give (``SystemExit``'s code, 1
after an uncaught exception's traceback). Its shutdown is the interpreter's without the teardown
of the modules (a third of a second with JAX loaded): it joins the threads that are not daemons,
runs the atexit handlers, flushes stdout and stderr, then ``os._exit``.

The server never starts a JAX backend, so every child initialises its own (JAX warns at a fork
only after that) and each child starts from the same state, whatever the earlier ones did. One
difference from a fresh interpreter: a module the server imported is not imported again, so a
file beside the script that shadows it (a ``jax.py``) is not what the script gets. The
environment is the server's: a caller needing another one starts another server
(``helpers.run_scripts`` keeps one per environment).

A request: ``{"jobs": N, "calls": [{"script", "args", "cwd", "stdout", "stderr"}, ...]}``; at
most N children run at once. The reply, one JSON line on REPLY_FD: the exit status of each call,
in order. End of stdin ends the server.
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
# What a launcher run imports, some of it only in main or inside the library's functions (the
# data readers' tfds, the learning curves' pyplot): imported once, here. None starts a thread
# (numpy's OpenBLAS pool, started at its import, is fork-safe).
PRELOAD = (
  'jax', 'flax', 'optax', 'orbax.checkpoint', 'tensorflow_datasets', 'matplotlib.pyplot',
  'stochep_jax',
)  # fmt: skip


def _preload(calls) -> None:
  """Imports each script's module under its package name (experiments/x.py: experiments.x)."""
  for call in calls:
    script = os.path.abspath(call['script'])
    package = os.path.basename(os.path.dirname(script))
    if os.path.dirname(os.path.dirname(script)) == ROOT and package == 'experiments':
      importlib.import_module(f'experiments.{os.path.splitext(os.path.basename(script))[0]}')


def _child(call, reply_fd: int) -> int:
  """Runs one call in this (forked) process; returns its exit status."""
  os.close(reply_fd)
  os.chdir(call['cwd'])
  null = os.open(os.devnull, os.O_RDONLY)
  os.dup2(null, 0)
  os.close(null)
  for fd, path in ((1, call['stdout']), (2, call['stderr'] or call['stdout'])):
    out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(out, fd)
    os.close(out)
  # a new object on fd 0 (now /dev/null): the inherited one may hold buffered request lines
  sys.stdin = open(0, closefd=False)  # noqa: SIM115
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


def _run(calls, jobs: int, reply_fd: int) -> list:
  status, running = [None] * len(calls), {}

  def reap():
    pid, code = os.wait()
    status[running.pop(pid)] = os.waitstatus_to_exitcode(code)

  for i, call in enumerate(calls):
    while len(running) >= jobs:
      reap()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
      _exit(_child(call, reply_fd))
    running[pid] = i
  while running:
    reap()
  return status


def main(reply_fd: str) -> int:
  fd = int(reply_fd)
  for name in PRELOAD:
    importlib.import_module(name)
  for line in sys.stdin:
    request = json.loads(line)
    _preload(request['calls'])
    status = _run(request['calls'], max(1, int(request.get('jobs', 1))), fd)
    os.write(fd, (json.dumps(status) + '\n').encode())
  return 0


if __name__ == '__main__':
  sys.exit(main(*sys.argv[1:]))
