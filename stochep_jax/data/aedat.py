"""AEDAT 3.1 event files (the DVS128 recordings of DVS Gesture), read and written with numpy.

This module owns the file format only (the dataset, its labels, trials and
layouts are in ``dvs_gesture``, which re-exports both functions); the format
is followed from its specification, not from tonic (GPL-3.0).

A file is ASCII header lines starting with ``#`` (the first ``#!AER-DAT3.1``,
the last ``#!END-HEADER``; the AEDAT 2 marker ``#End Of ASCII Header`` is
accepted too), then packets: a 28-byte little-endian header (eventType int16,
eventSource int16, eventSize int32, eventTSOffset int32, eventTSOverflow int32,
eventCapacity int32, eventNumber int32, eventValid int32) followed by
eventCapacity events of eventSize bytes (capacity = number in files).
Polarity events (type 1) are 8 bytes: uint32 data (bit 0 validity, bit 1
polarity, bits 2-16 y, bits 17-31 x) and an int32 timestamp in µs; the full
time is ``(eventTSOverflow << 31) | timestamp``. Other packet types are
skipped, invalid events dropped.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from stochep_jax.data import events as ev_lib

__all__ = ['read_aedat31', 'write_aedat31']

_PACKET = struct.Struct('<hhiiiiii')
_END_MARKERS = (b'#!END-HEADER', b'#End Of ASCII Header')
_POLARITY_EVENT = 1


def read_aedat31(path: str | os.PathLike[str]) -> np.ndarray:
  """The valid polarity events of an AEDAT 3.1 file, in file order.

  Raises:
    ValueError: one line naming the file: not AEDAT 3, a truncated header or
      packet, or a polarity packet whose events are not 8 bytes.
  """
  path = Path(path)
  raw = path.read_bytes()
  pos = 0
  first = True
  while raw.startswith(b'#', pos):
    end = raw.find(b'\n', pos)
    if end < 0:
      raise ValueError(f'{path}: truncated AEDAT header (no end of line after byte {pos}).')
    line = raw[pos:end].rstrip(b'\r')
    if first and line.startswith(b'#!AER-DAT') and not line.startswith(b'#!AER-DAT3'):
      raise ValueError(f'{path}: not an AEDAT 3.x file (header {line.decode(errors="replace")}).')
    first = False
    pos = end + 1
    if line in _END_MARKERS:
      break
  parts = []
  while pos < len(raw):
    if len(raw) - pos < _PACKET.size:
      raise ValueError(
        f'{path}: truncated AEDAT file: {len(raw) - pos} bytes at byte {pos}, '
        f'less than a {_PACKET.size}-byte packet header.'
      )
    etype, _, size, _, overflow, capacity, number, _ = _PACKET.unpack_from(raw, pos)
    if size <= 0 or number < 0 or capacity < number:
      raise ValueError(
        f'{path}: bad AEDAT packet header at byte {pos} '
        f'(eventSize {size}, eventCapacity {capacity}, eventNumber {number}).'
      )
    body = pos + _PACKET.size
    stop = body + capacity * size
    if stop > len(raw):
      raise ValueError(
        f'{path}: truncated AEDAT file: the packet at byte {pos} needs {capacity * size} bytes '
        f'of events, {len(raw) - body} left.'
      )
    if etype == _POLARITY_EVENT and number:
      if size != 8:
        raise ValueError(f'{path}: polarity packet at byte {pos} has eventSize {size}, not 8.')
      words = np.frombuffer(raw, '<u4', count=2 * number, offset=body).reshape(number, 2)
      data = words[:, 0]
      ts = words[:, 1].astype(np.int64) & 0x7FFFFFFF
      keep = (data & 1).astype(bool)
      t = (np.int64(overflow) << 31) | ts
      parts.append((data[keep], t[keep]))
    pos = stop
  data = np.concatenate([d for d, _ in parts]) if parts else np.zeros(0, np.uint32)
  t = np.concatenate([t for _, t in parts]) if parts else np.zeros(0, np.int64)
  return ev_lib.make_events(x=(data >> 17) & 0x7FFF, y=(data >> 2) & 0x7FFF, p=(data >> 1) & 1, t=t)


def write_aedat31(
  path: str | os.PathLike[str],
  events: np.ndarray,
  *,
  packet_events: int = 64,
  invalid_every: int = 0,
  special_packet: bool = True,
  end_marker: str = '#!END-HEADER',
) -> None:
  """Writes events (sorted by time) as an AEDAT 3.1 file, like the DVS128 recordings.

  Args:
    path: the ``.aedat`` file to write.
    events: :data:`events.EVENT_DTYPE` events sorted by time.
    packet_events: polarity events per packet (packets also split where the
      timestamp overflow changes).
    invalid_every: if > 0, an invalid event (validity bit 0) after every
      ``invalid_every`` events (readers must drop it).
    special_packet: start with a packet of one special event (type 0), which
      readers skip.
    end_marker: the header's last line.
  """
  t = events['t'].astype(np.int64)
  if t.size and (np.any(np.diff(t) < 0) or t[0] < 0):
    raise ValueError('write_aedat31 needs non-negative times sorted in increasing order.')
  header = ['#!AER-DAT3.1', '#Format: RAW', '#Source 1: DVS128']
  header += ['#Start-Time: 2017-01-01 00:00:00 (TZ+0000)', end_marker]
  out = [''.join(f'{h}\r\n' for h in header).encode()]
  if special_packet:
    first_ts = int(t[0] & 0x7FFFFFFF) if t.size else 0
    out.append(_PACKET.pack(0, 1, 8, 4, int(t[0] >> 31) if t.size else 0, 1, 1, 1))
    out.append(struct.pack('<Ii', 1, first_ts))
  data = (
    1
    | (events['p'].astype(np.uint32) << 1)
    | (events['y'].astype(np.uint32) << 2)
    | (events['x'].astype(np.uint32) << 17)
  )
  overflow = t >> 31
  ts = (t & 0x7FFFFFFF).astype(np.uint32)
  starts = np.flatnonzero(np.diff(overflow, prepend=-1) != 0).tolist() + [len(t)]
  for a, b in zip(starts[:-1], starts[1:]):
    for lo in range(a, b, packet_events):
      hi = min(b, lo + packet_events)
      words = np.stack([data[lo:hi], ts[lo:hi]], 1)
      if invalid_every:
        rows = []
        for i in range(len(words)):
          rows.append(words[i])
          if (lo + i + 1) % invalid_every == 0:  # invalid: validity 0, a bogus address
            rows.append(np.array([0xFFFFFFFE, words[i, 1]], np.uint32))
        words = np.stack(rows)
      n, valid = len(words), hi - lo
      out.append(_PACKET.pack(1, 1, 8, 4, int(overflow[lo]), n, n, valid))
      out.append(words.astype('<u4').tobytes())
  Path(path).write_bytes(b''.join(out))
