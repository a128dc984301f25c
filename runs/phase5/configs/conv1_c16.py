"""Screen: one conv layer, conv 16 3x3 + 2x2 avg pool (13x13x16), FC 512: fashion_mnist_1c.py."""
from experiments.configs import fashion_mnist_1c

get_config = fashion_mnist_1c.get_config
