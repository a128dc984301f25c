"""Reading and writing the IDX format of (Fashion-)MNIST with numpy only.

An IDX file is a big-endian header ``00 00 <dtype code> <ndim>`` followed by
``ndim`` big-endian ``uint32`` dimensions and the row-major array data. The
original files are distributed gzipped; both plain and gzipped files are read
(detected from the content, not the file name).
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

__all__ = ['read_idx', 'write_idx']

# IDX type code -> big-endian numpy dtype.
_IDX_DTYPES: dict[int, np.dtype] = {
  0x08: np.dtype(np.uint8),
  0x09: np.dtype(np.int8),
  0x0B: np.dtype('>i2'),
  0x0C: np.dtype('>i4'),
  0x0D: np.dtype('>f4'),
  0x0E: np.dtype('>f8'),
}
_GZIP_MAGIC = b'\x1f\x8b'


def _read_bytes(path: Path) -> bytes:
  with open(path, 'rb') as f:
    raw = f.read()
  if raw[:2] == _GZIP_MAGIC:
    try:
      raw = gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as e:  # a truncated or damaged download
      raise ValueError(f'{path}: truncated or damaged gzip file ({e})') from None
  return raw


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
  """Reads an IDX file (gzipped or not) into a numpy array.

  Args:
    path: Path of the IDX file.

  Returns:
    The array with the shape stored in the header, in native byte order
    (``uint8`` for the (Fashion-)MNIST image and label files).

  Raises:
    ValueError: If the file is not a well-formed IDX file.
  """
  path = Path(path)
  raw = _read_bytes(path)
  if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
    raise ValueError(f'{path} is not an IDX file (bad magic number {raw[:4]!r}).')
  code, ndim = raw[2], raw[3]
  if code not in _IDX_DTYPES:
    raise ValueError(f'{path}: unknown IDX data type code 0x{code:02x}.')
  header_size = 4 + 4 * ndim
  if len(raw) < header_size:
    raise ValueError(f'{path}: truncated IDX header.')
  shape = struct.unpack(f'>{ndim}I', raw[4:header_size])
  dtype = _IDX_DTYPES[code]
  expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
  if len(raw) - header_size != expected:
    raise ValueError(
      f'{path}: IDX header announces shape {shape} ({expected} bytes of data) '
      f'but the file holds {len(raw) - header_size} bytes of data.'
    )
  array = np.frombuffer(raw, dtype=dtype, offset=header_size).reshape(shape)
  return array.astype(dtype.newbyteorder('='), copy=True)


def write_idx(path: str | os.PathLike[str], array: np.ndarray, *, gzip_file: bool = True) -> Path:
  """Writes an array as an IDX file, exactly like the original distribution.

  Args:
    path: Destination file.
    array: Array to write; its dtype must be one of the IDX types (the
      (Fashion-)MNIST files are ``uint8``).
    gzip_file: Whether to gzip the file (deterministically: the gzip header
      carries no timestamp nor file name).

  Returns:
    The path written.
  """
  array = np.asarray(array)
  for code, dtype in _IDX_DTYPES.items():
    if dtype.newbyteorder('=') == array.dtype.newbyteorder('='):
      break
  else:
    raise ValueError(f'dtype {array.dtype} cannot be stored in an IDX file.')
  header = bytes([0, 0, code, array.ndim]) + struct.pack(f'>{array.ndim}I', *array.shape)
  data = header + np.ascontiguousarray(array, dtype=_IDX_DTYPES[code]).tobytes()
  path = Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  with open(path, 'wb') as f:
    if gzip_file:
      with gzip.GzipFile(filename='', mode='wb', fileobj=f, mtime=0) as gz:
        gz.write(data)
    else:
      f.write(data)
  return path
