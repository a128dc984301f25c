"""Helpers shared by the test modules (configs and launchers imported as modules)."""

import importlib


def load_config(name: str = 'fashion_mnist', arg: str | None = None):
  """``experiments/configs/<name>.py``'s ``get_config(arg)``."""
  return importlib.import_module(f'experiments.configs.{name}').get_config(arg)


def launcher(name: str):
  """The launcher module ``experiments/<name>.py`` (its flags are defined where it says)."""
  return importlib.import_module(f'experiments.{name}')
