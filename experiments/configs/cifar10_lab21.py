"""The CIFAR-10 CRNN of [Lab21]: conv 128-256-512-512 + softmax cross-entropy readout.

    python experiments/train.py --config=experiments/configs/cifar10_lab21.py \
        --workdir=runs/cifar10_lab21 --config.data_dir=/path/to/cifar-10-batches-py
    # smoke variant (a subset, small widths):
    python experiments/train.py --config=experiments/configs/cifar10_lab21.py:smoke \
        --workdir=/tmp/smoke_lab21 --config.data_dir=/path/to/cifar-10-batches-py

``data_dir`` (placeholder ``~/data/cifar10``) must hold the original
python-pickle batches. [Lab21]'s symmetric-EP CE run
(``--channels 128 256 512 512 --kernels 3 3 3 3 --pools mmmm --paddings 1 1 1 0
--fc 10 --optim sgd --mmt 0.9 --lrs 0.25 0.15 0.1 0.08 0.05 --wds 3e-4
--epochs 120 --act my_hard_sig --T1 250 --T2 25 --mbs 128 --betas 0.0 1.0
--thirdphase --loss cel --softmax --data-aug``): deterministic CRNN with
ρ = clip(x/2, 0, 1), T_free 250, T_nudge 25, β 1 (±β), CE readout, 11.7 %
test error reported. Their ``--lr-decay`` is a cosine decay; here
``optimizer.schedule='cosine'`` decays over all the run's steps. Their input
normalisation is not applied (inputs are in [0, 1]). ``--config.neuron.name=stochep --config.network.pool=avg`` gives the
spiking version.
"""

import ml_collections

from experiments.configs import base


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  c = base.base_config()
  c.dataset = 'cifar10'
  c.data_dir = '~/data/cifar10'  # placeholder: the original python-pickle batches
  c.augment = ('flip', 'crop')
  c.network = base.network_config(
    'lab21_cifar', channels=(128, 256, 512, 512), padding=(1, 1, 1, 0), pool='max', alpha=4.0
  )
  c.network.readout = 'ce'
  c.neuron.name = 'crnn'
  c.neuron.crnn.rho = 'hard_sigmoid_half'
  c.ep.update(dict(t_free=250, t_nudge=25, beta=1.0, k_avg=1))
  # Four conv layers, then the CE readout's W_out.
  c.optimizer.update(
    dict(
      learning_rates=(0.25, 0.15, 0.1, 0.08, 0.05),
      momentum=0.9,
      weight_decay=3e-4,
      schedule='cosine',
    )
  )
  c.eval_batch_size = 500
  c.num_epochs = 120
  c.log_every_steps = 50

  if base.variant(arg) == 'smoke':
    c.train_subset, c.test_subset = 512, 256
    c.batch_size, c.eval_batch_size = 64, 128
    c.num_epochs = 1
    c.network.channels = (4, 8, 8, 16)
    c.ep.update(dict(t_free=20, t_nudge=8))
    c.log_every_steps = 0
  return c
