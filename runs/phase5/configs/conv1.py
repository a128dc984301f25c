"""Throwaway screen config: the conv config with one conv layer (conv 32 3x3 + avg pool, FC 512)."""
from experiments.configs import base, fashion_mnist_conv


def get_config(arg=None):
  c = fashion_mnist_conv.get_config(arg)
  c.network = base.network_config('conv', channels=(32,), fc=(512,), pool='avg')
  c.network.n_perclass = 4
  c.optimizer.learning_rates = (0.007, 0.0003, 0.00035)
  return c
