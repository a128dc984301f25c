"""Screen: one conv layer, conv 32 3x3 + 2x2 avg pool (13x13x32), FC 512."""
from experiments.configs import fashion_mnist_1c


def get_config(arg=None):
  c = fashion_mnist_1c.get_config(arg)
  c.network.channels = (32,)
  c.optimizer.learning_rates = (0.007, 0.0003, 0.00035)
  return c
