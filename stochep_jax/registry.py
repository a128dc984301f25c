"""Name registries, so configs can name neuron models, encoders and architectures.

A registry maps a name to a factory. ``make(name, **kwargs)`` calls it with
``kwargs``; an argument the factory does not take is an error that lists the
valid names (a misspelt hyperparameter never silently does nothing).
``fields(name)`` gives a factory's keyword arguments and their defaults, from
which the configs build one sub-block per model. Adding a model means
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
    """``factory(**kwargs)`` (lists as tuples); an unknown keyword is a ValueError."""
    return call_strict(self.get(name), kwargs, f'{self.kind} {name!r}')

  def fields(self, name: str) -> dict[str, Any]:
    """The keyword arguments of ``name``'s factory with their defaults (required ones: None)."""
    return factory_fields(self.get(name))


def factory_fields(factory: Callable[..., Any]) -> dict[str, Any]:
  """Keyword arguments of a dataclass or function, with defaults (None where required)."""
  if dataclasses.is_dataclass(factory):
    out = {}
    for f in dataclasses.fields(factory):
      if not f.init:
        continue
      if f.default is not dataclasses.MISSING:
        out[f.name] = f.default
      elif f.default_factory is not dataclasses.MISSING:
        out[f.name] = f.default_factory()
      else:
        out[f.name] = None
    return out
  params = inspect.signature(factory).parameters.values()
  return {
    p.name: None if p.default is p.empty else p.default
    for p in params
    if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
  }


def call_strict(factory: Callable[..., Any], kwargs: dict, what: str = ''):
  """``factory(**kwargs)`` (lists as tuples), refusing keywords it does not take."""
  if not dataclasses.is_dataclass(factory):
    params = inspect.signature(factory).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
      return factory(**{k: _tupled(v) for k, v in kwargs.items()})
  accepted = factory_fields(factory)
  unknown = sorted(set(kwargs) - set(accepted))
  if unknown:
    name = what or getattr(factory, '__name__', 'factory')
    raise ValueError(f'{name} takes no argument {", ".join(unknown)}; valid: {sorted(accepted)}')
  return factory(**{k: _tupled(v) for k, v in kwargs.items()})


def _tupled(v):
  """Lists (as config files give them) become tuples, keeping dataclasses hashable."""
  return tuple(_tupled(u) for u in v) if isinstance(v, list) else v
