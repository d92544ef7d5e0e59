"""scan.gc_settings: the cycle collector's settings during a scan, and the caller's afterwards."""

from __future__ import annotations

import gc

import pytest

from hardencheck.cli import main
from hardencheck.scan import gc_settings


def test_a_scan_freezes_what_lives_and_collects_the_young_less_often_then_restores():
    gc.set_threshold(700, 10, 10)
    gc.unfreeze()
    try:
        with gc_settings.for_scan():
            assert gc.get_threshold() == (gc_settings.YOUNG_THRESHOLD, 10, 10)
            assert gc.get_freeze_count() > 0
            # garbage made during the scan is still collected, only less often
            a, b = [], []
            a.append(b)
            b.append(a)
            del a, b
            assert gc.collect() >= 2
        assert gc.get_threshold() == (700, 10, 10)
        assert gc.get_freeze_count() == 0
    finally:
        gc.unfreeze()
        gc.set_threshold(700, 10, 10)


def test_what_a_caller_froze_itself_stays_frozen():
    gc.unfreeze()
    gc.freeze()
    try:
        with gc_settings.for_scan():
            pass
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_a_caller_with_a_higher_threshold_keeps_it():
    gc.set_threshold(50_000, 20, 30)
    try:
        with gc_settings.for_scan():
            assert gc.get_threshold() == (50_000, 20, 30)
        assert gc.get_threshold() == (50_000, 20, 30)
    finally:
        gc.set_threshold(700, 10, 10)


@pytest.fixture
def at_finish(monkeypatch) -> list:
    """(young threshold, anything frozen?) each time a run is finished (ScanRun.finish)."""
    from hardencheck.scan.run import ScanRun
    seen = []
    finish = ScanRun.finish

    def spy(self, *a, **kw):
        seen.append((gc.get_threshold()[0], gc.get_freeze_count() > 0))
        return finish(self, *a, **kw)

    monkeypatch.setattr(ScanRun, "finish", spy)
    return seen


def test_hardencheck_scan_runs_with_them(tmp_path, at_finish):
    """The scan of this machine (one cheap control) collects and finishes under the settings;
    the process's own come back when the command returns."""
    gc.set_threshold(700, 10, 10)
    main(["scan", "--out", str(tmp_path / "out"), "--control", "RAID-001", "--quiet", "--no-history",
          "--format", "json"])
    assert at_finish == [(gc_settings.YOUNG_THRESHOLD, True)]
    assert gc.get_threshold() == (700, 10, 10) and gc.get_freeze_count() == 0


def test_hardencheck_merge_runs_with_them(tmp_path, at_finish):
    """A merge holds every host's results like a scan: the shards of a scan of this machine
    (one with the host, one empty) are merged under the settings."""
    gc.set_threshold(700, 10, 10)
    for k in (1, 2):
        assert main(["scan", "--out", str(tmp_path / f"s{k}"), "--control", "RAID-001", "--quiet", "--no-history",
                     "--format", "json", "--shard", f"{k}/2", "--run-id", "gc1"]) == 0
    shards = [str(next((tmp_path / f"s{k}").iterdir())) for k in (1, 2)]
    assert main(["merge", *shards, "--out", str(tmp_path / "merged"), "--no-history", "--format", "json"]) == 0
    assert at_finish == [(gc_settings.YOUNG_THRESHOLD, True)] * 3       # two shard scans, the merge
    assert gc.get_threshold() == (700, 10, 10) and gc.get_freeze_count() == 0
