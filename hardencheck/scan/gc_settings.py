"""Python's cyclic garbage collector, set for the length of a scan.

A scan keeps many container objects alive for long: the modules, the control library, the
catalog and the plan from its start, every finished host's results until the reports. CPython
walks all objects of a generation when it collects it, and a full collection comes whenever the
objects that survived since the last one exceed a quarter of the old ones: at 100 lab hosts the
collector took about 0.64 of 7.9 CPU-seconds (four full collections 0.43 s, each walking 50,000 to
160,000 objects), while the garbage it found was small (closures and tracebacks that refer to
themselves, about 20,000 objects in the whole scan).

``for_scan`` therefore, once the run's plan is made:

* collects once and freezes what is alive then (``gc.freeze``: the objects move to a generation
  the collector never walks; they were going to live until the process ends anyway);
* collects the youngest generation after 10,000 new objects instead of CPython's 700, so fewer
  short-lived objects are walked before they are freed anyway and fewer reach the older
  generations.

Garbage is still collected, only less often, so what lives in a reference cycle lives longer: the
settings raised the scanner's peak memory by 5 MiB until the cycles that held a finished host's
output (the exec's output handler, paramiko's failed identity-key parses) were broken. With them
gone, three interleaved pairs at 100 lab hosts: collector 0.64-0.73 -> 0.27-0.31 CPU-s, peak
memory 138-140 -> 135-136 MiB. Keep new per-host objects out of cycles (tests check the probes'
parsers and the exec for it).

The previous settings come back when the scan ends (the frozen objects return to the oldest
generation, unless the caller had frozen objects of its own: ``gc.unfreeze`` cannot tell them
apart, so then everything stays frozen), so a caller in the same process (tests, an embedding
program) is left as it was.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator

#: new container objects (allocations minus deallocations) between collections of the youngest
#: generation (CPython's default: 700)
YOUNG_THRESHOLD = 10_000


@contextmanager
def for_scan() -> Iterator[None]:
    """The collector's settings for a scan, and the caller's back afterwards."""
    threshold = gc.get_threshold()
    caller_froze = gc.get_freeze_count() > 0
    gc.collect()
    gc.freeze()
    gc.set_threshold(max(threshold[0], YOUNG_THRESHOLD), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        if not caller_froze:        # what a caller froze itself stays frozen (with ours)
            gc.unfreeze()
