"""Short runs for the launchers that draw the papers' figures and count their energy.

What ``experiments/energy.py``, ``experiments/figures.py`` and ``experiments/report.py`` share
(none of them imports another launcher):

* ``SETTINGS`` / ``SMOKE``: the default experiment's sizes (``base_config``: StochEP
  784-512-10, T 100 + 40 + 40, β 0.5) and a tiny variant, as the plain dict that
  ``stochep_jax.opcount.report`` takes;
* ``load_images``: the first ``n`` images of a split, as arrays (no tfds cache);
* ``synthetic_dir``: synthetic Fashion-MNIST-format IDX files (``data.write_synthetic_idx``);
* ``train_briefly``: a few EP SGD steps from the given parameters (per-group rates, no schedule);
* ``train_config_briefly``: a few steps of an experiment config's own estimator and optimiser
  (its schedule spread over those steps), from initialisation.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from stochep_jax import assembly, data, estimators, keys, training

# The default experiment's settings (base_config: StochEP 784-512-10) and a smoke variant.
SETTINGS = dict(
  hidden=(512,), t_free=100, t_nudge=40, beta=0.5, k_avg=30, decay=0.5, kappa=1.0, batch=128,
  learning_rates=(0.2, 0.1), train_batch=128, n_perclass=1,
)  # fmt: skip
SMOKE = dict(SETTINGS, hidden=(32,), t_free=20, t_nudge=10, k_avg=5, batch=16, train_batch=32)


def load_images(data_dir: str, split: str, n: int, offset: int = 0, dataset: str = 'fashion_mnist'):
  """The first ``n`` images of a split (from ``offset``), float32 in [0, 1] flattened, and labels.

  ``dataset``: 'fashion_mnist' or 'mnist' (the same IDX format and 784 inputs).
  """
  images, labels = data.read_original_split(dataset, split, data_dir)
  sl = slice(offset, offset + n)
  x = images[sl].reshape(len(images[sl]), -1).astype(np.float32) / 255.0
  return x, labels[sl].astype(np.int32)


def synthetic_dir(folder: str, n_train: int = 512, n_test: int = 128) -> str:
  """Synthetic Fashion-MNIST-format IDX files in ``folder`` (``data.write_synthetic_idx``)."""
  data.write_synthetic_idx(folder, n_train, n_test, seed=0)
  return folder


def _batches(x, y, steps: int, batch: int):
  """``steps`` batches of (x, y) in order, wrapping around, with their global indices."""
  n = len(x)
  for i in range(steps):
    idx = (np.arange(batch) + i * batch) % n
    yield {'image': jnp.asarray(x[idx]), 'label': jnp.asarray(y[idx]), 'index': jnp.asarray(idx)}


def train_briefly(sim, ep, params, x, y, steps: int, batch: int, learning_rates, seed: int = 0):
  """``steps`` EP SGD steps on (x, y) batches in order (wrapping around); returns params."""
  if steps <= 0:
    return params
  opt = training.make_optimizer(params, list(learning_rates)[: sim.network.num_layers])
  grad_fn = estimators.ESTIMATORS.make('ep', sim=sim, **dataclasses.asdict(ep))
  step = jax.jit(training.make_train_step(grad_fn, opt))
  state = training.init_train_state(params, opt)
  key = jax.random.key(seed + 1)
  for b in _batches(x, y, steps, batch):
    state, _ = step(state, b, key)
  return state.params


def train_config_briefly(config: ml_collections.ConfigDict, x, y, steps: int):
  """``(simulator, params)``: ``steps`` steps of ``config``'s estimator and optimiser.

  From the config's initialisation (its seed's init key), batches of ``config.batch_size``
  in order (wrapping around), its cosine schedule (if any) spread over the ``steps``; ``x``
  is reshaped to the network's input shape. The simulator is the config's (precision policy
  included).
  """
  c = ml_collections.ConfigDict(config.to_dict())
  c.num_epochs = 1
  run = assembly.build(c)
  init_key, train_key, _ = keys.run_keys(c.seed)
  params = run.init_params(init_key)
  if steps <= 0:
    return run.simulator, params
  x = np.asarray(x).reshape(len(x), *run.simulator.network.input_shape)
  opt = run.optimizer(params, steps_per_epoch=steps)
  step = jax.jit(run.train_step(opt))
  state = training.init_train_state(params, opt)
  for b in _batches(x, y, steps, c.batch_size):
    state, _ = step(state, b, train_key)
  return run.simulator, state.params
