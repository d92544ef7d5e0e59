"""The run bundle: one folder per scan that anyone can check offline, years later.

    <out>/<run-id>/
      manifest.json        every other file with SHA-256 and size, run metadata, redaction counts,
                           the link to the previous run of the same inventory (hash chain)
      manifest.json.sig    OpenSSH signature of manifest.json (optional; hardencheck.records.signature)
      run.json             the run as planned, written first: metadata, control definitions, TOM
                           catalog identity (what a killed run's host files are read against)
      hosts/<name>.json    one per finished host: its record, results and raw evidence (redacted),
                           written as soon as the host is done
      results.json         the whole run (written at the end, also after Ctrl-C or SIGTERM)
      report.html, junit.xml, ...   reports rendered from results.json

Every file is written atomically (temp file + rename) and the manifest is rewritten after each
host, so a scan killed at any moment (even SIGKILL) leaves a bundle whose manifest lists exactly
the files that are complete; its ``run.state`` then stays ``running`` and ``verify`` reports
the bundle as incomplete.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from hardencheck.records.files import sha256_bytes, sha256_file, write_bytes_atomic
from hardencheck.records.signature import SIG_SUFFIX, sign_bytes
from hardencheck.results import document_bytes, document_from_host_files

MANIFEST = "manifest.json"
SIGNATURE = MANIFEST + SIG_SUFFIX
HOSTS_DIR = "hosts"
RUN_FILE = "run.json"
RESULTS = "results.json"
PRUNED_LOG = "pruned.jsonl"
MANIFEST_VERSION = 1
STATES = ("running", "complete", "interrupted")


def host_file_name(host: str) -> str:
    """A file name for a host that cannot escape the folder or collide with another host's."""
    slug = re.sub(r"[^A-Za-z0-9_.-]", "_", host).lstrip(".")[:64] or "host"
    return f"{slug}-{sha256_bytes(host.encode())[:10]}.json"


def inventory_key(path: str | None) -> str:
    """How runs of the same inventory find each other (chain, history): the path as given,
    normalised; ``local`` for the embedded default."""
    return os.path.normpath(path) if path else "local"


def document_from_hosts(folder: Path) -> dict[str, Any]:
    """The results document of a run that never wrote results.json (killed): run.json plus every
    host file the manifest lists. Raises FileNotFoundError when run.json is missing."""
    start = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
    hosts = [json.loads((folder / entry["path"]).read_text(encoding="utf-8"))
             for entry in read_manifest(folder)["files"] if entry["path"].startswith(HOSTS_DIR + "/")]
    finished = {h["host"]["name"] for h in hosts}
    run = dict(start["run"], complete=False, ended_at=None, exit_code=2)
    run["inventory"] = dict(run["inventory"], not_scanned=[n for n in run["inventory"]["hosts"]
                                                            if n not in finished])
    doc = document_from_host_files(run, start["controls"], hosts)
    doc["tom"] = start.get("tom", {})
    return doc


def folder_run_id(folder: Path) -> str | None:
    """The run id a run folder's results.json (else its manifest.json) names; None when neither is a
    readable regular file that names one."""
    for name in (RESULTS, MANIFEST):
        p = folder / name
        if p.is_file() and not p.is_symlink():
            try:
                return str(json.loads(p.read_text(encoding="utf-8"))["run"]["id"])
            except (ValueError, KeyError, TypeError, OSError):
                continue
    return None


def read_manifest(folder: Path) -> dict[str, Any]:
    return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))


def is_bundle(folder: Path) -> bool:
    return (folder / MANIFEST).is_file()


def find_previous(out: Path, key: str, run_id: str, started_at: str) -> dict[str, Any] | None:
    """The latest bundle in ``out`` of the same inventory that started before this run."""
    best = None
    if not out.is_dir():
        return None
    for folder in out.iterdir():
        if folder.name == run_id or folder.is_symlink() or not is_bundle(folder):
            continue
        try:
            data = (folder / MANIFEST).read_bytes()
            m = json.loads(data)
            run = m["run"]
            if run["inventory"]["key"] != key or run["started_at"] >= started_at:
                continue
        except (OSError, ValueError, KeyError, TypeError):
            continue   # not ours to judge here; `verify --chain` reports broken bundles
        if best is None or run["started_at"] > best["started_at"]:
            best = {"run_id": run["id"], "started_at": run["started_at"],
                    "manifest_sha256": sha256_bytes(data)}
    return best


