"""Backprop references of the EP networks' shapes, trained with Adam.

    python experiments/backprop.py --workdir=runs/backprop_fmnist            # 30 epochs
    python experiments/backprop.py --workdir=/tmp/bp --epochs=1 --hidden=64  # seconds
    # the CNN of configs/fashion_mnist_conv.py: conv 32, conv 64 (3x3, valid, 2x2 avg pool), FC 512
    python experiments/backprop.py --workdir=runs/backprop_cnn --channels=32,64 --hidden=512

The comparison number for ``make demo`` (StochEP 784-512-10 with EP, 1FC in
docs/model.md, "Architectures"): the same layer sizes, the same data pipeline
(``stochep_jax.data``: the original IDX files, the same example order per seed and
epoch), trained by ordinary backpropagation of softmax cross-entropy with Adam. Writes
``<workdir>/metrics.json`` (strict JSON): ``test_accuracy``, ``test_error``,
``train_accuracy``, ``epochs``, ``wall_seconds`` (training and evaluation, after the
data are loaded), ``history`` (one entry per epoch) and the flags.

``--channels`` puts convolutions in front (3×3, stride 1, no padding, ReLU, then 2×2
average pooling, as ``architectures.convnet``): ``--channels=32,64 --hidden=512`` is
the backprop CNN of the conv config's shape.

The EP nets' units and readout, as controls (the feedforward net, trained by backprop):
``--activation=hard_sigmoid`` (ρ(x) = clip(x, 0, 1), the EP nets' units, instead of
ReLU), ``--readout=mse --n_perclass=4`` (``n_perclass`` output units a class through the
activation, cost ½‖output − one-hot target repeated n_perclass times‖², the class score
the mean of its units, as the conv config's readout), ``--init=torch`` (the EP nets'
U(±1/√fan_in) weights, ``connections.torch_default_init``), ``--augment=flip,crop``
(``stochep_jax.data.random_flip`` / ``random_crop``, padding ``--crop_padding``, one key
an example from the seed, the step and the augmentation's position).

Choices **[choice]**: He-normal initialisation of the weights of every layer followed by
the activation (``kernel_init=he_normal``; ``--init``), LeCun-normal for the softmax
logits under He-normal (flax's default), zero biases, the learning rate decayed to 0 by a
cosine over all steps (``--schedule``, as the demo's SGD), no weight decay, dropout
or augmentation (``--augment``); the last partial batch of an epoch is dropped.
"""

import os
import time

from absl import flags, logging

from experiments import launch

FLAGS = flags.FLAGS

ACTIVATIONS = ('relu', 'hard_sigmoid')
READOUTS = ('ce', 'mse')
INITS = ('he_normal', 'lecun_normal', 'torch')
AUGMENTATIONS = ('flip', 'crop')
UNIT_NAMES = {'relu': 'ReLU', 'hard_sigmoid': 'hard-sigmoid'}
LOSS_NAMES = {'ce': 'softmax cross-entropy', 'mse': 'MSE'}


