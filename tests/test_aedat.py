"""aedat: the AEDAT 3.1 format on its own."""

from pathlib import Path

import numpy as np
from absl.testing import absltest

from stochep_jax.data import aedat
from stochep_jax.data import events as ev_lib


class AedatTest(absltest.TestCase):
  def test_round_trip_off_the_dvs_sensor(self):
    """The format has no sensor: 15-bit addresses beyond 128×128 come back as written."""
    e = ev_lib.make_events([0, 300, 32767], [5, 200, 1], [1, 0, 1], [10, 20, 2**31 + 3])
    path = Path(self.create_tempdir().full_path) / 'wide.aedat'
    aedat.write_aedat31(path, e, packet_events=2)
    np.testing.assert_array_equal(aedat.read_aedat31(path), e)

  def test_not_aedat3(self):
    path = Path(self.create_tempdir().full_path) / 'old.aedat'
    path.write_bytes(b'#!AER-DAT2.0\r\n#End Of ASCII Header\r\n')
    with self.assertRaisesRegex(ValueError, r'old.aedat: not an AEDAT 3.x file'):
      aedat.read_aedat31(path)


if __name__ == '__main__':
  absltest.main()
