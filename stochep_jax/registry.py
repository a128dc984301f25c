"""Name registries, so configs can name neuron models, encoders and architectures.

A registry maps a name to a factory. ``make(name, **kwargs)`` calls it with the
keyword arguments it accepts and ignores the rest, so one config block can hold
the hyperparameters of several alternatives (``--config.neuron.name=crnn``
switches model without deleting StochEP's ``decay``). Adding a model means
decorating its class with ``@REGISTRY.register('name')`` in its own module.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any


class Registry:
  """A named table of factories (classes or functions)."""

  def __init__(self, kind: str):
    self.kind = kind
    self._table: dict[str, Callable[..., Any]] = {}

  def register(self, name: str):
    def deco(factory):
      if name in self._table:
        raise ValueError(f'{self.kind} {name!r} is registered twice')
      self._table[name] = factory
      return factory

    return deco

  def names(self) -> list[str]:
    return sorted(self._table)

  def get(self, name: str) -> Callable[..., Any]:
    try:
      return self._table[name]
    except KeyError:
      raise ValueError(f'unknown {self.kind} {name!r}; choose from {self.names()}') from None

  def make(self, name: str, **kwargs):
    """``factory(**accepted kwargs)``; keyword arguments it does not take are ignored."""
    return call_accepted(self.get(name), kwargs)


def call_accepted(factory: Callable[..., Any], kwargs: dict):
  """Calls ``factory`` with the entries of ``kwargs`` it accepts (lists as tuples)."""
  if dataclasses.is_dataclass(factory):
    accepted = {f.name for f in dataclasses.fields(factory) if f.init}
  else:
    params = inspect.signature(factory).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
      accepted = set(kwargs)
    else:
      accepted = {p.name for p in params}
  return factory(**{k: _tupled(v) for k, v in kwargs.items() if k in accepted})


def _tupled(v):
  """Lists (as config files give them) become tuples, keeping dataclasses hashable."""
  return tuple(_tupled(u) for u in v) if isinstance(v, list) else v
