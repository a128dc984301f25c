"""A simulated event camera: static images -> event streams, as N-MNIST was recorded.

As in docs/model.md, "Input".

N-MNIST (Orchard et al., 2015) was recorded by moving an ATIS sensor in three
small saccades in front of a static MNIST digit. :class:`EventCamera` does the
same in numpy, deterministically:

1. **Motion.** The image moves relative to the sensor along a closed path of
   straight saccades, by default the triangle with vertices (dx, dy) = (0, 0),
   (A/2, A), (A, 0) pixels (A = ``amplitude``), traversed V0 → V1 → V2 → V0, each
   saccade in ``steps_per_saccade`` equal sub-pixel steps. The sensor is the
   image plus ``margin`` pixels on each side (28×28 → 34×34, N-MNIST's size)
   and the path is centred in it: at displacement d the image's top-left pixel
   sits at ``margin + d − c``, c the centre of the path's bounding box.
2. **Rendering.** Sensor pixel (i, j) sees the image intensity I ∈ [0, 1]
   (``uint8 / 255``) at (i − o_y, j − o_x) by bilinear interpolation (zero
   outside the image): sub-pixel motion changes intensities smoothly.
3. **Pixels.** Each pixel keeps a reference log intensity L_ref, initially its
   log intensity L = log(I + ``log_eps``) at the start of the path. After each
   motion step, a pixel whose L moved by ΔL = L − L_ref with |ΔL| ≥ C
   (``contrast``) fires n = ⌊|ΔL| / C⌋ events of polarity [ΔL > 0] (ON = 1) and
   moves L_ref by sign(ΔL)·n·C (the ideal DVS pixel, as in the ESIM/v2e
   emulators). Events of motion step m (m = 0 … K − 1, K = saccades × steps)
   carry the time t_m = ⌊(2m + 1)·D / (2·steps_per_saccade)⌋ µs, the middle of
   the step, D = ``saccade_us``; a recording lasts saccades × D µs.
4. **Noise** (optional): after each motion step every pixel fires, with
   probability ``noise_prob``, one extra event of random polarity (it does not
   move L_ref), drawn from ``numpy.random.default_rng(SeedSequence([seed,
   index]))``: deterministic per example index and seed.

The default parameters are **[choice]**s (N-MNIST's 34×34 sensor and three
saccades; the amplitude, contrast and log offset are ours).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from stochep_jax.data import events as ev_lib

__all__ = ['EventCamera']


def _interp_matrix(n_out: int, n_in: int, offset: float) -> np.ndarray:
  """[n_out, n_in] bilinear weights: output i samples input position i − offset."""
  u = np.arange(n_out) - offset
  lo = np.floor(u)
  frac = u - lo
  m = np.zeros((n_out, n_in))
  for shift, w in ((0, 1.0 - frac), (1, frac)):
    r = lo.astype(np.int64) + shift
    ok = (r >= 0) & (r < n_in)
    m[np.arange(n_out)[ok], r[ok]] += w[ok]
  return m


@dataclasses.dataclass(frozen=True)
class EventCamera:
  """Converts images into event streams by moving them in saccades (module docstring).

  Attributes:
    contrast: C, the log-intensity change that fires an event.
    log_eps: offset of the log, L = log(I + log_eps), I in [0, 1].
    amplitude: A, the size of the default triangle path in pixels.
    margin: pixels added on each side of the image to make the sensor.
    steps_per_saccade: motion steps per saccade.
    saccade_us: duration of a saccade in µs.
    noise_prob: probability of a noise event per pixel and motion step.
    seed: seed of the noise events.
    vertices: the path's vertices ((dx, dy), ...) in pixels; empty: the
      default triangle.
  """

  contrast: float = 0.2
  log_eps: float = 0.1
  amplitude: float = 3.0
  margin: int = 3
  steps_per_saccade: int = 10
  saccade_us: int = 100_000
  noise_prob: float = 0.0
  seed: int = 0
  vertices: tuple[tuple[float, float], ...] = ()

  def __post_init__(self):
    checks = (
      ('contrast', self.contrast > 0),
      ('log_eps', self.log_eps > 0),
      ('margin', self.margin >= 0),
      ('steps_per_saccade', self.steps_per_saccade >= 1),
      ('saccade_us', self.saccade_us >= 2 * self.steps_per_saccade),
      ('noise_prob', 0 <= self.noise_prob <= 1),
    )
    for name, ok in checks:
      if not ok:
        raise ValueError(f'EventCamera {name} out of range: {getattr(self, name)!r}.')

  # -- geometry ------------------------------------------------------------------
  def path_vertices(self) -> np.ndarray:
    """``[n_saccades, 2]`` (dx, dy) vertices of the closed path."""
    if self.vertices:
      return np.asarray(self.vertices, np.float64).reshape(-1, 2)
    a = float(self.amplitude)
    return np.array([[0.0, 0.0], [a / 2, a], [a, 0.0]])

  def positions(self) -> np.ndarray:
    """``[K + 1, 2]`` image offsets (o_x, o_y) on the sensor, start and every motion step."""
    v = self.path_vertices()
    s = self.steps_per_saccade
    frac = np.arange(s)[:, None] / s
    legs = [v[k] + frac * (v[(k + 1) % len(v)] - v[k]) for k in range(len(v))]
    d = np.concatenate([*legs, v[:1]])
    centre = (v.min(0) + v.max(0)) / 2
    return self.margin + d - centre

  def times(self) -> np.ndarray:
    """``int64 [K]``: the time (µs) of the events of each motion step."""
    k = len(self.path_vertices()) * self.steps_per_saccade
    return ((2 * np.arange(k) + 1) * self.saccade_us) // (2 * self.steps_per_saccade)

  def duration(self) -> int:
    """Length of a recording in µs (every event time is below it)."""
    return len(self.path_vertices()) * self.saccade_us

  def sensor_shape(self, image_shape: tuple[int, ...]) -> tuple[int, int]:
    """``(height, width)`` of the sensor for ``(H, W)`` (or ``(H, W, 1)``) images."""
    return (image_shape[0] + 2 * self.margin, image_shape[1] + 2 * self.margin)

  # -- simulation ----------------------------------------------------------------
  def render(self, images: np.ndarray) -> np.ndarray:
    """``float64 [K + 1, N, Hs, Ws]``: what the sensor sees at every position."""
    images = _as_unit(images)
    n, h, w = images.shape
    hs, ws = self.sensor_shape((h, w))
    views = []
    for ox, oy in self.positions():
      my, mx = _interp_matrix(hs, h, oy), _interp_matrix(ws, w, ox)
      views.append(np.matmul(np.matmul(my, images), mx.T))
    return np.stack(views)

  def _pixel_events(self, images: np.ndarray):
    """Per motion step m: (counts n ≥ 0 [N, Hs, Ws], polarity [N, Hs, Ws]) of the pixel model."""
    logs = np.log(self.render(images) + self.log_eps)
    ref = logs[0].copy()
    for m in range(1, logs.shape[0]):
      d = logs[m] - ref
      # The tolerance keeps a change of exactly n·C (up to rounding) at n events.
      count = np.floor(np.abs(d) / self.contrast + 1e-9).astype(np.int64)
      ref += np.sign(d) * count * self.contrast
      yield count, (d > 0).astype(np.int64)

  def _noise(self, shape, indices):
    """Per example: (step, y, x, polarity) of its noise events."""
    k = len(self.times())
    out = []
    for i in indices:
      rng = np.random.default_rng(np.random.SeedSequence([int(self.seed), int(i)]))
      fire = rng.random((k, *shape)) < self.noise_prob
      pol = rng.integers(0, 2, size=(k, *shape))
      m, y, x = np.nonzero(fire)
      out.append((m, y, x, pol[m, y, x]))
    return out

  def convert(self, image: np.ndarray, index: int = 0) -> np.ndarray:
    """The event stream of one image (``uint8`` or float in [0, 1], [H, W] or [H, W, 1]).

    Args:
      image: the static image.
      index: the example's index (seeds its noise events).

    Returns:
      :data:`events.EVENT_DTYPE` events sorted by time (then row, column);
      a pixel firing n events in a step appears n times.
    """
    image = _as_unit(np.asarray(image)[None])
    times = self.times()
    parts = []
    for m, (count, pol) in enumerate(self._pixel_events(image)):
      _, y, x = np.nonzero(count)
      reps = count[0, y, x]
      parts.append((np.repeat(y, reps), np.repeat(x, reps), np.repeat(pol[0, y, x], reps), m))
    if self.noise_prob:
      nm, ny, nx, npol = self._noise(self.sensor_shape(image.shape[1:]), [index])[0]
      parts += [(ny[nm == m], nx[nm == m], npol[nm == m], m) for m in range(len(times))]
    ys, xs, ps, ts = [], [], [], []
    for y, x, p, m in parts:
      ys.append(y), xs.append(x), ps.append(p), ts.append(np.full(len(y), times[m]))
    ev = ev_lib.make_events(*(np.concatenate(a) for a in (xs, ys, ps, ts)))
    return ev[np.lexsort((ev['x'], ev['y'], ev['t']))]

  def frames(self, images: np.ndarray, settings: ev_lib.FrameSettings, indices=None) -> np.ndarray:
    """``uint8 [N, T, H', W', 2]``: each image's events binned over ``[0, duration)``.

    Equal to ``settings.frames(self.convert(images[i], indices[i]), sensor,
    t_start=0, t_stop=self.duration())`` for every i, computed for the whole
    batch at once (a pixel's n events of a step are counted with weight n).

    Args:
      images: ``[N, H, W]`` or ``[N, H, W, 1]``, ``uint8`` or float in [0, 1].
      settings: the time bins, pooling and clipping.
      indices: the examples' indices (noise seeds); default ``range(N)``.
    """
    images = _as_unit(images)
    n = images.shape[0]
    indices = np.arange(n) if indices is None else np.asarray(indices)
    sensor = self.sensor_shape(images.shape[1:])
    t, h, w, _ = settings.frame_shape(sensor)
    f = settings.downsample
    step_bins, _ = ev_lib.time_bins(self.times(), num_bins=t, t_start=0, t_stop=self.duration())
    ys, xs = np.arange(sensor[0]) // f, np.arange(sensor[1]) // f
    # Flat index of (example, bin, row block, column block) per sensor pixel and step.
    cell = (ys[:, None] * w + xs[None, :]).reshape(-1)
    size = n * t * h * w * 2
    counts = np.zeros(size, np.int64)
    base = np.arange(n)[:, None] * (t * h * w)
    for m, (count, pol) in enumerate(self._pixel_events(images)):
      flat = ((base + step_bins[m] * h * w + cell) * 2 + pol.reshape(n, -1)).reshape(-1)
      counts += np.bincount(flat, weights=count.reshape(-1), minlength=size).astype(np.int64)
    if self.noise_prob:
      for e, (nm, ny, nx, npol) in enumerate(self._noise(sensor, indices)):
        flat = (((e * t + step_bins[nm]) * h + ys[ny]) * w + xs[nx]) * 2 + npol
        counts += np.bincount(flat, minlength=size)
    counts = counts.reshape(n, t, h, w, 2)
    return ev_lib.quantise(ev_lib.normalise(counts, settings.clip))


def _as_unit(images: np.ndarray) -> np.ndarray:
  """``float64 [N, H, W]`` in [0, 1] from uint8 (/255) or float images, a trailing 1 dropped."""
  images = np.asarray(images)
  if images.ndim == 4 and images.shape[-1] == 1:
    images = images[..., 0]
  if images.ndim != 3:
    raise ValueError(f'images must be [N, H, W] or [N, H, W, 1], got shape {list(images.shape)}.')
  if images.dtype == np.uint8:
    return images.astype(np.float64) / 255.0
  return images.astype(np.float64)
