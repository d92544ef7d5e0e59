"""Checking bundles: every hash, nothing added or removed, the signature, the chain of runs.

The result (``BundleCheck``) is a list of findings (``BundleFinding``), each naming the file (or run)
it is about, so that an auditor sees what is wrong file by file. ``BundleCheck.code``: 0 intact and
complete, 1 something does not hold (tampering, missing file, bad signature, broken chain), 2 intact
but the run is incomplete (interrupted or killed: the finished hosts are intact, the rest was never
collected).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from hardencheck.records.bundle import MANIFEST, PRUNED_LOG, SIGNATURE, STATES, is_bundle, read_pruned
from hardencheck.records.files import sha256_bytes, sha256_file
from hardencheck.records.signature import verify_bytes

OK, BAD, INCOMPLETE = 0, 1, 2


@dataclass
class BundleFinding:
    """One finding of a bundle check."""
    level: str     # "ok" | "bad" | "incomplete" | "note"
    where: str     # a file of the bundle, or a run id
    message: str


@dataclass
class BundleCheck:
    """The findings of checking one or more bundles, and the exit code they give."""
    findings: list[BundleFinding] = field(default_factory=list)
    bundles: dict[str, str] = field(default_factory=dict)   # bundle folder -> "ok" | "bad" | "incomplete"
    chains: dict[str, int] = field(default_factory=dict)    # inventory key -> runs in its chain

    def add(self, level: str, where: str, message: str) -> None:
        self.findings.append(BundleFinding(level, where, message))

    @property
    def code(self) -> int:
        levels = {f.level for f in self.findings}
        if "bad" in levels:
            return BAD
        if "incomplete" in levels:
            return INCOMPLETE
        return OK


def _safe_relpath(p: Any) -> bool:
    if not isinstance(p, str) or not p or "\\" in p or "\x00" in p:
        return False
    pp = PurePosixPath(p)
    return not pp.is_absolute() and ".." not in pp.parts and p not in (MANIFEST, SIGNATURE)


def verify_bundle(folder: Path, allowed_signers: str | None = None, check: BundleCheck | None = None
                  ) -> BundleCheck:
    rep = check or BundleCheck()
    start = len(rep.findings)
    _verify_bundle(folder, allowed_signers, rep)
    levels = {f.level for f in rep.findings[start:]}
    rep.bundles[folder.name] = "bad" if "bad" in levels else "incomplete" if "incomplete" in levels else "ok"
    return rep


def _verify_bundle(folder: Path, allowed_signers: str | None, rep: BundleCheck) -> None:
    label = folder.name
    try:
        data = (folder / MANIFEST).read_bytes()
    except FileNotFoundError:
        rep.add("bad", f"{label}/{MANIFEST}", "missing: this is not a bundle, or its manifest was deleted")
        return
    try:
        m = json.loads(data)
        files = m["files"]
        run = m["run"]
        assert isinstance(files, list) and isinstance(run, dict)
    except (ValueError, KeyError, AssertionError, TypeError) as e:
        rep.add("bad", f"{label}/{MANIFEST}", f"not a readable manifest ({type(e).__name__})")
        return

    listed: set[str] = set()
    for entry in files:
        path = entry.get("path") if isinstance(entry, dict) else None
        if not _safe_relpath(path):
            rep.add("bad", f"{label}/{MANIFEST}", f"lists an unsafe path {path!r}")
            continue
        listed.add(path)
        target = folder / path
        where = f"{label}/{path}"
        if target.is_symlink() or not target.is_file():
            rep.add("bad", where, "missing (listed in the manifest, not in the bundle)")
            continue
        size = target.stat().st_size
        if size != entry.get("size"):
            rep.add("bad", where, f"modified: {size} bytes, the manifest says {entry.get('size')}")
        elif sha256_file(target) != entry.get("sha256"):
            rep.add("bad", where, "modified: its SHA-256 differs from the manifest")
    for p in sorted(folder.rglob("*")):
        if p.is_dir() and not p.is_symlink():
            continue
        rel = p.relative_to(folder).as_posix()
        if rel in (MANIFEST, SIGNATURE) or rel in listed:
            continue
        if p.name.startswith(".") and run.get("state") == "running":
            rep.add("incomplete", f"{label}/{rel}", "a temporary file left by the interrupted scan "
                                                    "(not part of the evidence)")
        else:
            rep.add("bad", f"{label}/{rel}", "added: not listed in the manifest")

    sig = folder / SIGNATURE
    if allowed_signers:
        if not sig.is_file():
            rep.add("bad", f"{label}/{SIGNATURE}", "missing: the bundle is not signed")
        else:
            check = verify_bytes(data, sig, allowed_signers)
            rep.add("ok" if check.ok else "bad", f"{label}/{SIGNATURE}", check.message)
    elif sig.is_file():
        rep.add("note", f"{label}/{SIGNATURE}", "signed, but the signature was not checked "
                                                "(give --allowed-signers)")

    state = run.get("state")
    if state not in STATES:
        rep.add("bad", f"{label}/{MANIFEST}", f"unknown run state {state!r}")
    elif state != "complete":
        planned = run.get("hosts_planned") or []
        done = run.get("hosts_finished") or []
        how = "was interrupted" if state == "interrupted" else "did not finish (the scanner was killed)"
        rep.add("incomplete", label, f"incomplete run: the scan {how}; {len(done)} of {len(planned)} "
                                     "host(s) finished and their files are listed in the manifest")



def verify_chain(out: Path, allowed_signers: str | None = None) -> BundleCheck:
    """Every bundle in ``out`` and the links between runs of the same inventory."""
    rep = BundleCheck()
    bundles: dict[str, tuple[Path, dict[str, Any], str]] = {}
    for folder in sorted(p for p in out.iterdir() if p.is_dir() and not p.is_symlink()):
        if not is_bundle(folder):
            continue
        verify_bundle(folder, allowed_signers, rep)
        try:
            data = (folder / MANIFEST).read_bytes()
            m = json.loads(data)
            bundles[m["run"]["id"]] = (folder, m, sha256_bytes(data))
        except (OSError, ValueError, KeyError, TypeError):
            continue   # already reported by verify_bundle
    if not bundles:
        rep.add("bad", str(out), "no bundles here")
        return rep
    pruned = read_pruned(out)
    by_key: dict[str, list[str]] = {}
    for run_id, (_, m, _) in bundles.items():
        by_key.setdefault(m["run"]["inventory"]["key"], []).append(run_id)
    for key, ids in by_key.items():
        rep.chains[key] = len(ids)
        ids.sort(key=lambda i: bundles[i][1]["run"]["started_at"])
        for i, run_id in enumerate(ids):
            folder, m, _ = bundles[run_id]
            prev = m.get("previous")
            before = ids[i - 1] if i else None
            if prev is None:
                if before is not None:
                    rep.add("bad", folder.name, f"starts a new chain although run {before} of inventory "
                                                f"{key!r} came before it (inserted or re-created?)")
                continue
            target = prev.get("run_id")
            if target in bundles:
                if bundles[target][2] != prev.get("manifest_sha256"):
                    rep.add("bad", bundles[target][0].name, f"replaced or modified: its manifest is not the "
                                                            f"one run {run_id} recorded as its predecessor")
                if before is not None and target != before:
                    rep.add("bad", bundles[before][0].name, f"not in the chain: run {run_id} links to {target}, "
                                                            "so this run was inserted afterwards")
            elif target in pruned and pruned[target].get("manifest_sha256") == prev.get("manifest_sha256"):
                rep.add("note", target, f"removed by prune on {pruned[target].get('pruned_at')} "
                                        f"(recorded in {PRUNED_LOG})")
            else:
                rep.add("bad", target, f"missing: run {run_id} of inventory {key!r} follows run {target} "
                                       f"(started {prev.get('started_at')}), which is not in {out} and was "
                                       "not pruned: deleted or moved")
    return rep
