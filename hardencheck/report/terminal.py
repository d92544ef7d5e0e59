"""Terminal output (rich): live per-host progress, then a summary of hosts and failing controls.

Host output is untrusted: everything printed from results goes through ``rich.markup.escape``
and has control characters made visible, so a host cannot colour, move or clear the operator's
terminal (ANSI/OSC sequences) or forge CI log commands at the start of a line.
"""

from __future__ import annotations

import re
import threading

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from hardencheck.report import i18n, scope_view
from hardencheck.report.i18n import word
from hardencheck.report.view import build_view
from hardencheck.results import HostOutcome, status_counts

_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
STATUS_STYLE = {"pass": "green", "fail": "red", "error": "magenta", "not_applicable": "dim", "skipped": "dim",
                "waived": "yellow"}


def safe(text: object, limit: int = 300) -> str:
    """Untrusted text -> inert, bounded, markup-escaped text."""
    s = _CONTROL_CHARS.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))
    s = s.replace("\n", " ")
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    if s.startswith("::"):
        s = " " + s
    return escape(s)


class Progress:
    """Per-host progress. On a terminal a live line shows the hosts in flight and their phase
    (connecting, collecting) and, while collecting, the probe each host is in (``"section"``
    events: ``files.suid 23/41``); every finished host is printed above it with its counts. When
    the output is not a terminal (CI logs), only the finished-host lines are printed: one line per
    host, nothing per section."""

    def __init__(self, console: Console, total: int):
        self.console = console
        self.total = total
        self.done = 0
        self.inflight: dict[str, str] = {}
        self._lock = threading.Lock()
        self._live = Live(console=console, transient=True, refresh_per_second=8,
                          auto_refresh=False) if console.is_terminal else None

    def __enter__(self):
        if self._live:
            self._live.start()
        return self

    def __exit__(self, *exc):
        if self._live:
            self._live.stop()

    def _status_line(self) -> Text:
        names = list(self.inflight.items())
        shown = ", ".join(f"{name} ({phase})" for name, phase in names[:6])
        more = f" and {len(names) - 6} more" if len(names) > 6 else ""
        text = Text(f"{self.done}/{self.total} hosts done", style="bold")
        if names:
            text.append(" · in flight: ")
            text.append(_CONTROL_CHARS.sub("?", shown) + more, style="dim")
        return text

    def event(self, host: str, phase: str, payload) -> None:
        with self._lock:
            if phase == "done":
                self.inflight.pop(host, None)
                self.done += 1
                self.console.print(self._done_line(host, payload))
            elif phase == "section":      # payload: engine.SectionStarted (our own names)
                if not self._live:
                    return                # a CI log gets one line per host, none per section
                self.inflight[host] = f"{payload.probe} {payload.number}/{payload.total}"
            else:
                self.inflight[host] = phase
            if self._live:
                self._live.update(self._status_line(), refresh=True)

    def _done_line(self, host: str, o: HostOutcome) -> str:
        c = status_counts(o.results)
        prefix = f"[{self.done}/{self.total}]"
        if o.host.status != "ok":
            err = o.host.error or {}
            return (f"{prefix} [magenta]✖[/] {safe(host)}: [magenta]{safe(err.get('reason'))}[/] "
                    f"{safe(err.get('message'), 160)}")
        parts = [f"[{STATUS_STYLE[s]}]{n} {s}[/]" for s, n in c.items() if n]
        mark = "[red]✖[/]" if c["fail"] or c["error"] else "[green]✔[/]"
        return f"{prefix} {mark} {safe(host)}: " + ", ".join(parts)


TOM_STYLE = {"met": "green", "not_met": "red", "not_verified": "magenta", "attestation_expired": "magenta",
             "not_attested": "magenta", "attested": "green", "organisational": "yellow",
             "not_assessed": "dim", "not_applicable": "dim",
             "met_with_exceptions": "yellow", "not_checked": "magenta", "partly_verified": "yellow"}


def measure_title(title: dict, lang: str) -> str:
    """A measure's title in ``lang``; a catalog that gives only the other language falls back to
    it, marked with that language: ``Zugang (de)``."""
    title = title if isinstance(title, dict) else {}
    if title.get(lang):
        return str(title[lang])
    other = next((k for k in ("en", "de") if title.get(k)), None)
    return f"{title[other]} ({other})" if other else ""


def measure_ids(line) -> str:
    """The TOM measures a failure proves, with the measure's own parameters when it has them."""
    ids = ", ".join(line.tom)
    if line.measure_params:
        ids += " (" + ", ".join(f"{k}={v}" for k, v in line.measure_params.items()) + ")"
    return ids


#: Above this many failing results the summary lists the failing controls (with how many hosts and
#: the first few) instead of every host's finding: the report and results.json have them all.
MAX_ROWS = 200

#: Tables in a plain (non-terminal) output such as a CI log are printed at least this wide, so
#: host names, addresses and reasons are not cut to a few characters at the default 80 columns.
PLAIN_WIDTH = 160


