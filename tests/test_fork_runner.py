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


if __name__ == '__main__':
  absltest.main()
