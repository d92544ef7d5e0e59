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

from hardencheck.results import SEVERITY_ORDER, HostOutcome, status_counts

_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
STATUS_STYLE = {"pass": "green", "fail": "red", "error": "magenta", "not_applicable": "dim", "skipped": "dim"}


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
    (connecting, collecting); every finished host is printed above it with its counts. When the
    output is not a terminal (CI logs), only the finished-host lines are printed."""

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


TOM_STYLE = {"met": "green", "not_met": "red", "not_verified": "magenta", "organisational": "yellow",
             "not_assessed": "dim", "not_applicable": "dim"}


def summary(console: Console, outcomes: list[HostOutcome], *, results_path: str | None = None,
            exit_code: int | None = None, fail_on: str = "info", tom_items: list | None = None) -> None:
    table = Table(title="hosts", show_lines=False)
    table.add_column("host")
    table.add_column("address")
    for s in STATUS_STYLE:
        table.add_column(s, justify="right", style=STATUS_STYLE[s])
    table.add_column("note")
    for o in outcomes:
        c = status_counts(o.results)
        note = ""
        if o.host.status != "ok" and o.host.error:
            note = f"{o.host.error.get('reason')}: {o.host.error.get('message')}"
        elif o.host.error:
            note = f"{o.host.error.get('reason')}: {o.host.error.get('message')}"
        table.add_row(safe(o.host.name), safe(o.host.identity.get("address", "")),
                      *[str(c[s]) for s in STATUS_STYLE], safe(note, 120))
    console.print(table)

    failing = [r for o in outcomes for r in o.results if r.status == "fail"]
    failing.sort(key=lambda r: (-SEVERITY_ORDER[r.severity], r.control, r.host))
    if failing:
        t = Table(title="failing controls")
        for col in ("severity", "control", "host", "finding"):
            t.add_column(col)
        for r in failing:
            t.add_row(r.severity, r.control, safe(r.host), safe(r.message, 200))
        console.print(t)
    errors = [r for o in outcomes if o.host.status == "ok" for r in o.results if r.status == "error"]
    if errors:
        t = Table(title="controls that could not be checked (error)")
        for col in ("control", "host", "reason", "message"):
            t.add_column(col)
        for r in errors:
            t.add_row(r.control, safe(r.host), safe(r.reason), safe(r.message, 200))
        console.print(t)
    if tom_items:
        measures = [i for i in tom_items if not i["group"]]
        counts: dict[str, int] = {}
        for m in measures:
            counts[m["status"]] = counts.get(m["status"], 0) + 1
        open_items = [m for m in measures if m["status"] in ("not_met", "not_verified")]
        if open_items:
            t = Table(title="TOM measures not met or not verified")
            for col in ("item", "measure", "status", "hosts"):
                t.add_column(col)
            for m in open_items:
                hosts = ", ".join(h for h, st in m["hosts"].items() if st == m["status"])
                t.add_row(m["id"], safe(m["title"]["en"], 80), f"[{TOM_STYLE[m['status']]}]{m['status']}[/]",
                          safe(hosts, 80))
            console.print(t)
        console.print("TOM measures: " + ", ".join(f"[{TOM_STYLE[s]}]{counts[s]} {s}[/]"
                                                   for s in TOM_STYLE if counts.get(s)))
    totals = status_counts([r for o in outcomes for r in o.results])
    console.print("total: " + ", ".join(f"[{STATUS_STYLE[s]}]{n} {s}[/]" for s, n in totals.items()))
    if results_path:
        console.print(f"results: {safe(results_path)}")
    if exit_code is not None:
        meaning = {0: "all clear", 1: f"failures at or above '{fail_on}'", 2: "scan incomplete (errors)"}
        console.print(f"exit code {exit_code}: {meaning.get(exit_code, '')}")