def print_table(console: Console, table: Table) -> None:
    if console.is_terminal or console.width >= PLAIN_WIDTH:
        console.print(table)
        return
    width = console.width        # not a terminal: a fixed width (80 or $COLUMNS), restored after
    console.width = PLAIN_WIDTH
    try:
        console.print(table)
    finally:
        console.width = width


#: The summary's own words in German (English: the keys, with status codes as they are).
_DE = {
    "hosts": "Server", "host": "Server", "title": "Titel",
    "failing results judged with a measure’s own parameters":
        "Abweichungen, geprüft mit den Parametern einer Maßnahme", "address": "Adresse", "note": "Hinweis",
    "failing controls": f"Kontrollen „{i18n.STATUS['fail']['de']}“", "severity": "Schweregrad",
    "control": "Kontrolle", "TOM": "TOM",
    "finding": "Befund", "controls that could not be checked (error)":
        f"Kontrollen, die nicht geprüft werden konnten („{i18n.STATUS['error']['de']}“)",
    "reason": "Grund", "message": "Meldung",
    "TOM measures not met or not verified":
        f"TOM-Maßnahmen {i18n.ROLLUP['not_met']['de']} oder {i18n.ROLLUP['not_verified']['de']}",
    "item": "Nr.", "measure": "Maßnahme", "status": "Status", "TOM measures": "TOM-Maßnahmen",
    "total": "gesamt", "results": "Ergebnisse", "exit code": "Exit-Code", "all clear": "keine Beanstandung",
    "failures at or above '{x}'": "Abweichungen ab Schweregrad '{x}'",
    "scan incomplete (errors)": "Prüfung unvollständig (Fehler)",
    "scan interrupted: {n} of {m} host(s) finished": "Prüfung abgebrochen: {n} von {m} Server(n) fertig",
    "exceptions": "Ausnahmen", "waived by": "ausgenommen durch",
    "exceptions EXPIRED, counted as failures again": "Ausnahmen ABGELAUFEN, zählen wieder als Abweichung",
    "exceptions expiring within 14 days": "Ausnahmen, die innerhalb von 14 Tagen ablaufen",
    "remediation OVERDUE": "Behebung ÜBERFÄLLIG",
    "deviations from the baseline (parameters that loosen a control)":
        "Abweichungen von der Vorgabe (Parameter, die eine Kontrolle lockern)",
    "attestations": "Bestätigungen", "attested document": "Bestätigtes Dokument",
}


def print_exceptions(console: Console, s, w, lang: str = "en") -> None:
    """The response register in the summary: waived results by waiver, entries expired, expiring
    within 14 days or overdue (warnings), and the deviations from the baseline."""
    if s.waived:
        by_id: dict[str, list[str]] = {}
        for f in s.waived:
            rid = next((r.get("id") for r in f.responses if r.get("state") in ("active", "expiring")), "?")
            by_id.setdefault(str(rid), []).append(f"{f.control}@{f.host}")
        console.print(f"[yellow]{w('exceptions')}: {len(s.waived)} {w('waived by')} " + "; ".join(
            f"{safe(rid)} ({safe(', '.join(pairs), 160)})" for rid, pairs in by_id.items()) + "[/]")
    for states, label, style in ((("expired",), "exceptions EXPIRED, counted as failures again", "red"),
                                 (("expiring",), "exceptions expiring within 14 days", "yellow"),
                                 (("overdue",), "remediation OVERDUE", "red")):
        hit = s.exceptions_in(*states)
        if hit:
            console.print(f"[{style}]warning: {w(label)} ({len(hit)}): "
                          + ", ".join(f"{safe(e.get('id'))} ({safe(i18n.date(e.get('expires') or e.get('due'), lang))})"
                                      for e in hit)
                          + "[/]")
    if s.deviations:
        console.print(f"[yellow]{w('deviations from the baseline (parameters that loosen a control)')}: " + "; ".join(
            f"{safe(d.get('host'))} {safe(d.get('control'))}.{safe(d.get('param'))}" for d in s.deviations[:20])
            + (" …" if len(s.deviations) > 20 else "") + "[/]")


