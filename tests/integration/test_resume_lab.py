"""``scan --resume RUN_DIR`` (issue 16, part 3): a real scan of lab hosts SIGKILLed at a random
write of its bundle, then resumed: one host file per planned host, the earlier ones
byte-identical, the same run id, chain link and history row, a bundle that verifies."""

from __future__ import annotations

import hashlib
import json
import os
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from hardencheck.records.bundle import KILL_AT_ENV, MANIFEST, STEP_LOG_ENV

pytestmark = pytest.mark.lab

HC = [sys.executable, "-m", "hardencheck"]
CLONES = 4


def hc(*args, env=None, timeout=300):
    return subprocess.run([*HC, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def clones(tmp_path_factory):
    from tests.conftest import lab_unavailable_or_skip
    from tests.lab import Lab
    lab_unavailable_or_skip()
    with Lab(tmp_path_factory.mktemp("resume-lab"), prefix=os.environ.get("HC_RESUME_LAB_PREFIX", "hcrs")) as lab:
        lab.start_clones(CLONES, "hardened")
        yield lab


@pytest.fixture(scope="module")
def signer(tmp_path_factory):
    d = tmp_path_factory.mktemp("signer")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / "key")], check=True)
    (d / "allowed").write_text("ci " + " ".join((d / "key.pub").read_text().split()[:2]) + "\n")
    return d / "key", d / "allowed"


def scan_args(lab, out, key, *extra):
    return ["scan", "-i", lab.inventory_path, "--known-hosts", lab.known_hosts_path, "--ssh-config",
            lab.ssh_config_path, "--out", out, "--forks", "1", "--control", "SSH-001,FW-001,ACCT-004",
            "--format", "json,html", "--quiet", "--sign-key", key, *extra]


def digests(run_dir: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (run_dir / "hosts").glob("*.json")}


def kill_and_resume(clones, signer, tmp_path, step, seed=None):
    """A complete earlier run (the chain link), then a scan SIGKILLed at ``step``, resumed."""
    key, allowed = signer
    out = tmp_path / "reports"
    first = hc(*scan_args(clones, out, key))
    assert first.returncode in (0, 1), first.stderr
    earlier = set(out.iterdir())
    killed = hc(*scan_args(clones, out, key), env={KILL_AT_ENV: step})
    assert killed.returncode == -9, (seed, step, killed.returncode, killed.stderr)
    [run_dir] = [p for p in set(out.iterdir()) - earlier if p.is_dir() and not p.name.startswith(".")]
    manifest = json.loads((run_dir / MANIFEST).read_text())
    before = digests(run_dir)
    previous = manifest["previous"]
    assert previous is not None

    resumed = hc(*scan_args(clones, out, key, "--resume", run_dir))
    assert resumed.returncode in (0, 1) and "Traceback" not in resumed.stderr, (seed, step, resumed.stderr)
    after = digests(run_dir)
    assert len(after) == CLONES, (seed, step, after)                      # one host file per planned host
    assert {k: after[k] for k in before} == before, (seed, step)          # earlier files byte-identical
    m = json.loads((run_dir / MANIFEST).read_text())
    assert m["run"]["state"] == "complete" and m["previous"] == previous   # chain unchanged
    assert m["run"]["id"] == manifest["run"]["id"] and m["run"]["resumed"]
    assert sorted(m["run"]["hosts_finished"]) == sorted(clones.hosts)
    doc = json.loads((run_dir / "results.json").read_text())
    assert doc["run"]["id"] == run_dir.name and doc["run"]["complete"] is True
    assert sorted(h["name"] for h in doc["hosts"]) == sorted(clones.hosts)
    assert {r["host"] for r in doc["results"]} == set(clones.hosts)
    v = hc("verify", run_dir, "--allowed-signers", allowed)
    assert v.returncode == 0, (seed, step, v.stdout, v.stderr)
    with sqlite3.connect(out / "history.db") as db:
        rows = db.execute("SELECT state FROM runs WHERE run_id = ?", (run_dir.name,)).fetchall()
        assert rows == [("complete",)]
        n = db.execute("SELECT count(*) FROM run_hosts rh JOIN runs r ON r.id = rh.run WHERE r.run_id = ?",
                       (run_dir.name,)).fetchone()[0]
        assert n == CLONES


def test_killed_at_a_random_write_then_resumed(clones, signer, tmp_path):
    key, _ = signer
    # the steps a whole run goes through, to pick the kill point from (after the plan is on disk)
    log = tmp_path / "steps.log"
    whole = hc(*scan_args(clones, tmp_path / "whole", key), env={STEP_LOG_ENV: str(log)})
    assert whole.returncode in (0, 1), whole.stderr
    steps = log.read_text().split()
    candidates = steps[steps.index("open.manifest:1") + 1:]
    seed = int(os.environ.get("HC_RESUME_SEED", random.randrange(1 << 30)))
    step = random.Random(seed).choice(candidates[:-6])      # not in the final seal: there is a host left
    kill_and_resume(clones, signer, tmp_path, step, seed)


# every kind of moment, at the third host: a staged temp file nobody announced, an announced file
# renamed but not listed, a manifest staged, signed but not renamed, renamed with its signature
# still in .manifest.json.sig.next
@pytest.mark.parametrize("step", ["files.staged:3", "files.renamed:3", "manifest.staged:6", "manifest.signed:6",
                                  "manifest.renamed:6"])
def test_killed_at_each_kind_of_write_then_resumed(clones, signer, tmp_path, step):
    kill_and_resume(clones, signer, tmp_path, step)


def test_resume_refuses_another_plan_or_a_complete_run(clones, signer, tmp_path):
    key, _ = signer
    out = tmp_path / "reports"
    killed = hc(*scan_args(clones, out, key), env={KILL_AT_ENV: "files.renamed:2"})
    assert killed.returncode == -9
    [run_dir] = [p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")]
    other = hc("scan", "-i", clones.inventory_path, "--known-hosts", clones.known_hosts_path, "--ssh-config",
               clones.ssh_config_path, "--out", out, "--control", "SSH-001", "--quiet", "--sign-key", key,
               "--resume", run_dir)
    assert other.returncode == 3
    assert "control_ids" in other.stderr and "another plan" in other.stderr
    unsigned = hc(*[a for a in scan_args(clones, out, key) if a not in ("--sign-key", key)], "--resume", run_dir)
    assert unsigned.returncode == 3 and "signing key" in unsigned.stderr
    done = hc(*scan_args(clones, out, key, "--resume", run_dir))
    assert done.returncode in (0, 1) and "Traceback" not in done.stderr, done.stderr
    again = hc(*scan_args(clones, out, key, "--resume", run_dir))
    assert again.returncode == 3 and "complete" in again.stderr
