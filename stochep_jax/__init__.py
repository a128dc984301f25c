"""stochep_jax: Equilibrium Propagation for spiking convergent RNNs in JAX.

The pieces, each in its own module (imports run one way, top to bottom):

* ``energy``       Φ(x, s; θ), the Hopfield energy, MSE / cross-entropy readouts
* ``connections``  dense (and convolutional) connections F_ℓ
* ``architectures`` named networks (784-512-10, ...)
* ``neurons``      neuron models as pure steps: CRNN, StochEP, Hopfield, ...
* ``inputs``       input encoders: analog, Bernoulli spikes, frame sequences
* ``dynamics``     a phase = one ``lax.scan`` of neuron steps (``Simulator``)
* ``estimators``   EP (symmetric, one-sided, random sign)

The update rule, in one line: EP contrasts ∂Φ_β/∂θ, with Φ_β = Φ − β·C, between
a +β and a −β nudged phase; see ``estimators``.
"""

from stochep_jax import activations
from stochep_jax import architectures
from stochep_jax import connections
from stochep_jax import dynamics
from stochep_jax import energy
from stochep_jax import estimators
from stochep_jax import inputs
from stochep_jax import neurons
from stochep_jax import noise
from stochep_jax.connections import Conv, Dense
from stochep_jax.dynamics import PhaseResult, Simulator, example_keys
from stochep_jax.architectures import ARCHITECTURES, convnet, dense
from stochep_jax.energy import CrossEntropyReadout, MSEReadout, Network
from stochep_jax.estimators import EP, ep_gradient, ep_update, free_phase, predict
from stochep_jax.estimators import BPTT, bptt_gradient
from stochep_jax.gdu import GDU, gdu_check
from stochep_jax.inputs import ENCODERS, AnalogInput, BernoulliInput, FrameInput
from stochep_jax.neurons import CRNN, NEURONS, Hopfield, OConnor, SigmaDelta, StochEP

__version__ = '0.1.0'
