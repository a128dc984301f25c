"""stochep_jax: Equilibrium Propagation for spiking convergent RNNs in JAX.

The pieces, each in its own module (imports run one way, top to bottom):

* ``keys``         the PRNG key tree (seed -> step -> example -> phase -> time -> layer)
* ``pooling``      average / max pooling of conv layers and their adjoints
* ``connections``  dense (and convolutional) connections F_ℓ
* ``energy``       Φ(x, s; θ), the Hopfield energy, MSE / cross-entropy readouts
* ``architectures`` named networks (784-512-10, 2C2FC, 5C, [Lab21]'s CIFAR-10 net)
* ``neurons``      neuron models as pure steps: CRNN, StochEP, Hopfield, Sigma-Delta,
                   O'Connor, the LIF baselines (each says if it is stochastic, its mean
                   field and the surrogate BPTT differentiates)
* ``noise``        the random numbers of a step (threefry, or a counter-based hash)
* ``inputs``       input encoders: analog, Bernoulli spikes, frame sequences
* ``dynamics``     a phase = one ``lax.scan`` of neuron steps (``Simulator``); the free
                   phase and inference (``free_phase``, ``predict``)
* ``estimators``   EP (symmetric, one-sided, random sign) and the BPTT reference
* ``gdu``          the GDU property: EP's updates against BPTT's, step by step
* ``stability``    how much membranes still move at the end of a phase
* ``opcount``      operation counts and energy (a package): synapses, fan-outs and FLOPs of a
                   connection (``opcount.synapses``), AC/MAC events from a run's outputs
                   (``opcount.events``), inference and training steps, the energy table
                   (``opcount.report``)
* ``training``     optimiser, train and evaluation steps, metrics
* ``parallel``     data parallelism over devices and hosts (``jax.sharding``)
* ``data``         datasets: original files -> tfds array_record -> batches; events
* ``assembly``     one builder: a config's simulator, estimator, evaluation, optimiser
* ``evaluation``   metrics over a whole split, padded and masked, on every device and host
* ``validate``     config checks before any data is read or anything compiled
* ``workdir``      one run per folder, checkpoints with fallback, strict metrics.json
* ``reporting``    progress bar, TensorBoard events, learning curves
* ``experiment``   ``train_and_evaluate(config, workdir)``, what the launchers run

The update rule, in one line: EP contrasts ∂Φ_β/∂θ, with Φ_β = Φ − β·C, between
a +β and a −β nudged phase; see ``estimators``.
"""

from stochep_jax import (
  activations,
  architectures,
  connections,
  dynamics,
  energy,
  estimators,
  inputs,
  keys,
  neurons,
  noise,
  opcount,
  stability,
)
from stochep_jax.architectures import ARCHITECTURES, convnet, dense
from stochep_jax.connections import Conv, Dense
from stochep_jax.dynamics import PhaseResult, Simulator, free_phase, predict
from stochep_jax.energy import CrossEntropyReadout, MSEReadout, Network
from stochep_jax.estimators import BPTT, EP, ESTIMATORS, bptt_gradient, ep_gradient, ep_update
from stochep_jax.gdu import GDU, gdu_check
from stochep_jax.inputs import ENCODERS, AnalogInput, BernoulliInput, FrameInput
from stochep_jax.keys import example_keys
from stochep_jax.neurons import (
  CRNN,
  NEURONS,
  Hopfield,
  LIFLowPass,
  LIFPredictive,
  LIFSchedule,
  OConnor,
  SigmaDelta,
  StochEP,
)

__version__ = '0.1.0'

__all__ = [
  'activations',
  'architectures',
  'connections',
  'dynamics',
  'energy',
  'estimators',
  'inputs',
  'neurons',
  'noise',
  'ARCHITECTURES',
  'ENCODERS',
  'ESTIMATORS',
  'NEURONS',
  'convnet',
  'dense',
  'Conv',
  'Dense',
  'PhaseResult',
  'Simulator',
  'example_keys',
  'CrossEntropyReadout',
  'MSEReadout',
  'Network',
  'BPTT',
  'EP',
  'bptt_gradient',
  'ep_gradient',
  'ep_update',
  'free_phase',
  'predict',
  'GDU',
  'gdu_check',
  'AnalogInput',
  'BernoulliInput',
  'FrameInput',
  'CRNN',
  'Hopfield',
  'OConnor',
  'SigmaDelta',
  'StochEP',
  'LIFLowPass',
  'LIFPredictive',
  'LIFSchedule',
  'keys',
  'opcount',
  'stability',
]
