"""Throwaway screen: one conv layer, conv 16 3x3 + 2x2 avg pool (13x13x16), FC 512."""
from experiments.configs import base, fashion_mnist_conv


def get_config(arg=None):
  c = fashion_mnist_conv.get_config(arg)
  c.network = base.network_config('conv', channels=(16,), fc=(512,), pool='avg')
  c.network.n_perclass = 4
  c.optimizer.learning_rates = (0.007, 0.0004, 0.00035)
  return c
