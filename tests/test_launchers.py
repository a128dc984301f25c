"""Every launcher in experiments/ is an absl program whose --help does no work."""

import ast
import glob
import json
import os

import helpers
from absl import flags
from absl.testing import absltest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Programs: every experiments/*.py with a __main__ block (not __init__.py, not launch.py's helpers).
LAUNCHERS = sorted(
  p for p in glob.glob(os.path.join(ROOT, 'experiments', '*.py')) if '__main__' in open(p).read()
)


# Under this JAX_PLATFORMS, any JAX backend initialisation (an array, a jit call, a device
# query) raises: a --help that computes, compiles or loads data through JAX fails.
NO_BACKEND = {'JAX_PLATFORMS': 'no_such_platform'}


# What a launcher's --help must mention besides its name (the rest: absl's usage of its flags).
HELP_MENTIONS = {
  'train.py': ['--print_config', '--[no]allow_config_change'],  # a boolean flag, as absl lists it
  'energy.py': ['--batch'],
  'backprop.py': ['--batch_size'],
  'report.py': ['--demo_workdir'],
}


class LauncherHelpTest(absltest.TestCase):
  def test_every_launcher_prints_help_and_does_no_work(self):
    """Every launcher's --help prints its usage, writes nothing and does no JAX work: under
    NO_BACKEND, a guard script's JAX computation fails in the same batch of runs."""
    self.assertGreaterEqual(len(LAUNCHERS), 10)
    guard = os.path.join(self.create_tempdir().full_path, 'guard.py')
    with open(guard, 'w') as f:
      f.write('import jax.numpy as jnp\njnp.zeros(1)\n')
    cwds = [self.create_tempdir().full_path for _ in LAUNCHERS]
    runs = helpers.run_scripts(  # forked from one interpreter: one import of JAX in all
      [(path, ['--help'], cwd) for path, cwd in zip(LAUNCHERS, cwds)]
      + [(guard, [], os.path.dirname(guard))],
      env={**os.environ, **NO_BACKEND},  # no JAX backend: no computation, no compilation
      timeout=300,
    )
    *helps, guarded = runs
    self.assertNotEqual(guarded.returncode, 0)  # the guard itself: JAX work raises
    self.assertIn('no_such_platform', guarded.stderr)
    self.assertLessEqual(set(HELP_MENTIONS), {os.path.basename(p) for p in LAUNCHERS})
    for path, cwd, proc in zip(LAUNCHERS, cwds, helps):
      name = os.path.basename(path)
      with self.subTest(name):
        self.assertEqual(proc.returncode, 0, f'{name} --help failed: {proc.stderr[-500:]}')
        self.assertIn(name, proc.stdout + proc.stderr, f'{name} --help printed no usage')
        self.assertNotIn('Traceback', proc.stderr)
        self.assertEqual(os.listdir(cwd), [], f'{name} --help wrote files where it ran')
        for text in HELP_MENTIONS.get(name, []):
          self.assertIn(text, proc.stdout)


class LauncherImportTest(absltest.TestCase):
  """Importing a launcher for its functions defines none of its flags: ``define_flags()``,
  called under ``__main__``, does. So every launcher imports into one process (tests,
  report.py) without absl's DuplicateFlagError, whatever flag names two of them share."""

  def test_importing_every_launcher_defines_no_flag(self):
    names = [os.path.splitext(os.path.basename(p))[0] for p in LAUNCHERS]
    modules = {name: helpers.launcher(name) for name in names}  # all of them, in one process
    by_module = flags.FLAGS.flags_by_module_dict()
    for name, module in modules.items():
      with self.subTest(name):
        self.assertEqual([f.name for f in by_module.get(module.__name__, [])], [])  # none at import
        read = {  # the flags the launcher reads (FLAGS.<name>)
          n.attr
          for n in ast.walk(ast.parse(open(module.__file__).read()))
          if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
          if n.value.id == 'FLAGS' and not hasattr(flags.FlagValues, n.attr)
        }
        if not hasattr(module, 'define_flags'):
          self.assertEqual(read, set(), f'{name} reads flags but has no define_flags()')
          continue
        before = set(flags.FLAGS)
        try:
          module.define_flags()
          defined = set(flags.FLAGS) - before
        finally:
          for flag in set(flags.FLAGS) - before:  # leave FLAGS as it was for the next launcher
            delattr(flags.FLAGS, flag)
        self.assertNotEqual(defined, set())
        # Each flag it reads was absent after the import and is defined by define_flags().
        self.assertLessEqual(read, defined)


class LauncherErrorTest(absltest.TestCase):
  """A bad flag or input file is one line ``error: ...``, exit status 1, before any work."""

  def test_bad_flags_are_one_line_errors(self):
    tmp = self.create_tempdir().full_path
    out = os.path.join(tmp, 'out')  # no launcher may create it
    truncated = os.path.join(tmp, 'truncated')
    os.makedirs(truncated)
    with open(os.path.join(truncated, 'metrics.json'), 'w') as f:
      f.write('{"history": [')
    config = os.path.join(ROOT, 'experiments', 'configs', 'fashion_mnist.py')
    cases = [
      ('backprop', [f'--workdir={out}', '--lr=nan'], 'flag --lr=nan: must be a finite number > 0'),
      ('backprop', [f'--workdir={out}', '--dataset=x'], 'flag --dataset=x: must be one of'),
      ('backprop', [f'--workdir={out}', 'extra'], 'unexpected arguments: extra'),
      ('backprop', [f'--workdir={out}', '--n_perclass=4'], 'n_perclass=4: needs --readout=mse'),
      ('backprop', [f'--workdir={out}', '--augment=rotate'], 'a list of flip, crop'),
      ('memory', [f'--workdir={out}', '--ts=0'], 'flag --ts='),
      ('memory', [f'--workdir={out}', '--k_avg=30'], '--k_avg must be <= every --ts'),
      ('energy', ['--batch=-1'], 'flag --batch=-1: must be an integer >= 0'),
      ('energy', [f'--workdir={truncated}'], 'metrics.json: not valid JSON'),
      ('step_time', [f'--config={config}', '--steps=0'], 'flag --steps=0: must be an integer'),
      ('step_time', [f'--config={config}', '--config.ep.beta=nan'], 'config.ep.beta=nan'),
      ('noise_speed', ['--variants=hash16'], 'flag --variants='),
      ('noise_speed', ['--batch=3', '--cpu_devices=2'], '--batch must divide by --cpu_devices'),
      ('pooling_imbalance', [f'--workdir={out}', '--decay=1.5'], 'flag --decay=1.5: must be'),
      ('per_class', [f'--workdir={truncated}'], 'metrics.json: not valid JSON'),
      ('per_class', [f'--workdir={out}'], f'flag --workdir={out}: no such folder'),
      ('per_class', [f'--workdir={tmp}', '--n_test=-1'], 'flag --n_test=-1: must be an integer'),
      ('plot_metrics', [f'--workdir={truncated}'], 'metrics.json: not valid JSON'),
      ('plot_metrics', [f'--workdir={tmp}'], 'metrics.json: no such file'),
      ('gradcheck', [f'--workdir={out}', '--config.gdu.beta=nan'], 'GDU: beta=nan: must be'),
      ('figures', [f'--workdir={out}', '--train_steps=x'], 'flag --train_steps=x'),
      ('alignment', [f'--workdir={out}', '--draws=1'], 'flag --draws=1: must be an integer'),
      ('transpose_speed', ['--dense=128x2704'], "--dense: dense shape '128x2704': need BxKxN"),
      ('transpose_speed', ['--dense_steps=0'], 'flag --dense_steps=0: must be an integer >= 1'),
      ('alignment', [f'--workdir={out}', '--config.neuron.name=crnn'], 'is not stochastic'),
      ('train', [f'--config={config}', f'--workdir={out}', '--cpu_devices=-1'], 'cpu_devices=-1'),
      ('train', [f'--config={config}', f'--workdir={out}', '--num_processes=2'], 'go together'),
      (
        'train',
        [f'--config={config}', f'--workdir={out}', '--coordinator_address=h:1']
        + ['--num_processes=2', '--process_id=2'],
        '0 <= process_id < num_processes',
      ),
    ]
    runs = helpers.run_scripts(  # forked from one interpreter: one import of JAX in all
      [(os.path.join(ROOT, 'experiments', f'{name}.py'), args, tmp) for name, args, _ in cases],
      env={**os.environ, 'PYTHONPATH': ROOT},
      timeout=300,
    )
    for (name, args, expected), proc in zip(cases, runs, strict=True):
      err = proc.stderr
      what = f'{name} {" ".join(args)}'
      self.assertEqual(proc.returncode, 1, f'{what}: {err[-800:]}')
      self.assertNotIn('Traceback', err, what)
      last = err.strip().splitlines()[-1]
      self.assertTrue(last.startswith('error: '), f'{what}: {last}')
      self.assertIn(expected, last, what)
    self.assertFalse(os.path.exists(out))  # refused before anything was written


class StepTimeTest(absltest.TestCase):
  def test_reports_the_compiled_steps_memory(self):
    """step_time's memory is the compiled step's: the donated train state is aliased in
    full, and what is not aliased of its arguments is exactly the batch."""
    batch = 16
    out = helpers.run_script(
      os.path.join(ROOT, 'experiments', 'step_time.py'),
      f'--config={os.path.join(ROOT, "experiments", "configs", "fashion_mnist.py")}:smoke',
      f'--config.batch_size={batch}',
      '--config.ep.t_warm=3',
      '--steps=1',
      '--devices=1',
      check=True,
      env={**os.environ, 'PYTHONPATH': ROOT},
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    self.assertEqual((report['batch_size'], report['t_warm']), (batch, 3))  # what was timed
    m = report['compiled_memory_bytes']
    self.assertEqual(m['argument_bytes'] - m['alias_bytes'], batch * (28 * 28 + 2) * 4)
    self.assertGreater(m['alias_bytes'], 0)
    self.assertEqual(
      m['total_bytes'], m['argument_bytes'] + m['output_bytes'] - m['alias_bytes'] + m['temp_bytes']
    )


class WriteJsonTest(absltest.TestCase):
  def test_strict_json_atomically(self):
    from experiments import launch

    path = os.path.join(self.create_tempdir().full_path, 'new', 'metrics.json')
    launch.write_json(path, {'loss': float('nan'), 'history': [{'lr': float('inf')}], 'ok': 1.5})
    with open(path) as f:
      text = f.read()
    self.assertEqual(
      json.loads(text, parse_constant=self.fail),
      {'loss': None, 'history': [{'lr': None}], 'ok': 1.5},
    )
    self.assertEqual(os.listdir(os.path.dirname(path)), ['metrics.json'])  # no temporary left

  def test_read_json_names_a_truncated_file(self):
    from experiments import launch

    path = os.path.join(self.create_tempdir().full_path, 'metrics.json')
    with open(path, 'w') as f:
      f.write('{"a": [1,')
    with self.assertRaisesRegex(launch.LaunchError, f'^{path}: not valid JSON'):
      launch.read_json(path)


if __name__ == '__main__':
  absltest.main()
