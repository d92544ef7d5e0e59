"""Bringing runs into the history and taking them out: ``import_run`` (a bundle, a folder with only
results.json, or a killed run's bundle) and ``prune`` (retention: the run leaves the history and its
bundle the disk, recorded in ``prunes`` and in the ``pruned.jsonl`` the chain check reads)."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

from hardencheck.errors import ConfigError
from hardencheck.records import provenance
from hardencheck.records.bundle import append_pruned, document_from_hosts, folder_run_id
from hardencheck.records.files import sha256_bytes, sha256_file
from hardencheck.records.history.store import _catalog_entry, _pid_alive
from hardencheck.results import utc

if TYPE_CHECKING:   # for annotations only: queries imports this module (History delegates here)
    from hardencheck.records.history.queries import History


def import_run(history: "History", folder: str | os.PathLike) -> dict:
    """Import a run folder: a bundle, a folder with only results.json (older runs), or an
    incomplete bundle without results.json (its hosts/*.json, imported as interrupted).
    Idempotent: a run already in the history is left as it is ({"status": "exists"})."""
    folder = Path(folder)
    if folder.name == "results.json" and folder.is_file():
        folder = folder.parent
    if not folder.is_dir():
        raise ConfigError("not a run folder", file=str(folder))
    results_path, manifest_path = folder / "results.json", folder / "manifest.json"
    manifest, manifest_sha = None, None
    if manifest_path.is_file():
        data = manifest_path.read_bytes()
        manifest_sha = sha256_bytes(data)
        try:
            manifest = json.loads(data)
        except ValueError as e:
            raise ConfigError(f"manifest.json is not JSON: {e}", file=str(manifest_path)) from None
    host_files = _host_files(folder)
    if results_path.is_file():
        data = results_path.read_bytes()
        doc_sha = sha256_bytes(data)
        try:
            doc = json.loads(data)
        except ValueError as e:
            raise ConfigError(f"not a results.json: {e}", file=str(results_path)) from None
    elif manifest is None:
        raise ConfigError("neither results.json nor manifest.json there: not a run folder", file=str(folder))
    else:   # a bundle whose scanner was killed: its plan and the hosts that finished
        scanner = (manifest.get("run") or {}).get("scanner") or {}
        if ((manifest.get("run") or {}).get("state") == "running"
                and scanner.get("host") == provenance.scanner()["host"]
                and scanner.get("pid") and _pid_alive(int(scanner["pid"]), None)):
            raise ConfigError(f"run {manifest['run'].get('id')} is still running (pid {scanner['pid']})",
                              file=str(folder))
        try:
            doc = document_from_hosts(folder)
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ConfigError(f"the bundle has no results.json and its run.json or host files cannot be "
                              f"read ({type(e).__name__}: {e})", file=str(folder)) from None
        doc_sha = None
    if not str(doc.get("schema_version", "")).startswith("1."):
        raise ConfigError(f"unsupported schema_version {doc.get('schema_version')!r}",
                          file=str(results_path))
    run = doc["run"]
    if history.run(run["id"]):
        return {"run_id": run["id"], "status": "exists", "folder": str(folder)}
    by_host: dict[str, list[dict]] = {}
    for r in doc.get("results") or []:
        by_host.setdefault(r["host"], []).append(r)
    state = "complete" if run.get("complete", True) else "interrupted"
    tom = doc.get("tom") or {}
    with history.tx():
        tom_sha = history._insert_catalog(_catalog_entry(tom.get("catalog"), tom.get("items")))
        pk = history._insert_run(run, state=state, bundle=str(folder.resolve()), imported=True,
                                 tom_sha256=tom_sha, manifest_sha256=manifest_sha)
        history._insert_controls(pk, doc.get("controls") or [], _tom_items_from_results(doc.get("results") or []))
        for h in doc.get("hosts") or []:
            file, sha = host_files.get(h["name"], ("results.json", doc_sha))
            history._insert_host(pk, {"host": h, "results": by_host.get(h["name"], [])}, file, sha)
        history._fill_not_scanned(pk)
        history._insert_register(pk, doc)
    return {"run_id": run["id"], "status": "imported", "state": state, "folder": str(folder)}


def prune(history: "History", keep_days: float, *, keep_text: str | None = None, now: float | None = None,
          dry_run: bool = False, inventory: str | None = None, out: str | os.PathLike | None = None,
          by: str | None = None) -> list[dict]:
    """Remove runs that started more than ``keep_days`` ago from the history and their bundle
    folders from disk. Each removal is first appended (fsynced) to ``pruned.jsonl`` beside the
    bundle (or in ``out`` when the bundle is unknown), then recorded in ``prunes`` together with
    the deletion from the database, then the folder is removed -- only when it is a real folder
    (no symlink) named after the run whose results.json or manifest.json names that run."""
    now = time.time() if now is None else now
    cutoff = utc(now - keep_days * 86400)
    pruned_at = utc(now)
    by = by or f"{provenance.user()}@{provenance.scanner()['host']}"
    old = [r for r in history.runs(inventory, until=cutoff) if r["state"] != "running"]
    done = []
    for r in old:
        bundle = r["bundle_path"]
        ok_bundle, why = _is_known_bundle(bundle, r["run_id"]) if bundle else (False, "no bundle recorded")
        if not r["manifest_sha256"] and ok_bundle and (Path(bundle) / "manifest.json").is_file():
            # a killed run never recorded its final manifest: the one on disk is what the next
            # run's chain link names, so that is what verify --chain must find in pruned.jsonl
            r = dict(r, manifest_sha256=sha256_file(Path(bundle) / "manifest.json"))
        entry = {"run_id": r["run_id"], "inventory_key": r["inventory_key"], "started_at": r["started_at"],
                 "manifest_sha256": r["manifest_sha256"], "bundle_path": bundle,
                 "bundle_removed": bool(ok_bundle), "bundle_kept_because": None if ok_bundle else why}
        done.append(entry)
        if dry_run:
            continue
        journal_dir = Path(bundle).parent if bundle and Path(bundle).parent.is_dir() else (
            Path(out) if out else None)
        if journal_dir is not None:
            append_pruned(journal_dir, {
                "run_id": r["run_id"], "inventory_key": r["inventory_key"], "started_at": r["started_at"],
                "manifest_sha256": r["manifest_sha256"], "pruned_at": pruned_at, "by": by, "keep": keep_text})
        with history.tx():
            history.conn.execute(
                "INSERT INTO prunes (run_id, inventory_key, started_at, manifest_sha256, bundle_path,"
                " bundle_removed, pruned_at, by, keep) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?)",
                (r["run_id"], r["inventory_key"], r["started_at"], r["manifest_sha256"], bundle, pruned_at,
                 by, keep_text))
            prune_id = history.conn.execute("SELECT last_insert_rowid()").fetchone()[0]
            history.conn.execute("DELETE FROM runs WHERE id = ?", (r["pk"],))
        if ok_bundle:
            shutil.rmtree(bundle)
            with history.tx():
                history.conn.execute("UPDATE prunes SET bundle_removed = 1 WHERE id = ?", (prune_id,))
    return done


def _is_known_bundle(bundle: str, run_id: str) -> tuple[bool, str]:
    p = Path(bundle)
    if p.is_symlink():
        return False, "the bundle path is a symbolic link"
    if not p.is_dir():
        return False, "the bundle folder does not exist"
    if p.name != run_id:
        return False, "the folder is not named after the run"
    if folder_run_id(p) != run_id:
        return False, "the folder holds no results.json or manifest.json of this run"
    return True, ""


def _host_files(folder: Path) -> dict[str, tuple[str, str]]:
    """host name -> (path relative to the folder, sha256) of the bundle's hosts/*.json."""
    out: dict[str, tuple[str, str]] = {}
    hosts = folder / "hosts"
    if not hosts.is_dir() or hosts.is_symlink():
        return out
    for p in sorted(hosts.glob("*.json")):
        if p.is_symlink() or not p.is_file():
            continue
        data = p.read_bytes()
        sha = sha256_bytes(data)
        try:
            name = json.loads(data)["host"]["name"]
        except (ValueError, KeyError, TypeError):
            continue
        out[name] = (f"hosts/{p.name}", sha)
    return out


def _tom_items_from_results(results: list[dict]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in results:
        if r.get("tom") and r["control"] not in out:
            out[r["control"]] = list(r["tom"])
    return out
