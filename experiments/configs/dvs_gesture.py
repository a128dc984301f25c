"""StochEP conv net on DVS Gesture (11 classes), a full-size GPU job.

    python experiments/train.py --config=experiments/configs/dvs_gesture.py \
        --config.data_dir=/path/to/dvs_gesture --workdir=runs/dvs_gesture
    # smoke variant (tiny widths and phases; seconds on a CPU, e.g. on synthetic files):
    python experiments/train.py --config=experiments/configs/dvs_gesture.py:smoke \
        --config.data_dir=/path/to/dvs_gesture --workdir=/tmp/smoke_dvs

Data: dataset ``'dvs_gesture'``, from the IBM release (``DvsGesture/*.aedat``
with labels CSVs and trial lists) or tonic's preprocessed ``.npy`` copy
(``ibmGestureTrain/``, ``ibmGestureTest/``) in ``data_dir``; each gesture is
binned into T = 16 frames over its span, 128×128 pooled 4×4 to 32×32×2, counts
clipped at 5 (**[choice]** ``DVS_GESTURE_FRAMES`` in
``stochep_jax/data/registry.py``).

Network **[choice]**: 2C2FC (conv 64, conv 128, 3×3, each + 2×2 average
pooling, FC 256, 11 outputs, MSE), StochEP neurons, ``FrameInput`` with 10
free steps per frame (T_free 160), T_nudge 40, β 0.2, rates over the last 20
steps; layer 1 sees the input trace with γ = 1 (the running mean of the frames,
``input.frames.trace_decay``) and the nudge phases hold what the free phase ended
with (``--config.input.frames.nudge_input=last``), the best setting measured on the
simulated event dataset ``fashion_mnist_events`` (BUILD_NOTES 4.6; not measured on DVS
Gesture itself). [StochEP] reports DVS Gesture without these details.

Time: one training step (batch 32) is 189 GFLOP (``benchmark.flop_count``) and took
6.1 s on our 2-core CPU (``experiments/step_time.py --config=experiments/configs/dvs_gesture.py
--steps=2``, shared machine), i.e. ~3.5 min per epoch of the ~1 080 training gestures. On a GPU
(estimate, not measured): at 10-30 % of an H200's ~67 TFLOP/s float32, 10-30 ms per step, about
1-2 s per epoch (if the 240 sequential steps' kernel launches do not dominate).
"""

import ml_collections

from experiments.configs import base


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  c = base.base_config()
  c.dataset = 'dvs_gesture'
  c.data_dir = ''  # no default: the folder holding either layout
  c.network = base.network_config('2c2fc', channels=(64, 128), fc=(256,), pool='avg', alpha=4.0)
  c.input = base.input_config('frames', nudge_input='last', trace_decay=1.0)
  c.input.frames.t_nudge = c.ep.get_ref('t_nudge')
  c.input.frames.k_avg = c.ep.get_ref('k_avg')
  c.ep.update(dict(t_free=160, t_nudge=40, beta=0.2, k_avg=20))
  c.optimizer.update(dict(learning_rates=(0.25, 0.15, 0.1, 0.08), momentum=0.0, schedule='cosine'))
  c.batch_size, c.eval_batch_size = 32, 96
  c.num_epochs = 60
  if base.variant(arg) == 'smoke':
    c.batch_size, c.eval_batch_size = 11, 22
    c.num_epochs = 1
    c.network.channels, c.network.fc = (4, 8), (16,)
    c.ep.update(dict(t_free=16, t_nudge=8, k_avg=4))
    c.log_every_steps = 0
  return c
