"""The primitive function Φ, the Hopfield energy and the costs.

As in docs/model.md, "Network and primitive function".

For layers ℓ = 0..L, with s₀ = x the input and s₁..s_L neuron layers,

    Φ(x, s; θ) = Σ_ℓ ⟨F_ℓ(s_{ℓ-1}), s_ℓ⟩          (summed over all elements,
                                                   batch included)
    E(x, s; θ) = ½ Σ_ℓ ‖s_ℓ‖² − Φ(x, s; θ)

and the input current of layer ℓ is I_ℓ = ∂Φ/∂s_ℓ = F_ℓ(s_{ℓ-1}) + (backward
current from layer ℓ+1). Currents are computed with ``jax.grad`` of Φ, so
every adjoint (transposed weights, transposed convolutions, pooling adjoints)
comes for free and the feedback weights are exactly the feedforward ones.

Nudging adds −β·C: the nudged primitive is Φ_β = Φ − β Σ_b C_b, and EP's
weight update is a difference of ∂Φ_β/∂θ (``estimators.py``).

Readouts (the same section of docs/model.md):

* ``MSEReadout``: the last neuron layer has n_classes × n_perclass units; a
  class score is the mean of its group (class-major: unit j belongs to class
  j // n_perclass); C = ½‖s_L − ŷ‖² with ŷ the one-hot target repeated
  n_perclass times.
* ``CrossEntropyReadout`` [Lab21]: the output layer leaves the energy;
  logits = W_out·vec(s_L) (s_L now the last *hidden* layer) and
  C = CE(softmax(logits), y). W_out is trained through the same Φ_β.

Nothing here knows about neurons: Φ is a function of states, whatever
produced them.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence
from typing import Any, Protocol

import jax
import jax.numpy as jnp
import optax

from stochep_jax import connections as conn_lib

Array = jax.Array
Params = Any
States = tuple[Array, ...]


READOUT = 'readout'  # the readout's parameter group (a cross-entropy readout's weights)


def group_name(i: int) -> str:
  """The name of connection i's parameter group (0-based): ``layer1``, ``layer2``, ..."""
  return f'layer{i + 1}'


def param_groups(params: Params) -> dict[str, Any]:
  """The parameter groups in order: ``layer1`` .. ``layerL``, then ``readout`` if it has any.

  The one definition of the groups: one learning rate each (``training``), one
  row each in the GDU report (``gdu``) and in ``Network.layer_names``.
  """
  groups = {group_name(i): p for i, p in enumerate(params['layers'])}
  if jax.tree_util.tree_leaves(params['readout']):
    groups[READOUT] = params['readout']
  return groups


def param_labels(params: Params) -> Params:
  """``params`` with each leaf replaced by its group's name (``param_groups``), for
  ``optax.multi_transform``."""
  return {
    'layers': tuple(
      jax.tree_util.tree_map(lambda _, i=i: group_name(i), p)
      for i, p in enumerate(params['layers'])
    ),
    'readout': jax.tree_util.tree_map(lambda _: READOUT, params['readout']),
  }


class Readout(Protocol):
  """Maps the last neuron layer to class scores and a per-example cost."""

  n_classes: int

  def out_units(self) -> int | None:
    """Units the last neuron layer must have, or None if unconstrained."""

  def synapses(self, last_shape: tuple[int, ...]) -> int:
    """The readout's weights (0: none, its parameters are empty)."""

  def init(self, key: Array, last_shape: tuple[int, ...], dtype) -> Params: ...

  def scores(self, params: Params, s_last: Array) -> Array: ...

  def cost(self, params: Params, s_last: Array, labels: Array) -> Array: ...


@dataclasses.dataclass(frozen=True)
class MSEReadout:
  """Squared error on the output layer, with n_perclass neurons per class."""

  n_classes: int = 10
  n_perclass: int = 1

  def out_units(self):
    return self.n_classes * self.n_perclass

  def synapses(self, last_shape) -> int:
    """Weights of the readout: none (the output layer is the scores)."""
    del last_shape
    return 0

  def init(self, key, last_shape, dtype=jnp.float32):
    del key, last_shape, dtype
    return {}

  def target(self, labels: Array, dtype=jnp.float32) -> Array:
    """ŷ: the one-hot target repeated n_perclass times (class-major)."""
    onehot = jax.nn.one_hot(labels, self.n_classes, dtype=dtype)
    return jnp.repeat(onehot, self.n_perclass, axis=-1)

  def scores(self, params, s_last):
    del params
    b = s_last.shape[0]
    return s_last.reshape(b, self.n_classes, self.n_perclass).mean(-1)

  def cost(self, params, s_last, labels):
    del params
    diff = s_last.reshape(s_last.shape[0], -1) - self.target(labels, s_last.dtype)
    return 0.5 * jnp.sum(diff * diff, axis=-1)


@dataclasses.dataclass(frozen=True)
class CrossEntropyReadout:
  """Softmax cross-entropy on logits = W_out vec(s_L) [Lab21]."""

  n_classes: int = 10
  use_bias: bool = False
  init_scale: float = 1.0

  def out_units(self):
    return None

  def synapses(self, last_shape) -> int:
    """Weights of W_out: every unit of the last layer to every class."""
    return math.prod(last_shape) * self.n_classes

  def init(self, key, last_shape, dtype=jnp.float32):
    return conn_lib.Dense(self.n_classes, self.use_bias, self.init_scale).init(
      key, last_shape, dtype
    )

  def scores(self, params, s_last):
    return conn_lib.Dense(self.n_classes, self.use_bias).apply(params, s_last)

  def cost(self, params, s_last, labels):
    return optax.softmax_cross_entropy_with_integer_labels(self.scores(params, s_last), labels)


