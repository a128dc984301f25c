"""Argument checks for the library's constructors and entry points.

Every constructor checks its own arguments with these helpers, so a bad value
stops at once with one line that names the owner, the argument, its value and
what was expected::

    StochEP: noise_bits=3: must be 32 or 8
    EP: t_free=2.5: must be an integer >= 1

The errors are ``ValueError`` (a bad value) or ``TypeError`` (a bad array
dtype); ``validate`` prefixes them with the config field that built the object.
Traced values (a hyperparameter swept inside ``jit``) are not checked.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

import jax
import numpy as np


def alternatives(choices: Iterable[Any]) -> str:
  """``'a', 'b' or 'c'`` (reprs, in the given order)."""
  items = [repr(c) for c in choices]
  return items[0] if len(items) == 1 else f'{", ".join(items[:-1])} or {items[-1]}'


def fail(owner: str, name: str, value: Any, expected: str, error=ValueError):
  """Raises ``error('{owner}: {name}={value!r}: {expected}')``."""
  raise error(f'{owner}: {name}={value!r}: {expected}')


def _concrete(value):
  """A concrete 0-d array as a Python scalar; a tracer as None (not checked)."""
  if isinstance(value, jax.core.Tracer):
    return None
  if isinstance(value, (jax.Array, np.ndarray)) and value.shape == ():
    return value.item()
  return value


def integer(owner: str, name: str, value, lo: int | None = None, hi: int | None = None) -> None:
  """An integer (not a bool, not a float) in [lo, hi]."""
  v = _concrete(value)
  if v is None:
    return
  ok = isinstance(v, numbers.Integral) and not isinstance(v, bool)
  if ok and ((lo is not None and v < lo) or (hi is not None and v > hi)):
    ok = False
  if not ok:
    if lo is not None and hi is not None:
      bound = f' in [{lo}, {hi}]'
    elif lo is not None:
      bound = f' >= {lo}'
    elif hi is not None:
      bound = f' <= {hi}'
    else:
      bound = ''
    fail(owner, name, value, f'must be an integer{bound}')


def number(
  owner: str,
  name: str,
  value,
  lo: float | None = None,
  hi: float | None = None,
  *,
  lo_open: bool = False,
  hi_open: bool = False,
  nonzero: bool = False,
) -> None:
  """A finite real number in the interval given by lo/hi (open ends with ``*_open``)."""
  v = _concrete(value)
  if v is None:
    return
  ok = isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)
  if ok:
    ok = (
      (lo is None or (v > lo if lo_open else v >= lo))
      and (hi is None or (v < hi if hi_open else v <= hi))
      and not (nonzero and v == 0)
    )
  if not ok:
    if lo is not None and hi is not None:
      where = f' in {"(" if lo_open else "["}{lo:g}, {hi:g}{")" if hi_open else "]"}'
    elif lo is not None:
      where = f' {">" if lo_open else ">="} {lo:g}'
    elif hi is not None:
      where = f' {"<" if hi_open else "<="} {hi:g}'
    else:
      where = ''
    fail(owner, name, value, f'must be a finite number{where}{" other than 0" if nonzero else ""}')


def choice(owner: str, name: str, value, choices: Sequence[Any]) -> None:
  """One of ``choices`` (compared by equality; bools are not ints here)."""
  ok = any(value == c and type(value) is not bool for c in choices)
  if not ok:
    fail(owner, name, value, f'must be {alternatives(choices)}')


def boolean(owner: str, name: str, value) -> None:
  """True or False (a Python or numpy bool)."""
  if not isinstance(value, (bool, np.bool_)):
    fail(owner, name, value, 'must be True or False')


def positive_ints(owner: str, name: str, values, *, allow_empty: bool = True) -> tuple[int, ...]:
  """A sequence of integers >= 1 (e.g. layer widths); returns it as a tuple."""
  ok = isinstance(values, Sequence) and not isinstance(values, str)
  items = tuple(values) if ok else ()
  ok = ok and (allow_empty or bool(items))
  ok = ok and all(
    isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1 for v in items
  )
  if not ok:
    what = 'a' if allow_empty else 'a non-empty'
    fail(owner, name, values, f'must be {what} sequence of integers >= 1')
  return items


def batch(owner: str, x, labels=None, indices=None) -> None:
  """x is [B, ...]; labels (if given) integer [B]; indices (if given) integer [B].

  Works on arrays and tracers alike (shapes and dtypes are static).
  """
  shape = getattr(x, 'shape', None)
  if shape is None or len(shape) < 2:
    raise ValueError(
      f'{owner}: x has shape {shape}: must be [B, ...] (a batch of examples, one per row)'
    )
  b = shape[0]
  for name, value in (('labels', labels), ('indices', indices)):
    if value is None:
      continue
    vshape = getattr(value, 'shape', None)
    dtype = getattr(value, 'dtype', None)
    if dtype is None or not np.issubdtype(dtype, np.integer):
      raise TypeError(f'{owner}: {name} has dtype {dtype}: must be integer (class indices), [{b}]')
    if vshape != (b,):
      raise ValueError(f'{owner}: {name} has shape {vshape}: must be [{b}] (one per row of x)')
