"""DVS Gesture (IBM, Amir et al. 2017) read with numpy from either of its two layouts
(docs/model.md, "Input").

This module owns the dataset: its classes and sensor, the labels CSVs and
trial lists, tonic's ``.npy`` files, the detection of the layout and the
frames of a split. The AEDAT 3.1 file format is in ``aedat``.

A 128×128 DVS128 sensor, 11 gesture classes, 29 subjects × 3 lighting
conditions; subjects 1-23 train, 24-29 test. The files are read here, not
with tonic (GPL-3.0; this project is Apache-2.0): only the formats are
followed.

Layout ``'ibm'``, the original release (``DvsGesture.tar.gz``), in
``<data_dir>/DvsGesture/`` (or ``data_dir`` itself):

* ``trials_to_train.txt`` / ``trials_to_test.txt``: one ``.aedat`` name a line;
* ``userNN_<lighting>.aedat``: AEDAT 3.1 recordings (the format, read and
  written by :mod:`stochep_jax.data.aedat`, is in its docstring): polarity
  events (x, y, p, t in µs), invalid ones dropped;
* ``userNN_<lighting>_labels.csv``: header ``class,startTime_usec,endTime_usec``,
  one gesture a row, class 1..11; a gesture is the recording's events with
  ``start <= t < end``.

Layout ``'tonic'``, tonic's preprocessed copy, in ``<data_dir>/`` (or
``<data_dir>/DVSGesture/``): ``ibmGestureTrain/userNN_<lighting>/<label>.npy``
and ``ibmGestureTest/...``, one float array ``[N, 4]`` of rows (x, y, p, t)
per gesture, t in milliseconds, ``label`` = class − 1 in 0..10.

Samples are ordered by recording name, then by label (then start time), in
both layouts, so both give the same examples in the same order. Each
gesture's events are binned by :class:`events.FrameSettings` over the
gesture's own span, from its first event to one µs after its last
**[choice]** (the labels' windows are not in tonic's copy; this way both
layouts give the same frames).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from stochep_jax.data import aedat as aedat_lib
from stochep_jax.data import events as ev_lib

__all__ = [
  'CLASS_NAMES',
  'SENSOR',
  'find_files',
  'read_labels',
  'read_split',
  'read_tonic_npy',
  'read_trials',
  'recording_gestures',
  'write_labels',
  'write_tonic_npy',
]

SENSOR = (128, 128)
CLASS_NAMES = (
  'hand_clapping',
  'right_hand_wave',
  'left_hand_wave',
  'right_arm_clockwise',
  'right_arm_counter_clockwise',
  'left_arm_clockwise',
  'left_arm_counter_clockwise',
  'arm_roll',
  'air_drums',
  'air_guitar',
  'other_gestures',
)
IBM_DIR = 'DvsGesture'
TONIC_DIR = 'DVSGesture'
TRIALS = {'train': 'trials_to_train.txt', 'test': 'trials_to_test.txt'}
TONIC_SPLITS = {'train': 'ibmGestureTrain', 'test': 'ibmGestureTest'}
LABELS_HEADER = 'class,startTime_usec,endTime_usec'
HOW_TO_GET = (
  'Either layout works. (1) The original IBM release (DvsGesture.tar.gz from '
  'https://research.ibm.com/interactive/dvsgesture/), extracted so that '
  '<data_dir>/DvsGesture/ holds trials_to_train.txt, trials_to_test.txt and, for every '
  'recording they list, userNN_<lighting>.aedat with userNN_<lighting>_labels.csv. '
  "(2) tonic's preprocessed copy: <data_dir>/ibmGestureTrain/userNN_<lighting>/<label>.npy "
  'and <data_dir>/ibmGestureTest/... (or the same under <data_dir>/DVSGesture/).'
)


# -- labels and trials ------------------------------------------------------------------
def read_labels(path: str | os.PathLike[str]) -> np.ndarray:
  """``int64 [n, 3]`` rows (class 1..11, start µs, end µs) of a ``*_labels.csv``."""
  path = Path(path)
  lines = [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]
  if not lines or lines[0].replace(' ', '') != LABELS_HEADER:
    raise ValueError(
      f'{path}: the first line must be {LABELS_HEADER!r}, got {lines[0] if lines else ""!r}.'
    )
  rows = []
  for i, line in enumerate(lines[1:], start=2):
    try:
      c, start, end = (int(float(v)) for v in line.split(','))
    except ValueError:
      raise ValueError(
        f'{path}, line {i}: expected class,start,end integers, got {line!r}.'
      ) from None
    if not 1 <= c <= len(CLASS_NAMES):
      raise ValueError(f'{path}, line {i}: class {c} is not in 1..{len(CLASS_NAMES)}.')
    if end <= start:
      raise ValueError(f'{path}, line {i}: end time {end} is not after start time {start}.')
    rows.append((c, start, end))
  return np.array(rows, np.int64).reshape(-1, 3)


def write_labels(path: str | os.PathLike[str], rows) -> None:
  """Writes a labels CSV of (class 1..11, start µs, end µs) rows."""
  lines = [LABELS_HEADER] + [f'{int(c)},{int(s)},{int(e)}' for c, s, e in rows]
  Path(path).write_text('\n'.join(lines) + '\n')


def read_trials(path: str | os.PathLike[str]) -> list[str]:
  """The ``.aedat`` names listed in a ``trials_to_*.txt`` (blank lines ignored)."""
  names = [ln.strip() for ln in Path(path).read_text().splitlines() if ln.strip()]
  for name in names:
    if not name.endswith('.aedat') or '/' in name:
      raise ValueError(f'{path}: {name!r} is not the name of an .aedat file.')
  return names


def recording_gestures(aedat: Path, labels_csv: Path) -> list[tuple[int, np.ndarray]]:
  """``(label 0..10, events)`` of each gesture of one recording, ordered by (label, start).

  Raises:
    ValueError: events off the 128×128 sensor (naming the .aedat), or a label
      window that starts outside the recording's time span (naming the CSV).
  """
  ev = aedat_lib.read_aedat31(aedat)
  ev_lib.check_sensor(ev, SENSOR, str(aedat))
  rows = read_labels(labels_csv)
  if not ev.size:
    raise ValueError(f'{aedat}: no polarity events, but {labels_csv} labels {len(rows)} gestures.')
  t_first, t_last = int(ev['t'].min()), int(ev['t'].max())
  out = []
  for c, start, end in sorted(rows.tolist(), key=lambda r: (r[0], r[1])):
    if not t_first <= start <= t_last:  # a window may run past the last event, not start outside
      raise ValueError(
        f'{labels_csv}: gesture class {c} [{start}, {end}) µs lies outside the recording '
        f'{aedat.name} (events from {t_first} to {t_last} µs).'
      )
    out.append((c - 1, ev[(ev['t'] >= start) & (ev['t'] < end)]))
  return out


# -- tonic's .npy files -----------------------------------------------------------------
def read_tonic_npy(path: str | os.PathLike[str]) -> np.ndarray:
  """Events of one of tonic's ``<label>.npy`` files ([N, 4] rows x, y, p, t in ms)."""
  path = Path(path)
  a = np.load(path, allow_pickle=False)
  if a.ndim != 2 or a.shape[1] != 4:
    raise ValueError(
      f'{path}: expected an [N, 4] array of (x, y, p, t) rows, got shape {list(a.shape)}.'
    )
  if a.size and (np.any(a[:, :3] < 0) or not np.isin(a[:, 2], (0, 1)).all()):
    raise ValueError(f'{path}: x, y must be non-negative and p 0 or 1.')
  ev = ev_lib.make_events(
    x=a[:, 0].astype(np.int64),
    y=a[:, 1].astype(np.int64),
    p=a[:, 2].astype(np.int64),
    t=np.rint(a[:, 3].astype(np.float64) * 1000.0).astype(np.int64),
  )
  ev_lib.check_sensor(ev, SENSOR, str(path))
  return ev


