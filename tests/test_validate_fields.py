"""Config fields refused by validate before any data is read or the workdir is made."""

import os
from unittest import mock

import helpers
from absl.testing import absltest, parameterized

from experiments.configs import fashion_mnist
from stochep_jax import experiment, validate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def config(**overrides):
  c = fashion_mnist.get_config('smoke')
  c.tensorboard = False
  for k, v in overrides.items():
    node = c
    *path, last = k.split('.')
    for p in path:
      node = node[p]
    node[last] = v
  return c


BAD = (
  (
    'stochep_noise_bits',
    {'neuron.stochep.noise_bits': 3},
    r'config\.neuron\.stochep\.noise_bits=3: ',
  ),
  (
    'stochep_generator',
    {'neuron.stochep.generator': 'philox'},
    r"config\.neuron\.stochep\.generator='philox': ",
  ),
  ('stochep_rho', {'neuron.stochep.rho': 'relu'}, r"config\.neuron\.stochep\.rho='relu': "),
  (
    'bernoulli_noise_bits',
    {'input.name': 'bernoulli', 'input.bernoulli.noise_bits': 16},
    r'config\.input\.bernoulli\.noise_bits=16: ',
  ),
  (
    'bernoulli_generator',
    {'input.name': 'bernoulli', 'input.bernoulli.generator': 'mt'},
    r"config\.input\.bernoulli\.generator='mt': ",
  ),
  (
    'frames_on_images',
    {'input.name': 'frames'},
    r"config\.input\.name='frames': .*'fashion_mnist' holds one image per example; "
    r"use 'analog' or 'bernoulli'",
  ),
  ('t_warm_negative', {'ep.t_warm': -2}, r'config\.ep\.t_warm=-2: must be an integer >= 0'),
  (
    't_warm_bptt',
    {'ep.t_warm': 5, 'method': 'bptt'},
    r"config\.ep\.t_warm=5: the mean-field warm start is EP's; method 'bptt'",
  ),
  (
    't_warm_bernoulli_input',
    {'ep.t_warm': 5, 'input.name': 'bernoulli'},
    r'config\.ep\.t_warm=5: the mean-field warm start needs a static input, not '
    r"config\.input\.name='bernoulli'",
  ),
  ('crop_padding', {'crop_padding': -1}, r'config\.crop_padding=-1: must be an integer >= 0'),
  ('validation_negative', {'validation_size': -1}, r'config\.validation_size=-1: must be an'),
  ('width_zero', {'network.hidden': (0,)}, r'config\.network\.hidden=\(0,\): '),
  ('width_negative', {'network.hidden': (-5,)}, r'config\.network\.hidden=\(-5,\): '),
  ('width_fraction', {'network.hidden': (64.5,)}, r'config\.network\.hidden=\(64\.5,\): '),
  ('seed_65_bits', {'seed': 2**64}, r'config\.seed=18446744073709551616: must be an integer in'),
  (
    'hopfield_dt_zero',
    {'neuron.name': 'hopfield', 'neuron.hopfield.dt': 0.0},
    r'config\.neuron\.hopfield\.dt=0\.0: ',
  ),
  (
    'hopfield_dt_negative',
    {'neuron.name': 'hopfield', 'neuron.hopfield.dt': -0.1},
    r'config\.neuron\.hopfield\.dt=-0\.1: ',
  ),
  # Rules the constructors own, named by the config field that built them.
  (
    'simulator_chunk',
    {'simulator.chunk': 0},
    r'config\.simulator\.chunk=0: must be an integer >= 1',
  ),
  ('init_scale_zero', {'network.init_scale': 0.0}, r'config\.network\.init_scale=0\.0: must be'),
  ('precision_fp8', {'precision.compute_dtype': 'fp8'}, r"config\.precision\.compute_dtype='fp8'"),
  ('ep_k_avg', {'ep.k_avg': 1000}, r'config\.ep\.k_avg=1000: must be an integer in \[1, '),
  (
    'bptt_k_avg',
    {'method': 'bptt', 'ep.k_avg': 500},
    r'config\.ep\.k_avg=500: must be an integer in \[1, ',
  ),
  ('optimizer_name', {'optimizer.name': 'lion'}, r"config\.optimizer\.name='lion': must be"),
  (
    'float16',
    {'dtype': 'float16'},
    r"config\.dtype='float16': float16 needs loss scaling, which EP does not use; "
    'use bfloat16 or float32',
  ),
)


class FieldTest(parameterized.TestCase):
  @parameterized.named_parameters(*BAD)
  def test_refused_before_data_or_workdir_naming_the_field(self, overrides, message):
    wd = os.path.join(self.create_tempdir().full_path, 'run')
    with mock.patch.object(experiment, '_load', side_effect=AssertionError('the data were read')):
      with self.assertRaisesRegex(validate.ConfigError, '^' + message) as cm:
        experiment.train_and_evaluate(config(**overrides), wd)
    self.assertLen(str(cm.exception).splitlines(), 1)
    self.assertFalse(os.path.exists(wd))

  def test_analog_on_event_data_is_refused(self):
    c = config()
    c.dataset = 'fashion_mnist_events'
    with self.assertRaisesRegex(
      validate.ConfigError,
      r"^config\.input\.name='analog': dataset 'fashion_mnist_events' holds \d+ frames per "
      r"example, which this encoder does not play; use 'frames'$",
    ):
      validate.check_config(c)

  def test_a_dataset_without_a_default_folder_needs_data_dir(self):
    c = helpers.load_config('dvs_gesture', 'smoke')
    c.data_dir = ''
    with self.assertRaisesRegex(
      validate.ConfigError, r"^config\.data_dir='': dataset 'dvs_gesture' has no default folder"
    ):
      validate.check_config(c)

  def test_seed_must_fit_a_signed_64_bit_integer(self):
    with self.assertRaisesRegex(validate.ConfigError, r'^config\.seed=9223372036854775808: '):
      validate.check_config(config(seed=2**63))
    validate.check_config(config(seed=2**63 - 1))  # the largest jax.random.key takes

  def test_launcher_says_one_line_and_makes_no_workdir(self):
    wd = os.path.join(self.create_tempdir().full_path, 'run')
    cfg = os.path.join(ROOT, 'experiments', 'configs', 'fashion_mnist.py')
    r = helpers.run_script(
      os.path.join(ROOT, 'experiments', 'train.py'),
      f'--config={cfg}:smoke',
      f'--workdir={wd}',
      '--config.input.name=frames',
      cwd=ROOT,
    )
    self.assertEqual(r.returncode, 1)
    self.assertRegex(r.stderr.strip().splitlines()[-1], r"^error: config\.input\.name='frames': ")
    self.assertNotIn('Traceback', r.stderr)
    self.assertFalse(os.path.exists(wd))


if __name__ == '__main__':
  absltest.main()
