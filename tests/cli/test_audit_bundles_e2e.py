"""The annual figures bound to the signed evidence (issue 13, parts 3 and 4), end to end on real scans of
this machine (local transport) into one run history, with real bundles and real OpenSSH signatures:

- ``hardencheck audit`` checks every run against its bundle; editing ``history.db`` (failures turned into
  passes) is detected and named, the run counts as not verified, the quoted SHA-256 changes, exit 1;
- a bundle altered afterwards, or one whose results.json was edited and its manifest recomputed, is
  unverifiable; ``--no-bundle-check`` skips the check and the report says so;
- with an allowed-signers policy, an unsigned bundle is unverifiable for ``audit`` and fails ``verify``;
  without one, ``verify`` of an intact unsigned bundle exits 0 and says UNSIGNED in its first line, a
  signed one names the key and says it was not checked.
"""

from __future__ import annotations

import hashlib
import html as htmlmod
import json
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from hardencheck.cli import main
from hardencheck.records.bundle import MANIFEST
from tests.cli.test_audit_register_e2e import _library
from tests.records.test_bundle import allowed_signers, keypair

CONTROLS = "FILE-004,KERN-001"


def _scan(out: Path, db: Path, lib: Path, *extra: str) -> Path:
    before = set(out.iterdir()) if out.exists() else set()
    code = main(["scan", "--out", str(out), "--history", str(db), "--library", str(lib), "--control", CONTROLS,
                 "--quiet", "--format", "json", *extra])
    assert code in (1, 2)                                    # FILE-004 fails (an owner nobody has)
    (new,) = [p for p in set(out.iterdir()) - before if (p / MANIFEST).exists()]
    return new


def _audit(db: Path, out: Path, capsys, *extra: str) -> tuple[int, dict, str, str]:
    capsys.readouterr()
    with sqlite3.connect(db) as c:
        days = [r[0][:10] for r in c.execute("SELECT started_at FROM runs ORDER BY started_at")]
    code = main(["audit", "--history", str(db), "--from", days[0], "--to", days[-1], "--out", str(out), *extra])
    printed = capsys.readouterr().out
    page = (out / "audit.html").read_text(encoding="utf-8")
    return code, json.loads((out / "audit.json").read_text()), htmlmod.unescape(re.sub(r"<[^>]+>", "", page)), printed


def _figures(doc: dict, cid: str) -> dict:
    return next(c for c in doc["controls"] if c["id"] == cid)["figures"]


@pytest.fixture(scope="module")
def year(tmp_path_factory):
    """Two signed scans and one unsigned scan of this machine into one history."""
    tmp = tmp_path_factory.mktemp("bound")
    lib, db, out = _library(tmp), tmp / "history.db", tmp / "runs"
    key, pub = keypair(tmp, "scanner")
    signers = allowed_signers(tmp, ("scanner", pub))
    runs = [_scan(out, db, lib, "--sign-key", str(key)), _scan(out, db, lib, "--sign-key", str(key))]
    return tmp, lib, db, out, key, signers, runs


