"""The one-conv config with AdamW decay (0, 2, 2) over 36 epochs, for a single XLA:CPU device.

    .venv/bin/python experiments/train.py --config=runs/fmnist_1c_wd2/config.py \
        --workdir=runs/fmnist_1c_wd2 --cpu_devices=1

Why: AdamW decay (0, 1, 1) took the one-conv run from 10.01 % to 9.28 % after 26 epochs at the
same training accuracy (97.4 against 97.5 %), its test loss lower from epoch 12 on and still
falling at the end: the decay acted as a regulariser without slowing the fit, so this run
doubles it (a random walk of the FC weights' Adam steps is then held near RMS
sqrt(lr / (2 wd)) = 0.010 at the peak rate, 0.014 with decay 1, 0.011 at initialisation) and
spends the faster step on more epochs. With the dense layers' transposed weight copy
(``connections.transposed``) the one-conv training step takes 0.48 s on one XLA:CPU device
(both cores in its thread pool) against 0.60 s on two and 0.77-0.84 s before the copy (2-core
AMD EPYC, ``experiments/step_time.py``): about 260 s an epoch with the evaluation, so 36 epochs
are about 2.6 h, within 3 hours with room for a slower host. The conv layer stays undecayed.
"""

from experiments.configs import fashion_mnist_1c


def get_config(arg=None):
  c = fashion_mnist_1c.get_config(arg)
  del c.optimizer.weight_decay
  c.optimizer.weight_decay = (0.0, 2.0, 2.0)
  c.num_epochs = 36
  return c
