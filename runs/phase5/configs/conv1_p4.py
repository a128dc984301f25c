"""Screen: one conv layer, conv 32 3x3 SAME + 4x4 avg pool (7x7x32), FC 512."""
from experiments.configs import base, fashion_mnist_1c


def get_config(arg=None):
  c = fashion_mnist_1c.get_config(arg)
  c.network = base.network_config('conv', channels=(32,), fc=(512,), pool='avg', padding=1, pool_size=4)
  c.network.n_perclass = 4
  c.optimizer.learning_rates = (0.007, 0.0005, 0.00035)
  return c
