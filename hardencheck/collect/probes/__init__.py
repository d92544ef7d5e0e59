"""Probes: one module per kind of fact. Importing this package imports (registers) all of them."""

import importlib
import pkgutil

from hardencheck.collect.probes.base import Arg, Probe, get_probe, registry  # noqa: F401

for _m in pkgutil.iter_modules(__path__):
    if _m.name != "base":
        importlib.import_module(f"{__name__}.{_m.name}")