@dataclasses.dataclass(frozen=True)
class Network:
  """A stack of connections with a readout: the energy-based model.

  Params are ``{'layers': (θ_1, ..., θ_L), 'readout': θ_out}`` where θ_out is
  empty for the MSE readout.

  Attributes:
    input_shape: per-example shape of x (e.g. ``(784,)`` or ``(28, 28, 1)``).
    connections: F_1..F_L; F_ℓ maps s_{ℓ-1} to the input of layer ℓ.
    readout: MSEReadout or CrossEntropyReadout.
  """

  input_shape: tuple[int, ...]
  connections: tuple[Any, ...]
  readout: Any = MSEReadout()

  def __post_init__(self):
    units = self.readout.out_units()
    if units is not None and math.prod(self.layer_shapes[-1]) != units:
      raise ValueError(
        f'the last layer has shape {self.layer_shapes[-1]} but the readout needs {units} units'
      )

  @functools.cached_property
  def layer_shapes(self) -> tuple[tuple[int, ...], ...]:
    """Per-example shapes of s_1..s_L."""
    shapes, shape = [], tuple(self.input_shape)
    for c in self.connections:
      shape = tuple(c.out_shape(shape))
      shapes.append(shape)
    return tuple(shapes)

  @property
  def num_layers(self) -> int:
    return len(self.connections)

  def layer_names(self) -> list[str]:
    """Names of the parameter groups (``param_groups``), in ``params`` order (for reports)."""
    names = [group_name(i) for i in range(self.num_layers)]
    return names + ([READOUT] if self.readout_synapses else [])

  @property
  def readout_synapses(self) -> int:
    """The readout's weights (0 for the MSE readout): the one place that says whether it
    has any, for the parameter groups and the operation counts."""
    return self.readout.synapses(self.layer_shapes[-1])

  # -- parameters -----------------------------------------------------------
  def init(self, key: Array, dtype=jnp.float32) -> Params:
    keys = jax.random.split(key, self.num_layers + 1)
    in_shapes = (tuple(self.input_shape),) + self.layer_shapes[:-1]
    layers = tuple(c.init(k, s, dtype) for c, k, s in zip(self.connections, keys, in_shapes))
    return {'layers': layers, 'readout': self.readout.init(keys[-1], self.layer_shapes[-1], dtype)}

  def prepare(self, params: Params) -> Params:
    """The parameters as the dynamics use them, computed once per phase: each
    connection's ``prepare`` (pooled kernels, the precision policy's casts). Φ, the
    currents and the input drive accept either form; the EP update differentiates the
    original parameters."""
    layers = tuple(
      c.prepare(p) if hasattr(c, 'prepare') else p
      for c, p in zip(self.connections, params['layers'])
    )
    return {**params, 'layers': layers}

  # -- Φ and its gradients --------------------------------------------------
  def phi(self, params: Params, x: Array, states: Sequence[Array]) -> Array:
    """Φ(x, s; θ) = Σ_ℓ ⟨F_ℓ(s_{ℓ-1}), s_ℓ⟩, summed over the batch."""
    below = (x,) + tuple(states[:-1])
    return sum(
      jnp.sum(c.apply(p, b) * s)
      for c, p, b, s in zip(self.connections, params['layers'], below, states)
    )

  def energy(self, params: Params, x: Array, states: Sequence[Array]) -> Array:
    """Hopfield energy E = ½ Σ_ℓ ‖s_ℓ‖² − Φ, summed over the batch."""
    return 0.5 * sum(jnp.sum(s * s) for s in states) - self.phi(params, x, states)

  def input_drive(self, params: Params, x: Array) -> Array:
    """F_1(x): the part of layer 1's current that comes from the input.

    Φ is linear in s_1 through ⟨F_1(x), s_1⟩, so this is exactly that term's
    contribution to ∂Φ/∂s_1. For a static input it is computed once per phase.
    """
    return self.connections[0].apply(params['layers'][0], x)

  def _phi_recurrent(self, params, states):
    """Φ without the input term: Σ_{ℓ≥2} ⟨F_ℓ(s_{ℓ-1}), s_ℓ⟩."""
    return sum(
      (
        jnp.sum(c.apply(p, b) * s)
        for c, p, b, s in zip(self.connections[1:], params['layers'][1:], states[:-1], states[1:])
      ),
      jnp.zeros((), states[0].dtype),
    )

  def currents(self, params: Params, drive: Array, states: Sequence[Array]) -> States:
    """I_ℓ = ∂Φ/∂s_ℓ for every layer, given layer 1's input drive F_1(x)."""
    grads = jax.grad(self._phi_recurrent, argnums=1)(params, tuple(states))
    return (grads[0] + drive,) + tuple(grads[1:])

  # -- readout ----------------------------------------------------------------
  def cost(self, params: Params, states: Sequence[Array], labels: Array) -> Array:
    """Per-example cost C (shape [B])."""
    return self.readout.cost(params['readout'], states[-1], labels)

  def cost_grad(self, params: Params, s_last: Array, labels: Array) -> Array:
    """∂C/∂s_L per example (the nudging force is −β times this)."""
    return jax.grad(lambda s: jnp.sum(self.readout.cost(params['readout'], s, labels)))(s_last)

  def scores(self, params: Params, states: Sequence[Array]) -> Array:
    """Class scores [B, n_classes]."""
    return self.readout.scores(params['readout'], states[-1])

  def nudged_phi(
    self, params: Params, x: Array, states: Sequence[Array], labels: Array, beta
  ) -> Array:
    """Φ_β = Φ − β Σ_b C_b: the function whose θ-gradient EP contrasts."""
    return self.phi(params, x, states) - beta * jnp.sum(self.cost(params, states, labels))
