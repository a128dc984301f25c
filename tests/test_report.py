"""experiments/report.py: the --smoke page, built once and looked at in a headless Chromium."""

import base64
import html.parser
import io
import json
import os
import shutil
import tempfile
import time
from unittest import mock

import helpers
import numpy as np
from absl.testing import absltest
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPORT = os.path.join(ROOT, 'experiments', 'report.py')
SECTIONS = (
  'Accuracy against backprop',
  'EP against BPTT',
  'Memory against T',
  'Energy',
  'Fig. 3',
  'Fig. 4',
  'Fig. 5',
  '[Lin24] Fig. 2',
  'as recorded in BUILD_NOTES.md §4.6',
  'as recorded in BUILD_NOTES.md §4.7',
)


class _Refs(html.parser.HTMLParser):
  """Every <img src>, every other src/href, and the tags seen."""

  def __init__(self):
    super().__init__()
    self.images, self.links, self.tags = [], [], set()

  def handle_starttag(self, tag, attrs):
    self.tags.add(tag)
    a = dict(attrs)
    if tag == 'img':
      self.images.append(a.get('src', ''))
    for k in ('src', 'href'):
      if tag != 'img' and a.get(k):
        self.links.append(a[k])


class ReportTest(absltest.TestCase):
  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    if not shutil.which('chromium'):
      raise AssertionError(
        'no chromium: install it (apt-get install -y chromium, as `make test` does); '
        'this test looks at the report in a headless browser'
      )
    cls.report = helpers.launcher('report')
    cls.workdir = tempfile.mkdtemp(prefix='report_')
    start = time.time()
    # The nine launcher runs (report.run_launcher's subprocess.call) are forked from one
    # interpreter that imported JAX and the launchers once (helpers.call): the same commands,
    # logs and exit statuses, without an import of JAX each.
    with mock.patch.object(cls.report.subprocess, 'call', helpers.call):
      cls.numbers = cls.report.run(cls.workdir, smoke=True)
    cls.seconds = time.time() - start
    cls.html_path = os.path.join(cls.workdir, 'report.html')
    with open(cls.html_path) as f:
      cls.html = f.read()
    cls.refs = _Refs()
    cls.refs.feed(cls.html)

  def test_screenshot_is_a_page(self):
    """The browser's screenshot (kept as report.png beside the page) is not blank."""
    png = os.path.join(self.workdir, 'report.png')
    self.assertTrue(os.path.exists(png), 'report.run took no screenshot')
    shot = np.asarray(Image.open(png).convert('L'), np.float32)
    self.assertEqual(shot.shape, (3000, 1200))
    self.assertGreater(shot.std(), 10.0, 'the screenshot is nearly uniform: an empty page')
    self.assertGreater((shot < 200).mean(), 0.02, 'almost nothing drawn on the page')

  def test_every_image_is_a_png_and_nothing_is_fetched(self):
    self.assertGreaterEqual(len(self.refs.images), 9)
    for src in self.refs.images:
      if src.startswith('data:'):
        self.assertTrue(src.startswith('data:image/png;base64,'), src[:40])
        raw = base64.b64decode(src.split(',', 1)[1], validate=True)
      else:  # a file beside the page
        path = os.path.join(self.workdir, src)
        self.assertTrue(os.path.exists(path), f'missing image {src}')
        raw = open(path, 'rb').read()
      im = Image.open(io.BytesIO(raw))
      self.assertEqual(im.format, 'PNG')
      im.verify()
    for link in self.refs.links:
      self.assertTrue(link.startswith('#'), f'the page refers to {link}')
    self.assertNotIn('script', self.refs.tags)

  def test_sections_commands_and_machine(self):
    for title in SECTIONS:
      self.assertIn(title, self.html)
    for script in ('train', 'backprop', 'gradcheck', 'memory', 'pooling_imbalance', 'figures'):
      self.assertIn(f'experiments/{script}.py', self.html, script)
    self.assertIn('experiments/report.py', self.html)
    self.assertIn('cores', self.html)
    self.assertIn(self.numbers['machine']['date_utc'], self.html)
    # BUILD_NOTES' event table quoted, not typed in: its default row's number is on the page.
    notes = open(os.path.join(ROOT, 'BUILD_NOTES.md')).read()
    self.assertIn('15.46 %', notes)
    self.assertIn('15.46 %', self.html)

  def _figure(self, name):
    with open(os.path.join(self.workdir, 'figures', f'{name}.json')) as f:
      return json.load(f)

  def test_every_figure_written(self):
    figures = helpers.launcher('figures')
    for name in figures.FIGURES:
      self.assertGreater(os.path.getsize(os.path.join(self.workdir, 'figures', f'{name}.png')), 0)
      self.assertTrue(os.path.exists(os.path.join(self.workdir, 'figures', f'{name}.json')), name)
    self.assertTrue(self._figure('summary')['smoke'])

  def test_fig3_as_the_paper_draws_it(self):
    f3 = self._figure('fig3_membrane')
    self.assertIn('checkpoint', f3['params_source'])  # the trained demo run, not a brief one
    self.assertEqual(f3['units'], 16)  # the smoke demo run's hidden layer
    self.assertEqual(set(f3['panels']), {'a', 'b', 'c', 'd'})
    self.assertEqual(f3['panels']['a']['model'], 'stochep')
    t = f3['t_free'] + f3['t_nudge']
    # One log colour scale for all panels, up to their largest |Δv|.
    self.assertTrue(f3['color_scale']['shared'])
    self.assertEqual(f3['color_scale']['norm'], 'log')
    top = max(np.max(r['abs_dv_heatmap']) for r in f3['panels'].values())
    self.assertAlmostEqual(f3['color_scale']['vmax'], top, places=6)
    for r in f3['panels'].values():
      h = np.asarray(r['abs_dv_heatmap'])
      self.assertEqual(h.shape, (f3['units'], t - 1))
      self.assertTrue((h >= 0).all())
      self.assertLessEqual(h.max(), f3['color_scale']['vmax'] * (1 + 1e-6))
      self.assertEqual(np.asarray(r['heatmap_first_sample']).shape, (f3['units'], t))
      self.assertLen(r['mean_abs_dv_per_step'], t - 1)
    self.assertLen(f3['reading'], 5)
    for line in f3['reading'][:4]:
      self.assertRegex(line, r'(agrees|disagrees) with the paper')
      self.assertIn(line.split(':')[0], self.html)

  def test_fig4_rasters_brief_and_trained(self):
    """0/1 rasters [units, T_free]: 784-32-10 nets per κ, and the trained run (16 hidden) at
    each κ; densities in [0, 1] (their order is reported, not asserted)."""
    f4 = self._figure('fig4_rasters')
    self.assertEqual(f4['kappas'], [0.5, 1.0, 2.0, 4.0])
    for row, units in ((f4, 32), (f4['trained'], 16)):
      self.assertLen(row['density'], 4)
      for d, r in zip(row['density'], row['rasters_first_image']):
        r = np.asarray(r)
        self.assertEqual(r.shape, (units, row['t_free']))
        self.assertTrue(set(np.unique(r)) <= {0, 1})
        self.assertTrue(0 <= d <= 1)
    self.assertIn('checkpoint', f4['trained']['source'])

  def test_fig5_error_grows_with_n_perclass(self):
    f5 = self._figure('fig5_error')
    self.assertEqual(f5['n_perclass'], [1, 10, 100])
    for v in f5['error_signal']:
      self.assertLen(v, f5['t_free'] + f5['t_nudge'])
    m = f5['mean_error_nudge']
    self.assertLess(m[0], m[1])
    self.assertLess(m[1], m[2])

  def test_fig5_on_the_conv_net(self):
    f5 = self._figure('fig5_conv_error')
    self.assertEqual(f5['n_perclass'], [1, 4, 10, 100])  # 4: the conv run's checkpoint
    self.assertIn('checkpoint', f5['sources'][1])
    self.assertIn('28x28x1', f5['architecture'])
    for v, tf in zip(f5['error_signal'], f5['t_free_each']):
      self.assertLen(v, tf + 6)  # the smoke runs' and settings' T_nudge
      self.assertTrue(np.isfinite(v).all())

  def test_energy_table_of_the_trained_net(self):
    en = self._figure('energy')
    self.assertEqual(set(en['methods']), {'stochep_ep', 'crnn_ep', 'snn_bptt', 'ann_bp'})
    self.assertIn('checkpoint', en['params_source'])
    self.assertTrue(en['architecture'].startswith('784-16-'))

  def test_runs_made_here_and_reused(self):
    entries = self.numbers['runs']
    self.assertFalse(any(e['reused'] for e in entries.values()))
    runs = self.report.Runs(tempfile.mkdtemp(), smoke=True)
    given = entries['stochep_ep']['path']
    with mock.patch.object(self.report, 'run_launcher', side_effect=AssertionError('trained')):
      self.assertEqual(runs.train('x', 'x', given, self.report.DENSE_CONFIG), given)
      bp = entries['backprop']['path']
      self.assertEqual(runs.backprop('bp', 'bp', bp), bp)
    self.assertTrue(runs.entries['x']['reused'])
    self.assertIn('--config.network.hidden=(16,)', runs.entries['x']['command'])
    self.assertIn('--hidden=16', runs.entries['bp']['command'])

  def test_machine_reads_the_benchmark_peak(self):
    path = os.path.join(tempfile.mkdtemp(), 'bench.json')
    with open(path, 'w') as f:
      json.dump({'gemm_peak_gflops': 321.0, 'gemm_peak_gflops_bf16': 1380.0}, f)
    m = self.report.machine(path)
    self.assertEqual((m['gemm_peak_gflops'], m['gemm_peak_gflops_bf16']), (321.0, 1380.0))
    self.assertGreaterEqual(m['cores'], 1)
    self.assertIn('UTC', m['date_utc'])

  def test_smoke_time(self):
    """Reported for BUILD_NOTES; generous bound (the machine may be shared)."""
    print(f'smoke report: {self.seconds:.0f}s')
    self.assertLess(self.seconds, 600)


