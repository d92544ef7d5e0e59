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

Kill at any moment, the bundle verifies as incomplete (``verify`` exit 2), never as tampered.
The writes are ordered so that every state between two of them is one ``verify`` recognises:

- the folder appears whole: it is built as ``<out>/.<run-id>.opening`` (``run.json``, the first
  manifest and its signature) and renamed to ``<out>/<run-id>``; a killed opening leaves only
  the hidden folder, which ``verify --chain`` notes and otherwise ignores;
- a file is written ahead (write-ahead, like a database journal): staged as a hidden temp file
  and fsynced, then *announced* in the manifest (``pending``: path, SHA-256, size), renamed into
  place, and only then *listed* (``files``; for a host also ``run.hosts_finished``). A kill
  before the rename leaves a temp file ``verify`` calls temporary; after it, a file that matches
  the hash the (signed) manifest announced, which ``verify`` reports as "finished after the last
  manifest". A file nobody announced is always "added", so nothing can be slipped into a
  killed run;
- the manifest is replaced the same way, and its signature is written first to
  ``.manifest.json.sig.next`` and renamed after the manifest: between the two renames the
  signature of the manifest on disk is in ``.manifest.json.sig.next``.

Every rename is followed by an fsync of the folder. The run's ``run.state`` stays ``running``
until ``seal``; ``verify`` reports such a bundle as incomplete.

Test hook (not for production use): ``HARDENCHECK_TEST_KILL_AT=<step>:<n>`` makes the process
SIGKILL itself at the n-th time it reaches ``<step>`` (the names in ``STEPS``), and
``HARDENCHECK_TEST_STEP_LOG=<file>`` appends every step reached to a file. The test suite uses
them to kill a real scan between any two writes of its bundle
(tests/integration/test_nothing_lost.py).
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import signal
from pathlib import Path
from typing import Any, Iterable

from hardencheck.records.files import commit, fsync_dir, named, sha256_bytes, sha256_file, stage_bytes, \
    stage_chunks, write_bytes_atomic
from hardencheck.records.signature import SIG_SUFFIX, sign_bytes
from hardencheck.results import document_bytes, document_from_host_files

MANIFEST = "manifest.json"
SIGNATURE = MANIFEST + SIG_SUFFIX
NEXT_SIGNATURE = "." + SIGNATURE + ".next"    # the new manifest's signature, until it is renamed
OPENING_SUFFIX = ".opening"                    # <out>/.<run-id>.opening: a bundle being created
HOSTS_DIR = "hosts"
RUN_FILE = "run.json"
RESULTS = "results.json"
PRUNED_LOG = "pruned.jsonl"
MANIFEST_VERSION = 1
#: a file staged by records.files.stage_bytes (tempfile.mkstemp(prefix=".<name>.")), not yet renamed
STAGED_RE = re.compile(r"^\.[^/]+\.[a-z0-9_]{8}$")
STATES = ("running", "complete", "interrupted")

#: the moments between two writes of a bundle, for the test hook (see the module docstring)
STEPS = ("open.staging", "open.run_json", "open.manifest", "files.staged", "files.renamed",
         "manifest.staged", "manifest.signed", "manifest.renamed", "manifest.done")
KILL_AT_ENV = "HARDENCHECK_TEST_KILL_AT"
STEP_LOG_ENV = "HARDENCHECK_TEST_STEP_LOG"
_reached: dict[str, int] = {}


