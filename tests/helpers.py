"""Helpers shared by the test modules: configs and launchers imported as modules, and launcher
processes forked from a server that imported their libraries once (``tests/_fork_runner.py``)."""

import atexit
import contextlib
import importlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile


def load_config(name: str = 'fashion_mnist', arg: str | None = None):
  """``experiments/configs/<name>.py``'s ``get_config(arg)``."""
  return importlib.import_module(f'experiments.configs.{name}').get_config(arg)


def launcher(name: str):
  """The launcher module ``experiments/<name>.py`` (its flags are defined where it says)."""
  return importlib.import_module(f'experiments.{name}')


def cpu_env(devices: int | None = None) -> dict:
  """This process's environment for a child on the CPU backend with ``devices`` forced CPU
  devices (None: no forced count); XLA_FLAGS's other flags (conftest's FAST_COMPILE) are kept."""
  xla = [f for f in os.environ.get('XLA_FLAGS', '').split() if 'device_count' not in f]
  if devices is not None:
    xla.append(f'--xla_force_host_platform_device_count={devices}')
  env = dict(os.environ, JAX_PLATFORMS='cpu', XLA_FLAGS=' '.join(xla))
  if not xla:
    env.pop('XLA_FLAGS')
  return env


class _ScriptServer:
  """One ``tests/_fork_runner.py`` server, for one environment."""

  def __init__(self, env):
    read, self.write = os.pipe()
    self.replies = os.fdopen(read, 'r')
    self.proc = subprocess.Popen(
      [sys.executable, _RUNNER, str(self.write)],
      stdin=subprocess.PIPE,
      stdout=subprocess.DEVNULL,
      env=env,
      text=True,
      pass_fds=(self.write,),
      start_new_session=True,  # its own process group: a timeout kills it and its children
    )

  def request(self, spec, timeout):
    self.proc.stdin.write(json.dumps(spec) + '\n')
    self.proc.stdin.flush()
    ready, _, _ = select.select([self.replies], [], [], timeout)
    if not ready:
      self.close(kill=True)
      raise subprocess.TimeoutExpired([sys.executable, _RUNNER], timeout)
    line = self.replies.readline()
    if not line:
      self.close(kill=True)
      raise RuntimeError(f'{_RUNNER} ended (exit {self.proc.poll()}) before it replied')
    return json.loads(line)

  def close(self, kill=False):
    if kill:
      with contextlib.suppress(ProcessLookupError):
        os.killpg(self.proc.pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
      self.proc.stdin.close()
    self.proc.wait()
    self.replies.close()
    os.close(self.write)


_RUNNER = os.path.join(os.path.dirname(os.path.abspath(__file__)), '_fork_runner.py')
_SERVERS: dict = {}


@atexit.register
def _close_servers():
  for server in _SERVERS.values():
    server.close()
  _SERVERS.clear()


def _server_key(env) -> tuple:
  """Environments that differ only in pytest's per-test variable share a server."""
  return tuple(sorted((k, v) for k, v in env.items() if k != 'PYTEST_CURRENT_TEST'))


def _request(spec, env, timeout):
  env = dict(os.environ if env is None else env)
  key = _server_key(env)
  if key not in _SERVERS or _SERVERS[key].proc.poll() is not None:
    _SERVERS[key] = _ScriptServer(env)
  try:
    return _SERVERS[key].request(spec, timeout)
  except (subprocess.TimeoutExpired, RuntimeError):
    del _SERVERS[key]
    raise


def _call_spec(script, args, cwd, stdout: str, stderr: str | None) -> dict:
  """One call as ``tests/_fork_runner.py`` takes it (stderr None: into the stdout file)."""
  return dict(
    script=os.path.abspath(script), args=list(args), cwd=cwd or os.getcwd(), stdout=stdout,
    stderr=stderr,
  )  # fmt: skip


def run_scripts(calls, *, env=None, timeout: float = 300, jobs: int | None = None):
  """Runs each ``(script, args, cwd)`` as ``subprocess.run([python, script, *args], cwd=cwd,
  env=env, capture_output=True, text=True)`` would, and returns their ``CompletedProcess``es
  in order; but in children forked from one interpreter per environment that has JAX, the
  library and the launchers imported (``tests/_fork_runner.py``), at most ``jobs`` (default:
  the cores) at a time."""
  with tempfile.TemporaryDirectory() as tmp:
    spec = {'jobs': jobs or os.cpu_count() or 1, 'calls': []}
    for i, (script, args, cwd) in enumerate(calls):
      out, err = (os.path.join(tmp, f'{i}.{s}') for s in ('out', 'err'))
      spec['calls'].append(_call_spec(script, args, cwd, out, err))
    status = _request(spec, env, timeout)
    done = []
    for call, (script, args, _), code in zip(spec['calls'], calls, status, strict=True):
      with open(call['stdout']) as out, open(call['stderr']) as err:
        done.append(
          subprocess.CompletedProcess([sys.executable, script, *args], code, out.read(), err.read())
        )
    return done


def run_script(script, *args, cwd=None, env=None, timeout: float = 300, check: bool = False):
  """One call of :func:`run_scripts`: ``subprocess.run([python, script, *args], cwd=cwd,
  env=env, capture_output=True, text=True, check=check)`` as it runs it."""
  done = run_scripts([(script, args, cwd)], env=env, timeout=timeout)[0]
  if check:
    done.check_returncode()
  return done


def call(cmd, *, cwd=None, stdout=None, stderr=None, env=None, timeout: float = 600) -> int:
  """``subprocess.call(cmd, ...)`` for ``cmd = [sys.executable, script, *args]``, stdout a file
  and ``stderr=subprocess.STDOUT``, run as :func:`run_scripts` runs it."""
  python, script, *args = cmd
  if python != sys.executable or script.startswith('-') or not hasattr(stdout, 'name'):
    raise ValueError(f'helpers.call runs [sys.executable, script, ...] into a file, not {cmd}')
  if stderr != subprocess.STDOUT:
    raise ValueError('helpers.call: stderr must be subprocess.STDOUT')
  stdout.flush()
  spec = {'jobs': 1, 'calls': [_call_spec(script, args, cwd, stdout.name, None)]}  # err: into out
  return _request(spec, env, timeout)[0]
