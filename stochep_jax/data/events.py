"""Events as data, and binning events into frames (docs/model.md, "Input"), with numpy only.

An **event** is ``(x, y, p, t)``: the pixel column ``x`` and row ``y`` of the
sensor, the polarity ``p`` (1 = ON, the log intensity went up; 0 = OFF) and
the time ``t`` in integer microseconds. A stream of events is a numpy
structured array of :data:`EVENT_DTYPE` (fields ``'x'``, ``'y'``, ``'p'``,
``'t'``), sorted by time where a reader can guarantee it; build one with
:func:`make_events`.

**Frames** are ``[T, H, W, 2]`` (time bin, row, column, polarity channel;
channel 0 = OFF, 1 = ON), so a batch ``[B, T, H, W, 2]`` feeds
``stochep_jax.FrameInput`` directly (frame ``f`` is ``x[:, f]``). Binning:

* time: a half-open window ``[t_start, t_stop)`` (default: from the first
  event to one microsecond after the last one, i.e. the sample's duration) cut
  into ``num_bins`` equal bins, event ``t`` going to bin
  ``⌊(t − t_start)·T / (t_stop − t_start)⌋`` (integer arithmetic: every event
  of the window lands in exactly one bin, the last one included); or bins of a
  fixed ``bin_width`` µs, ``T = ⌈(t_stop − t_start) / bin_width⌉``;
* space: ``downsample = f`` sums f×f pixel blocks (pixel ``(y, x)`` goes to
  ``(y // f, x // f)``; an ``H × W`` sensor gives ``⌈H/f⌉ × ⌈W/f⌉`` frames);
* values: :func:`to_frames` gives the integer counts; :func:`normalise`
  clips them, ``min(count, clip) / clip`` in ``[0, 1]`` (``clip = 1``: binary
  "any event" frames); :func:`quantise` stores such frames as ``uint8``
  ``round(255·v)``, which the data pipeline turns back into ``v`` (it divides
  ``uint8`` images by 255).

:class:`FrameSettings` bundles these choices for a dataset.
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = [
  'EVENT_DTYPE',
  'FrameSettings',
  'check_sensor',
  'make_events',
  'normalise',
  'quantise',
  'time_bins',
  'to_frames',
]

EVENT_DTYPE = np.dtype([('x', '<u2'), ('y', '<u2'), ('p', 'u1'), ('t', '<i8')])


def make_events(x, y, p, t) -> np.ndarray:
  """An event stream of :data:`EVENT_DTYPE` from four equally long arrays.

  Args:
    x: pixel columns (non-negative integers).
    y: pixel rows (non-negative integers).
    p: polarities, 0 (OFF) or 1 (ON) (booleans accepted).
    t: times in integer microseconds.

  Returns:
    A structured array ``[N]`` with fields ``x``, ``y``, ``p``, ``t``.

  Raises:
    ValueError: unequal lengths, negative coordinates or a polarity not in {0, 1}.
  """
  cols = [np.asarray(a).reshape(-1) for a in (x, y, p, t)]
  n = cols[0].shape[0]
  if any(c.shape[0] != n for c in cols):
    raise ValueError(f'x, y, p, t must have equal lengths, got {[c.shape[0] for c in cols]}.')
  for name, c in zip('xy', cols[:2]):
    if n and c.min() < 0:
      raise ValueError(f'event {name} must be non-negative, got {c.min()}.')
  p = cols[2].astype(np.int64)
  if n and not np.isin(p, (0, 1)).all():
    raise ValueError(f'event polarity must be 0 or 1, got {p[~np.isin(p, (0, 1))][0]}.')
  ev = np.empty(n, EVENT_DTYPE)
  ev['x'], ev['y'], ev['p'], ev['t'] = cols[0], cols[1], p, cols[3]
  return ev


def check_sensor(events: np.ndarray, sensor: tuple[int, int], where: str = 'events') -> None:
  """Raises a one-line ValueError naming ``where`` if an event is off the sensor.

  Args:
    events: an :data:`EVENT_DTYPE` array.
    sensor: ``(height, width)`` of the sensor in pixels.
    where: what to name in the message (e.g. the file the events came from).
  """
  h, w = sensor
  for name, size in (('x', w), ('y', h)):
    bad = events[name] >= size
    if bad.any():
      i = int(np.argmax(bad))
      raise ValueError(
        f'{where}: event {i} has {name}={int(events[name][i])} outside the {h}x{w} sensor '
        f'({name} must be < {size}).'
      )


def time_bins(
  t: np.ndarray,
  *,
  num_bins: int | None = None,
  bin_width: int | None = None,
  t_start: int | None = None,
  t_stop: int | None = None,
) -> tuple[np.ndarray, int]:
  """The time bin of every event time (see the module docstring).

  Args:
    t: integer times ``[N]`` (µs).
    num_bins: number of equal bins over ``[t_start, t_stop)``; or
    bin_width: width of each bin in µs (exactly one of the two).
    t_start: window start (default: ``t.min()``; 0 if there is no event).
    t_stop: window end, exclusive (default: ``t.max() + 1``).

  Returns:
    ``(bins int64 [N], T)``.

  Raises:
    ValueError: both or neither of ``num_bins``/``bin_width``, an empty window,
      or an event outside ``[t_start, t_stop)``.
  """
  if (num_bins is None) == (bin_width is None):
    raise ValueError(f'give exactly one of num_bins and bin_width, got {num_bins=} {bin_width=}.')
  t = np.asarray(t, np.int64)
  if t_start is not None:
    t0 = int(t_start)
  else:
    t0 = int(t.min()) if t.size else 0
  if t_stop is not None:
    t1 = int(t_stop)
  else:
    t1 = int(t.max()) + 1 if t.size else t0 + 1
  if t1 <= t0:
    raise ValueError(f'empty time window [{t0}, {t1}).')
  if t.size and (t.min() < t0 or t.max() >= t1):
    bad = t[(t < t0) | (t >= t1)][0]
    raise ValueError(f'event time {bad} is outside the window [{t0}, {t1}).')
  if num_bins is not None:
    if num_bins < 1:
      raise ValueError(f'num_bins must be >= 1, got {num_bins}.')
    return ((t - t0) * num_bins) // (t1 - t0), int(num_bins)
  if bin_width < 1:
    raise ValueError(f'bin_width must be >= 1 µs, got {bin_width}.')
  return (t - t0) // bin_width, -(-(t1 - t0) // bin_width)


def to_frames(
  events: np.ndarray,
  sensor: tuple[int, int],
  *,
  num_bins: int | None = None,
  bin_width: int | None = None,
  t_start: int | None = None,
  t_stop: int | None = None,
  downsample: int = 1,
) -> np.ndarray:
  """Event counts per time bin, pixel block and polarity.

  Args:
    events: an :data:`EVENT_DTYPE` array (any order).
    sensor: ``(height, width)`` of the sensor.
    num_bins, bin_width, t_start, t_stop: the time bins (:func:`time_bins`).
    downsample: spatial pooling factor f (sums f×f blocks).

  Returns:
    ``int32 [T, ⌈H/f⌉, ⌈W/f⌉, 2]``; channel 0 counts OFF events, 1 ON events.
    Its sum is the number of events.

  Raises:
    ValueError: an event off the sensor or outside the window, bad settings.
  """
  if downsample < 1:
    raise ValueError(f'downsample must be >= 1, got {downsample}.')
  check_sensor(events, sensor)
  bins, n_bins = time_bins(
    events['t'], num_bins=num_bins, bin_width=bin_width, t_start=t_start, t_stop=t_stop
  )
  h, w = (-(-s // downsample) for s in sensor)
  y = events['y'].astype(np.int64) // downsample
  x = events['x'].astype(np.int64) // downsample
  flat = ((bins * h + y) * w + x) * 2 + events['p'].astype(np.int64)
  counts = np.bincount(flat, minlength=n_bins * h * w * 2)
  return counts.astype(np.int32).reshape(n_bins, h, w, 2)


def normalise(counts: np.ndarray, clip: int) -> np.ndarray:
  """Clipped, normalised counts ``min(count, clip) / clip`` (float32 in [0, 1])."""
  if clip < 1:
    raise ValueError(f'clip must be >= 1, got {clip}.')
  return np.minimum(counts, clip).astype(np.float32) / np.float32(clip)


def quantise(frames: np.ndarray) -> np.ndarray:
  """``uint8`` ``round(255·v)`` of frames in [0, 1] (what the datasets store)."""
  return np.rint(np.clip(frames, 0.0, 1.0) * 255.0).astype(np.uint8)


@dataclasses.dataclass(frozen=True)
class FrameSettings:
  """How a dataset bins each sample's events into frames.

  Attributes:
    num_bins: T, equal time bins over the window.
    downsample: spatial pooling factor.
    clip: counts are clipped at ``clip`` and divided by it.
  """

  num_bins: int
  downsample: int
  clip: int

  def frame_shape(self, sensor: tuple[int, int]) -> tuple[int, int, int, int]:
    """``(T, H', W', 2)`` for a ``(height, width)`` sensor."""
    h, w = (-(-s // self.downsample) for s in sensor)
    return (self.num_bins, h, w, 2)

  def frames(
    self,
    events: np.ndarray,
    sensor: tuple[int, int],
    *,
    t_start: int | None = None,
    t_stop: int | None = None,
  ) -> np.ndarray:
    """``uint8 [T, H', W', 2]``: :func:`quantise` ∘ :func:`normalise` ∘ :func:`to_frames`."""
    counts = to_frames(
      events,
      sensor,
      num_bins=self.num_bins,
      t_start=t_start,
      t_stop=t_stop,
      downsample=self.downsample,
    )
    return quantise(normalise(counts, self.clip))
