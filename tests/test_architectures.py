"""Named architectures build the layer shapes and readouts of docs/model.md, "Architectures"."""

import jax
from absl.testing import absltest, parameterized

from stochep_jax import ARCHITECTURES, energy
from stochep_jax.architectures import make_readout


class ArchitecturesTest(parameterized.TestCase):
  @parameterized.named_parameters(
    ('dense', 'dense', (784,), {}, ((512,), (10,))),
    ('dense_perclass', 'dense', (20,), {'hidden': (8, 4), 'n_perclass': 3}, ((8,), (4,), (30,))),
    ('2c2fc', '2c2fc', (28, 28, 1), {}, ((13, 13, 128), (5, 5, 256), (512,), (10,))),
    (
      '5c',
      '5c',
      (32, 32, 3),
      {},
      ((16, 16, 128), (8, 8, 256), (8, 8, 256), (4, 4, 512), (1, 1, 512), (10,)),
    ),
    (
      'lab21',
      'lab21_cifar',
      (32, 32, 3),
      {},
      ((16, 16, 128), (8, 8, 256), (4, 4, 512), (1, 1, 512)),
    ),
  )
  def test_layer_shapes(self, name, input_shape, kwargs, shapes):
    net = ARCHITECTURES.make(name, input_shape=input_shape, n_classes=10, **kwargs)
    self.assertEqual(net.layer_shapes, shapes)

  def test_param_groups_follow_the_layers_and_a_ce_readout(self):
    mse = ARCHITECTURES.make('dense', input_shape=(6,), n_classes=3, hidden=(4,))
    ce = ARCHITECTURES.make('dense', input_shape=(6,), n_classes=3, hidden=(4,), readout='ce')
    groups = lambda net: list(energy.param_groups(jax.eval_shape(net.init, jax.random.key(0))))
    self.assertEqual(groups(mse), ['layer1', 'layer2'])
    self.assertEqual(groups(ce), ['layer1', 'readout'])
    self.assertEqual(ce.layer_names(), ['layer1', 'readout'])

  def test_readout_errors(self):
    with self.assertRaisesRegex(ValueError, 'n_perclass applies to the MSE readout only'):
      make_readout('ce', 10, n_perclass=2)
    with self.assertRaisesRegex(ValueError, "readout must be 'mse' or 'ce', got 'l1'"):
      make_readout('l1', 10)
    with self.assertRaisesRegex(ValueError, "architecture 'dense' takes no argument channels"):
      ARCHITECTURES.make('dense', input_shape=(4,), channels=(2,))


class ArchitectureChecksTest(parameterized.TestCase):
  """Every architecture refuses bad widths with one line naming the argument."""

  @parameterized.named_parameters(
    (
      'zero_classes',
      'dense',
      dict(input_shape=784, hidden=[32], n_classes=0),
      '^dense: n_classes=0: must be an integer >= 1$',
    ),
    ('zero_inputs', 'dense', dict(input_shape=0), r'^dense: input_shape=\(0,\): .*integers >= 1$'),
    (
      'float_width',
      'dense',
      dict(input_shape=4, hidden=[2.5]),
      r'^dense: hidden=\(2.5,\): must be a sequence of integers >= 1$',
    ),
    ('perclass', 'dense', dict(input_shape=4, n_perclass=0), '^dense: n_perclass=0: '),
    ('init_scale', 'dense', dict(input_shape=4, init_scale=float('nan')), '^dense: init_scale=nan'),
    (
      'conv_channels',
      'conv',
      dict(input_shape=(8, 8, 1), channels=(0,)),
      r'^conv: channels=\(0,\): must be a non-empty sequence',
    ),
    (
      'conv_kernel',
      'conv',
      dict(input_shape=(8, 8, 1), channels=(2,), kernel_size=0),
      '^conv: kernel_size=0: must be an integer >= 1$',
    ),
    (
      'conv_hw',
      'conv',
      dict(input_shape=(8, 8)),
      r'^conv: input_shape=\(8, 8\): must be \(H, W, C\)$',
    ),
    ('2c2fc_fc', '2c2fc', dict(fc=(-1,)), r'^2c2fc: fc=\(-1,\): '),
    (
      '2c2fc_pool',
      '2c2fc',
      dict(pool='min'),
      "^2c2fc: pool='min': must be 'avg', 'max' or 'none'$",
    ),
    ('5c_classes', '5c', dict(n_classes=0), '^5c: n_classes=0: '),
    (
      '5c_too_small',
      '5c',
      dict(input_shape=(8, 8, 3)),
      r'^5c: input_shape=\(8, 8, 3\): too small for the convolutions: layer 5 is empty$',
    ),
    ('lab21_alpha', 'lab21_cifar', dict(pool='avg', alpha=0.0), '^lab21_cifar: alpha=0.0: '),
  )
  def test_bad_argument(self, name, kwargs, message):
    with self.assertRaisesRegex(ValueError, message):
      ARCHITECTURES.make(name, **kwargs)


if __name__ == '__main__':
  absltest.main()
