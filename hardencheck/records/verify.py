"""Checking bundles: every hash, nothing added or removed, the signature, the chain of runs.

The result (``BundleCheck``) is a list of findings (``BundleFinding``), each naming the file (or run)
it is about, so that an auditor sees what is wrong file by file. ``BundleCheck.code``: 0 intact and
complete, 1 something does not hold (tampering, missing file, bad signature, broken chain), 2 intact
but the run is incomplete (interrupted or killed: the finished hosts are intact, the rest was never
collected).

A scan killed at any moment leaves a bundle that verifies as incomplete (see
``records.bundle``): a hidden temporary file, a file the manifest announced (``pending``) that
never landed, or one that landed and matches the announced SHA-256 but was not listed yet
("finished after the last manifest", never counted as verified evidence), and a signature still
in ``.manifest.json.sig.next``, are each reported as ``incomplete``. A file the manifest neither
lists nor announces is always "added".

The reviewer's sign-off (``signoff.json`` and ``signoff.json.sig``, ``records.signoff``) lies beside
the listed files: those two names are never "added"; ``records.signoff.check_signoff`` checks them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from hardencheck.records.bundle import (
    HOSTS_DIR,
    MANIFEST,
    NEXT_SIGNATURE,
    OPENING_SUFFIX,
    PRUNED_LOG,
    SIGNATURE,
    STATES,
    is_bundle,
    read_pruned,
)
from hardencheck.records.files import sha256_bytes, sha256_file
from hardencheck.records.signature import signing_key, verify_bytes
from hardencheck.records.signoff import SIGNOFF, SIGNOFF_SIG, check_signoff

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
    signatures: dict[str, dict[str, Any]] = field(default_factory=dict)   # bundle folder -> _signature()

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
    return not pp.is_absolute() and ".." not in pp.parts and p not in (MANIFEST, SIGNATURE, NEXT_SIGNATURE)


def verify_bundle(folder: Path, allowed_signers: str | None = None, check: BundleCheck | None = None
                  ) -> BundleCheck:
    rep = check or BundleCheck()
    start = len(rep.findings)
    _verify_bundle(folder, allowed_signers, rep)
    levels = {f.level for f in rep.findings[start:]}
    rep.bundles[folder.name] = "bad" if "bad" in levels else "incomplete" if "incomplete" in levels else "ok"
    return rep


def _signature(folder: Path, data: bytes, allowed_signers: str | None, rep: BundleCheck) -> dict[str, Any]:
    """Check the manifest's signature; its state: ``good`` (by an allowed signer, ``by`` names it),
    ``unchecked`` (signed by the key ``by`` names, no allowed-signers policy to check it against),
    ``unsigned`` (with a policy: a failure; without: a note), ``bad`` (does not match, or not an
    allowed signer)."""
    label = folder.name
    sig, nxt = folder / SIGNATURE, folder / NEXT_SIGNATURE
    where = f"{label}/{SIGNATURE}"
    spare = nxt if nxt.is_file() and not nxt.is_symlink() else None   # killed between the two renames
    if allowed_signers:
        check = verify_bytes(data, sig, allowed_signers) if sig.is_file() else None
        if (check is None or not check.ok) and spare:
            newer = verify_bytes(data, spare, allowed_signers)
            if newer.ok:
                check = newer
                check.message += f" (in {NEXT_SIGNATURE})"
        if check is None:
            rep.add("bad", where, "missing: the bundle is not signed (the allowed signers require a signature)")
            return {"status": "unsigned", "by": None}
        rep.add("ok" if check.ok else "bad", where, check.message)
        return {"status": "good" if check.ok else "bad", "by": check.signer}
    if not sig.is_file() and not spare:
        rep.add("note", where, "UNSIGNED: the bundle has no signature; nothing vouches for who wrote it "
                               "(sign with --sign-key; require signatures with --allowed-signers)")
        return {"status": "unsigned", "by": None}
    key = signing_key(data, sig) if sig.is_file() else None
    if key is None and spare:
        key = signing_key(data, spare)
    if key is None:
        rep.add("bad", where, "the signature does not match the manifest (changed after signing, or the "
                              "signature of another file)")
        return {"status": "bad", "by": None}
    rep.add("note", where, f"SIGNED by {key}, but not checked against any allowed signers: who holds that "
                           "key is not proven (give --allowed-signers)")
    return {"status": "unchecked", "by": key}


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

    running = run.get("state") == "running"
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
    pending = m.get("pending") or []
    if not isinstance(pending, list):
        rep.add("bad", f"{label}/{MANIFEST}", "not a readable manifest (pending is not a list)")
        pending = []
    for entry in pending:
        # announced by the manifest (path, SHA-256, size) before the file was renamed into place
        path = entry.get("path") if isinstance(entry, dict) else None
        if not _safe_relpath(path) or path in listed:
            rep.add("bad", f"{label}/{MANIFEST}", f"announces an unsafe or listed path {path!r}")
            continue
        listed.add(path)
        target = folder / path
        where = f"{label}/{path}"
        if not running:
            rep.add("bad", where, "announced as being written by a manifest that is sealed")
        elif target.is_symlink() or (target.exists() and not target.is_file()):
            rep.add("bad", where, "not a regular file where the manifest announced one")
        elif not target.exists():
            rep.add("incomplete", where, "being written when the scanner was killed: announced in the "
                                         "manifest, never renamed into place (not part of the evidence)")
        elif target.stat().st_size != entry.get("size") or sha256_file(target) != entry.get("sha256"):
            rep.add("bad", where, "modified: differs from the SHA-256 the manifest announced for it")
        else:
            what = "host file" if path.startswith(HOSTS_DIR + "/") else "file"
            rep.add("incomplete", where, f"finished after the last manifest: the scanner was killed after "
                                         f"writing this {what} and before listing it; it matches the SHA-256 "
                                         f"the manifest announced ({str(entry.get('sha256'))[:16]}…, "
                                         f"{entry.get('size')} bytes) but is not counted as finished")
    for p in sorted(folder.rglob("*")):
        if p.is_dir() and not p.is_symlink():
            continue
        rel = p.relative_to(folder).as_posix()
        if rel in (MANIFEST, SIGNATURE, NEXT_SIGNATURE, SIGNOFF, SIGNOFF_SIG) or rel in listed:
            continue
        if p.name.startswith(".") and running:
            rep.add("incomplete", f"{label}/{rel}", "a temporary file left by the interrupted scan "
                                                    "(not part of the evidence)")
        else:
            rep.add("bad", f"{label}/{rel}", "added: not listed in the manifest")

    nxt = folder / NEXT_SIGNATURE
    if nxt.exists():
        rep.add("incomplete", f"{label}/{NEXT_SIGNATURE}",
                "the scanner was killed while replacing the manifest's signature (a new signature "
                "not yet renamed to manifest.json.sig)")
    rep.signatures[label] = _signature(folder, data, allowed_signers, rep)
    check_signoff(folder, data, run.get("id"), allowed_signers, rep)   # beside the listed files

    state = run.get("state")
    if state not in STATES:
        rep.add("bad", f"{label}/{MANIFEST}", f"unknown run state {state!r}")
    elif state != "complete":
        planned = run.get("hosts_planned") or []
        done = run.get("hosts_finished") or []
        how = "was interrupted" if state == "interrupted" else "did not finish (the scanner was killed)"
        if run.get("error"):
            how = f"stopped on an error ({run['error']})"
        rep.add("incomplete", label, f"incomplete run: the scan {how}; {len(done)} of {len(planned)} "
                                     "host(s) finished and their files are listed in the manifest")



def verify_chain(out: Path, allowed_signers: str | None = None) -> BundleCheck:
    """Every bundle in ``out`` and the links between runs of the same inventory."""
    rep = BundleCheck()
    bundles: dict[str, tuple[Path, dict[str, Any], str]] = {}
    for folder in sorted(p for p in out.iterdir() if p.is_dir() and not p.is_symlink()):
        if folder.name.startswith("."):
            if folder.name.endswith(OPENING_SUFFIX):
                rep.add("note", folder.name, "a scan killed while creating its bundle (before any host "
                                             "was scanned); not a bundle")
            continue
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
