"""The response register: exceptions to controls with justification, approver and expiry.

A YAML file (or a folder of them) in the site's repository lists how the organisation responds to
a finding it knows about::

    exceptions:
      - id: EXC-2026-014
        action: risk_accepted            # risk_accepted | false_positive | remediation_planned
        controls: [SSH-002]
        hosts: [legacy-db-*]             # and/or groups: [prod]  (fnmatch globs, as --limit)
        justification: Vendor appliance; root login needed until the migration in Q2.
        approved_by: Jana Beispiel (CISO)
        granted: 2026-11-02
        ticket: SEC-1234
        expires: 2027-03-31              # UTC date; the date itself is still covered

Semantics (``respond``): a ``fail`` covered by an active ``risk_accepted``/``false_positive`` entry
becomes ``waived`` (expected/actual/message/evidence stay the fail's); ``pass``, ``error``,
``not_applicable`` and ``skipped`` are never changed. Every result an entry matches carries the
entry in ``responses`` with its ``state`` on the scan's UTC date: ``active``, ``expiring`` (expires
within ``EXPIRING_DAYS``), ``expired`` (the day after ``expires``) or ``overdue`` (a
``remediation_planned`` past its ``due`` date).

Pure apart from reading the YAML. Errors name file, line and field.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hardencheck.errors import ConfigError, ConfigErrors
from hardencheck.yaml_source import SourceDict, dotted, line_of, load_file, validation_errors

ACTIONS = ("risk_accepted", "false_positive", "remediation_planned")
WAIVING = ("risk_accepted", "false_positive")
STATES = ("active", "expiring", "expired", "overdue")
#: an entry that expires within this many days (the day itself counted) is ``expiring``
EXPIRING_DAYS = 14
ENTRY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")
#: the fields of a result's ``responses`` entries (results.json), in this order
RESPONSE_FIELDS = ("id", "action", "state", "justification", "approved_by", "granted", "expires", "ticket",
                   "owner", "due")


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    action: Literal["risk_accepted", "false_positive", "remediation_planned"]
    controls: list[str] = Field(min_length=1)
    hosts: list[str] = []
    groups: list[str] = []
    justification: str
    approved_by: Optional[str] = None
    granted: Optional[date] = None
    ticket: Optional[str] = None
    expires: Optional[date] = None
    owner: Optional[str] = None
    due: Optional[date] = None

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, v: Any) -> Any:
        if not isinstance(v, str) or not ENTRY_ID.match(v):
            raise ValueError("an id is a stable name like EXC-2026-014 (letters, digits, . _ : / -)")
        return v

    @field_validator("controls", "hosts", "groups", mode="before")
    @classmethod
    def _list(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("justification", "approved_by", "owner", "ticket")
    @classmethod
    def _text(cls, v: Optional[str]) -> Optional[str]:
        if v is not None and not v.strip():
            raise ValueError("must not be empty")
        return v

    @model_validator(mode="after")
    def _by_action(self):
        if not self.hosts and not self.groups:
            raise ValueError("name the hosts and/or groups it covers (hosts: ['*'] for every host)")
        if self.action in WAIVING and self.approved_by is None:
            raise ValueError(f"approved_by is required for {self.action}")
        if self.action == "risk_accepted" and self.expires is None:
            raise ValueError("expires (a UTC date) is required for risk_accepted")
        if self.action == "remediation_planned":
            missing = [f for f in ("owner", "due") if getattr(self, f) is None]
            if missing:
                raise ValueError(f"{' and '.join(missing)} required for remediation_planned")
        return self


@dataclass
class Located:
    entry: Entry
    file: str
    line: int | None
    index: int                         # position in its file's list (for field names)
    raw: Any = None                    # the entry's YAML mapping (lines of its fields)


@dataclass
class Register:
    files: list[dict] = field(default_factory=list)     # [{path, sha256}]
    entries: list[Located] = field(default_factory=list)

    @property
    def sha256(self) -> str | None:
        """One hash over all files (path and sha256, sorted): the register's version."""
        if not self.files:
            return None
        h = hashlib.sha256()
        for f in sorted(self.files, key=lambda f: f["path"]):
            h.update(f["path"].encode() + b"\0" + f["sha256"].encode() + b"\n")
        return h.hexdigest()

    def identity(self) -> dict | None:
        """What run.json and the manifest record: the files and their hashes."""
        return {"files": list(self.files), "sha256": self.sha256} if self.files else None


def register_files(paths: Iterable[str | Path]) -> list[Path]:
    """Each path a file, or a folder whose ``*.yml``/``*.yaml`` files (sorted, recursively) count."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.suffix in (".yml", ".yaml") and f.is_file())
        elif not p.exists():
            raise ConfigError("file not found", file=str(p), field="exceptions")
        else:
            out.append(p)
    return out


def load_register(paths: Iterable[str | Path]) -> Register:
    """Read and validate the register's files (all errors at once). Ids must be unique across files."""
    reg = Register()
    errors: list[ConfigError] = []
    seen: dict[str, Located] = {}
    for path in register_files(paths):
        file = str(path)
        try:
            data = load_file(path)
        except ConfigError as e:
            errors.append(e)
            continue
        reg.files.append({"path": file, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()})
        if data is None:
            continue
        items = data.get("exceptions") if isinstance(data, SourceDict) else None
        if not isinstance(data, SourceDict) or set(data) - {"exceptions"} or not isinstance(items, (list, type(None))):
            errors.append(ConfigError("a register is a mapping with one key, `exceptions`: a list of entries",
                                      file=file, line=1))
            continue
        for i, raw in enumerate(items or []):
            loc = ["exceptions", i]
            if not isinstance(raw, SourceDict):
                errors.append(ConfigError("an entry is a mapping", file=file, line=line_of(data, loc),
                                          field=dotted(loc)))
                continue
            try:
                entry = Entry.model_validate(dict(raw))
            except ValidationError as e:
                errors += [ConfigError(err.message, file=file, line=err.line,
                                       field=dotted(loc) + ("." + err.field if err.field else ""))
                           for err in validation_errors(e, raw, file)]
                continue
            here = Located(entry, file, line_of(data, loc), i, raw)
            if entry.id in seen:
                first = seen[entry.id]
                errors.append(ConfigError(f"duplicate id {entry.id!r} (first in {first.file}:{first.line})",
                                          file=file, line=line_of(data, loc + ["id"]), field=dotted(loc + ["id"])))
                continue
            seen[entry.id] = here
            reg.entries.append(here)
    if errors:
        raise ConfigErrors(errors)
    return reg


