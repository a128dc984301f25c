"""The PRNG key tree: every random number of a run comes from one seed, by ``fold_in``.

Every key is derived here, so a result is a function of the seed, the step and
the example's global index only: never of the batch size, the batch position,
the device or the host an example lands on. The tree, top to bottom:

=============  ===========================================  ==============================
key            derived from its parent as                   used by
=============  ===========================================  ==============================
run            ``key(seed)``                                ``run_keys``
init           ``fold_in(run, INIT)``  (0)                  ``Network.init``
train          ``fold_in(run, TRAIN)`` (1)                  the train step
eval           ``fold_in(run, EVAL)``  (2)                  evaluation
batch          ``fold_in(train, step)``                     ``training.make_train_step``
example i      ``fold_in(batch, index_i)``                  ``example_keys``
phase          ``fold_in(example, FREE / PLUS / MINUS)``    ``estimators`` (0 / 1 / 2)
time t         ``fold_in(phase, t)``                        ``dynamics`` (t counts on
                                                            across chunks)
layer          ``fold_in(time, 0)`` for the input encoder,  ``dynamics``
               ``fold_in(time, ℓ + 1)`` for layer ℓ
sign           ``fold_in(batch, SIGN_STREAM)``              random-sign EP (one per batch)
augment i, j   ``fold_in(fold_in(fold_in(batch,             ``assembly.augmented``
               AUGMENT_STREAM), index_i), j)``
draw m         ``fold_in(key, m)``                          ``gdu`` (M noise draws)
=============  ===========================================  ==============================

Reserved streams: the example index space ``[0, 2**32 - 2)`` belongs to the
examples; ``SIGN_STREAM = 2**32 - 1`` and ``AUGMENT_STREAM = 2**32 - 2`` are
folded into the same batch key, so they can never meet an example's key.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

Array = jax.Array

INIT, TRAIN, EVAL = 0, 1, 2
FREE, PLUS, MINUS = 0, 1, 2
INPUT_LAYER = 0  # the encoder's stream; layer ℓ uses ℓ + 1
SIGN_STREAM = 0xFFFFFFFF
AUGMENT_STREAM = 0xFFFFFFFE


def run_keys(seed: int) -> tuple[Array, Array, Array]:
  """The run's (init, train, eval) keys: ``fold_in(key(seed), INIT / TRAIN / EVAL)``."""
  root = jax.random.key(seed)
  return tuple(jax.random.fold_in(root, i) for i in (INIT, TRAIN, EVAL))


def batch_key(train_key: Array, step) -> Array:
  """The key of training step ``step`` (the optimiser's step count)."""
  return jax.random.fold_in(train_key, step)


def example_keys(key: Array, indices: Array) -> Array:
  """Per-example keys ``fold_in(key, index_i)`` (index = global example index)."""
  return jax.vmap(jax.random.fold_in, (None, 0))(key, indices)


def batch_example_keys(key: Array | None, batch: int, indices: Array | None = None):
  """``example_keys`` of a batch (indices default to 0..batch-1); None stays None."""
  if key is None:
    return None
  return example_keys(key, jnp.arange(batch) if indices is None else indices)


def minus_phase(shared_noise: bool) -> int:
  """The stream of the −β phase: PLUS's when the nudged phases share their noise, else MINUS."""
  return PLUS if shared_noise else MINUS


def fold_in_each(keys: Array, data) -> Array:
  """``fold_in(k_i, data)`` for every per-example key."""
  return jax.vmap(jax.random.fold_in, (0, None))(keys, data)


def phase_keys(keys: Array | None, phase: int) -> Array | None:
  """Per-example keys of a phase (FREE, PLUS or MINUS); None stays None (deterministic)."""
  return None if keys is None else fold_in_each(keys, phase)


def time_key(key: Array, t) -> Array:
  """The key of time step ``t`` of a phase (one example)."""
  return jax.random.fold_in(key, t)


def layer_key(time_key_: Array, layer: int | None) -> Array:
  """The key of layer ``layer`` at one time step; ``None`` is the input encoder."""
  return jax.random.fold_in(time_key_, INPUT_LAYER if layer is None else layer + 1)


def sign_key(batch_key_: Array) -> Array:
  """The key of random-sign EP's sign draw (one per batch)."""
  return jax.random.fold_in(batch_key_, SIGN_STREAM)


def augment_keys(batch_key_: Array, indices: Array, j: int) -> Array:
  """Per-example keys of augmentation ``j`` (its position in ``config.augment``)."""
  return fold_in_each(example_keys(jax.random.fold_in(batch_key_, AUGMENT_STREAM), indices), j)


def draw_key(key: Array, m) -> Array:
  """The key of noise draw ``m`` of a repeated measurement (``gdu``)."""
  return jax.random.fold_in(key, m)