def write_tonic_npy(path: str | os.PathLike[str], events: np.ndarray) -> None:
  """Writes events as tonic does: float64 [N, 4] rows (x, y, p, t in ms)."""
  cols = [events[k].astype(np.float64) for k in 'xyp'] + [events['t'] / 1000.0]
  np.save(path, np.stack(cols, 1).reshape(-1, 4))


# -- layouts ----------------------------------------------------------------------------
def _ibm_folder(root: Path) -> Path | None:
  for folder in (root / IBM_DIR, root):
    if any((folder / f).is_file() for f in TRIALS.values()):
      return folder
  return None


def _tonic_folder(root: Path) -> Path | None:
  for folder in (root, root / TONIC_DIR):
    if any((folder / d).is_dir() for d in TONIC_SPLITS.values()):
      return folder
  return None


_TONIC_LABEL = re.compile(r'^(\d+)\.npy$')


def _tonic_files(split_dir: Path) -> list[tuple[str, int, Path]]:
  """(recording, label, path) of a tonic split folder, ordered by recording and label."""
  out = []
  for rec in sorted(p for p in split_dir.iterdir() if p.is_dir()):
    for f in rec.iterdir():
      m = _TONIC_LABEL.match(f.name)
      if m:
        out.append((rec.name, int(m.group(1)), f))
  return sorted(out, key=lambda r: (r[0], r[1]))


