"""Activation functions ρ used by the neuron models.

ρ maps a membrane value to an output in [0, 1]. The hard sigmoid ``clip(x, 0, 1)``
is the default **[choice]** (docs/model.md, "Neuron models"); ``clip(x/2, 0, 1)``
[Lab21] and the logistic σ(x) are offered too. Each activation comes with the
derivative ρ' used by models whose update multiplies by ρ' (Sigma-Delta,
continuous-time Hopfield).

The hard sigmoids' derivative is taken as 1 on the *closed* interval (0 at the
kinks would freeze a state that starts at 0).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp

from stochep_jax import checks

Array = jax.Array


@dataclasses.dataclass(frozen=True)
class Activation:
  """A named pair (ρ, ρ')."""

  name: str
  fn: Callable[[Array], Array]
  grad: Callable[[Array], Array]

  def __call__(self, x: Array) -> Array:
    return self.fn(x)


def _hard_sigmoid(x):
  return jnp.clip(x, 0.0, 1.0)


def _hard_sigmoid_grad(x):
  return ((x >= 0.0) & (x <= 1.0)).astype(x.dtype)


def _hard_sigmoid_half(x):
  return jnp.clip(0.5 * x, 0.0, 1.0)


def _hard_sigmoid_half_grad(x):
  return 0.5 * ((x >= 0.0) & (x <= 2.0)).astype(x.dtype)


def _logistic_grad(x):
  s = jax.nn.sigmoid(x)
  return s * (1.0 - s)


HARD_SIGMOID = Activation('hard_sigmoid', _hard_sigmoid, _hard_sigmoid_grad)
HARD_SIGMOID_HALF = Activation('hard_sigmoid_half', _hard_sigmoid_half, _hard_sigmoid_half_grad)
LOGISTIC = Activation('logistic', jax.nn.sigmoid, _logistic_grad)

_REGISTRY = {a.name: a for a in (HARD_SIGMOID, HARD_SIGMOID_HALF, LOGISTIC)}
NAMES = tuple(_REGISTRY)


def check(owner: str, name: str, value) -> None:
  """A neuron's activation argument: a known name (``NAMES``) or an ``Activation``."""
  if not (isinstance(value, Activation) or (isinstance(value, str) and value in _REGISTRY)):
    checks.fail(owner, name, value, f'must be {checks.alternatives(NAMES)}')


def get(name: str | Activation) -> Activation:
  """Returns the activation called ``name`` (or ``name`` itself if already one).

  Args:
    name: one of ``'hard_sigmoid'`` (clip(x, 0, 1), default),
      ``'hard_sigmoid_half'`` (clip(x/2, 0, 1)), ``'logistic'``.
  """
  if isinstance(name, Activation):
    return name
  try:
    return _REGISTRY[name]
  except KeyError:
    raise ValueError(f'unknown activation {name!r}; choose from {sorted(_REGISTRY)}') from None
