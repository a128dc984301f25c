"""The one-conv config with decoupled weight decay on its FC and readout layers only.

    .venv/bin/python experiments/train.py --config=runs/fmnist_1c_wd/config.py \
        --workdir=runs/fmnist_1c_wd --cpu_devices=0

Why these layers and this size: in the one-conv run (10.01 %, train accuracy 97.5 %) the FC
weights' RMS grew from 0.011 to 0.025, what a random walk of its ~12 000 Adam steps (one rate a
step, cosine from 0.0004) reaches, so their growth is mostly the estimate's noise. AdamW with
decay wd holds such a walk near RMS sqrt(lr / (2 wd)): 0.014 at the peak rate with wd = 1, near
the initial 0.011, while a consistent gradient only meets the decay at |w| ~ 1 / wd = 1. The
decay is scaled by each group's rate, and the conv layer's is about 20x the others' (its 160
weights grew from RMS 0.19 to 1.35, faster than a walk): it is left undecayed. A per-group tuple
replaces the config's scalar field (type-safe: deleted, then set).
"""

from experiments.configs import fashion_mnist_1c


def get_config(arg=None):
  c = fashion_mnist_1c.get_config(arg)
  del c.optimizer.weight_decay
  c.optimizer.weight_decay = (0.0, 1.0, 1.0)
  return c
