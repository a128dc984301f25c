"""Helpers shared by the test modules (configs and launchers imported as modules)."""

import importlib
import json
import os
import subprocess
import sys
import tempfile


def load_config(name: str = 'fashion_mnist', arg: str | None = None):
  """``experiments/configs/<name>.py``'s ``get_config(arg)``."""
  return importlib.import_module(f'experiments.configs.{name}').get_config(arg)


def launcher(name: str):
  """The launcher module ``experiments/<name>.py`` (its flags are defined where it says)."""
  return importlib.import_module(f'experiments.{name}')


def run_scripts(calls, *, env=None, timeout: float = 300, jobs: int | None = None):
  """Runs each ``(script, args, cwd)`` as ``subprocess.run([python, script, *args], cwd=cwd,
  env=env, capture_output=True, text=True)`` would, and returns their ``CompletedProcess``es
  in order; but in children forked from one interpreter that imported the scripts' modules
  once (``tests/_fork_runner.py``), at most ``jobs`` (default: the cores) at a time."""
  with tempfile.TemporaryDirectory() as tmp:
    spec = {'jobs': jobs or os.cpu_count() or 1, 'calls': []}
    for i, (script, args, cwd) in enumerate(calls):
      out, err = (os.path.join(tmp, f'{i}.{s}') for s in ('out', 'err'))
      spec['calls'].append(dict(script=script, args=list(args), cwd=cwd, stdout=out, stderr=err))
    with open(os.path.join(tmp, 'calls.json'), 'w') as f:
      json.dump(spec, f)
    runner = os.path.join(os.path.dirname(os.path.abspath(__file__)), '_fork_runner.py')
    results = os.path.join(tmp, 'results.json')
    subprocess.run(
      [sys.executable, runner, os.path.join(tmp, 'calls.json'), results],
      check=True,
      env=env,
      timeout=timeout,
    )
    with open(results) as f:
      status = json.load(f)
    done = []
    for call, (script, args, _), code in zip(spec['calls'], calls, status, strict=True):
      with open(call['stdout']) as out, open(call['stderr']) as err:
        done.append(
          subprocess.CompletedProcess([sys.executable, script, *args], code, out.read(), err.read())
        )
    return done
