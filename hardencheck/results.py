"""Results: one status per (host, control), each with its evidence; and the results.json file.

The layout of results.json is versioned (``SCHEMA_VERSION``) and described by the JSON Schema in
``hardencheck/schemas/results.schema.json``; the README's "results.json" section explains it.
Readers must check ``schema_version``; a minor bump only adds fields.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from json.encoder import encode_basestring as _quote
from typing import Any, Callable, Mapping

SCHEMA_VERSION = "1.5"   # 1.5: scope (the asset register reconciled with the inventory)
#: ``waived``: a ``fail`` covered by an active exception of the response register (judge.exceptions)
STATUSES = ("pass", "fail", "error", "not_applicable", "skipped", "waived")
SEVERITY_ORDER = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


def utc(ts: float | None) -> str | None:
    """Epoch seconds -> ``2026-11-23T04:43:06.123Z`` (UTC, millisecond precision)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class Result:
    host: str
    control: str
    status: str                   # one of STATUSES
    severity: str
    expected: str                 # the expectation(s) as a sentence
    actual: Any                   # {fact path: value found} (JSON), or None
    message: str                  # why, in words
    reason: str | None = None     # error: a code from errors.REASONS; not_applicable: "precondition"/"applies_to"
    tom: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)   # effective parameters used
    evidence: dict[str, Any] = field(default_factory=dict)
    # the register's entries that match this result (judge.exceptions.respond); omitted when none
    responses: list[dict[str, Any]] = field(default_factory=list)
    # (1.4) the expectations the message names, in structured parts (judge.verdict.check_part),
    # so reports can say it in another language; omitted when none (pass, not judged)
    checks: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self):
        assert self.status in STATUSES, self.status


@dataclass
class HostRecord:
    name: str
    identity: dict[str, Any]
    status: str = "ok"            # "ok": facts were collected; "error": nothing could be collected
    error: dict[str, Any] | None = None
    started_at: str | None = None
    ended_at: str | None = None
    os: dict[str, Any] | None = None
    exec: dict[str, Any] | None = None
    noise: str = ""               # printed outside the probe sections (login banners, rc files), bounded
    noise_bytes: int = 0          # bytes printed outside the sections (all, before redaction)
    noise_truncated: bool = False  # more than ``noise`` keeps was printed (collect.probe_script)
    groups: list[str] = field(default_factory=list)   # inventory groups (environments such as prod)
    tags: list[str] = field(default_factory=list)
    redactions: dict[str, int] = field(default_factory=dict)   # rule -> count replaced in this host's data


@dataclass
class HostOutcome:
    """Everything one host produced: written as soon as the host is done."""

    host: HostRecord
    results: list[Result]
    evidence: dict[str, dict[str, Any]]   # evidence id -> section record


def status_counts(results: list[Result]) -> dict[str, int]:
    counts = {s: 0 for s in STATUSES}
    for r in results:
        counts[r.status] += 1
    return counts


def exit_code(results: list[Result], fail_on: str) -> int:
    """0 all clear; 1 a failure at/above ``fail_on``; 2 some result is ``error``.

    A qualifying failure wins over errors: compliance drift is the louder signal, and the errors
    are still listed in the summary. ``fail_on="none"`` never returns 1.
    """
    threshold = SEVERITY_ORDER.get(fail_on)
    if threshold is not None and any(r.status == "fail" and SEVERITY_ORDER[r.severity] >= threshold
                                     for r in results):
        return 1
    if any(r.status == "error" for r in results):
        return 2
    return 0


# The JSON of a result and a host record: their fields in declaration order (what ``asdict``
# gives), without ``asdict``'s deep copy. Their values are JSON already (the engine builds them with
# ``judge.verdict.jsonable``), so the dicts share them with the dataclass: a scan converts 100
# hosts x 80 results, and the deep copy took most of the scanner's main thread (bench/scale.py).
# Lists are copied (cheap, and a caller appending to a result's ``tom`` must not change the JSON).
_RESULT_FIELDS = tuple(f.name for f in fields(Result))
_HOST_FIELDS = tuple(f.name for f in fields(HostRecord))


def result_to_json(r: Result) -> dict[str, Any]:
    d = {name: getattr(r, name) for name in _RESULT_FIELDS}
    d["tom"] = list(r.tom)
    if not d["responses"]:
        del d["responses"]           # only results a register entry matches carry it
    if not d["checks"]:
        del d["checks"]              # only judged results that did not pass carry it
    return d


def host_to_json(h: HostRecord) -> dict[str, Any]:
    d = {name: getattr(h, name) for name in _HOST_FIELDS}
    d["groups"], d["tags"], d["redactions"] = list(h.groups), list(h.tags), dict(h.redactions)
    return d


def outcome_to_json(o: HostOutcome) -> dict[str, Any]:
    return {"host": host_to_json(o.host), "results": [result_to_json(r) for r in o.results], "evidence": o.evidence}


