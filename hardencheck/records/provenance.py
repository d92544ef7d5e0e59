"""Who produced a record: the tool, the Python, the scanning machine and account. Built here
only, so the manifest, results.json, the history and the annual report name it alike."""

from __future__ import annotations

import getpass
import os
import platform
import socket
from typing import Any

from hardencheck import __version__


def tool() -> dict[str, str]:
    return {"name": "hardencheck", "version": __version__}


def user() -> str:
    try:
        return getpass.getuser()
    except Exception:                     # no login name (container without a passwd entry)
        return str(os.getuid())


def scanner() -> dict[str, Any]:
    """The machine and account running this process, and its pid (stale-run detection)."""
    return {"host": socket.gethostname(), "user": user(), "pid": os.getpid()}


def provenance() -> dict[str, Any]:
    """tool, python and scanner: the provenance block of a run (results.json and manifest)."""
    return {"tool": tool(), "python": platform.python_version(), "scanner": scanner()}
