"""Give the memory a run has freed back to the system.

A scan's memory comes in waves: a host's output, parsed facts and host file are large and short
lived, and a fleet's hosts tend to finish together. glibc's allocator keeps what Python frees in
its heaps for reuse, so without help the process keeps the high-water mark of every wave
(bench/scale.py measured about 15 MiB at 100 hosts). ``release_freed`` asks glibc to return the
free pages (``malloc_trim``) after each batch of finished hosts is written and before the
reports render. Elsewhere (musl, macOS) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util

_trim = None


def _load():
    global _trim
    if _trim is None:
        _trim = False
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _trim = getattr(libc, "malloc_trim", None) or False
        except OSError:
            pass
    return _trim


def release_freed() -> bool:
    """Return freed heap memory to the system; True when the allocator offers that (glibc)."""
    trim = _load()
    if not trim:
        return False
    trim(0)
    return True
