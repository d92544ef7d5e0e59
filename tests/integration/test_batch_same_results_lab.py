"""Batched sections (hardencheck/collect/probe_script.py) change what a scan costs a host, not what
it finds: the standard lab's hardened and weak hosts scanned with the whole library, once with
batches and once with every section alone, give the same verdicts, facts and section exit codes."""

from __future__ import annotations

import functools

import pytest

from hardencheck.collect import engine, probe_script
from hardencheck.judge.controls import load_controls
from tests.conftest import scan_lab

# filesystem walks: seconds each, and they run alone anyway (limit 600 s)
SLOW = {"files.world_writable", "files.suid"}


@pytest.mark.lab
def test_batched_and_unbatched_scans_find_the_same(lab, tmp_path, monkeypatch):
    ids = sorted(lc.control.id for lc in load_controls(None).controls if lc.control.probe not in SLOW)
    hosts = ("hardened", "weak")
    _, run_b, batched = scan_lab(lab, ids, tmp_path / "batched")
    monkeypatch.setattr(engine, "build_script", functools.partial(probe_script.build_script, batch=False))
    _, run_a, alone = scan_lab(lab, ids, tmp_path / "alone")
    keys = {k for k in batched if k[0] in hosts and k[1] in ids}
    assert keys == {k for k in alone if k[0] in hosts and k[1] in ids} and len(keys) == len(hosts) * len(ids)
    differ = {k: (batched[k]["status"], alone[k]["status"]) for k in keys if batched[k]["status"] != alone[k]["status"]}
    assert not differ
    # errors too (the lab has no systemd: AVAIL-003 is an error either way), for the same reason
    assert {k: batched[k].get("message") for k in keys if batched[k]["status"] == "error"} == \
        {k: alone[k].get("message") for k in keys if alone[k]["status"] == "error"}
    assert {batched[k]["status"] for k in keys} >= {"pass", "fail"}
    facts = {k for k in keys if batched[k].get("actual") != alone[k].get("actual")}
    assert not facts, {k: (batched[k].get("actual"), alone[k].get("actual")) for k in sorted(facts)[:3]}
