"""Event input (docs/model.md, "Input"): events -> frames, the simulated event camera, DVS Gesture, configs.

Every check is on hand-made events or small synthetic files written in the real
formats inside the test's temporary folder; nothing is downloaded.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import helpers
import numpy as np
from absl.testing import absltest, parameterized

from stochep_jax import data, experiment
from stochep_jax.data import aedat, dvs_gesture, event_camera, originals, synthetic
from stochep_jax.data import events as ev_lib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SETTINGS = ev_lib.FrameSettings(num_bins=4, downsample=4, clip=3)

# Hand-made events on a 4x4 sensor: (x, y, p, t).
HAND = ev_lib.make_events(
  x=[0, 3, 1, 2, 3, 0], y=[0, 3, 1, 2, 0, 3], p=[1, 0, 1, 0, 1, 1], t=[100, 104, 101, 102, 103, 109]
)


class EventsTest(parameterized.TestCase):
  def test_make_events_fields(self):
    self.assertEqual(HAND.dtype.names, ('x', 'y', 'p', 't'))
    self.assertEqual(HAND['t'].tolist(), [100, 104, 101, 102, 103, 109])

  @parameterized.named_parameters(
    ('lengths', dict(x=[0, 1], y=[0], p=[0], t=[0]), 'equal lengths'),
    ('polarity', dict(x=[0], y=[0], p=[2], t=[0]), 'polarity must be 0 or 1, got 2'),
    ('negative', dict(x=[-1], y=[0], p=[0], t=[0]), 'x must be non-negative, got -1'),
  )
  def test_make_events_errors(self, kwargs, message):
    with self.assertRaisesRegex(ValueError, message):
      ev_lib.make_events(**kwargs)

  def test_num_bins_every_event_in_exactly_one_bin(self):
    # Window [100, 110), 2 bins of 5 µs: t 100..104 -> bin 0, t 109 (the last) -> bin 1.
    bins, n = ev_lib.time_bins(HAND['t'], num_bins=2)
    self.assertEqual(n, 2)
    self.assertEqual(bins.tolist(), [0, 0, 0, 0, 0, 1])
    # 3 bins over 10 µs: ⌊3(t − 100)/10⌋.
    bins, _ = ev_lib.time_bins(HAND['t'], num_bins=3)
    self.assertEqual(bins.tolist(), [0, 1, 0, 0, 0, 2])

  def test_bin_width(self):
    bins, n = ev_lib.time_bins(HAND['t'], bin_width=4)  # [100, 110): 3 bins, the last partial
    self.assertEqual((bins.tolist(), n), ([0, 1, 0, 0, 0, 2], 3))
    bins, n = ev_lib.time_bins(HAND['t'], bin_width=4, t_start=96, t_stop=112)
    self.assertEqual((bins.tolist(), n), ([1, 2, 1, 1, 1, 3], 4))

  @parameterized.named_parameters(
    ('both', dict(num_bins=2, bin_width=3), 'exactly one of'),
    ('outside', dict(num_bins=2, t_stop=109), 'event time 109 is outside the window'),
    ('empty', dict(num_bins=2, t_start=5, t_stop=5), r'empty time window \[5, 5\)'),
  )
  def test_time_bins_errors(self, kwargs, message):
    with self.assertRaisesRegex(ValueError, message):
      ev_lib.time_bins(HAND['t'], **kwargs)

  def test_frames_hand_computed(self):
    f = ev_lib.to_frames(HAND, (4, 4), num_bins=2)
    self.assertEqual(f.shape, (2, 4, 4, 2))
    self.assertEqual(f.dtype, np.int32)
    want = np.zeros((2, 4, 4, 2), np.int32)
    for (x, y, p, _), b in zip(HAND.tolist(), [0, 0, 0, 0, 0, 1]):
      want[b, y, x, p] += 1
    np.testing.assert_array_equal(f, want)
    self.assertEqual(f[..., 1].sum(), 4)  # ON events kept in channel 1
    self.assertEqual(f[..., 0].sum(), 2)  # OFF in channel 0
    self.assertEqual(f[1, 3, 0, 1], 1)  # the last event, in the last bin

  def test_downsample_sums_blocks(self):
    f = ev_lib.to_frames(HAND, (4, 4), num_bins=1, downsample=2)
    want = np.zeros((1, 2, 2, 2), np.int32)
    want[0, 0, 0, 1] = 2  # (0,0) and (1,1), ON
    want[0, 1, 1, 0] = 2  # (3,3) and (2,2), OFF
    want[0, 0, 1, 1] = 1  # x 3 y 0
    want[0, 1, 0, 1] = 1  # x 0 y 3
    np.testing.assert_array_equal(f, want)
    # A 5x5 sensor pooled by 2 is 3x3 (the last row/column block is partial).
    self.assertEqual(ev_lib.to_frames(HAND, (5, 5), num_bins=1, downsample=2).shape, (1, 3, 3, 2))

  def test_none_dropped_on_random_streams(self):
    rng = np.random.default_rng(0)
    n = 5000
    e = ev_lib.make_events(
      rng.integers(0, 128, n),
      rng.integers(0, 128, n),
      rng.integers(0, 2, n),
      rng.integers(0, 10**6, n),
    )
    for kwargs in (dict(num_bins=7), dict(bin_width=333), dict(num_bins=16, downsample=4)):
      f = ev_lib.to_frames(e, (128, 128), **kwargs)
      self.assertEqual(int(f.sum()), n)
      self.assertEqual(int(f[..., 1].sum()), int(e['p'].sum()))

  def test_events_off_the_sensor(self):
    with self.assertRaisesRegex(ValueError, r'rec.aedat: event 1 has x=3 outside the 4x3 sensor'):
      ev_lib.check_sensor(HAND, (4, 3), 'rec.aedat')
    with self.assertRaisesRegex(ValueError, 'event 1 has y=3 outside the 3x5 sensor'):
      ev_lib.to_frames(HAND, (3, 5), num_bins=1)

  def test_normalise_and_quantise(self):
    counts = np.array([0, 1, 2, 3, 7])
    np.testing.assert_allclose(ev_lib.normalise(counts, 3), [0, 1 / 3, 2 / 3, 1, 1])
    np.testing.assert_array_equal(ev_lib.normalise(counts, 1), [0, 1, 1, 1, 1])
    self.assertEqual(ev_lib.quantise(ev_lib.normalise(counts, 3)).tolist(), [0, 85, 170, 255, 255])
    s = ev_lib.FrameSettings(num_bins=2, downsample=2, clip=1)
    self.assertEqual(s.frame_shape((4, 4)), (2, 2, 2, 2))
    f = s.frames(HAND, (4, 4))
    self.assertEqual(f.dtype, np.uint8)
    self.assertEqual(f[0, 0, 0, 1], 255)  # 2 events clipped at 1
    self.assertEqual(int(f.sum()) // 255, 4)  # 4 non-empty (bin, block, polarity) cells


class EventCameraTest(parameterized.TestCase):
  def test_bilinear_weights(self):
    m = event_camera._interp_matrix(4, 2, 1.5)  # output i samples input i - 1.5
    np.testing.assert_allclose(m, [[0, 0], [0.5, 0], [0.5, 0.5], [0, 0.5]])

  def test_default_path_is_n_mnist_like(self):
    cam = event_camera.EventCamera()
    self.assertEqual(cam.sensor_shape((28, 28)), (34, 34))
    self.assertEqual(cam.duration(), 300_000)
    self.assertEqual(cam.times()[:3].tolist(), [5000, 15000, 25000])
    self.assertEqual(len(cam.times()), 30)
    pos = cam.positions()  # (o_x, o_y): a closed triangle centred on the margin
    self.assertEqual(pos.shape, (31, 2))
    np.testing.assert_allclose(pos[0], pos[-1])
    np.testing.assert_allclose(pos.min(0), [1.5, 1.5])
    np.testing.assert_allclose(pos.max(0), [4.5, 4.5])
    self.assertEmpty(cam.convert(np.zeros((28, 28), np.uint8)))  # nothing moves, no events

  def test_hand_computed_events(self):
    # One bright pixel, 3x3 sensor, moved right by half a pixel per step and back:
    # row 1 sees [.5 .5 0], [0 1 0], [0 .5 .5], [0 1 0], [.5 .5 0]. With L = log(I + 0.1)
    # and C = 0.5: column 0 falls by log 6 (3 OFF) and comes back (3 ON, exactly 3C),
    # column 1 alternates +log(11/6) (1 ON) and -0.5 (1 OFF), column 2 rises by log 6 (3 ON)
    # and falls by exactly 3C (3 OFF).
    cam = event_camera.EventCamera(
      contrast=0.5,
      log_eps=0.1,
      margin=1,
      steps_per_saccade=2,
      saccade_us=100,
      vertices=((0.0, 0.0), (1.0, 0.0)),
    )
    got = cam.convert(np.array([[255]], np.uint8))
    want = (
      [(0, 1, 0, 25)] * 3
      + [(1, 1, 1, 25)]
      + [(1, 1, 0, 75)]
      + [(2, 1, 1, 75)] * 3
      + [(1, 1, 1, 125)]
      + [(2, 1, 0, 125)] * 3
      + [(0, 1, 1, 175)] * 3
      + [(1, 1, 0, 175)]
    )
    self.assertEqual([tuple(int(v) for v in e) for e in got.tolist()], want)

  @parameterized.named_parameters(('clean', 0.0), ('noisy', 0.01))
  def test_batched_frames_equal_binned_events(self, noise_prob):
    cam = event_camera.EventCamera(noise_prob=noise_prob, seed=3)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 6, 5, 1)).astype(np.uint8)
    settings = ev_lib.FrameSettings(num_bins=4, downsample=2, clip=255)
    frames = cam.frames(images, settings, indices=[7, 8, 9])
    self.assertEqual(frames.shape, (3, 4, 6, 6, 2))
    for i, idx in enumerate([7, 8, 9]):
      ev = cam.convert(images[i], index=idx)
      want = settings.frames(ev, cam.sensor_shape((6, 5)), t_start=0, t_stop=cam.duration())
      np.testing.assert_array_equal(frames[i], want)

  def test_noise_is_deterministic_per_example_and_seed(self):
    image = np.full((4, 4), 128, np.uint8)
    cam = event_camera.EventCamera(noise_prob=0.05, seed=1)
    a, b = cam.convert(image, index=5), cam.convert(image, index=5)
    np.testing.assert_array_equal(a, b)
    self.assertFalse(np.array_equal(a, cam.convert(image, index=6)))
    other_seed = event_camera.EventCamera(noise_prob=0.05, seed=2).convert(image, index=5)
    self.assertFalse(np.array_equal(a, other_seed))

  def test_bad_parameter(self):
    with self.assertRaisesRegex(ValueError, 'EventCamera contrast out of range: -0.1'):
      event_camera.EventCamera(contrast=-0.1)


def _header_end(raw: bytes) -> int:
  return raw.index(b'#!END-HEADER\r\n') + len(b'#!END-HEADER\r\n')


class DvsGestureFilesTest(parameterized.TestCase):
  def setUp(self):
    super().setUp()
    self.dir = Path(self.create_tempdir().full_path)

  @parameterized.named_parameters(
    ('aedat3', '#!END-HEADER'), ('aedat2_marker', '#End Of ASCII Header')
  )
  def test_aedat_round_trip_with_overflow_invalid_and_special_events(self, marker):
    # Times cross 2**31 µs: the packets' eventTSOverflow goes 0 -> 1.
    t = np.array([2**31 - 3, 2**31 - 1, 2**31, 2**31 + 5, 2**32 + 7])
    e = ev_lib.make_events([0, 127, 5, 64, 3], [1, 2, 127, 0, 9], [1, 0, 1, 1, 0], t)
    path = self.dir / 'user01_led.aedat'
    aedat.write_aedat31(path, e, packet_events=2, invalid_every=2, end_marker=marker)
    raw = path.read_bytes()
    self.assertTrue(raw.startswith(b'#!AER-DAT3.1\r\n'))
    got = aedat.read_aedat31(path)
    np.testing.assert_array_equal(got, e)

  def test_aedat_packet_layout_by_hand(self):
    e = ev_lib.make_events([3], [2], [1], [2**31 + 10])
    path = self.dir / 'a.aedat'
    aedat.write_aedat31(path, e, special_packet=False)
    raw = path.read_bytes()
    body = raw[_header_end(raw) :]
    self.assertEqual(struct.unpack('<hhiiiiii', body[:28]), (1, 1, 8, 4, 1, 1, 1, 1))
    data, ts = struct.unpack('<Ii', body[28:])
    self.assertEqual(data, 1 | (1 << 1) | (2 << 2) | (3 << 17))
    self.assertEqual(ts, 10)

  def test_truncated_aedat(self):
    e = ev_lib.make_events([1, 2], [1, 2], [0, 1], [10, 20])
    path = self.dir / 'user03_lab.aedat'
    aedat.write_aedat31(path, e)
    raw = path.read_bytes()
    for cut, what in ((3, 'needs 16 bytes of events, 13 left'), (30, 'less than a 28-byte')):
      path.write_bytes(raw[:-cut])
      with self.assertRaisesRegex(
        ValueError, f'user03_lab.aedat: truncated AEDAT file: .*{what}'
      ) as cm:
        aedat.read_aedat31(path)
      self.assertNotIn('\n', str(cm.exception))

  def test_labels_and_trials(self):
    path = self.dir / 'u_labels.csv'
    dvs_gesture.write_labels(path, [(1, 10, 20), (11, 30, 45)])
    self.assertEqual(path.read_text().splitlines()[0], 'class,startTime_usec,endTime_usec')
    self.assertEqual(dvs_gesture.read_labels(path).tolist(), [[1, 10, 20], [11, 30, 45]])
    path.write_text('class,startTime_usec,endTime_usec\n12,1,2\n')
    with self.assertRaisesRegex(ValueError, r'u_labels.csv, line 2: class 12 is not in 1..11'):
      dvs_gesture.read_labels(path)

  def test_labels_outside_the_recording(self):
    e = ev_lib.make_events([1, 2, 3], [1, 2, 3], [0, 1, 1], [100, 200, 300])
    aedat.write_aedat31(self.dir / 'user05_led.aedat', e)
    dvs_gesture.write_labels(self.dir / 'user05_led_labels.csv', [(2, 100, 250), (3, 400, 500)])
    with self.assertRaisesRegex(
      ValueError,
      r'user05_led_labels.csv: gesture class 3 \[400, 500\) µs lies outside the '
      r'recording user05_led.aedat \(events from 100 to 300 µs\)',
    ):
      dvs_gesture.recording_gestures(
        self.dir / 'user05_led.aedat', self.dir / 'user05_led_labels.csv'
      )
    dvs_gesture.write_labels(self.dir / 'user05_led_labels.csv', [(2, 150, 250), (1, 100, 301)])
    got = dvs_gesture.recording_gestures(
      self.dir / 'user05_led.aedat', self.dir / 'user05_led_labels.csv'
    )
    self.assertEqual(
      [(label, g['t'].tolist()) for label, g in got], [(0, [100, 200, 300]), (1, [200])]
    )

  def test_events_off_the_sensor(self):
    e = ev_lib.make_events([1, 130], [1, 2], [0, 1], [10, 20])
    aedat.write_aedat31(self.dir / 'user07_led.aedat', e)
    dvs_gesture.write_labels(self.dir / 'user07_led_labels.csv', [(1, 10, 20)])
    with self.assertRaisesRegex(
      ValueError, 'user07_led.aedat: event 1 has x=130 outside the 128x128'
    ):
      dvs_gesture.recording_gestures(
        self.dir / 'user07_led.aedat', self.dir / 'user07_led_labels.csv'
      )
    np.save(self.dir / '3.npy', np.array([[1.0, 128.0, 0.0, 0.5]]))
    with self.assertRaisesRegex(ValueError, '3.npy: event 0 has y=128 outside the 128x128'):
      dvs_gesture.read_tonic_npy(self.dir / '3.npy')

  def test_tonic_npy(self):
    e = ev_lib.make_events([1, 2], [3, 4], [0, 1], [1234567890123, 1234567890999])
    dvs_gesture.write_tonic_npy(self.dir / '0.npy', e)
    a = np.load(self.dir / '0.npy')
    self.assertEqual(a.shape, (2, 4))
    self.assertAlmostEqual(a[0, 3], 1234567890.123, places=3)  # milliseconds
    np.testing.assert_array_equal(dvs_gesture.read_tonic_npy(self.dir / '0.npy'), e)
    np.save(self.dir / '1.npy', np.zeros((5, 3)))
    with self.assertRaisesRegex(
      ValueError, r'1.npy: expected an \[N, 4\] array .*got shape \[5, 3\]'
    ):
      dvs_gesture.read_tonic_npy(self.dir / '1.npy')

  def test_both_layouts_give_the_same_frames(self):
    ibm, tonic = self.dir / 'ibm', self.dir / 'tonic'
    written = synthetic.write_synthetic_dvs_gesture(ibm, layout='ibm', seed=4)
    synthetic.write_synthetic_dvs_gesture(tonic, layout='tonic', seed=4)
    self.assertTrue((ibm / 'DvsGesture' / 'user01_fluorescent.aedat').is_file())
    self.assertTrue((tonic / 'ibmGestureTest' / 'user03_led' / '10.npy').is_file())
    self.assertEqual(dvs_gesture.find_files(ibm)[0], 'ibm')
    self.assertEqual(dvs_gesture.find_files(tonic)[0], 'tonic')
    for split, n in (('train', 44), ('test', 22)):
      fi, li = dvs_gesture.read_split(ibm, split, SETTINGS)
      ft, lt = dvs_gesture.read_split(tonic, split, SETTINGS)
      self.assertEqual(fi.shape, (n, 4, 32, 32, 2))
      np.testing.assert_array_equal(li, lt)
      np.testing.assert_array_equal(fi, ft)
      self.assertEqual(li.tolist(), [label for label, _ in written[split]])
      want = np.stack([SETTINGS.frames(g, (128, 128)) for _, g in written[split]])
      np.testing.assert_array_equal(fi, want)
      self.assertGreater(int(fi.astype(np.int64).sum()), 0)


def _cache_entries(tfds_dir: Path) -> list[str]:
  """What a failed preparation left in the cache (lock files aside)."""
  if not tfds_dir.exists():
    return []
  return sorted(p.name for p in tfds_dir.iterdir() if not p.name.endswith('.lock'))


class EventDatasetsTest(parameterized.TestCase):
  def setUp(self):
    super().setUp()
    self.dir = Path(self.create_tempdir().full_path)
    self.tfds = self.dir / 'tfds'

  def test_specs(self):
    fm = data.DATASETS['fashion_mnist_events']
    self.assertEqual(fm.image_shape, (17, 17, 2))
    self.assertEqual(fm.example_shape, (10, 17, 17, 2))
    dvs = data.DATASETS['dvs_gesture']
    self.assertEqual((dvs.image_shape, dvs.example_shape), ((32, 32, 2), (16, 32, 32, 2)))
    self.assertEqual(dvs.num_classes, 11)
    self.assertEqual(data.DATASETS['fashion_mnist'].example_shape, (28, 28, 1))

  def test_fashion_mnist_events_through_tfds(self):
    written = data.write_synthetic_idx(self.dir / 'fm', 30, 10, seed=0)
    x, y = data.load_arrays('fashion_mnist_events', 'test', self.dir / 'fm', self.tfds)
    self.assertEqual((x.shape, x.dtype), ((10, 10, 17, 17, 2), np.uint8))
    np.testing.assert_array_equal(y, written['test'][1])
    spec = data.DATASETS['fashion_mnist_events']
    cam, settings = spec.camera, spec.frames
    for i in (0, 9):  # example i of the test split: its events, binned over the recording
      ev = cam.convert(written['test'][0][i], index=originals._TEST_INDEX_OFFSET + i)
      want = settings.frames(ev, (34, 34), t_start=0, t_stop=cam.duration())
      np.testing.assert_array_equal(x[i], want)
    self.assertTrue(set(np.unique(x).tolist()) <= {0, 85, 170, 255})
    self.assertGreater(int((x > 0).sum()), 100)

  @parameterized.named_parameters(('ibm', 'ibm'), ('tonic', 'tonic'))
  def test_dvs_gesture_through_tfds(self, layout):
    written = synthetic.write_synthetic_dvs_gesture(self.dir / 'dvs', layout=layout, seed=1)
    x, y = data.load_arrays('dvs_gesture', 'train', self.dir / 'dvs', self.tfds)
    self.assertEqual(x.shape, (44, 16, 32, 32, 2))
    self.assertEqual(y.tolist(), [label for label, _ in written['train']])
    settings = data.DATASETS['dvs_gesture'].frames
    np.testing.assert_array_equal(x[5], settings.frames(written['train'][5][1], (128, 128)))

  def test_missing_dvs_gesture_names_both_layouts(self):
    with self.assertRaises(data.MissingDatasetError) as cm:
      data.check_files('dvs_gesture', self.dir / 'nothing')
    msg = str(cm.exception)
    for part in (
      'DvsGesture/trials_to_train.txt',
      'ibmGestureTrain/',
      '<label>.npy',
      'does not exist',
    ):
      self.assertIn(part, msg)
    synthetic.write_synthetic_dvs_gesture(self.dir / 'ibm', layout='ibm', seed=0)
    (self.dir / 'ibm' / 'DvsGesture' / 'user03_led_labels.csv').unlink()
    with self.assertRaisesRegex(
      data.MissingDatasetError, r'1 file\(s\) of the ibm layout missing'
    ) as cm:
      data.load_arrays('dvs_gesture', 'train', self.dir / 'ibm', self.tfds)
    self.assertIn('  - user03_led_labels.csv', str(cm.exception))
    self.assertEqual(_cache_entries(self.tfds), [])

  @parameterized.named_parameters(
    ('truncated_aedat', 'ibm', 'truncate', 'user02_led.aedat: truncated AEDAT file'),
    ('labels_outside', 'ibm', 'labels', 'user01_led_labels.csv: gesture class 11'),
    ('off_sensor_aedat', 'ibm', 'sensor', 'user01_fluorescent.aedat: event 0 has x=200'),
    ('npy_shape', 'tonic', 'shape', r'user02_led/4.npy: expected an \[N, 4\] array'),
    ('off_sensor_npy', 'tonic', 'sensor', 'user01_fluorescent/0.npy: event 0 has x=200'),
  )
  def test_bad_files_one_line_error_and_nothing_cached(self, layout, damage, message):
    root = self.dir / 'dvs'
    synthetic.write_synthetic_dvs_gesture(root, layout=layout, seed=2)
    ibm, tonic = root / 'DvsGesture', root / 'ibmGestureTrain'
    if damage == 'truncate':
      raw = (ibm / 'user02_led.aedat').read_bytes()
      (ibm / 'user02_led.aedat').write_bytes(raw[:-5])
    elif damage == 'labels':
      rows = dvs_gesture.read_labels(ibm / 'user01_led_labels.csv').tolist()
      rows[-1] = [11, rows[-1][1] + 10**8, rows[-1][2] + 10**8]
      dvs_gesture.write_labels(ibm / 'user01_led_labels.csv', rows)
    elif damage == 'shape':
      np.save(tonic / 'user02_led' / '4.npy', np.zeros((3, 5)))
    elif layout == 'ibm':
      e = aedat.read_aedat31(ibm / 'user01_fluorescent.aedat')
      e['x'][0] = 200
      aedat.write_aedat31(ibm / 'user01_fluorescent.aedat', e)
    else:
      a = np.load(tonic / 'user01_fluorescent' / '0.npy')
      a[0, 0] = 200
      np.save(tonic / 'user01_fluorescent' / '0.npy', a)
    with self.assertRaisesRegex(ValueError, message) as cm:
      data.load_arrays('dvs_gesture', 'train', root, self.tfds)
    self.assertNotIn('\n', str(cm.exception))
    self.assertEqual(_cache_entries(self.tfds), [])


def _config(name: str, arg: str | None = 'smoke'):
  return helpers.load_config(name, arg)


class EventConfigsTest(parameterized.TestCase):
  def setUp(self):
    super().setUp()
    self.dir = Path(self.create_tempdir().full_path)

  @parameterized.named_parameters(
    ('fashion_mnist_events', 'fashion_mnist_events'), ('dvs', 'dvs_gesture')
  )
  def test_full_configs(self, name):
    c = _config(name, None)
    self.assertEqual(c.dataset, name)
    self.assertEqual((c.input.name, c.input.frames.nudge_input), ('frames', 'last'))
    # γ = 1 with 'last': the best setting measured for EP on event input (BUILD_NOTES 4.6).
    self.assertEqual(c.input.frames.trace_decay, 1.0)
    c.ep.k_avg = 9  # the encoder's rate window follows the ep block
    self.assertEqual(c.input.frames.to_dict()['k_avg'], 9)

  def test_fashion_mnist_events_smoke_end_to_end(self):
    data.write_synthetic_idx(self.dir / 'idx', 256, 128, seed=0)
    c = _config('fashion_mnist_events')
    c.data_dir, c.tfds_dir = str(self.dir / 'idx'), str(self.dir / 'tfds')
    c.input.frames.nudge_input = 'continue'
    m = experiment.train_and_evaluate(c, str(self.dir / 'work'))
    self.assertEqual(m['epochs'], 1)
    self.assertBetween(m['test_accuracy'], 0.0, 1.0)
    frames = {'nudge_input': 'continue', 't_nudge': 10, 'k_avg': 5, 'trace_decay': 1.0}
    want = {'name': 'frames', 'frames': frames}
    self.assertEqual(m['config']['input'], want)

  @parameterized.named_parameters(('ibm', 'ibm'), ('tonic', 'tonic'))
  def test_dvs_gesture_smoke_end_to_end(self, layout):
    synthetic.write_synthetic_dvs_gesture(self.dir / 'dvs', layout=layout, seed=0)
    c = _config('dvs_gesture')
    c.data_dir, c.tfds_dir = str(self.dir / 'dvs'), str(self.dir / 'tfds')
    # Tinier than the smoke variant: still a step per frame in the free phase (16 frames).
    c.network.channels, c.network.fc = (2, 2), (4,)
    c.ep.update(dict(t_free=16, t_nudge=4, k_avg=2))
    m = experiment.train_and_evaluate(c, str(self.dir / 'work'))
    self.assertEqual(m['epochs'], 1)
    self.assertBetween(m['test_accuracy'], 0.0, 1.0)


if __name__ == '__main__':
  absltest.main()