def document_from_host_files(run: dict[str, Any], controls: list[dict[str, Any]],
                             hosts: list[dict[str, Any]], *, tom: dict[str, Any] | None = None,
                             comparison: dict[str, Any] | None = None,
                             attestations: dict[str, Any] | None = None,
                             exceptions: dict[str, Any] | None = None,
                             deviations: list[dict[str, Any]] | None = None,
                             scope: dict[str, Any] | None = None,
                             evidence: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The results document from per-host records as the bundle stores them (outcome_to_json),
    with the TOM roll-up and the comparison with the last run when there are any. The one place
    the document is assembled: a scan's and a killed run's alike. ``evidence``: every host's
    evidence in host order, when the records come without theirs (a scan reads it back from the
    host files: records.host_files)."""
    results = [r for h in hosts for r in h["results"]]
    if evidence is None:
        evidence = {}
        for h in hosts:
            evidence.update(h["evidence"])
    counts = {s: 0 for s in STATUSES}
    for r in results:
        counts[r["status"]] += 1
    doc = {
        "schema_version": SCHEMA_VERSION,
        "run": run,
        "summary": {
            "hosts": len(hosts),
            "hosts_with_errors": sorted(h["host"]["name"] for h in hosts if h["host"]["status"] != "ok"),
            "status_counts": counts,
        },
        "controls": controls,
        "hosts": [h["host"] for h in hosts],
        "results": results,
        "evidence": evidence,
    }
    if tom is not None:
        doc["tom"] = tom
    if comparison is not None:
        doc["comparison"] = comparison
    if attestations is not None:
        doc["attestations"] = attestations     # judge.attestations.evaluate
    if exceptions is not None:
        doc["exceptions"] = exceptions
    if deviations is not None:
        doc["deviations"] = deviations
    if scope is not None:
        doc["scope"] = scope                   # scan.scope: the asset register reconciled with the inventory
    return doc


_INF = float("inf")


def _pieces(o: Any, level: int, parts: list[str], flush: Callable[[], None]) -> None:
    """Append the text of ``o`` as ``json.dumps(o, ensure_ascii=False, indent=1)`` writes it to
    ``parts``, one call per container instead of json's chain of generators (about twice as
    fast); ``flush`` empties ``parts`` into the output when it holds many pieces."""
    add = parts.append
    if isinstance(o, dict):
        if not o:
            add("{}")
            return
        nl = "\n" + " " * (level + 1)
        sep = "{" + nl
        for k, v in o.items():
            if isinstance(v, str):
                add(sep + _quote(k if isinstance(k, str) else _key(k)) + ": " + _quote(v))
            elif v is None or v is True or v is False or type(v) is int:
                add(sep + _quote(k if isinstance(k, str) else _key(k)) + ": " + _scalar(v))
            else:
                add(sep + _quote(k if isinstance(k, str) else _key(k)) + ": ")
                _pieces(v, level + 1, parts, flush)
            sep = "," + nl
        add("\n" + " " * level + "}")
    elif isinstance(o, (list, tuple)):
        if not o:
            add("[]")
            return
        nl = "\n" + " " * (level + 1)
        sep = "[" + nl
        for v in o:
            if isinstance(v, str):
                add(sep + _quote(v))
            else:
                add(sep)
                _pieces(v, level + 1, parts, flush)
                if len(parts) > 8192:
                    flush()
            sep = "," + nl
        add("\n" + " " * level + "]")
    elif isinstance(o, str):
        add(_quote(o))
    else:
        add(_scalar(o))


def _scalar(o: Any) -> str:
    if o is None:
        return "null"
    if o is True:
        return "true"
    if o is False:
        return "false"
    if isinstance(o, int):
        return int.__repr__(o)
    if isinstance(o, float):
        if o != o:
            return "NaN"
        if o in (_INF, -_INF):
            return "Infinity" if o > 0 else "-Infinity"
        return float.__repr__(o)
    raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")


def _key(k: Any) -> str:
    """A dict key that is not a string, as json writes it."""
    if isinstance(k, (int, float)) or k is None:
        return _scalar(k)
    raise TypeError(f"keys must be str, int, float, bool or None, not {k.__class__.__name__}")


def document_bytes(data: Any, *, errors: str = "strict") -> bytes:
    """results.json exactly as it is written (the reports quote its SHA-256). ``errors=
    "surrogatepass"`` lets a document read back from a file with lone surrogates hash at all.

    The same bytes as ``json.dumps(data, ensure_ascii=False, indent=1)`` encoded, but built in
    batches (``dumps`` with an indent first lists every piece of the text: millions of small
    strings for the results.json of 100 hosts, about five times the document's size in memory)
    by ``_pieces``, about twice as fast as json's own indenting encoder."""
    buf = io.BytesIO()
    pieces: list[str] = []

    def flush() -> None:
        buf.write("".join(pieces).encode("utf-8", errors))
        pieces.clear()

    _pieces(data, 0, pieces, flush)
    pieces.append("\n")
    flush()
    return buf.getvalue()


def schema_path() -> Path:
    return Path(__file__).resolve().parent / "schemas" / "results.schema.json"


def validate_document(doc: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError when ``doc`` does not follow the published schema."""
    import jsonschema   # loaded only when a document is validated (tests, tools), not by every scan

    schema = json.loads(schema_path().read_text(encoding="utf-8"))
    jsonschema.validate(doc, schema)