def find_files(root: Path) -> tuple[str | None, Path, dict[str, Path], list[str]]:
  """Detects the layout under ``root`` and lists its files (fast: names and stats only).

  Returns:
    ``(layout, folder, found, missing)``: ``'ibm'``, ``'tonic'`` or None; the
    folder holding the files; relative name -> path of every file found;
    relative names of the missing ones.
  """
  found: dict[str, Path] = {}
  missing: list[str] = []
  folder = _ibm_folder(root) if root.is_dir() else None
  if folder is not None:
    for split, trials in TRIALS.items():
      if not (folder / trials).is_file():
        missing.append(trials)
        continue
      found[trials] = folder / trials
      for name in read_trials(folder / trials):
        for f in (name, name.removesuffix('.aedat') + '_labels.csv'):
          if (folder / f).is_file():
            found[f] = folder / f
          else:
            missing.append(f)
    return 'ibm', folder, found, missing
  folder = _tonic_folder(root) if root.is_dir() else None
  if folder is not None:
    for split, sub in TONIC_SPLITS.items():
      files = _tonic_files(folder / sub) if (folder / sub).is_dir() else []
      if not files:
        missing.append(f'{sub}/userNN_<lighting>/<label>.npy')
      for rec, _, path in files:
        found[f'{sub}/{rec}/{path.name}'] = path
    return 'tonic', folder, found, missing
  missing = [
    f'{IBM_DIR}/{TRIALS["train"]}, {IBM_DIR}/{TRIALS["test"]} and the .aedat and _labels.csv '
    'files they list (IBM layout)',
    f'or {TONIC_SPLITS["train"]}/ and {TONIC_SPLITS["test"]}/ with userNN_<lighting>/<label>.npy '
    '(tonic layout)',
  ]
  return None, root, found, missing


def read_split(
  root: Path, split: str, settings: ev_lib.FrameSettings
) -> tuple[np.ndarray, np.ndarray]:
  """Frames and labels of one split: ``(uint8 [N, T, H', W', 2], int32 [N])``.

  Args:
    root: the data_dir (holding either layout; :func:`find_files`).
    split: ``'train'`` or ``'test'``.
    settings: how each gesture is binned.

  Raises:
    ValueError: malformed files (one line naming the file).
  """
  layout, folder, _, missing = find_files(root)
  if layout is None or missing:
    raise ValueError(f'{root}: DVS Gesture files missing: {", ".join(missing)}.')
  samples: list[tuple[int, np.ndarray]] = []
  if layout == 'ibm':
    for name in sorted(read_trials(folder / TRIALS[split]), key=lambda n: n.removesuffix('.aedat')):
      aedat = folder / name
      samples += recording_gestures(aedat, folder / (name.removesuffix('.aedat') + '_labels.csv'))
  else:
    for _, label, path in _tonic_files(folder / TONIC_SPLITS[split]):
      if not 0 <= label < len(CLASS_NAMES):
        raise ValueError(f'{path}: label {label} (the file name) is not in 0..10.')
      samples.append((label, read_tonic_npy(path)))
  shape = settings.frame_shape(SENSOR)
  frames = np.zeros((len(samples), *shape), np.uint8)
  for i, (_, ev) in enumerate(samples):
    frames[i] = settings.frames(ev, SENSOR)
  return frames, np.array([label for label, _ in samples], np.int32)