def summary_from_doc(console: Console, doc: dict, *, results_path: str | None = None,
                     exit_code: int | None = None, fail_on: str = "info", lang: str = "en") -> None:
    """The summary of a results document (a saved results.json or the scan's own): hosts, failing
    controls, checks that could not be completed, open TOM measures, totals. The figures come from
    the report view (``report.view``), as in the Markdown summary. ``lang="de"`` prints German
    words (``report.i18n``'s for statuses); English prints the status codes."""
    s = build_view(doc, lang=lang)     # control titles and finding sentences in ``lang``

    def w(text: str) -> str:
        return _DE.get(text, text) if lang == "de" else text

    def st_word(st: str) -> str:
        return word(i18n.STATUS, st, lang) if lang != "en" else st

    def tom_word(st: str) -> str:
        return word(i18n.ROLLUP, st, lang) if lang != "en" else st

    table = Table(title=w("hosts"), show_lines=False)
    table.add_column(w("host"))
    table.add_column(w("address"))
    for st in STATUS_STYLE:
        table.add_column(st_word(st), justify="right", style=STATUS_STYLE[st])
    table.add_column(w("note"))
    for h in s.hosts:
        table.add_row(safe(h.name), safe(h.address), *[str(h.counts[st]) for st in STATUS_STYLE],
                      safe(h.note, 120))
    print_table(console, table)

    if len(s.failures) + len(s.measure_failures) > MAX_ROWS:
        # a fleet's findings host by host would be thousands of rows: one row per control instead
        t = Table(title=w("failing controls") + f" ({i18n.num(len(s.failures), lang)})")
        for col in ("severity", "control", "hosts", "title"):
            t.add_column(w(col))
        for g in s.failure_groups:
            sev = word(i18n.SEVERITY, g.severity, lang) if lang != "en" else g.severity
            shown = ", ".join(g.hosts[:3]) + (" …" if len(g.hosts) > 3 else "")
            t.add_row(safe(sev), safe(g.control), f"{len(g.hosts)}: {safe(shown, 80)}", safe(g.title, 120))
        print_table(console, t)
        if s.measure_failures:
            console.print(f"{w('failing results judged with a measure’s own parameters')}: "
                          f"{i18n.num(len(s.measure_failures), lang)}")
    elif s.failures or s.measure_failures:
        t = Table(title=w("failing controls"))
        for col in ("severity", "control", "host", "TOM", "finding"):
            t.add_column(w(col))
        for f in s.failures + s.measure_failures:
            sev = word(i18n.SEVERITY, f.severity, lang) if lang != "en" else f.severity
            t.add_row(safe(sev), safe(f.control), safe(f.host), safe(measure_ids(f), 80), safe(f.message, 200))
        print_table(console, t)
    if len(s.check_errors) > MAX_ROWS:
        t = Table(title=w("controls that could not be checked (error)") + f" ({i18n.num(len(s.check_errors), lang)})")
        for col in ("control", "reason", "hosts"):
            t.add_column(w(col))
        for g in s.error_groups:
            shown = ", ".join(g.hosts[:3]) + (" …" if len(g.hosts) > 3 else "")
            t.add_row(safe(g.control), safe(g.reason), f"{len(g.hosts)}: {safe(shown, 80)}")
        print_table(console, t)
    elif s.check_errors:
        t = Table(title=w("controls that could not be checked (error)"))
        for col in ("control", "host", "reason", "message"):
            t.add_column(w(col))
        for e in s.check_errors:
            t.add_row(safe(e.control), safe(e.host), safe(e.reason), safe(e.message, 200))
        print_table(console, t)
    if s.tom_counts:
        if s.tom_open:
            t = Table(title=w("TOM measures not met or not verified"))
            for col in ("item", "measure", "status", "hosts"):
                t.add_column(w(col))
            for m in s.tom_open:
                title = measure_title(m.title, lang)
                t.add_row(safe(m.id), safe(title, 80),
                          f"[{TOM_STYLE.get(m.status, 'dim')}]{safe(tom_word(m.status))}[/]",
                          safe(", ".join(m.hosts), 80))
            print_table(console, t)
        console.print(f"{w('TOM measures')}: " + ", ".join(f"[{TOM_STYLE[st]}]{s.tom_counts[st]} {tom_word(st)}[/]"
                                                          for st in TOM_STYLE if s.tom_counts.get(st)))
    if s.attestations:
        console.print(f"{w('attestations')}: " + ", ".join(
            f"{n} {safe(word(i18n.ATTESTATION_STATE, st, lang))}" for st, n in s.attestation_counts.items()))
        for measure, doc, st in s.attestation_document_problems:
            console.print(f"[red]{w('attested document')} {safe(doc, 120)} ({safe(measure)}): "
                          f"{safe(word(i18n.DOCUMENT_STATUS, st, lang))}[/]")
    print_exceptions(console, s, w, lang)
    if s.scope:     # were all servers tested? (scan --expect-hosts; report.scope_view)
        missing = [m.get("name") or "" for m in s.scope.get("missing_from_inventory") or []]
        console.print(("[yellow]" if missing else "") + safe(scope_view.summary(s.scope, lang), 400)
                      + (": " + safe(", ".join(missing), 200) if missing else "") + ("[/]" if missing else ""))
    console.print(f"{w('total')}: " + ", ".join(f"[{STATUS_STYLE[st]}]{i18n.num(n, lang)} {st_word(st)}[/]"
                                               for st, n in s.totals.items()))
    if results_path:
        console.print(f"{w('results')}: {safe(results_path)}")
    if exit_code is not None:
        meaning = {0: w("all clear"), 1: w("failures at or above '{x}'").format(x=safe(fail_on)),
                   2: w("scan incomplete (errors)") if s.complete else
                   w("scan interrupted: {n} of {m} host(s) finished").format(
                       n=len(s.hosts), m=len(s.hosts) + len(s.not_scanned))}
        console.print(f"{w('exit code')} {exit_code}: {meaning.get(exit_code, '')}")