def _copy(year, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the history and its bundles (the bundle paths recorded point to the originals, so the
    copies are found beside the copied history by run id)."""
    _, _, db, out, *_ = year
    dst = tmp_path / "runs"
    shutil.copytree(out, dst)
    shutil.copy(db, dst / "history.db")
    with sqlite3.connect(dst / "history.db") as c:
        c.execute("UPDATE runs SET bundle_path = NULL")
    return dst / "history.db", dst


def test_intact_history_every_run_verified_and_signed(year, tmp_path, capsys):
    _, _, db, out, _, signers, runs = year
    code, doc, text, printed = _audit(db, tmp_path / "a", capsys, "--allowed-signers", str(signers))
    assert code == 0
    assert (doc["runs"]["verified"], doc["runs"]["unverifiable"], doc["runs"]["bundle_check"]) == (2, 0, True)
    sigs = doc["runs"]["signatures"]
    assert (sigs["good"], sigs["unsigned"], sigs["by"], sigs["policy"]) == (2, 0, ["scanner@example.org"], str(signers))
    assert [r["bundle_check"]["bundle"] for r in doc["runs"]["list"]] == [str(p.resolve()) for p in runs]
    f = _figures(doc, "FILE-004")
    assert (f["failed"], f["not_verified"]) == (2, 0)
    assert "scanner@example.org" in text and "2 of 2 runs verified against their bundles" in text
    assert f"SHA-256 of the figures (quote this): {doc['digest_sha256']}" in printed
    # the digest is recomputable from audit.json as the README says
    body = {k: v for k, v in doc.items() if k not in ("generated", "history", "digest_sha256")}
    assert hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest() == \
        doc["digest_sha256"]
    # without the policy: the signatures are reported (by key), not required
    code, doc, text, _ = _audit(db, tmp_path / "b", capsys)
    sigs = doc["runs"]["signatures"]
    assert code == 0 and sigs["unchecked"] == 2 and sigs["policy"] is None
    assert sigs["by"][0].startswith("ED25519 key SHA256:")


def test_history_edit_failures_to_passes_is_detected_and_named(year, tmp_path, capsys):
    db, _ = _copy(year, tmp_path)
    code, before, _, _ = _audit(db, tmp_path / "before", capsys)
    assert code == 0 and _figures(before, "FILE-004")["failed"] == 2
    with sqlite3.connect(db) as c:                           # the edit of issue 13: failures -> passes
        assert c.execute("UPDATE results SET status = 'pass' WHERE status = 'fail'").rowcount >= 2
    # what the history alone now claims (the edit works: FILE-004 held in both runs)
    code, blind, text, _ = _audit(db, tmp_path / "blind", capsys, "--no-bundle-check")
    assert code == 0 and _figures(blind, "FILE-004")["held"] == 2 and _figures(blind, "FILE-004")["failed"] == 0
    assert not blind["runs"]["bundle_check"] and "NOT checked (--no-bundle-check)" in text
    # checked against the bundles: both runs unverifiable, named with the control and counts
    code, after, text, printed = _audit(db, tmp_path / "after", capsys)
    assert code == 1
    assert (after["runs"]["verified"], after["runs"]["unverifiable"]) == (0, 2)
    for r in after["runs"]["list"]:
        reason = r["bundle_check"]["reason"]
        assert reason.startswith("the history's counts differ from the bundle's results.json")
        assert "FILE-004: history pass 1, results.json fail 1" in reason, reason
        assert f"UNVERIFIABLE run {r['run_id']}: " in printed and r["run_id"] in text
    f = _figures(after, "FILE-004")
    assert (f["held"], f["failed"], f["not_verified"]) == (0, 0, 2)   # never held: not verified
    assert after["runs"]["successful"] == 0
    assert "FILE-004: history pass 1, results.json fail 1" in text
    assert len({before["digest_sha256"], blind["digest_sha256"], after["digest_sha256"]}) == 3
    assert before["runs"]["digest_sha256"] == after["runs"]["digest_sha256"]   # the runs alone did not change


def test_altered_or_missing_bundle_is_unverifiable(year, tmp_path, capsys):
    db, runs = _copy(year, tmp_path)
    first, second = sorted(p for p in runs.iterdir() if (p / MANIFEST).exists())
    # first: results.json edited (fail -> pass) and the manifest recomputed: the manifest is no longer
    # the one the history recorded
    doc_path = first / "results.json"
    doc = json.loads(doc_path.read_text())
    for r in doc["results"]:
        r["status"] = "pass"
    doc_path.write_text(json.dumps(doc))
    m = json.loads((first / MANIFEST).read_text())
    for e in m["files"]:
        if e["path"] == "results.json":
            data = doc_path.read_bytes()
            e.update(sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    (first / MANIFEST).write_text(json.dumps(m))
    # second: gone
    shutil.rmtree(second)
    code, out, text, _ = _audit(db, tmp_path / "a", capsys)
    assert code == 1 and out["runs"]["unverifiable"] == 2
    # by run id: two runs in the same second sort by their random suffix as folders, by time in the audit
    reason = {r["run_id"]: r["bundle_check"]["reason"] for r in out["runs"]["list"]}
    r1, r2 = reason[first.name], reason[second.name]
    assert r1.startswith("manifest.json is not the one the history recorded"), r1
    assert r2.startswith("bundle not found"), r2
    assert _figures(out, "FILE-004")["not_verified"] == 2


def test_signer_policy_makes_an_unsigned_run_unverifiable(year, tmp_path, capsys):
    _, lib, _, _, key, signers, _ = year
    db, out = tmp_path / "history.db", tmp_path / "runs"
    signed = _scan(out, db, lib, "--sign-key", str(key))
    unsigned = _scan(out, db, lib)
    code, doc, text, _ = _audit(db, tmp_path / "a", capsys, "--allowed-signers", str(signers))
    assert code == 1
    by_id = {r["run_id"]: r["bundle_check"] for r in doc["runs"]["list"]}
    assert by_id[signed.name]["status"] == "verified" and by_id[signed.name]["signature"]["status"] == "good"
    assert by_id[unsigned.name]["status"] == "unverifiable"
    assert "the bundle is not signed" in by_id[unsigned.name]["reason"]
    assert doc["runs"]["signatures"]["unsigned"] == 1
    # the same runs without a policy: both verified, one unsigned, and the report says so
    code, doc, text, _ = _audit(db, tmp_path / "b", capsys)
    assert code == 0 and doc["runs"]["signatures"]["unsigned"] == 1 and doc["runs"]["signatures"]["unchecked"] == 1
    assert "1 unsigned" in text and "no signer policy" in text


def _verify(capsys, *args) -> tuple[int, list[str]]:
    capsys.readouterr()
    code = main(["verify", *map(str, args)])
    return code, capsys.readouterr().out.splitlines()


def test_verify_first_line_says_who_vouches(year, tmp_path, capsys):
    _, lib, _, _, key, signers, runs = year
    signed = runs[0]
    # the attack of issue 13: an unsigned bundle, results.json edited, the manifest recomputed
    out = tmp_path / "runs"
    bundle = _scan(out, tmp_path / "h.db", lib)
    doc_path = bundle / "results.json"
    doc_path.write_text(doc_path.read_text().replace('"fail"', '"pass"'))
    m = json.loads((bundle / MANIFEST).read_text())
    for e in m["files"]:
        if e["path"] == "results.json":
            data = doc_path.read_bytes()
            e.update(sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    (bundle / MANIFEST).write_text(json.dumps(m))
    code, lines = _verify(capsys, bundle)
    assert code == 0 and lines[0].startswith("UNSIGNED: nothing vouches for who wrote this bundle"), lines
    code, lines = _verify(capsys, bundle, "--allowed-signers", signers)
    assert code == 1 and lines[0].startswith(f"signature policy {signers}: 0 bundle(s) signed"), lines
    assert any("the bundle is not signed" in ln for ln in lines)
    # signed: without a policy the key is named and not vouched for; with one, the signer
    code, lines = _verify(capsys, signed)
    assert code == 0 and lines[0].startswith("SIGNED by ED25519 key SHA256:") and "NOT CHECKED" in lines[0], lines
    code, lines = _verify(capsys, signed, "--allowed-signers", signers)
    assert code == 0 and "1 bundle(s) signed by an allowed signer (scanner@example.org)" in lines[0], lines
    # signed, then the manifest changed: without a policy that is a bad signature (exit 1)
    copy = tmp_path / signed.name
    shutil.copytree(signed, copy)
    m = json.loads((copy / MANIFEST).read_text())
    m["run"]["hosts_planned"] = m["run"]["hosts_planned"] + ["extra"]
    (copy / MANIFEST).write_text(json.dumps(m))
    code, lines = _verify(capsys, copy)
    assert code == 1 and lines[0].startswith("BAD SIGNATURE"), lines
    # the armoured signature is an ssh-keygen one: plain ssh-keygen agrees with verify
    p = subprocess.run(["ssh-keygen", "-Y", "check-novalidate", "-n", "hardencheck-manifest", "-s",
                        str(copy / "manifest.json.sig")], input=(copy / MANIFEST).read_bytes(), capture_output=True)
    assert p.returncode != 0
