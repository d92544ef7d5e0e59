"""CSV for the auditor's spreadsheet: one row per (host, control).

Columns: run id, host, address, host-key fingerprint, control, title, severity, status, reason,
expected, actual (compact JSON), message, TOM item ids, collected_at (UTC), and the response
register's entries that match the result: response_id, response_action, response_state,
response_expires (a ``waived`` row is a failure that the active entry covers).

``lang="en"`` (the default) is the machine-readable file scripts rely on: the column names above,
results.json's status, severity, action and state codes, ISO timestamps, ``,`` between cells and
``;`` between several values in one cell; its bytes do not depend on the report language
machinery. ``lang="de"`` is the file a German auditor opens in a spreadsheet: German column
headers (``COLUMNS_DE``), status, severity, action and state words of ``report.i18n``, the
control's German title, the expectation and finding sentences in German (``report.sentences``),
dates as 06.12.2026 (``i18n.date``/``i18n.timestamp``), and ``;`` between cells (the list
separator of German spreadsheet settings, where ``,`` is the decimal comma), ``, `` between
several values in one cell. Reason codes stay codes in both (the report's glossary explains them).

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

from hardencheck.report import i18n
from hardencheck.report.i18n import word
from hardencheck.report.view import ReportView, build_view, no_surrogates

COLUMNS = ("run_id", "host", "address", "host_key_fingerprint", "control", "title", "severity", "status",
           "reason", "expected", "actual", "message", "tom", "collected_at",
           "response_id", "response_action", "response_state", "response_expires")
COLUMNS_DE = ("Lauf", "Server", "Adresse", "Fingerabdruck des Host-Schlüssels", "Kontrolle", "Titel", "Schweregrad",
              "Status", "Grund", "Erwartung", "Vorgefunden", "Befund", "TOM-Maßnahmen", "Erhoben (UTC)",
              "Ausnahme", "Art der Ausnahme", "Stand der Ausnahme", "Ausnahme gültig bis")
#: cell delimiter and the separator of several values in one cell, per language
DELIMITER = {"en": ",", "de": ";"}
LIST_SEP = {"en": ";", "de": ", "}
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


def rows(doc: dict, lang: str = "en", view: ReportView | None = None):
    """The rows (as lists of raw values, before ``cell``) in results order, in ``lang``."""
    de = lang == "de"
    view = view if view is not None else build_view(doc)
    sep = LIST_SEP["de" if de else "en"]
    run_id = (doc.get("run") or {}).get("id")
    idents = {h.get("name"): h.get("identity") or {} for h in doc.get("hosts") or []}

    def coded(table, value):          # a code -> its German word (a code we do not know stays as it is)
        return word(table, value, "de") if de and value in table else value

    def when(value, stamp=True):
        return (i18n.timestamp(value, "de") if stamp else i18n.date(value, "de")) if de and value else value

    for r in doc.get("results") or []:
        ev = r.get("evidence") or {}
        eh = ev.get("host") or {}
        ident = idents.get(r.get("host")) or {}
        actual = r.get("actual")
        resp = [p for p in r.get("responses") or [] if isinstance(p, dict)]
        cid = r.get("control")
        yield [
            run_id, r.get("host"), eh.get("address") or ident.get("address"),
            eh.get("host_key_fingerprint") or ident.get("host_key_fingerprint"),
            cid, view.title(str(cid), lang) if de else view.control(str(cid)).get("title"),
            coded(i18n.SEVERITY, r.get("severity")), coded(i18n.STATUS, r.get("status")),
            r.get("reason"), view.expected(r, lang) if de else r.get("expected"),
            None if actual is None else json.dumps(actual, ensure_ascii=False, separators=(",", ":")),
            view.message(r, lang) if de else r.get("message"), sep.join(map(str, r.get("tom") or [])),
            when(ev.get("collected_at")),
            *(sep.join(str(f(p[k])) if p.get(k) else "" for p in resp) if resp else None
              for k, f in (("id", str), ("action", lambda v: coded(i18n.RESPONSE_ACTION, v)),
                           ("state", lambda v: coded(i18n.RESPONSE_STATE, v)),
                           ("expires", lambda v: when(v, stamp=False)))),
        ]


def render(view: ReportView, lang: str = "en") -> bytes:
    """The CSV in ``lang`` (see the module's description: English is the machine-readable file)."""
    de = lang == "de"
    buf = io.StringIO(newline="")
    w = csv.writer(buf, dialect="excel", delimiter=DELIMITER["de" if de else "en"], quoting=csv.QUOTE_MINIMAL,
                   lineterminator="\r\n")
    w.writerow(COLUMNS_DE if de else COLUMNS)
    for row in rows(view.doc, lang, view):
        w.writerow([cell(v) for v in row])
    return buf.getvalue().encode("utf-8-sig")