class BundleWriter:
    """Writes one bundle; the manifest is rewritten (and re-signed) after every change."""

    def __init__(self, folder: Path, run: dict[str, Any], previous: dict[str, Any] | None,
                 sign_key: str | None = None, plan: dict[str, Any] | None = None):
        self.folder = folder
        self.sign_key = sign_key
        self.run = dict(run)
        self.run["state"] = "running"
        self.run.setdefault("hosts_finished", [])
        self.previous = previous
        self.files: dict[str, dict[str, Any]] = {}
        self.redactions: dict[str, int] = {}
        self.manifest_sha256: str | None = None
        (folder / HOSTS_DIR).mkdir(parents=True, exist_ok=True)
        if plan is not None:
            self.put(RUN_FILE, document_bytes(plan))
        self._write_manifest()

    # -- adding files --------------------------------------------------------------------------
    def put(self, relpath: str, data: bytes) -> str:
        """Write ``data`` atomically at ``relpath`` and list it; returns its SHA-256."""
        path = self.folder / relpath
        write_bytes_atomic(path, data)
        digest = sha256_bytes(data)
        self.files[relpath] = {"path": relpath, "sha256": digest, "size": len(data)}
        return digest

    def add_host(self, host_json: dict[str, Any]) -> tuple[str, str]:
        """A finished host: its file, then the manifest that lists it. Returns (path, sha256)."""
        name = host_json["host"]["name"]
        rel = f"{HOSTS_DIR}/{host_file_name(name)}"
        digest = self.put(rel, document_bytes(host_json))
        for rule, n in (host_json["host"].get("redactions") or {}).items():
            self.redactions[rule] = self.redactions.get(rule, 0) + n
        self.run["hosts_finished"].append(name)
        self._write_manifest()
        return rel, digest

    def adopt(self, relpath: str) -> None:
        """List a file something else wrote into the bundle (the rendered reports)."""
        path = self.folder / relpath
        self.files[relpath] = {"path": relpath, "sha256": sha256_file(path), "size": path.stat().st_size}

    def seal(self, state: str, ended_at: str | None, **extra: Any) -> str:
        """The final manifest. Returns its SHA-256 (what the next run's chain link records)."""
        assert state in STATES
        self.run.update(state=state, ended_at=ended_at, **extra)
        self._write_manifest()
        return self.manifest_sha256

    # -- the manifest --------------------------------------------------------------------------
    def manifest(self) -> dict[str, Any]:
        return {
            "manifest_version": MANIFEST_VERSION,
            "run": self.run,
            "previous": self.previous,
            "redactions": {"total": sum(self.redactions.values()), "by_rule": dict(sorted(self.redactions.items()))},
            "files": [self.files[k] for k in sorted(self.files)],
        }

    def _write_manifest(self) -> None:
        data = document_bytes(self.manifest())
        if self.sign_key:
            # signature first: a crash between the two renames leaves an old manifest with a
            # newer signature, which verify reports as a mismatch of an incomplete run
            sign_bytes(data, self.sign_key, self.folder / SIGNATURE)
        write_bytes_atomic(self.folder / MANIFEST, data)
        self.manifest_sha256 = sha256_bytes(data)


def append_pruned(out: Path, record: dict[str, Any]) -> None:
    """One line in ``<out>/pruned.jsonl`` (fsynced, never through a symlink): a run removed on
    purpose, which ``verify --chain`` then does not report as missing."""
    out.mkdir(parents=True, exist_ok=True)
    fd = os.open(out / PRUNED_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    try:
        os.write(fd, (json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def read_pruned(out: Path) -> dict[str, dict[str, Any]]:
    """run id -> prune record; a torn last line (crash while appending) is ignored."""
    records: dict[str, dict[str, Any]] = {}
    try:
        lines = (out / PRUNED_LOG).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return records
    for line in lines:
        try:
            rec = json.loads(line)
            records[rec["run_id"]] = rec
        except (ValueError, KeyError, TypeError):
            continue
    return records
