"""The hardencheck test lab: real sshd hosts in network + mount namespaces (see lab.py).

Feature-specific host kinds live in ``kind_<topic>.py`` modules beside lab.py; each calls
``register_kind`` at import, and all of them are imported here."""

import importlib
import pkgutil

from .lab import (EXTRA_KINDS, KINDS, LAB_NET, STANDARD_HOSTS, ExtraKind, Lab, LabError, LabHost,
                  cleanup_prefix, preflight, register_kind)

for _mod in sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name.startswith("kind_")):
    importlib.import_module(f"{__name__}.{_mod}")

__all__ = ["EXTRA_KINDS", "KINDS", "LAB_NET", "STANDARD_HOSTS", "ExtraKind", "Lab", "LabError", "LabHost",
           "cleanup_prefix", "preflight", "register_kind"]
