"""tests/_fork_runner.py (helpers.run_scripts): a script run from the forked interpreter ends as
``python SCRIPT ARGS`` does, with the same exit status, stdout and stderr."""

import os
import subprocess
import sys
import textwrap

import helpers
from absl.testing import absltest

SCRIPTS = {
  # argv, the folder, the script's own folder first on sys.path, output left unflushed
  'where': """
    import os, sys
    sys.stdout.write(repr((sys.argv, os.getcwd(), sys.path[0])))
    sys.stderr.write('to stderr')
  """,
  'status': 'import sys; print("before"); sys.exit(3)',
  'message': 'import sys; sys.exit("bad input: x")',  # printed to stderr, status 1
  'none': 'raise SystemExit(None)',
  'raises': 'def f():\n  raise ValueError("boom")\nf()',
  # atexit handlers run; a thread that is not a daemon is waited for
  'shutdown': """
    import atexit, threading, time
    atexit.register(lambda: print('atexit ran', flush=True))
    def late():
      time.sleep(0.3)
      print('thread done', flush=True)
    threading.Thread(target=late).start()
  """,
  # JAX works in the child: its backend starts there, not in the forking interpreter
  'uses_jax': 'import jax.numpy as jnp; print(float(jnp.arange(4.0).sum()))',
}


class RunScriptsTest(absltest.TestCase):
  def test_each_script_ends_as_its_own_interpreter_would(self):
    folder = self.create_tempdir().full_path
    calls = []
    for name, body in SCRIPTS.items():
      path = os.path.join(folder, f'{name}.py')
      with open(path, 'w') as f:
        f.write(textwrap.dedent(body))
      cwd = self.create_tempdir().full_path
      calls.append((path, ['--flag=1', 'word'], cwd))
    env = dict(os.environ, JAX_PLATFORMS='cpu')
    forked = helpers.run_scripts(calls, env=env, jobs=2)
    for (name, _), (path, args, cwd), got in zip(SCRIPTS.items(), calls, forked, strict=True):
      want = subprocess.run(
        [sys.executable, path, *args], cwd=cwd, env=env, capture_output=True, text=True
      )
      with self.subTest(name):
        self.assertEqual(got.returncode, want.returncode)
        self.assertEqual(got.stdout, want.stdout)
        if name == 'raises':  # the traceback also lists the runner's frames: the same last line
          self.assertIn('Traceback', got.stderr)
          self.assertEqual(got.stderr.splitlines()[-1], want.stderr.splitlines()[-1])
        else:
          self.assertEqual(got.stderr, want.stderr)
    by_name = dict(zip(SCRIPTS, forked, strict=True))
    self.assertEqual(
      [by_name[n].returncode for n in ('where', 'status', 'message', 'none', 'raises')],
      [0, 3, 1, 0, 1],
    )
    self.assertEqual(by_name['message'].stderr, 'bad input: x\n')
    self.assertEqual(by_name['shutdown'].stdout, 'thread done\natexit ran\n')
    self.assertEqual(by_name['uses_jax'].stdout, '6.0\n')
    argv, cwd, first = eval(by_name['where'].stdout)  # noqa: S307  (our own repr)
    self.assertEqual((argv, cwd, first), ([calls[0][0], '--flag=1', 'word'], calls[0][2], folder))

  def test_each_call_starts_from_the_servers_state_and_a_timeout_kills_it(self):
    folder = self.create_tempdir().full_path
    script = os.path.join(folder, 'mutate.py')
    with open(script, 'w') as f:  # what one child changes, the next does not see
      f.write(
        'import os, jax, stochep_jax\n'
        "print(os.environ.get('MARK'), getattr(stochep_jax, 'mark', None), os.getpid())\n"
        "os.environ['MARK'] = stochep_jax.mark = 'set'\n"
        'jax.numpy.zeros(1)\n'
      )
    env = dict(os.environ, JAX_PLATFORMS='cpu')
    runs = [helpers.run_scripts([(script, [], folder)], env=env)[0] for _ in range(2)]
    runs += helpers.run_scripts([(script, [], folder)] * 2, env=env, jobs=1)
    seen = [r.stdout.split() for r in runs]
    self.assertEqual({tuple(s[:2]) for s in seen}, {('None', 'None')})
    self.assertLen({s[2] for s in seen}, 4)  # a process each
    server = helpers._SERVERS[helpers._server_key(env)].proc
    self.assertIsNone(server.poll())  # one server served all four
    # and the next test's (pytest changes PYTEST_CURRENT_TEST for each test)
    servers = dict(helpers._SERVERS)
    helpers.run_scripts([(script, [], folder)], env=dict(env, PYTEST_CURRENT_TEST='next'))
    self.assertEqual(helpers._SERVERS, servers)
    sleeper = os.path.join(folder, 'sleeper.py')
    with open(sleeper, 'w') as f:
      f.write('import time\ntime.sleep(60)\n')
    with self.assertRaises(subprocess.TimeoutExpired):
      helpers.run_scripts([(sleeper, [], folder)], env=env, timeout=1)
    self.assertIsNotNone(server.poll())  # killed with its child
    self.assertEqual(helpers.run_scripts([(script, [], folder)], env=env)[0].returncode, 0)

  def test_call_is_subprocess_call_into_a_file(self):
    folder = self.create_tempdir().full_path
    script = os.path.join(folder, 'both.py')
    with open(script, 'w') as f:
      f.write('import sys\nprint("out", flush=True)\nsys.exit("err")\n')
    logs = {}
    for name, call in (('helpers', helpers.call), ('subprocess', subprocess.call)):
      with open(os.path.join(folder, f'{name}.log'), 'w') as log:
        logs[name] = call(
          [sys.executable, script], cwd=folder, stdout=log, stderr=subprocess.STDOUT
        )
      logs[name] = (logs[name], open(log.name).read())
    self.assertEqual(logs['helpers'], logs['subprocess'])
    self.assertEqual(logs['helpers'], (1, 'out\nerr\n'))


if __name__ == '__main__':
  absltest.main()