def check_register(reg: Register, control_ids: Iterable[str], hosts: Iterable[Any]) -> list[ConfigError]:
    """Cross-checks against the control library and the inventory (``hosts``: objects with
    ``name`` and ``groups``): unknown control ids, host and group patterns that match nothing."""
    ids = list(control_ids)
    hosts = list(hosts)
    names = [h.name for h in hosts]
    groups = sorted({g for h in hosts for g in h.groups})
    errors = []
    for loc in reg.entries:
        e = loc.entry

        def err(msg: str, key: str, j: int) -> None:
            errors.append(ConfigError(msg, file=loc.file, line=_line(loc, key, j),
                                      field=f"exceptions[{loc.index}].{key}[{j}]"))
        for j, c in enumerate(e.controls):
            if not any(fnmatch.fnmatchcase(i, c) for i in ids):
                err(f"unknown control id {c!r}", "controls", j)
        for j, h in enumerate(e.hosts):
            if not any(fnmatch.fnmatchcase(n, h) for n in names):
                err(f"{h!r} matches no host of the inventory", "hosts", j)
        for j, g in enumerate(e.groups):
            if not any(fnmatch.fnmatchcase(n, g) for n in groups):
                err(f"{g!r} matches no group of the inventory (groups: {', '.join(groups) or 'none'})",
                    "groups", j)
    return errors


def _line(loc: Located, key: str, j: int) -> int | None:
    return line_of(loc.raw, [key, j]) if loc.raw is not None else loc.line


# -- states and matching --------------------------------------------------------------------------

def utc_date(epoch: float) -> date:
    """The UTC date of a moment (the scan's start): the day every entry's state is judged on."""
    return datetime.fromtimestamp(epoch, timezone.utc).date()


def state(e: Entry, today: date) -> str:
    """The entry's state on ``today`` (the scan's UTC date). ``expires`` is the last day covered."""
    if e.expires is not None and today > e.expires:
        return "expired"
    if e.action == "remediation_planned" and e.due is not None and today > e.due:
        return "overdue"
    if e.expires is not None and (e.expires - today).days < EXPIRING_DAYS:
        return "expiring"
    return "active"


def covers(e: Entry, host: str, groups: Iterable[str], control: str) -> bool:
    if not any(fnmatch.fnmatchcase(control, c) for c in e.controls):
        return False
    return (any(fnmatch.fnmatchcase(host, h) for h in e.hosts)
            or any(fnmatch.fnmatchcase(g, p) for g in groups for p in e.groups))


def response(e: Entry, today: date) -> dict[str, Any]:
    """The entry as a result's ``responses`` item (dates as ISO strings, absent fields null)."""
    d = e.model_dump()
    d["state"] = state(e, today)
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in
            ((k, d.get(k)) for k in RESPONSE_FIELDS)}


def respond(status: str, host: str, groups: Iterable[str], control: str, reg: Register | None,
            today: date) -> tuple[str, list[dict]]:
    """(new status, responses) for one result. Only a ``fail`` is ever waived."""
    if reg is None:
        return status, []
    groups = list(groups)
    matched = [response(loc.entry, today) for loc in reg.entries if covers(loc.entry, host, groups, control)]
    waived = any(r["action"] in WAIVING and r["state"] in ("active", "expiring") for r in matched)
    return ("waived" if status == "fail" and waived else status), matched


def apply(results: list, host: str, groups: Iterable[str], reg: Register | None, today: date) -> None:
    """Set ``status`` and ``responses`` on each result (``results.Result`` objects) of one host."""
    if reg is None:         # no register: nothing is waived, no result has responses
        for r in results:
            r.responses = []
        return
    groups = list(groups)
    for r in results:
        r.status, r.responses = respond(r.status, host, groups, r.control, reg, today)


def document(reg: Register | None, today: date) -> dict[str, Any] | None:
    """results.json's ``exceptions``: the files with their SHA-256 and every entry as used (its
    file and line, and its state on the scan's date), so a report can be rendered without them."""
    if reg is None:
        return None
    entries = []
    for loc in reg.entries:
        d = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in loc.entry.model_dump().items()}
        d.update(state=state(loc.entry, today), file=loc.file, line=loc.line)
        entries.append(d)
    return {"files": list(reg.files), "sha256": reg.sha256, "date": today.isoformat(), "entries": entries}


def expiring_within(reg: Register, today: date, days: int) -> list[Located]:
    """Entries that expire (or fall due) within ``days`` days of ``today``, or already did."""
    out = []
    for loc in reg.entries:
        end = loc.entry.expires or (loc.entry.due if loc.entry.action == "remediation_planned" else None)
        if end is not None and (end - today).days < days:
            out.append(loc)
    return out


__all__ = ["ACTIONS", "EXPIRING_DAYS", "Entry", "Register", "STATES", "WAIVING", "apply", "check_register",
           "covers", "document", "expiring_within", "load_register", "respond", "response", "state"]