class ReportFlagsTest(absltest.TestCase):
  def test_bad_table2_flag_is_one_line(self):
    out = helpers.run_script(
      REPORT, f'--workdir={tempfile.mkdtemp()}', '--table2_workdirs=nope', timeout=120
    )
    self.assertEqual(out.returncode, 1)
    self.assertIn("error: flag --table2_workdirs: 'nope'", out.stderr.strip().splitlines()[-1])

  def test_a_missing_run_is_named_by_its_flag(self):
    out = helpers.run_script(
      REPORT, f'--workdir={tempfile.mkdtemp()}', '--demo_workdir=/no/such/run', timeout=120
    )
    self.assertEqual(out.returncode, 1)
    self.assertEqual(
      out.stderr.strip().splitlines()[-1], 'error: flag --demo_workdir=/no/such/run: no such folder'
    )

  def test_a_missing_conv_config_is_one_line(self):
    out = helpers.run_script(
      REPORT, f'--workdir={tempfile.mkdtemp()}', '--conv_config=experiments/configs/nope.py',
      timeout=120,
    )  # fmt: skip
    self.assertEqual(out.returncode, 1)
    self.assertEqual(
      out.stderr.strip().splitlines()[-1],
      'error: flag --conv_config=experiments/configs/nope.py: no such config file',
    )