def _step(name: str) -> None:
    """Test hook: log the step, or SIGKILL this process at the requested one. Does nothing
    unless one of the two environment variables is set."""
    log, kill_at = os.environ.get(STEP_LOG_ENV), os.environ.get(KILL_AT_ENV)
    if not log and not kill_at:
        return
    _reached[name] = n = _reached.get(name, 0) + 1
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"{name}:{n}\n")
    if kill_at == f"{name}:{n}":
        os.kill(os.getpid(), signal.SIGKILL)


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
    return document_from_host_files(run, start["controls"], hosts, tom=start.get("tom", {}),
                                    exceptions=start.get("exceptions"), deviations=start.get("deviations"),
                                    attestations=start.get("attestations"))


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
        if folder.name == run_id or folder.name.startswith(".") or folder.is_symlink() or not is_bundle(folder):
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
    """Writes one bundle; every file is announced in the manifest before it lands and listed after
    (see the module docstring), and the manifest is re-signed each time.

    An ``OSError`` (disk full, I/O error) propagates with ``filename`` naming the file; what was
    listed before stays listed and intact."""

    def __init__(self, folder: Path, run: dict[str, Any], previous: dict[str, Any] | None,
                 sign_key: str | None = None, plan: dict[str, Any] | None = None):
        self.sign_key = sign_key
        self.run = dict(run)
        self.run["state"] = "running"
        self.run.setdefault("hosts_finished", [])
        self.previous = previous
        self.files: dict[str, dict[str, Any]] = {}
        self.pending: dict[str, dict[str, Any]] = {}    # announced, not yet listed
        self._pending_hosts: dict[str, str] = {}        # relpath -> host name
        self.redactions: dict[str, int] = {}
        self.manifest_sha256: str | None = None
        if folder.exists():
            raise FileExistsError(errno.EEXIST, "the run folder exists already", str(folder))
        try:
            folder.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise named(e, folder.parent) from None
        staging = folder.parent / f".{folder.name}{OPENING_SUFFIX}"
        try:
            staging.mkdir()
        except OSError as e:
            raise named(e, staging) from None
        _step("open.staging")
        self.folder = staging
        try:
            (staging / HOSTS_DIR).mkdir()
            if plan is not None:
                data = document_bytes(plan)
                write_bytes_atomic(staging / RUN_FILE, data)
                self.files[RUN_FILE] = {"path": RUN_FILE, "sha256": sha256_bytes(data), "size": len(data)}
            _step("open.run_json")
            self._write_manifest()
            _step("open.manifest")
            os.rename(staging, folder)
            fsync_dir(folder.parent)
        except BaseException as e:
            shutil.rmtree(staging, ignore_errors=True)     # nothing half-made is left behind
            if isinstance(e, OSError):
                raise named(e, folder) from None
            raise
        self.folder = folder

    @classmethod
    def reopen(cls, folder: Path, sign_key: str | None, resumed_at: str) -> "BundleWriter":
        """Continue an unfinished bundle (``scan --resume``): its manifest's files stay listed, the
        announced files that landed whole are listed, the others and hidden temp files of the
        killed write are removed, the chain link is kept, and ``run.resumed`` records when. A
        complete bundle is refused (``ValueError``)."""
        m = read_manifest(folder)
        run = m["run"]
        if run.get("state") == "complete":
            raise ValueError("the run is complete: there is nothing to resume")
        if (folder / SIGNATURE).exists() and not sign_key:
            raise ValueError("the bundle is signed: resume it with its signing key (--sign-key or sign_key in "
                             "hardencheck.yml), or its manifest's signature would no longer match")
        self = cls.__new__(cls)
        self.sign_key, self.folder, self.previous = sign_key, folder, m.get("previous")
        self.run = dict(run, state="running", ended_at=None)
        for k in ("exit_code", "error"):
            self.run.pop(k, None)
        self.run.setdefault("hosts_finished", [])
        self.run["resumed"] = [*run.get("resumed", []), {"at": resumed_at,
                                                          "hosts_finished_before": len(run["hosts_finished"])}]
        self.files = {e["path"]: e for e in m["files"]}
        self.pending = {e["path"]: e for e in m.get("pending", [])}
        self._pending_hosts = {}
        self.redactions = dict(m.get("redactions", {}).get("by_rule", {}))
        self.manifest_sha256 = None
        # what the killed write left: staged temp files (records.files.stage_bytes: ".<name>.<8 random>")
        # and a signature that was never renamed into place
        for d in (folder, folder / HOSTS_DIR):
            for tmp in d.iterdir() if d.is_dir() else ():
                staged = tmp.name == NEXT_SIGNATURE or STAGED_RE.match(tmp.name)
                if staged and tmp.is_file() and not tmp.is_symlink():
                    tmp.unlink()
        # an announced host file that landed whole: listed, with its host (its name is in the file)
        for rel in list(self.pending):
            if rel.startswith(HOSTS_DIR + "/") and (folder / rel).is_file():
                try:
                    self._pending_hosts[rel] = json.loads((folder / rel).read_text(encoding="utf-8"))["host"]["name"]
                except (ValueError, KeyError, TypeError):
                    pass
        self._settle()
        gone = [r for r in self.files if not (folder / r).is_file()]
        if gone:
            raise ValueError(f"the manifest lists {', '.join(gone)}, which is missing: the bundle is damaged "
                             f"(hardencheck verify {folder}), not resumable")
        self._write_manifest()
        return self

    # -- adding files --------------------------------------------------------------------------
    def stage(self, relpath: str, content: bytes | Iterable[bytes]) -> tuple[Path, dict[str, Any]]:
        """Write a file ahead, as a hidden temp file nobody lists yet (records.files.stage_chunks):
        (temp file, its manifest entry). ``content``: bytes, or byte chunks written as they come
        and hashed on the way (results.json and the HTML report are never whole in memory)."""
        tmp, digest, size = stage_chunks(self.folder / relpath, (content,) if isinstance(content, bytes) else content)
        return tmp, {"path": relpath, "sha256": digest, "size": size}

    def put_many(self, files: dict[str, bytes | Iterable[bytes]], hosts: dict[str, str] | None = None,
                 redactions: dict[str, int] | None = None) -> None:
        """Write several files: staged, then ``put_staged``."""
        self.put_staged(self._stage_all(files.items()), hosts, redactions)

    def _stage_all(self, files: Iterable[tuple[str, bytes | Iterable[bytes]]]) -> dict[str, tuple[Path, dict]]:
        """Stage (relpath, content) pairs as they come; on an error none is left behind."""
        staged: dict[str, tuple[Path, dict[str, Any]]] = {}
        try:
            for rel, content in files:
                staged[rel] = self.stage(rel, content)
        except BaseException:
            discard(staged)
            raise
        return staged

    def put_staged(self, staged: dict[str, tuple[Path, dict[str, Any]]], hosts: dict[str, str] | None = None,
                   redactions: dict[str, int] | None = None) -> None:
        """Staged files announced together in one manifest, renamed, listed in the next. ``hosts``:
        relpath -> name of the host files among them; ``redactions``: their counts."""
        staged, rels = dict(staged), list(staged)
        try:
            _step("files.staged")
            self.pending.update({rel: entry for rel, (_, entry) in staged.items()})
            self._pending_hosts.update(hosts or {})
            self._write_manifest()                       # announced
            for rel in list(staged):
                commit(staged[rel][0], self.folder / rel)
                del staged[rel]
                _step("files.renamed")
        finally:
            discard(staged)                              # an error: no temp file is left behind
        for rel in rels:
            self._list(rel)
        for rule, n in (redactions or {}).items():
            self.redactions[rule] = self.redactions.get(rule, 0) + n
        self._write_manifest()                           # listed

    def add_hosts(self, hosts_json: list[dict[str, Any]]) -> list[tuple[str, str]]:
        """Finished hosts together: their files announced in one manifest, renamed, listed in the
        next. Returns (path, sha256) of each, in order."""
        names, redactions = {}, {}
        for host_json in hosts_json:
            names[f"{HOSTS_DIR}/{host_file_name(host_json['host']['name'])}"] = host_json["host"]["name"]
            for rule, n in (host_json["host"].get("redactions") or {}).items():
                redactions[rule] = redactions.get(rule, 0) + n
        # encoded and staged one by one: one host's bytes in memory at a time
        staged = self._stage_all((rel, document_bytes(h)) for rel, h in zip(names, hosts_json))
        self.put_staged(staged, hosts=names, redactions=redactions)
        return [(rel, self.files[rel]["sha256"]) for rel in names]

    def _list(self, rel: str) -> None:
        self.files[rel] = self.pending.pop(rel)
        host = self._pending_hosts.pop(rel, None)
        if host is not None:
            self.run["hosts_finished"].append(host)

    def _settle(self) -> None:
        """After a failed write: list the announced files that did land whole, forget the others."""
        for rel, entry in list(self.pending.items()):
            p = self.folder / rel
            try:
                whole = (p.is_file() and p.stat().st_size == entry["size"]
                         and sha256_file(p) == entry["sha256"])
            except OSError:
                whole = False
            if whole:
                self._list(rel)
            else:
                del self.pending[rel]
                self._pending_hosts.pop(rel, None)

    def seal(self, state: str, ended_at: str | None, **extra: Any) -> str:
        """The final manifest. Returns its SHA-256 (what the next run's chain link records)."""
        assert state in STATES
        self._settle()
        self.run.update(state=state, ended_at=ended_at, **extra)
        self._write_manifest()
        return self.manifest_sha256

    # -- the manifest --------------------------------------------------------------------------
    def manifest(self) -> dict[str, Any]:
        m = {
            "manifest_version": MANIFEST_VERSION,
            "run": self.run,
            "previous": self.previous,
            "redactions": {"total": sum(self.redactions.values()), "by_rule": dict(sorted(self.redactions.items()))},
            "files": [self.files[k] for k in sorted(self.files)],
        }
        if self.pending:
            m["pending"] = [self.pending[k] for k in sorted(self.pending)]
        return m

    def _write_manifest(self) -> None:
        data = document_bytes(self.manifest())
        path = self.folder / MANIFEST
        tmp = stage_bytes(path, data)
        _step("manifest.staged")
        try:
            if self.sign_key:
                try:
                    sign_bytes(data, self.sign_key, self.folder / NEXT_SIGNATURE)
                except OSError as e:
                    raise named(e, self.folder / SIGNATURE) from None
                _step("manifest.signed")
            commit(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        _step("manifest.renamed")
        if self.sign_key:
            commit(self.folder / NEXT_SIGNATURE, self.folder / SIGNATURE)
        self.manifest_sha256 = sha256_bytes(data)
        _step("manifest.done")


def discard(staged: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    for tmp, _ in staged.values():       # staged temp files never renamed into place
        try:
            os.unlink(tmp)
        except OSError:
            pass


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
