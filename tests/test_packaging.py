"""The wheel installs the library only (``stochep_jax``), and the README's example runs from it.

The wheel is built offline from a copy of the sources (setuptools from this environment, no
build isolation), so the checkout gets no ``build/`` or ``*.egg-info``.
"""

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile

from absl.testing import absltest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build_wheel(tmp: str) -> str:
  """The path of a wheel built from a copy of the project's sources in ``tmp``."""
  src = os.path.join(tmp, 'src')
  shutil.copytree(
    os.path.join(ROOT, 'stochep_jax'),
    os.path.join(src, 'stochep_jax'),
    ignore=shutil.ignore_patterns('__pycache__'),
  )
  shutil.copytree(
    os.path.join(ROOT, 'experiments'),
    os.path.join(src, 'experiments'),
    ignore=shutil.ignore_patterns('__pycache__'),
  )  # present beside the library, as in a checkout: discovery must leave it out
  for name in ('pyproject.toml', 'README.md'):
    shutil.copy(os.path.join(ROOT, name), src)
  out = os.path.join(tmp, 'dist')
  subprocess.run(
    [sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '--no-index']
    + ['-q', '-w', out, src],
    check=True,
    capture_output=True,
    cwd=tmp,
  )
  (wheel,) = os.listdir(out)
  return os.path.join(out, wheel)


class WheelTest(absltest.TestCase):
  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.tmp = tempfile.mkdtemp()  # inside pytest's temporary folder (conftest)
    cls.wheel = build_wheel(cls.tmp)  # once: both tests only read it

  def test_wheel_holds_only_the_library(self):
    with zipfile.ZipFile(self.wheel) as z:
      names = z.namelist()
    top = {n.split('/')[0] for n in names if not n.split('/')[0].endswith('.dist-info')}
    self.assertEqual(top, {'stochep_jax'})
    self.assertIn('stochep_jax/data/__init__.py', names)  # subpackages too
    self.assertIn('stochep_jax/neurons/__init__.py', names)

  def test_readme_example_runs_from_the_installed_wheel(self):
    site = os.path.join(self.tmp, 'site')
    with zipfile.ZipFile(self.wheel) as z:
      z.extractall(site)  # a wheel's install is its unpacking into site-packages
    text = open(os.path.join(ROOT, 'README.md')).read()
    example = re.search(r'## Using the library\s+```python\n(.*?)```', text, re.S).group(1)
    check = (
      'import os, stochep_jax\n'
      f'assert stochep_jax.__file__.startswith({site!r}), stochep_jax.__file__\n'
      'try:\n  import experiments\nexcept ImportError:\n  pass\n'
      'else:\n  raise AssertionError(f"experiments importable: {experiments.__file__}")\n'
    )
    # -S: no site processing, so neither the checkout's editable install nor its path file;
    # the environment's third-party packages come from its site-packages on PYTHONPATH.
    env = {
      **os.environ,
      'PYTHONPATH': os.pathsep.join([site, sysconfig.get_path('purelib')]),
      'JAX_PLATFORMS': 'cpu',
    }
    run = subprocess.run(
      [sys.executable, '-S', '-c', check + example],
      capture_output=True,
      text=True,
      cwd=self.tmp,  # outside the checkout
      env=env,
      timeout=300,
    )
    self.assertEqual(run.returncode, 0, run.stderr[-2000:])
    self.assertIn('(32, 10)', run.stdout)


if __name__ == '__main__':
  absltest.main()