def define_flags() -> None:
  """The launcher's flags, defined when it runs as a script (importing the module for its
  functions defines none, so it never clashes with another launcher's flags)."""
  flags.DEFINE_string('workdir', None, 'Directory for metrics.json.')
  flags.DEFINE_integer('epochs', 30, 'Training epochs.')
  flags.DEFINE_integer('batch_size', 128, 'Training batch size.')
  flags.DEFINE_float('lr', 1e-3, 'Adam learning rate (the peak of the schedule).')
  flags.DEFINE_enum(
    'schedule',
    'cosine',
    ['cosine', 'constant'],
    'Learning-rate schedule: cosine decay to 0 over all steps (as the demo) or constant.',
  )
  flags.DEFINE_string(
    'data_dir', '', 'Folder of the original dataset files ("" = the dataset default).'
  )
  flags.DEFINE_string('tfds_dir', '', 'array_record cache root ("" = ~/.cache/stochep_jax/...).')
  flags.DEFINE_string('dataset', 'fashion_mnist', 'Dataset name (stochep_jax.data.DATASETS).')
  flags.DEFINE_list('hidden', ['512'], 'Hidden layer widths (784-512-10 by default).')
  flags.DEFINE_list('channels', [], 'Conv layer channels in front of the dense layers (none: MLP).')
  flags.DEFINE_integer('seed', 0, 'Seed of the initialisation and of the example order.')
  flags.DEFINE_integer('eval_batch_size', 2000, 'Batch size of the accuracy passes.')
  flags.DEFINE_enum(
    'activation', 'relu', list(ACTIVATIONS), "Hidden units: ReLU or the EP nets' clip(x, 0, 1)."
  )
  flags.DEFINE_enum(
    'readout',
    'ce',
    list(READOUTS),
    "ce: softmax cross-entropy on logits; mse: the EP nets' readout (see --n_perclass).",
  )
  flags.DEFINE_integer('n_perclass', 1, 'Output units a class (--readout=mse only).')
  flags.DEFINE_enum('init', 'he_normal', list(INITS), 'Initialisation of the weights.')
  flags.DEFINE_list('augment', [], 'Training augmentations, applied in order (flip, crop).')
  flags.DEFINE_integer('crop_padding', 2, 'Zero padding of --augment=crop on each side.')
  flags.mark_flags_as_required(['workdir'])
  launch.integer('epochs', 1)
  launch.integer('batch_size', 1)
  launch.number('lr', 0.0, strict=True)
  launch.int_list('hidden', 1)
  launch.int_list('channels', 1, allow_empty=True)
  launch.integer('eval_batch_size', 1)
  launch.integer('seed', 0)
  launch.integer('n_perclass', 1)
  launch.require('augment', lambda v: all(u in AUGMENTATIONS for u in v), 'a list of flip, crop')
  launch.integer('crop_padding', 0)


def _activation(name: str):
  import flax.linen as nn
  import jax.numpy as jnp

  return {'relu': nn.relu, 'hard_sigmoid': lambda x: jnp.clip(x, 0.0, 1.0)}[name]


def _kernel_init(name: str):
  import flax.linen as nn

  from stochep_jax import connections

  return {
    'he_normal': nn.initializers.he_normal(),
    'lecun_normal': nn.initializers.lecun_normal(),
    'torch': connections.torch_default_init(1.0),
  }[name]


def make_model(
  hidden: tuple[int, ...],
  num_classes: int,
  channels: tuple[int, ...] = (),
  *,
  activation: str = 'relu',
  readout: str = 'ce',
  n_perclass: int = 1,
  init: str = 'he_normal',
):
  """Conv(3×3)-act-AvgPool(2) per channel count, Dense-act per hidden width, then the
  readout: ``num_classes`` logits (``ce``) or ``num_classes·n_perclass`` units through the
  activation (``mse``)."""
  import flax.linen as nn

  act, kinit = _activation(activation), _kernel_init(init)
  logits_init = _kernel_init('lecun_normal' if init == 'he_normal' else init)

  class MLP(nn.Module):
    @nn.compact
    def __call__(self, x):
      for c in channels:
        x = nn.Conv(c, (3, 3), padding='VALID', kernel_init=kinit)(x)
        x = nn.avg_pool(act(x), (2, 2), (2, 2))
      x = x.reshape((x.shape[0], -1))
      for h in hidden:
        x = act(nn.Dense(h, kernel_init=kinit)(x))
      if readout == 'ce':  # logits, no activation after them: He's gain is for ReLU
        return nn.Dense(num_classes, kernel_init=logits_init)(x)
      return act(nn.Dense(num_classes * n_perclass, kernel_init=kinit)(x))

  return MLP()


def make_loss(readout: str, num_classes: int, n_perclass: int = 1):
  """``(loss, scores)`` of the model's outputs: per-example losses ``[B]`` and class
  scores ``[B, num_classes]`` (the logits, or each class's mean output unit)."""
  import jax
  import jax.numpy as jnp
  import optax

  def loss(out, labels):
    if readout == 'ce':
      return optax.softmax_cross_entropy_with_integer_labels(out, labels), out
    target = jnp.repeat(jax.nn.one_hot(labels, num_classes, dtype=out.dtype), n_perclass, axis=1)
    scores = out.reshape(out.shape[0], num_classes, n_perclass).mean(-1)
    return 0.5 * jnp.sum((out - target) ** 2, axis=-1), scores

  return loss


