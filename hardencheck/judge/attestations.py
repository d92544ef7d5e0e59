"""Attestations: a person's signed-off statement that an organisational TOM measure is in place.

Half of every real TOM document cannot be checked on a server (badge access to the server room,
a visitor log, staff training): a person attests it, with documents that show it. An attestation
file (``--attestations FILE`` or ``attestations:`` in hardencheck.yml) lists them::

    attestations:
      - measure: "1.1"                       # a measure (leaf item) of the TOM catalog
        groups: [prod]                       # optional: only for hosts in these inventory groups
        statement: Server rooms use badge access with a visitor log; reviewed quarterly.
        owner: Facility Management
        attested_by: Jana Beispiel (CISO)
        date: 2026-11-20                     # UTC date the attestation was given
        valid_until: 2027-11-19              # the last UTC day it covers (inclusive)
        evidence:
          - path: docs/zutrittskonzept-2026.pdf     # relative to this file; hashed at scan time
          - url: https://intranet.example/policies/access.pdf
            sha256: 9f2c...                         # a URL is never fetched: its hash is given

A path document may also carry ``sha256`` (the version that was attested): a document that no
longer has it is ``mismatch``. Validity (see ``state``) is judged on the UTC date the scan
started: ``not_yet_valid`` before ``date``, ``valid`` from ``date`` through ``valid_until``,
``expired`` after it.

The status an attestation gives its measure (``measure_status``): ``attested`` (valid, every
document present and, where pinned, unchanged), ``not_verified`` (valid, but a document is
missing or changed: an error in the report), ``attestation_expired``, or ``not_attested`` (none,
or not yet valid). Only ``attested`` counts as held; ``hardencheck.judge.tom.rollup`` combines
it with the technical verdict of a measure's controls.

This module is pure apart from reading the attestation file and its documents; it imports no
scan, records, report or CLI code.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hardencheck.errors import ConfigError, ConfigErrors
from hardencheck.yaml_source import SourceDict, dotted, line_of, load_file, validation_errors

STATES = ("valid", "expired", "not_yet_valid")
DOCUMENT_STATUSES = ("ok", "missing", "mismatch")
#: what an attestation gives its measure, best first
MEASURE_STATUSES = ("attested", "not_verified", "attestation_expired", "not_attested")
BUNDLE_DIR = "attestations"          # the bundle's folder for the file and its documents
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_GROUP = re.compile(r"^[A-Za-z0-9_.*?\[\]-]{1,64}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _utc_date(v: Any) -> Any:
    if isinstance(v, datetime):
        raise ValueError("a UTC date without a time (YYYY-MM-DD)")
    if isinstance(v, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
        raise ValueError("a UTC date, YYYY-MM-DD")
    return v


class Document(_Strict):
    path: Optional[str] = None
    url: Optional[str] = None
    sha256: Optional[str] = None

    @field_validator("sha256", mode="before")
    @classmethod
    def _sha(cls, v: Any) -> Any:
        if v is None:
            return v
        if not isinstance(v, str) or not _SHA256.match(v.strip().lower()):
            raise ValueError("a SHA-256 is 64 hexadecimal digits")
        return v.strip().lower()

    @field_validator("path")
    @classmethod
    def _path(cls, v: Optional[str]) -> Optional[str]:
        if v is not None and (not v.strip() or PurePosixPath(v).is_absolute() or "\x00" in v):
            raise ValueError("a path relative to the attestation file")
        return v

    @field_validator("url")
    @classmethod
    def _url(cls, v: Optional[str]) -> Optional[str]:
        if v is not None and not re.match(r"^https?://[^\s]+$", v):
            raise ValueError("an http:// or https:// URL")
        return v

    @model_validator(mode="after")
    def _one(self):
        if (self.path is None) == (self.url is None):
            raise ValueError("a document is either `path` or `url` (with `sha256`)")
        if self.url is not None and self.sha256 is None:
            raise ValueError("a document by URL needs its `sha256` (hardencheck never fetches it)")
        return self


class Entry(_Strict):
    measure: str
    groups: Optional[list[str]] = Field(default=None, min_length=1)
    statement: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    attested_by: str = Field(min_length=1)
    date: date
    valid_until: date
    evidence: list[Document] = []

    @field_validator("measure", mode="before")
    @classmethod
    def _measure(cls, v: Any) -> Any:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            raise ValueError(f"quote measure ids ({v!r} would be read as a number)")
        return v

    @field_validator("groups")
    @classmethod
    def _groups(cls, v: Optional[list[str]]) -> Optional[list[str]]:
        for g in v or []:
            if not _GROUP.match(g):
                raise ValueError(f"{g!r} is not an inventory group name")
        return v

    @field_validator("date", "valid_until", mode="before")
    @classmethod
    def _dates(cls, v: Any) -> Any:
        return _utc_date(v)

    @model_validator(mode="after")
    def _order(self):
        if self.valid_until < self.date:
            raise ValueError("`valid_until` is before `date`")
        return self


class AttestationFile(_Strict):
    attestations: list[Entry]


@dataclass
class Attestations:
    path: str               # the file as given (resolved against the config file when from there)
    sha256: str
    data: bytes             # the file's bytes, as hashed (copied into the bundle)
    entries: list[Entry]

    @property
    def base(self) -> Path:
        return Path(self.path).resolve().parent


def load_attestations(path: str | Path, catalog=None, known_groups: set[str] | None = None) -> Attestations:
    """Load and validate an attestation file. With ``catalog`` (a judge.tom.Catalog) every
    ``measure`` must be one of its measures; with ``known_groups`` every group must exist in the
    inventory. Errors name file, line and field (``ConfigErrors``)."""
    file = str(path)
    data = load_file(path)
    if not isinstance(data, SourceDict):
        raise ConfigError("an attestation file is a mapping with `attestations:`", file=file, line=1)
    try:
        model = AttestationFile.model_validate(dict(data))
    except ValidationError as e:
        raise ConfigErrors(validation_errors(e, data, file)) from None
    errors: list[ConfigError] = []
    measures = {m.id for m in catalog.measures()} if catalog is not None else None
    groups_items = {it.id for it, _, _ in catalog.walk() if it.items is not None} if catalog is not None else set()
    for i, e in enumerate(model.attestations):
        here = ["attestations", i]
        if measures is not None and e.measure not in measures:
            what = "a group of measures, not a measure" if e.measure in groups_items else "not in the TOM catalog"
            errors.append(ConfigError(f"unknown measure id {e.measure!r} ({what})", file=file,
                                      line=line_of(data, here + ["measure"]), field=dotted(here + ["measure"])))
        if known_groups is not None:
            for j, g in enumerate(e.groups or []):
                if not any(_glob(g, k) for k in known_groups):
                    errors.append(ConfigError(f"group {g!r} matches no inventory group", file=file,
                                              line=line_of(data, here + ["groups", j]),
                                              field=dotted(here + ["groups", j])))
    if errors:
        raise ConfigErrors(errors)
    raw = Path(path).read_bytes()
    return Attestations(file, hashlib.sha256(raw).hexdigest(), raw, list(model.attestations))


def _glob(pattern: str, name: str) -> bool:
    return fnmatch.fnmatchcase(name, pattern)


def state(entry: Entry | dict, today: date) -> str:
    """valid | expired | not_yet_valid on the UTC date ``today`` (``valid_until`` is covered)."""
    start = entry.date if isinstance(entry, Entry) else date.fromisoformat(entry["date"])
    end = entry.valid_until if isinstance(entry, Entry) else date.fromisoformat(entry["valid_until"])
    if today < start:
        return "not_yet_valid"
    return "expired" if today > end else "valid"


def _doc_name(path: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", PurePosixPath(path).name).lstrip(".")[:80]
    return name or "document"


def evaluate(att: Attestations, today: date) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The ``attestations`` block of results.json on the UTC date ``today``, and the files the
    bundle keeps (``attestations/<file name>`` and a copy of every document found by path, under
    ``attestations/documents/``; each copy's bundle path is in its evidence entry as ``copy``).
    Each document is read once: the hash recorded is the hash of the copy."""
    files: dict[str, bytes] = {f"{BUNDLE_DIR}/{_doc_name(att.path)}": att.data}
    entries = []
    for i, e in enumerate(att.entries):
        docs = []
        for j, d in enumerate(e.evidence):
            if d.url is not None:
                docs.append({"url": d.url, "sha256": d.sha256, "status": "ok", "checked": False})
                continue
            rec: dict[str, Any] = {"path": d.path}
            try:
                blob = (att.base / d.path).read_bytes()
            except OSError as err:
                rec.update(sha256=None, status="missing", checked=True,
                           message=f"{err.strerror or type(err).__name__}: {att.base / d.path}")
                if d.sha256:
                    rec["expected_sha256"] = d.sha256
                docs.append(rec)
                continue
            digest = hashlib.sha256(blob).hexdigest()
            copy = f"{BUNDLE_DIR}/documents/{i + 1}-{j + 1}-{_doc_name(d.path)}"
            files[copy] = blob
            rec.update(sha256=digest, size=len(blob), status="ok", checked=True, copy=copy)
            if d.sha256 and d.sha256 != digest:
                rec.update(status="mismatch", expected_sha256=d.sha256,
                           message="the document is not the version that was attested (its SHA-256 differs)")
            docs.append(rec)
        entries.append({"measure": e.measure, "groups": list(e.groups) if e.groups else None,
                        "statement": e.statement, "owner": e.owner, "attested_by": e.attested_by,
                        "date": e.date.isoformat(), "valid_until": e.valid_until.isoformat(),
                        "state": state(e, today), "evidence": docs})
    block = {"file": {"path": att.path, "sha256": att.sha256, "copy": next(iter(files))},
             "date": today.isoformat(), "entries": entries}
    return block, files


