"""Named architectures build the layer shapes SPEC 6 gives, with the readouts they name."""

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


if __name__ == '__main__':
  absltest.main()