def augment(key, images, names: tuple[str, ...], crop_padding: int = 2):
  """``images`` through the augmentations ``names`` in order; augmentation j uses
  ``fold_in(key, j)`` (one key an example inside ``stochep_jax.data``'s functions)."""
  import jax

  from stochep_jax import data

  for j, name in enumerate(names):
    k = jax.random.fold_in(key, j)
    if name == 'flip':
      images = data.random_flip(k, images)
    else:
      images = data.random_crop(k, images, crop_padding)
  return images


def train_and_evaluate(
  *,
  workdir: str,
  epochs: int,
  batch_size: int,
  lr: float,
  hidden: tuple[int, ...],
  seed: int,
  channels: tuple[int, ...] = (),
  schedule: str = 'cosine',
  dataset: str = 'fashion_mnist',
  data_dir: str | None = None,
  tfds_dir: str | None = None,
  eval_batch_size: int = 2000,
  activation: str = 'relu',
  readout: str = 'ce',
  n_perclass: int = 1,
  init: str = 'he_normal',
  augmentations: tuple[str, ...] = (),
  crop_padding: int = 2,
) -> dict:
  """Trains the MLP; writes and returns the metrics (see the module docstring)."""
  import jax
  import jax.numpy as jnp
  import numpy as np
  import optax

  from stochep_jax import data

  if readout == 'ce' and n_perclass != 1:
    raise launch.LaunchError(
      f'flag --n_perclass={n_perclass}: needs --readout=mse (ce has one logit a class)'
    )
  spec = data.DATASETS[dataset]
  data.check_files(dataset, data_dir)  # fails fast, before any work
  train_x, train_y = data.load_arrays(dataset, 'train', data_dir, tfds_dir)
  test_x, test_y = data.load_arrays(dataset, 'test', data_dir, tfds_dir)
  peak_lr = lr
  model = make_model(
    tuple(hidden),
    spec.num_classes,
    tuple(channels),
    activation=activation,
    readout=readout,
    n_perclass=n_perclass,
    init=init,
  )
  loss_of = make_loss(readout, spec.num_classes, n_perclass)
  params = model.init(jax.random.key(seed), jnp.zeros((1, *spec.image_shape)))
  augment_key = jax.random.fold_in(jax.random.key(seed), 1)  # step t: fold_in(augment_key, t)
  steps = epochs * (len(train_y) // batch_size)
  if schedule == 'cosine':
    lr = optax.cosine_decay_schedule(lr, max(steps, 1))
  opt = optax.adam(lr)
  opt_state = opt.init(params)

  def loss_fn(params, x, y):
    losses, scores = loss_of(model.apply(params, x), y)
    return losses.mean(), scores

  @jax.jit
  def train_step(params, opt_state, x, y, step):
    if augmentations:
      x = augment(jax.random.fold_in(augment_key, step), x, augmentations, crop_padding)
    (loss, scores), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, x, y)
    updates, opt_state = opt.update(grads, opt_state, params)
    correct = jnp.sum(jnp.argmax(scores, -1) == y)
    return optax.apply_updates(params, updates), opt_state, loss, correct

  @jax.jit
  def eval_step(params, x, y):
    losses, scores = loss_of(model.apply(params, x), y)
    return losses.sum(), jnp.sum(jnp.argmax(scores, -1) == y)

  def evaluate(params, images, labels):
    loss = correct = 0.0
    for b in data.batches(
      images, labels, eval_batch_size, seed=0, epoch=0, shuffle=False, drop_remainder=False
    ):
      batch_loss, batch_correct = eval_step(params, b['image'], b['label'])
      loss, correct = loss + float(batch_loss), correct + int(batch_correct)
    return {'loss': loss / len(labels), 'accuracy': correct / len(labels)}

  history, step = [], 0
  start = time.perf_counter()
  for epoch in range(epochs):
    t = time.perf_counter()
    loss_sum, correct, seen = 0.0, 0, 0
    for b in data.batches(train_x, train_y, batch_size, seed=seed, epoch=epoch):
      params, opt_state, loss, c = train_step(params, opt_state, b['image'], b['label'], step)
      step += 1
      n = b['label'].shape[0]
      loss_sum, correct, seen = loss_sum + float(loss) * n, correct + int(c), seen + n
    train, test = evaluate(params, train_x, train_y), evaluate(params, test_x, test_y)
    history.append(
      {
        'epoch': epoch + 1,
        'running_train_loss': loss_sum / max(seen, 1),
        'running_train_accuracy': correct / max(seen, 1),
        'train_loss': train['loss'],
        'train_accuracy': train['accuracy'],
        'test_loss': test['loss'],
        'test_accuracy': test['accuracy'],
        'seconds': time.perf_counter() - t,
      }
    )
    logging.info(
      'epoch %3d/%d  train acc %.4f  test acc %.4f (error %.2f %%)  %.1fs',
      epoch + 1,
      epochs,
      train['accuracy'],
      test['accuracy'],
      100 * (1 - test['accuracy']),
      history[-1]['seconds'],
    )
  last = history[-1]
  metrics = {
    'test_accuracy': last['test_accuracy'],
    'test_error': 1.0 - last['test_accuracy'],
    'train_accuracy': last['train_accuracy'],
    'epochs': epochs,
    'wall_seconds': time.perf_counter() - start,
    'history': history,
    'model': (f'{len(channels)}C-' if channels else '')
    + f'{int(np.prod(spec.image_shape))}-{"-".join(map(str, [*channels, *hidden]))}-'
    f'{spec.num_classes * n_perclass} {UNIT_NAMES[activation]} {"CNN" if channels else "MLP"}, '
    f'Adam, {LOSS_NAMES[readout]}',
    'flags': {
      'dataset': dataset,
      'batch_size': batch_size,
      'lr': peak_lr,
      'schedule': schedule,
      'hidden': list(hidden),
      'channels': list(channels),
      'seed': seed,
      'data_dir': data_dir or spec.default_data_dir,
      'activation': activation,
      'readout': readout,
      'n_perclass': n_perclass,
      'init': init,
      'augment': list(augmentations),
      'crop_padding': crop_padding,
    },
    'devices': [str(d) for d in jax.devices()],
  }
  launch.write_json(os.path.join(workdir, 'metrics.json'), metrics)
  return metrics


