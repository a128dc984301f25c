"""The 1C / 2C2FC / 5C / Lab21 experiment configs build the networks they promise.

As in docs/model.md, "Architectures".
"""

import json
import math
import os

import helpers
import jax
from absl.testing import absltest, parameterized

from experiments.configs import base
from stochep_jax import assembly, data, experiment, training, validate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = (
  'mnist_2c2fc',
  'fashion_mnist_2c2fc',
  'fashion_mnist_conv',
  'fashion_mnist_1c',
  'cifar10_5c',
  'cifar10_lab21',
)


load_config = helpers.load_config


FULL_SHAPES = {
  'mnist_2c2fc': ((13, 13, 128), (5, 5, 256), (512,), (10,)),
  'fashion_mnist_2c2fc': ((13, 13, 128), (5, 5, 256), (512,), (10,)),
  'fashion_mnist_conv': ((13, 13, 32), (5, 5, 64), (512,), (40,)),
  'fashion_mnist_1c': ((13, 13, 16), (512,), (40,)),
  'cifar10_5c': ((16, 16, 128), (8, 8, 256), (8, 8, 256), (4, 4, 512), (1, 1, 512), (10,)),
  'cifar10_lab21': ((16, 16, 128), (8, 8, 256), (4, 4, 512), (1, 1, 512)),
}


def _fields(c, prefix=''):
  """The dotted names of a config's fields (``network`` counts as one field)."""
  out = set()
  for k, v in c.items():
    out |= _fields(v, f'{prefix}{k}.') if k != 'network' and hasattr(v, 'items') else {prefix + k}
  return out


class ConvConfigsTest(parameterized.TestCase):
  @parameterized.product(name=CONFIGS, arg=(None, 'smoke'))
  def test_config_builds_network_and_optimizer(self, name, arg):
    c = load_config(name, arg)
    sim = assembly.simulator(c)
    if arg is None:
      self.assertEqual(sim.network.layer_shapes, FULL_SHAPES[name])
    params = jax.eval_shape(sim.network.init, jax.random.key(0))
    # one rate per group, and one decay for all or one per group
    training.make_optimizer(
      params, c.optimizer.learning_rates, weight_decay=c.optimizer.weight_decay
    )
    assembly.gradient_fn(c, sim)  # augmentations are known
    validate.check_config(c)  # every field in range
    self.assertLessEqual(c.ep.k_avg, min(c.ep.t_free, c.ep.t_nudge))

  def test_conv_config_rates_from_p_and_the_bf16_policy(self):
    c = load_config('fashion_mnist_conv')
    # rates from p over the whole nudged phase: from the spikes conv 1's estimate is noise (4.3)
    self.assertEqual((c.simulator.rate, c.ep.k_avg, c.ep.t_nudge), ('mean', 40, 40))
    self.assertEqual((c.ep.beta, c.ep.nudging, c.network.pool), (0.5, 'symmetric', 'avg'))
    sim = assembly.simulator(c)
    self.assertEqual([conn.compute_dtype for conn in sim.network.connections], ['bfloat16'] * 4)
    self.assertEqual(c.dtype, 'float32')  # parameters and EP's update stay float32

  def test_lin24_table_values_and_neuron_switch(self):
    fm, mn = load_config('fashion_mnist_2c2fc'), load_config('mnist_2c2fc')
    for c, beta, eps, t_free in ((fm, 0.2, 1.0, 350), (mn, 0.1, 0.9, 250)):
      self.assertEqual(
        (c.ep.beta, c.neuron.sigma_delta.eps, c.ep.t_free, c.ep.t_nudge), (beta, eps, t_free, 50)
      )
      self.assertEqual(tuple(c.optimizer.learning_rates), (0.25, 0.15, 0.1, 0.08))
      self.assertEqual(
        (c.batch_size, c.num_epochs, c.optimizer.momentum, c.neuron.sigma_delta.lam),
        (125, 250, 0, 0.6),
      )
    self.assertEqual(mn.dataset, 'mnist')
    self.assertEqual(fm.dataset, 'fashion_mnist')
    c = load_config('fashion_mnist_2c2fc')
    c.neuron.name = 'sigma_delta'
    neuron = assembly.simulator(c).neuron
    self.assertEqual((type(neuron).__name__, neuron.lam, neuron.eps), ('SigmaDelta', 0.6, 1.0))

  def test_cifar10_lab21_smoke_run_on_synthetic_batches(self):
    """The launcher path end to end: conv + max pooling + CE readout + flip/crop."""
    tmp = self.create_tempdir().full_path
    data.write_synthetic_cifar10(os.path.join(tmp, 'cifar'), 512, 256, seed=0)
    c = load_config('cifar10_lab21', 'smoke')
    c.data_dir, c.tfds_dir = os.path.join(tmp, 'cifar'), os.path.join(tmp, 'tfds')
    c.train_subset = 128  # tinier than the smoke variant: 2 steps, shorter phases
    c.ep.update(dict(t_free=10, t_nudge=4))
    m = experiment.train_and_evaluate(c, os.path.join(tmp, 'run'))
    self.assertEqual(m['epochs'], 1)
    h = m['history'][0]
    # Small logits at the start: the CE of a near-uniform softmax is ln 10.
    self.assertLess(abs(h['test_loss'] - math.log(10)), 0.05)
    for l in range(1, 5):
      self.assertGreater(h[f'train_rate{l}'], 0.0)
      self.assertLess(h[f'train_rate{l}'], 1.0)
    on_disk = json.load(open(os.path.join(tmp, 'run', 'metrics.json')))
    self.assertEqual(on_disk['config']['augment'], ['flip', 'crop'])
    self.assertEqual(on_disk['config']['network']['architecture'], 'lab21_cifar')

  @parameterized.product(name=CONFIGS + ('fashion_mnist',), arg=(None, 'smoke'))
  def test_every_training_config_has_every_base_field(self, name, arg):
    """Configs start from base.base_config(): the same fields (and sections) everywhere."""
    self.assertEqual(_fields(load_config(name, arg)), _fields(base.base_config()))
    with self.assertRaisesRegex(ValueError, 'unknown config variant'):
      load_config(name, 'tiny')


if __name__ == '__main__':
  absltest.main()