def entry_status(entry: dict) -> str:
    """What one evaluated entry gives its measure (one of MEASURE_STATUSES)."""
    st = entry.get("state")
    if st == "expired":
        return "attestation_expired"
    if st != "valid":
        return "not_attested"
    if any(d.get("status") != "ok" for d in entry.get("evidence") or []):
        return "not_verified"
    return "attested"


def applies(entry: dict, groups: set[str] | None) -> bool:
    """Does ``entry`` cover a host in ``groups`` (None: the run as a whole, only entries without
    groups)?"""
    if not entry.get("groups"):
        return True
    if groups is None:
        return False
    return any(_glob(p, g) for p in entry["groups"] for g in groups)


def measure_status(block: dict | None, measure: str, groups: set[str] | None) -> str | None:
    """The attestation status of ``measure`` for a host in ``groups``: the best of the entries
    that cover it, ``not_attested`` when none does; None when the run had no attestation file."""
    if block is None:
        return None
    found = [entry_status(e) for e in block.get("entries") or []
             if e.get("measure") == measure and applies(e, groups)]
    for s in MEASURE_STATUSES:
        if s in found:
            return s
    return "not_attested"


def resolver(block: dict | None, host_groups: dict[str, set[str]]) -> Callable[[str, str | None], str | None] | None:
    """The callable ``judge.tom.rollup`` takes: (measure id, host name or None) -> status or None."""
    if block is None:
        return None
    return lambda measure, host: measure_status(block, measure,
                                                None if host is None else host_groups.get(host, set()))


def problems(block: dict | None) -> list[str]:
    """One line per document that is missing or changed, and per expired attestation."""
    out = []
    for e in (block or {}).get("entries") or []:
        if e.get("state") == "expired":
            out.append(f"measure {e.get('measure')}: attestation by {e.get('attested_by')} expired on "
                       f"{e.get('valid_until')}")
        for d in e.get("evidence") or []:
            if d.get("status") in ("missing", "mismatch"):
                out.append(f"measure {e.get('measure')}: document {d.get('path') or d.get('url')} is "
                           f"{d.get('status')}")
    return out
