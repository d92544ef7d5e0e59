"""The reviewer's sign-off of a run bundle: ``signoff.json`` and its OpenSSH signature.

A sealed bundle never gets new *listed* files; the sign-off is made after the bundle was sealed,
by someone else (the reviewer, not the scanner), so it lives **beside** the listed files, in the
bundle folder, under two names ``verify`` knows (like ``manifest.json.sig``):

    <run>/signoff.json        who reviewed which manifest, with what decision, when
    <run>/signoff.json.sig    ``ssh-keygen -Y sign -n hardencheck-signoff`` of signoff.json (optional)

The sign-off names the SHA-256 of the bundle's ``manifest.json`` (which lists the SHA-256 of
``results.json`` and every report): it signs off exactly these bytes. Copied to another bundle,
or left behind after the bundle changed, it names a manifest that is not there, and ``verify``
says so (exit 1). Its own namespace keeps the two signatures apart: a scanner key allowed only
``namespaces="hardencheck-manifest"`` cannot sign a sign-off, and a reviewer's sign-off signature
does not verify as a manifest.

One bundle has one sign-off: ``create_signoff`` refuses a bundle that already has one (replacing
a decision is a deliberate act: delete both files, then sign off again). Nothing is ever written
into the bundle half-made: both files are written in the folder above and renamed in, the
signature first; killed between the two renames, a signature without ``signoff.json`` is left,
which ``verify`` reports and the next ``signoff`` replaces.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hardencheck import __version__
from hardencheck.errors import ConfigError
from hardencheck.records.bundle import MANIFEST as _MANIFEST
from hardencheck.records.files import fsync_dir, sha256_bytes, write_bytes_atomic
from hardencheck.records.signature import SIG_SUFFIX, matches_novalidate, sign_bytes, verify_bytes
from hardencheck.results import document_bytes

SIGNOFF = "signoff.json"
SIGNOFF_SIG = SIGNOFF + SIG_SUFFIX
NAMESPACE = "hardencheck-signoff"
DECISIONS = ("accepted", "accepted_with_findings", "rejected")
SIGNOFF_VERSION = 1
_TEXT_FIELDS = ("run_id", "manifest_sha256", "reviewer", "decision", "comment", "date")
MAX_TEXT = 10_000


def build_signoff(manifest_bytes: bytes, reviewer: str, decision: str, comment: str,
                  date: str | None = None) -> dict[str, Any]:
    """The sign-off document of the bundle whose manifest is ``manifest_bytes``."""
    m = json.loads(manifest_bytes)
    run = m["run"]
    results = next((f.get("sha256") for f in m.get("files") or [] if f.get("path") == "results.json"), None)
    return {
        "signoff_version": SIGNOFF_VERSION,
        "run_id": run["id"],
        "run_state": run.get("state"),
        "manifest_sha256": sha256_bytes(manifest_bytes),
        "results_sha256": results,
        "reviewer": reviewer,
        "decision": decision,
        "comment": comment,
        "date": date or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tool": {"name": "hardencheck", "version": __version__},
        "signature_namespace": NAMESPACE,
    }


def _check_input(reviewer: str, decision: str, comment: str) -> None:
    if decision not in DECISIONS:
        raise ConfigError(f"unknown decision {decision!r}; one of {', '.join(DECISIONS)}", field="--decision")
    for name, value in (("--reviewer", reviewer), ("--comment", comment)):
        if not value.strip():
            raise ConfigError("must not be empty", field=name)
        if len(value) > MAX_TEXT:
            raise ConfigError(f"longer than {MAX_TEXT} characters", field=name)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ConfigError("not valid UTF-8 text", field=name) from None


def refusal(check: Any, allow_incomplete: bool) -> str | None:
    """Why a bundle with this ``verify`` result (a ``records.verify.BundleCheck``) cannot be signed
    off, or None. A bundle that does not verify is never signed off; an incomplete one
    (interrupted, killed) only with ``allow_incomplete``: the sign-off records its state."""
    bad = [f for f in check.findings if f.level == "bad"]
    if bad:
        listed = "; ".join(f"{f.where}: {f.message}" for f in bad[:5])
        more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
        return f"the bundle does not verify, so it cannot be signed off: {listed}{more}"
    if check.code == 2 and not allow_incomplete:
        return ("the run is incomplete (interrupted or killed); sign off a partial run only on purpose, "
                "with --allow-incomplete (the sign-off records the run's state)")
    return None


def create_signoff(folder: Path, reviewer: str, decision: str, comment: str, *, check: Any,
                   sign_key: str | None = None, allow_incomplete: bool = False,
                   date: str | None = None) -> dict[str, Any]:
    """Write ``signoff.json`` (and its signature with ``sign_key``) into the bundle ``folder``,
    which ``check`` (``verify_bundle`` of it, just now) found intact. Returns the sign-off.
    Raises ConfigError when the bundle may not be signed off; changes none of its listed files."""
    _check_input(reviewer, decision, comment)
    if folder.is_symlink() or not (folder / _MANIFEST).is_file():
        raise ConfigError("not a run bundle (no manifest.json)", file=str(folder))
    if (folder / SIGNOFF).exists() or (folder / SIGNOFF).is_symlink():
        try:
            old = json.loads((folder / SIGNOFF).read_text(encoding="utf-8"))
            who = f": {old.get('decision')} by {old.get('reviewer')} on {old.get('date')}"
        except (OSError, ValueError, AttributeError):
            who = ""
        raise ConfigError(f"the bundle has a sign-off already{who}; a bundle has one sign-off (to replace it, "
                          f"delete {SIGNOFF} and {SIGNOFF_SIG} on purpose)", file=str(folder / SIGNOFF))
    why = refusal(check, allow_incomplete)
    if why:
        raise ConfigError(why, file=str(folder))
    manifest = (folder / _MANIFEST).read_bytes()
    signoff = build_signoff(manifest, reviewer, decision, comment, date)
    data = document_bytes(signoff)
    # staged in the folder above (a hidden file in the bundle would be "added"), renamed in
    stage = folder.parent / f".{folder.name}.{SIGNOFF}"
    try:
        if sign_key:
            sign_bytes(data, sign_key, Path(str(stage) + SIG_SUFFIX), NAMESPACE)
        write_bytes_atomic(stage, data)
        if sign_key:
            os.replace(str(stage) + SIG_SUFFIX, folder / SIGNOFF_SIG)
        elif (folder / SIGNOFF_SIG).is_file():
            os.unlink(folder / SIGNOFF_SIG)       # left by an interrupted sign-off
        os.replace(stage, folder / SIGNOFF)
        fsync_dir(folder)
    finally:
        for leftover in (stage, Path(str(stage) + SIG_SUFFIX)):
            try:
                os.unlink(leftover)
            except OSError:
                pass
    return signoff


def read_signoff(folder: Path) -> dict[str, Any] | None:
    """The bundle's sign-off as the report shows it, or None: the document plus ``signed`` (a
    signature file is there; checked by ``verify``, not here) and ``names_manifest`` (it names
    the SHA-256 of the manifest.json that is in the folder now)."""
    p = folder / SIGNOFF
    if p.is_symlink() or not p.is_file():
        return None
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
        manifest = (folder / _MANIFEST).read_bytes()
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict):
        return None
    doc = {k: doc.get(k) for k in (*_TEXT_FIELDS, "run_state", "results_sha256", "tool")}
    doc["signed"] = (folder / SIGNOFF_SIG).is_file()
    doc["names_manifest"] = doc.get("manifest_sha256") == sha256_bytes(manifest)
    return doc


def check_signoff(folder: Path, manifest_bytes: bytes, run_id: Any, allowed_signers: str | None, rep: Any) -> None:
    """``verify``'s part: add the sign-off's findings to ``rep`` (a ``BundleCheck``). Nothing when
    the bundle has none. Bad: unreadable, names another manifest or run, a signature that does not
    match, or (with allowed signers) unsigned or signed by a key not allowed for the namespace."""
    label = folder.name
    js, sig = folder / SIGNOFF, folder / SIGNOFF_SIG
    where, where_sig = f"{label}/{SIGNOFF}", f"{label}/{SIGNOFF_SIG}"
    if not js.exists() and not js.is_symlink():
        if sig.exists() or sig.is_symlink():
            rep.add("bad", where_sig, f"a sign-off signature without {SIGNOFF} (deleted, or a sign-off "
                                      "interrupted before it was written)")
        return
    if js.is_symlink() or not js.is_file() or (sig.is_symlink() or (sig.exists() and not sig.is_file())):
        rep.add("bad", where, "not a regular file")
        return
    data = js.read_bytes()
    try:
        doc = json.loads(data)
        assert isinstance(doc, dict) and all(isinstance(doc.get(k), str) for k in _TEXT_FIELDS)
        assert doc["decision"] in DECISIONS
    except (ValueError, AssertionError):
        rep.add("bad", where, "not a readable sign-off (fields missing or of the wrong type, or an unknown decision)")
        return
    mine = sha256_bytes(manifest_bytes)
    if doc["manifest_sha256"] != mine:
        rep.add("bad", where, f"names another manifest (sha256 {doc['manifest_sha256'][:16]}…), not this "
                              f"bundle's ({mine[:16]}…): copied from another run, or the bundle changed after "
                              "the sign-off")
    elif doc["run_id"] != run_id:
        rep.add("bad", where, f"names run {doc['run_id']}, not this bundle's run {run_id}")
    if allowed_signers:
        if not sig.is_file():
            rep.add("bad", where_sig, "missing: the sign-off is not signed (the allowed signers require it)")
            return
        res = verify_bytes(data, sig, allowed_signers, NAMESPACE, what=SIGNOFF)
        if not res.ok:
            rep.add("bad", where_sig, f"{res.message} (namespace {NAMESPACE})")
            return
        signed = f"{res.message} (namespace {NAMESPACE})"
    elif sig.is_file():
        if not matches_novalidate(data, sig, NAMESPACE):
            rep.add("bad", where_sig, f"the signature does not match {SIGNOFF} (edited after signing, or not a "
                                      f"{NAMESPACE} signature)")
            return
        signed = "signed; the signature matches, the signer was not checked (give --allowed-signers)"
    else:
        signed = None
    summary = (f"sign-off by {doc['reviewer']} on {doc['date']}: {doc['decision']}, for manifest "
               f"{doc['manifest_sha256'][:16]}…")
    if signed is None:
        rep.add("note", where, f"{summary}; UNSIGNED: who made it is not proven")
    else:
        rep.add("ok" if doc["manifest_sha256"] == mine else "note", where, f"{summary}; {signed}")
