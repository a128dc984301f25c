"""The 2C2FC / 5C / Lab21 experiment configs build the networks they promise (SPEC 6)."""

import json
import math
import os

import helpers
import jax
import pytest

from experiments.configs import base
from stochep_jax import data, experiment, training, validate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = ('mnist_2c2fc', 'fashion_mnist_2c2fc', 'cifar10_5c', 'cifar10_lab21')


load_config = helpers.load_config


FULL_SHAPES = {
  'mnist_2c2fc': ((13, 13, 128), (5, 5, 256), (512,), (10,)),
  'fashion_mnist_2c2fc': ((13, 13, 128), (5, 5, 256), (512,), (10,)),
  'cifar10_5c': ((16, 16, 128), (8, 8, 256), (8, 8, 256), (4, 4, 512), (1, 1, 512), (10,)),
  'cifar10_lab21': ((16, 16, 128), (8, 8, 256), (4, 4, 512), (1, 1, 512)),
}


@pytest.mark.parametrize('name', CONFIGS)
@pytest.mark.parametrize('arg', [None, 'smoke'])
def test_config_builds_network_and_optimizer(name, arg):
  c = load_config(name, arg)
  sim = experiment.build_simulator(c)
  if arg is None:
    assert sim.network.layer_shapes == FULL_SHAPES[name]
  params = jax.eval_shape(sim.network.init, jax.random.key(0))
  training.make_optimizer(params, c.optimizer.learning_rates)  # one rate per group
  experiment.build_gradient_fn(c, sim)  # augmentations are known
  validate.check_config(c)  # every field in range
  assert c.ep.k_avg <= min(c.ep.t_free, c.ep.t_nudge)


def test_lin24_table_values_and_neuron_switch():
  fm, mn = load_config('fashion_mnist_2c2fc'), load_config('mnist_2c2fc')
  for c, beta, eps, t_free in ((fm, 0.2, 1.0, 350), (mn, 0.1, 0.9, 250)):
    assert (c.ep.beta, c.neuron.sigma_delta.eps, c.ep.t_free, c.ep.t_nudge) == (
      beta,
      eps,
      t_free,
      50,
    )
    assert tuple(c.optimizer.learning_rates) == (0.25, 0.15, 0.1, 0.08)
    assert (c.batch_size, c.num_epochs, c.optimizer.momentum, c.neuron.sigma_delta.lam) == (
      125,
      250,
      0,
      0.6,
    )
  assert mn.dataset == 'mnist' and fm.dataset == 'fashion_mnist'
  c = load_config('fashion_mnist_2c2fc')
  c.neuron.name = 'sigma_delta'
  neuron = experiment.build_simulator(c).neuron
  assert (type(neuron).__name__, neuron.lam, neuron.eps) == ('SigmaDelta', 0.6, 1.0)


def test_cifar10_lab21_smoke_run_on_synthetic_batches(tmp_path):
  """The launcher path end to end: conv + max pooling + CE readout + flip/crop."""
  data.write_synthetic_cifar10(tmp_path / 'cifar', 512, 256, seed=0)
  c = load_config('cifar10_lab21', 'smoke')
  c.data_dir, c.tfds_dir = str(tmp_path / 'cifar'), str(tmp_path / 'tfds')
  c.train_subset = 128  # tinier than the smoke variant: 2 steps, shorter phases
  c.ep.update(dict(t_free=10, t_nudge=4))
  m = experiment.train_and_evaluate(c, str(tmp_path / 'run'))
  assert m['epochs'] == 1
  h = m['history'][0]
  # Small logits at the start: the CE of a near-uniform softmax is ln 10.
  assert abs(h['test_loss'] - math.log(10)) < 0.05
  assert all(0.0 < h[f'train_rate{l}'] < 1.0 for l in range(1, 5))
  on_disk = json.load(open(tmp_path / 'run' / 'metrics.json'))
  assert on_disk['config']['augment'] == ['flip', 'crop']
  assert on_disk['config']['network']['architecture'] == 'lab21_cifar'


@pytest.mark.parametrize('name', CONFIGS + ('fashion_mnist',))
@pytest.mark.parametrize('arg', [None, 'smoke'])
def test_every_training_config_has_every_base_field(name, arg):
  """Configs start from base.base_config(): the same fields (and sections) everywhere."""

  def fields(c, prefix=''):
    out = set()
    for k, v in c.items():
      out |= fields(v, f'{prefix}{k}.') if k != 'network' and hasattr(v, 'items') else {prefix + k}
    return out

  assert fields(load_config(name, arg)) == fields(base.base_config())
  with pytest.raises(ValueError, match='unknown config variant'):
    load_config(name, 'tiny')
