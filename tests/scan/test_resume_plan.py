"""scan.resume's plan comparison and the run metadata it reads (unit tests; the lab tests are in
tests/integration/test_resume_lab.py)."""

from __future__ import annotations

import copy

import pytest

from hardencheck.errors import ConfigError
from hardencheck.inventory.model import Host, Inventory
from hardencheck.scan.metadata import run_metadata
from hardencheck.scan.resume import ResumedRun, check_same_plan, fingerprint


class _Controls:
    root, sha256, controls, extra_roots = "/lib", "c" * 64, [], []


def plan(vars_files=(), forks=20, limit=None):
    inv = Inventory(path="inv.ini", hosts=[Host(name="a", address="198.18.0.1")], sha256="i" * 64,
                    vars_files=list(vars_files))
    run = run_metadata(run_id="r1", started_at="2026-12-07T00:00:00.000Z", inventory=inv, hosts=inv.hosts,
                       controls=_Controls(), options={"limit": limit, "forks": forks}, inventory_key="inv.ini")
    return {"run": run, "tom": {"catalog": {"sha256": "t" * 64}}}


def test_vars_files_are_recorded_and_compared():
    vf = [{"path": "group_vars/web.yml", "sha256": "a" * 64}]
    p = plan(vf)
    assert p["run"]["inventory"]["vars_files"] == vf
    assert "vars_files" not in plan()["run"]["inventory"]          # absent when there are none
    changed = plan([{"path": "group_vars/web.yml", "sha256": "b" * 64}])
    with pytest.raises(ConfigError, match="Ansible vars files"):
        check_same_plan(ResumedRun(None, p), changed)


def test_forks_may_differ_other_options_may_not():
    check_same_plan(ResumedRun(None, plan(forks=20)), plan(forks=3))
    with pytest.raises(ConfigError, match="options"):
        check_same_plan(ResumedRun(None, plan()), plan(limit=["web"]))


def test_every_difference_is_named_at_once():
    p = plan()
    other = copy.deepcopy(p)
    other["run"]["inventory"]["sha256"] = "x" * 64
    other["tom"]["catalog"]["sha256"] = "y" * 64
    with pytest.raises(ConfigError) as e:
        check_same_plan(ResumedRun(None, p), other)
    assert "inventory file" in str(e.value) and "TOM catalog" in str(e.value)
    assert set(fingerprint(p)) >= {"control library (SHA-256)", "hosts planned", "response register (SHA-256)"}
