"""Registries: strict keyword arguments, the fields configs build sub-blocks from."""

import dataclasses

from absl.testing import absltest

from stochep_jax import NEURONS, registry


@dataclasses.dataclass(frozen=True)
class Model:
  a: int
  b: float = 0.5
  c: tuple = ()


class RegistryTest(absltest.TestCase):
  def setUp(self):
    super().setUp()
    self.reg = registry.Registry('toy model')
    self.reg.register('m')(Model)

    @self.reg.register('f')
    def f(x, *, y=3):
      return x + y

  def test_make_passes_arguments_and_tuples_lists(self):
    self.assertEqual(self.reg.make('m', a=1, c=[1, [2, 3]]), Model(1, 0.5, (1, (2, 3))))
    self.assertEqual(self.reg.make('f', x=1, y=2), 3)

  def test_unknown_argument_is_an_error_listing_the_valid_ones(self):
    with self.assertRaisesRegex(
      ValueError, r"toy model 'm' takes no argument bb; valid: \['a', 'b', 'c'\]"
    ):
      self.reg.make('m', a=1, bb=2)

  def test_unknown_name_and_double_registration(self):
    with self.assertRaisesRegex(ValueError, r"unknown toy model 'z'; choose from \['f', 'm'\]"):
      self.reg.get('z')
    with self.assertRaisesRegex(ValueError, 'registered twice'):
      self.reg.register('m')(Model)

  def test_fields_with_defaults(self):
    self.assertEqual(self.reg.fields('m'), {'a': None, 'b': 0.5, 'c': ()})
    self.assertEqual(self.reg.fields('f'), {'x': None, 'y': 3})

  def test_every_neuron_model_builds_from_its_own_fields(self):
    for name in NEURONS.names():
      fields = {k: v for k, v in NEURONS.fields(name).items() if v is not None}
      self.assertEqual(type(NEURONS.make(name, **fields)), NEURONS.get(name))


if __name__ == '__main__':
  absltest.main()