class ConvConfigTest(absltest.TestCase):
  """--conv_config: the command that reproduces a conv run, and the backprop CNN's shape."""

  ONE_CONV = 'experiments/configs/fashion_mnist_1c.py'

  def test_the_backprop_cnn_takes_the_conv_configs_shape(self):
    report = helpers.launcher('report')
    self.assertEqual(report.cnn_shape(report.CONV_CONFIG), ((32, 64), (512,)))
    self.assertEqual(report.cnn_shape(self.ONE_CONV), ((16,), (512,)))
    with self.assertRaisesRegex(report.launch.LaunchError, r'^flag --c=no\.py: no such config'):
      report.launch.load_config('no.py', flag='c')

  def test_backprop_command_names_every_recorded_flag(self):
    report = helpers.launcher('report')
    flags = {'channels': [16], 'hidden': [512], 'lr': 0.001, 'schedule': 'cosine',
             'batch_size': 128, 'seed': 0, 'activation': 'hard_sigmoid', 'readout': 'mse',
             'n_perclass': 4, 'init': 'torch', 'augment': ['flip', 'crop'], 'crop_padding': 2}  # fmt: skip
    cmd = report.backprop_command('runs/b', {'epochs': 26, 'flags': flags})
    self.assertTrue(cmd.endswith(
      'experiments/backprop.py --workdir=runs/b --epochs=26 --channels=16 --hidden=512 --lr=0.001'
      ' --schedule=cosine --batch_size=128 --seed=0 --activation=hard_sigmoid --readout=mse'
      ' --n_perclass=4 --init=torch --augment=flip,crop --crop_padding=2'), cmd)  # fmt: skip

  def test_train_command_names_only_what_differs_from_its_config_file(self):
    from stochep_jax import assembly

    report = helpers.launcher('report')
    recorded = assembly.used_config(helpers.load_config('fashion_mnist_1c'))
    cmd = report.train_command('runs/x', self.ONE_CONV, recorded)
    self.assertTrue(cmd.endswith(f'--config={self.ONE_CONV} --workdir=runs/x --cpu_devices=0'), cmd)
    recorded['num_epochs'] = 3
    cmd = report.train_command('runs/x', self.ONE_CONV, recorded)
    self.assertTrue(cmd.endswith('--cpu_devices=0 --config.num_epochs=3'), cmd)
    # read against the 2C2FC file, the same run differs in its network (and its epochs)
    cmd = report.train_command('runs/x', report.CONV_CONFIG, recorded)
    self.assertIn('--config.network.channels=(16,)', cmd)
    self.assertIn('--config.optimizer.learning_rates=(0.007,0.0004,0.00035)', cmd)


