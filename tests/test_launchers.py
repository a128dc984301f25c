"""Every launcher in experiments/ is an absl program whose --help is fast and does no work."""

import glob
import os
import subprocess
import sys
import time

from absl.testing import absltest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Programs: every experiments/*.py with a __main__ block (not __init__.py, not launch.py's helpers).
LAUNCHERS = sorted(
  p for p in glob.glob(os.path.join(ROOT, 'experiments', '*.py')) if '__main__' in open(p).read()
)


class LauncherHelpTest(absltest.TestCase):
  def test_every_launcher_prints_help_quickly(self):
    self.assertGreaterEqual(len(LAUNCHERS), 10)
    started = {}
    for path in LAUNCHERS:  # all at once: the test costs one import of JAX per core
      started[path] = (
        time.perf_counter(),
        subprocess.Popen(
          [sys.executable, path, '--help'],
          stdout=subprocess.PIPE,
          stderr=subprocess.PIPE,
          text=True,
          cwd=self.create_tempdir().full_path,  # nothing written where it runs
        ),
      )
    for path, (t0, proc) in started.items():
      out, err = proc.communicate(timeout=120)
      name = os.path.basename(path)
      self.assertEqual(proc.returncode, 0, f'{name} --help failed: {err[-500:]}')
      self.assertIn(name, out + err, f'{name} --help printed no usage')
      self.assertNotIn('Traceback', err)
    # Sequential timing of one launcher: the contract's 10 s bound, on a loaded machine.
    t0 = time.perf_counter()
    subprocess.run([sys.executable, LAUNCHERS[0], '--help'], capture_output=True, check=True)
    self.assertLess(time.perf_counter() - t0, 10.0)

  def test_train_help_says_how_to_list_the_config_fields(self):
    out = subprocess.run(
      [sys.executable, os.path.join(ROOT, 'experiments', 'train.py'), '--help'],
      capture_output=True,
      text=True,
      check=True,
    ).stdout
    self.assertIn('--print_config', out)
    self.assertIn('--[no]allow_config_change', out)  # a boolean flag, as absl lists it


if __name__ == '__main__':
  absltest.main()