def main(argv):
  del argv
  from stochep_jax import data

  if FLAGS.dataset not in data.DATASETS:
    raise launch.LaunchError(
      f'flag --dataset={FLAGS.dataset}: must be one of {", ".join(sorted(data.DATASETS))}'
    )
  m = train_and_evaluate(
    workdir=FLAGS.workdir,
    epochs=FLAGS.epochs,
    batch_size=FLAGS.batch_size,
    lr=FLAGS.lr,
    hidden=tuple(int(h) for h in FLAGS.hidden),
    channels=tuple(int(c) for c in FLAGS.channels),
    seed=FLAGS.seed,
    schedule=FLAGS.schedule,
    dataset=FLAGS.dataset,
    data_dir=FLAGS.data_dir or None,
    tfds_dir=FLAGS.tfds_dir or None,
    eval_batch_size=FLAGS.eval_batch_size,
    activation=FLAGS.activation,
    readout=FLAGS.readout,
    n_perclass=FLAGS.n_perclass,
    init=FLAGS.init,
    augmentations=tuple(FLAGS.augment),
    crop_padding=FLAGS.crop_padding,
  )
  print(
    f'{m["model"]}: test accuracy {m["test_accuracy"]:.4f} (error {100 * m["test_error"]:.2f} %), '
    f'train accuracy {m["train_accuracy"]:.4f}, {m["epochs"]} epochs in {m["wall_seconds"]:.0f} s'
  )


if __name__ == '__main__':
  define_flags()
  launch.run(main)
