"""Binding the annual figures to the signed evidence: every run ``hardencheck audit`` counts is checked
against its run bundle before its history rows are believed.

A run is *verified* when
  1. the history records the SHA-256 of its sealed ``manifest.json``, and the bundle folder (the path the
     history recorded, else a folder named after the run beside the history database) holds a
     ``manifest.json`` with exactly that SHA-256;
  2. the bundle verifies (``records.verify``: every listed file as the manifest says, nothing added; with
     an allowed-signers policy, a good signature by an allowed signer); a bundle of a run that did not
     finish may be incomplete, but only when the history says so too;
  3. the run's counts in the history -- per control, results by status; per planned host, checked or not --
     equal those recomputed from the bundle's ``results.json`` (a killed run's: its host files).

Otherwise the run is *unverifiable*, with the first reason found (``Run.unverifiable``): its history rows
are not evidence, so every control counts as not verified in it (``records.effectiveness``). Editing
``history.db`` (a failure turned into a pass) is found by step 3 and named: run, control, counts.
The manifest's signature state is kept for the report (signed by whom, unchecked, or unsigned).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from hardencheck.records.bundle import MANIFEST, RESULTS, document_from_hosts
from hardencheck.records.effectiveness import Counts, Run
from hardencheck.records.files import sha256_bytes
from hardencheck.records.verify import verify_bundle

VERIFIED, UNVERIFIABLE = "verified", "unverifiable"
_FIELDS = (("pass", "passed"), ("fail", "fail"), ("error", "error"), ("not_applicable", "not_applicable"),
           ("skipped", "skipped"), ("waived", "waived"))
_MAX_DIFFS = 5
WORKERS = 4


def check_runs(runs: list[Run], *, allowed_signers: str | None, history_dir: Path) -> list[dict[str, Any]]:
    """Check every run against its bundle; sets ``Run.unverifiable`` and returns one record per run
    (run_id, status, reason, bundle, signature)."""
    # independent runs; the time goes to hashing (hashlib releases the GIL) and to ssh-keygen processes
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(lambda r: check_run(r, allowed_signers=allowed_signers, history_dir=history_dir), runs))


def check_run(r: Run, *, allowed_signers: str | None, history_dir: Path) -> dict[str, Any]:
    out: dict[str, Any] = {"run_id": r.run_id, "status": VERIFIED, "reason": None, "bundle": None,
                           "signature": {"status": "unknown", "by": None}}
    try:
        reason = _check(r, out, allowed_signers, history_dir)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        reason = f"the bundle cannot be read ({type(e).__name__}: {e})"
    if reason:
        out["status"], out["reason"] = UNVERIFIABLE, reason
        r.unverifiable = reason
    return out


def _folder(r: Run, history_dir: Path) -> Path | None:
    beside = history_dir / r.run_id if r.run_id and "/" not in r.run_id and not r.run_id.startswith(".") else None
    for cand in (Path(r.bundle_path) if r.bundle_path else None, beside):
        if cand is not None and (cand / MANIFEST).is_file():
            return cand
    return None


def _check(r: Run, out: dict[str, Any], allowed_signers: str | None, history_dir: Path) -> str | None:
    if not r.manifest_sha256:
        return "the history records no manifest hash for this run (its bundle was never sealed)"
    folder = _folder(r, history_dir)
    if folder is None:
        return (f"bundle not found: no {MANIFEST} in {r.bundle_path or '(no path recorded)'}"
                f" nor in a folder named after the run in {history_dir}")
    out["bundle"] = str(folder)
    data = (folder / MANIFEST).read_bytes()
    sha = sha256_bytes(data)
    if sha != r.manifest_sha256:
        return f"{MANIFEST} is not the one the history recorded (SHA-256 {sha}, recorded {r.manifest_sha256})"
    check = verify_bundle(folder, allowed_signers)
    out["signature"] = check.signatures.get(folder.name) or out["signature"]
    bad = [f for f in check.findings if f.level == "bad"]
    if bad:
        more = f" (and {len(bad) - 1} more problem(s))" if len(bad) > 1 else ""
        return f"the bundle does not verify: {bad[0].where}: {bad[0].message}{more}"
    incomplete = check.code == 2
    if incomplete and r.state == "complete":
        return "the history says the run is complete, but its bundle is incomplete"
    if (folder / RESULTS).is_file():
        doc = json.loads((folder / RESULTS).read_bytes())
    else:
        doc = document_from_hosts(folder)
    return compare(r, doc)


def recount(doc: dict[str, Any]) -> tuple[dict[str, Counts], dict[str, str]]:
    """Per control of the run's library its result counts, and per planned host its status
    (ok | error | not_scanned), as the history records them from this results document."""
    controls = {c["id"]: Counts() for c in doc.get("controls") or []}
    fields = dict(_FIELDS)
    for res in doc.get("results") or []:
        c = controls.setdefault(res["control"], Counts())
        attr = fields.get(res.get("status"))
        if attr is None:
            raise ValueError(f"result with an unknown status {res.get('status')!r}")
        setattr(c, attr, getattr(c, attr) + 1)
    run = doc.get("run") or {}
    hosts = {h["name"]: h.get("status") if h.get("status") in ("ok", "error") else "error"
             for h in doc.get("hosts") or []}
    for name in (run.get("inventory") or {}).get("hosts") or []:
        hosts.setdefault(name, "not_scanned")
    return controls, hosts


def compare(r: Run, doc: dict[str, Any]) -> str | None:
    """None when the history's counts of run ``r`` are those of ``doc``; else what differs."""
    run = doc.get("run") or {}
    if run.get("id") != r.run_id:
        return f"{RESULTS} is of run {run.get('id')!r}, not of this run"
    if run.get("started_at") != r.started_at:
        return f"the history's start {r.started_at} differs from {RESULTS}'s {run.get('started_at')}"
    controls, hosts = recount(doc)
    diffs = []
    for cid in sorted(set(controls) | set(r.controls)):
        a, b = r.controls.get(cid), controls.get(cid)
        if a is None or b is None:
            diffs.append(f"{cid} only in {'the history' if b is None else RESULTS}")
        elif a != b:
            diffs.append(f"{cid}: history " + _counts(a) + f", {RESULTS} " + _counts(b))
    for h in sorted(set(hosts) | set(r.hosts)):
        if hosts.get(h) != r.hosts.get(h):
            diffs.append(f"host {h}: history {r.hosts.get(h) or 'absent'}, {RESULTS} {hosts.get(h) or 'absent'}")
    if not diffs:
        return None
    more = f"; and {len(diffs) - _MAX_DIFFS} more" if len(diffs) > _MAX_DIFFS else ""
    return f"the history's counts differ from the bundle's {RESULTS}: " + "; ".join(diffs[:_MAX_DIFFS]) + more


def _counts(c: Counts) -> str:
    return " ".join(f"{k} {getattr(c, attr)}" for k, attr in _FIELDS if getattr(c, attr)) or "no results"