class ConvTable2Test(absltest.TestCase):
  """Table II's rows on the conv config: shown when given, named in the note when not."""

  def _run(self, root, name, neuron, method, acc, num_epochs=2):
    path = os.path.join(root, name)
    os.makedirs(path)
    config = {'network': {'architecture': '2c2fc', 'channels': [32, 64], 'fc': [512]},
              'neuron': {'name': neuron}, 'method': method, 'dataset': 'fashion_mnist',
              'num_epochs': num_epochs}  # fmt: skip
    history = [{'epoch': 1, 'test_accuracy': acc - 0.05}, {'epoch': 2, 'test_accuracy': acc}]
    with open(os.path.join(path, 'metrics.json'), 'w') as f:
      json.dump({'config': config, 'history': history, 'test_accuracy': acc,
                 'train_accuracy': 0.9, 'wall_seconds': 12.0}, f)  # fmt: skip
    return path

  def test_given_rows_are_shown_and_the_rest_named(self):
    report = helpers.launcher('report')
    root = self.create_tempdir().full_path
    runs = report.Runs(root, smoke=True)
    paths = {}
    for name, neuron, method, acc in (
      ('stochep_ep', 'stochep', 'ep', 0.9), ('crnn_ep', 'crnn', 'ep', 0.9),
      ('snn_bptt', 'stochep', 'bptt', 0.9), ('conv_stochep_ep', 'stochep', 'ep', 0.88),
      ('conv_crnn_ep', 'crnn', 'ep', 0.8765), ('conv_snn_bptt', 'stochep', 'bptt', 0.85),
    ):  # fmt: skip
      # conv_snn_bptt has run 2 of its 8 epochs: the page says so.
      paths[name] = self._run(root, name, neuron, method, acc, 8 if name == 'conv_snn_bptt' else 2)
      runs.add(name, f'{name} label', paths[name], 'cmd', True)
    for name in ('backprop', 'backprop_cnn'):
      paths[name] = os.path.join(root, name)
      os.makedirs(paths[name])
      with open(os.path.join(paths[name], 'metrics.json'), 'w') as f:
        json.dump({'history': [{'epoch': 1, 'test_accuracy': 0.9}], 'test_accuracy': 0.9}, f)
      runs.add(name, f'{name} label', paths[name], 'cmd', True)
    body, numbers = report.accuracy_section(runs, paths, root)
    self.assertAlmostEqual(numbers['conv_crnn_ep']['test_error'], 12.35, places=6)
    self.assertAlmostEqual(numbers['conv_crnn_ep']['best_test_error'], 12.35, places=6)
    flat = body.replace('\n', '')
    self.assertIn('<td>conv</td><td>conv_crnn_ep label</td>', flat)

    def row(label):
      return flat[flat.index(label) : flat.index('</tr>', flat.index(label))]

    self.assertIn('<td>2</td>', row('conv_crnn_ep label'))
    self.assertIn('<td>2 of 8 (unfinished)</td>', row('conv_snn_bptt label'))
    self.assertEqual(numbers['conv_snn_bptt']['planned_epochs'], 8)
    note = body[body.index('Not given') :]
    self.assertIn('Sigma-Delta EP on the conv config', note)
    self.assertNotIn('SNN BPTT', note[: note.index('</p>')])
    self.assertNotIn('CRNN EP', note[: note.index('</p>')])
    # every name the flag takes, and a wrong one named
    self.assertEqual(
      report._pairs(['conv_crnn_ep=/a', 'snn_bptt=/b']), {'conv_crnn_ep': '/a', 'snn_bptt': '/b'}
    )
    with self.assertRaisesRegex(
      report.launch.LaunchError, "'conv_x=/a': must be NAME=DIR with NAME one of"
    ):
      report._pairs(['conv_x=/a'])


if __name__ == '__main__':
  absltest.main()
