"""scan.memory.release_freed: glibc gives freed heap pages back (measured on this process's RSS)."""

from __future__ import annotations

import platform

import pytest

from hardencheck.scan.memory import release_freed


def _rss_kib() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_freed_heap_goes_back_to_the_system():
    release_freed()
    # many mid-sized blocks (glibc's heap, not mmap), freed apart from the last one, which pins
    # the heap's top so that only a trim returns the pages below it
    blocks = [bytearray(100_000) for _ in range(400)]       # ~40 MB
    keep = blocks[-1]
    del blocks
    before = _rss_kib()
    assert release_freed() is True
    after = _rss_kib()
    assert before - after > 20_000, (before, after)
    assert len(keep) == 100_000
