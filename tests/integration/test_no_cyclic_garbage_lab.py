"""A host's scan is freed by reference counting once it is written: nothing of it waits for
Python's cyclic garbage collector. Cycles used to hold a host's whole scan (its sections,
evidence and results) until a full collection: the exec channel and its output buffers kept the
splitter's callbacks (later the output handler the idle limit, whose closure knows the
splitter), a parser's error its traceback's frames, redaction its walker; at 100 hosts
in flight the collector found about half a million such objects and spent close to a second of
the scanner's CPU walking them."""

from __future__ import annotations

import gc
from collections import Counter

import pytest

from hardencheck.collect.engine import HostScan
from hardencheck.collect.probe_script import SectionSpec
from hardencheck.collect.stream_split import Section, Splitter, _Stream
from hardencheck.collect.transports.base import Liveness
from hardencheck.results import HostOutcome, Result
from tests.conftest import scan_lab

# sshd, firewall, patches; AVAIL-003 is an error on the lab (no systemd: a parser's ProbeError)
CONTROLS = ["SSH-001", "SSH-002", "FW-001", "PATCH-001", "AVAIL-003", "ACCT-001", "LOG-001"]
# the splitter holds the host's whole output until it is split into sections; the liveness's idle
# limit (a closure of the engine) knows the splitter
HOST_DATA = (HostScan, HostOutcome, Result, Section, SectionSpec, Splitter, _Stream, Liveness)


@pytest.mark.lab
def test_a_scan_leaves_nothing_of_its_hosts_to_the_cyclic_collector(lab, tmp_path):
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)        # what the collector finds is kept in gc.garbage
    try:
        _, _, results = scan_lab(lab, CONTROLS, tmp_path)
        gc.collect()
        left = Counter(type(o).__name__ for o in gc.garbage if type(o) in HOST_DATA)   # (no proxy)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert {r["status"] for r in results.values()} >= {"pass", "fail", "error"}
    assert not left, left
