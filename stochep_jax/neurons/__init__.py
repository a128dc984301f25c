"""Neuron models as pure steps over typed pytrees (docs/model.md, "Neuron models").

A neuron model is a frozen (hashable) dataclass of hyperparameters with

* ``init_state(shape, dtype) -> state``: the zero state (a pytree);
* ``output(state) -> array``: what neighbours see (a state value or a spike);
* ``mean(state) -> array``: the expected output; the cost gradient of the
  nudge is evaluated here (the firing probability for StochEP; docs/model.md,
  "Network and primitive function", Readouts);
* ``noise(key, shape, dtype) -> array | None``: the randomness one step needs;
* ``update(state, current, noise) -> (state, output)``: the deterministic part;
* ``step(state, current, key) -> (state, output)``: ``update`` with
  ``noise(key, ...)``: the pure step of the model.

and the protocol every model answers for itself (defaults on ``NeuronModel``):

* ``stochastic``: whether ``step`` draws noise (``noise`` returns an array);
* ``mean_field() -> model``: the deterministic counterpart (StochEP with
  s = p; a deterministic model returns itself);
* ``surrogate() -> model``: the model BPTT differentiates (docs/model.md,
  "References by backpropagation"): the same forward pass with a
  pseudo-derivative for its spikes (``spike``); a model whose step is already
  differentiable returns itself, a stochastic model without one raises
  ValueError;
* ``membrane(state) -> array``: the state value called its membrane
  potential, which ``stability`` measures.

Splitting ``step`` into ``noise`` and ``update`` lets ``dynamics.py`` draw a
chunk of steps' noise at once (one big, vectorised RNG call) while producing
exactly the spikes that step-by-step drawing produces.

Models are registered by name in ``NEURONS`` (``NEURONS.make('stochep', decay=0.9)``).

A neuron knows nothing about layers or batches: every operation is elementwise
over whatever shape ``current`` has. ``dt`` is the model's state step size
(1 for discrete maps); the GDU check divides state updates by it.
"""

from stochep_jax.neurons.base import NEURONS, SPIKE_GRADS, NeuronModel, spike
from stochep_jax.neurons.lif import LIFLowPass, LIFPredictive, LIFSchedule, LIFState
from stochep_jax.neurons.rate import CRNN, CRNNState, Hopfield, HopfieldState
from stochep_jax.neurons.spike_coded import OC19_CODINGS, OConnor, SigmaDelta, SpikeCodedState
from stochep_jax.neurons.stochep import StochEP, StochEPState

__all__ = [
  'NEURONS',
  'SPIKE_GRADS',
  'NeuronModel',
  'spike',
  'CRNN',
  'CRNNState',
  'Hopfield',
  'HopfieldState',
  'StochEP',
  'StochEPState',
  'OC19_CODINGS',
  'OConnor',
  'SigmaDelta',
  'SpikeCodedState',
  'LIFLowPass',
  'LIFPredictive',
  'LIFSchedule',
  'LIFState',
]
