"""2C2FC [Lin24] on MNIST: ``fashion_mnist_2c2fc.py`` with [Lin24] Table I's MNIST column.

    python experiments/train.py --config=experiments/configs/mnist_2c2fc.py \
        --workdir=runs/mnist_2c2fc --config.data_dir=/path/to/mnist
    # smoke variant:
    python experiments/train.py --config=experiments/configs/mnist_2c2fc.py:smoke \
        --workdir=/tmp/smoke_mnist --config.data_dir=/path/to/mnist

MNIST has no default folder on this machine: ``data_dir`` must hold the four
original IDX files (train-images-idx3-ubyte.gz, ...); the placeholder below,
``~/data/mnist``, is where the run looks unless told otherwise, and a missing
file fails at once with instructions.

MNIST column of [Lin24] Table I: β 0.1, ε 0.9 (Sigma-Delta), T_free 250; the
rest (λ 0.6, T_nudge 50, learning rates 0.25 0.15 0.1 0.08, batch 125, 250
epochs, SGD, MSE) as for Fashion-MNIST. Neuron: StochEP by default,
``--config.neuron.name=sigma_delta`` for [Lin24]'s. [Lin24] report
0.97 ± 0.32 % test error.
"""

import ml_collections

from experiments.configs import fashion_mnist_2c2fc


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  c = fashion_mnist_2c2fc.get_config(arg)
  c.dataset = 'mnist'
  c.data_dir = '~/data/mnist'  # placeholder: the folder of the original IDX files
  c.neuron.sigma_delta.eps = 0.9
  c.ep.beta = 0.1
  if not arg:
    c.ep.t_free = 250
  return c
