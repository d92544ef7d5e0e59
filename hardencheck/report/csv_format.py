"""CSV for the auditor's spreadsheet: one row per (host, control).

Columns (stable English names, whatever ``lang``, so scripts can rely on them; the ``status``
column holds the status codes of results.json, not words: the file is the same in every language): run id, host,
address, host-key fingerprint, control, title, severity, status, reason, expected, actual (compact
JSON), message, TOM item ids (``;``-separated), collected_at (UTC), and the response register's
entries that match the result (``;``-separated when several): response_id, response_action,
response_state, response_expires (a ``waived`` row is a failure that the active entry covers).

- UTF-8 with a byte-order mark, so spreadsheet tools detect the encoding; RFC 4180 quoting and
  CRLF line ends through the csv module.
- Formula injection: a cell that starts with ``=``, ``+``, ``-``, ``@``, tab or CR gets a leading
  apostrophe, so a spreadsheet shows it as text instead of evaluating it (host output such as
  ``=cmd|' /C calc'!A0`` stays inert).
- Values are kept as they are (control characters included, the csv module quotes them), except
  lone surrogates (not encodable: U+FFFD) and cells longer than a spreadsheet cell can hold
  (32 767 characters): cut at ``CELL_LIMIT`` with a marker; results.json has the full value.
"""

from __future__ import annotations

import csv
import io
import json

from hardencheck.report.view import ReportView, no_surrogates

COLUMNS = ("run_id", "host", "address", "host_key_fingerprint", "control", "title", "severity", "status",
           "reason", "expected", "actual", "message", "tom", "collected_at",
           "response_id", "response_action", "response_state", "response_expires")
CELL_LIMIT = 32000
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
TRUNCATED = "… [cut: {n} more characters in results.json]"


def cell(value: object) -> str:
    """One value -> a spreadsheet-safe cell."""
    s = no_surrogates("" if value is None else str(value))
    if len(s) > CELL_LIMIT:
        s = s[:CELL_LIMIT] + TRUNCATED.format(n=len(s) - CELL_LIMIT)
    if s.startswith(FORMULA_START):
        s = "'" + s
    return s


def rows(doc: dict):
    """The rows (as lists of raw values, before ``cell``) in results order."""
    run_id = (doc.get("run") or {}).get("id")
    titles = {c.get("id"): c.get("title") for c in doc.get("controls") or []}
    idents = {h.get("name"): h.get("identity") or {} for h in doc.get("hosts") or []}
    for r in doc.get("results") or []:
        ev = r.get("evidence") or {}
        eh = ev.get("host") or {}
        ident = idents.get(r.get("host")) or {}
        actual = r.get("actual")
        resp = [p for p in r.get("responses") or [] if isinstance(p, dict)]
        yield [
            run_id, r.get("host"), eh.get("address") or ident.get("address"),
            eh.get("host_key_fingerprint") or ident.get("host_key_fingerprint"),
            r.get("control"), titles.get(r.get("control")), r.get("severity"), r.get("status"),
            r.get("reason"), r.get("expected"),
            None if actual is None else json.dumps(actual, ensure_ascii=False, separators=(",", ":")),
            r.get("message"), ";".join(map(str, r.get("tom") or [])), ev.get("collected_at"),
            *(";".join(str(p.get(k) or "") for p in resp) if resp else None
              for k in ("id", "action", "state", "expires")),
        ]


def render(view: ReportView, lang: str = "en") -> bytes:
    """The same bytes in every language: the status column holds the machine-readable status
    codes of results.json (as do the column names), for scripts and spreadsheet filters."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf, dialect="excel", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    w.writerow(COLUMNS)
    for row in rows(view.doc):
        w.writerow([cell(v) for v in row])
    return buf.getvalue().encode("utf-8-sig")
