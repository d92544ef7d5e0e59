"""The changes between two runs on the terminal: ``print_comparison`` renders the dict of
``hardencheck.records.drift.compare`` (``hardencheck diff``, ``scan --compare``)."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from hardencheck.records.drift import LISTS
from hardencheck.report.terminal import print_table, safe

TITLES = {
    "new_failures": "new failures", "still_failing": "still failing", "fixed": "fixed",
    "failures_not_rechecked": "failing before, not rechecked now", "new_errors": "new errors",
    "errors_resolved": "errors resolved",
}
SHOWN = 50


def print_comparison(console, cmp: dict, *, show_still_failing: bool = False) -> None:
    """The comparison on the terminal (rich); ``still_failing`` only as a count unless asked."""
    o, n = cmp["old"], cmp["new"]
    console.print(f"changes since run {escape(o['run_id'])} ({escape(o['started_at'] or '?')}, {o['state']}) "
                  f"-> {escape(n['run_id'])} ({escape(n['started_at'] or '?')}, {n['state']})", soft_wrap=True)
    if not cmp["same_inventory"]:
        console.print(f"[yellow]note[/]: different inventories ({escape(o['inventory_key'])} / "
                      f"{escape(n['inventory_key'])})")
    c = cmp["counts"]
    console.print(", ".join(f"{c[k]} {TITLES[k]}" for k in LISTS) +
                  f"; hosts: {c['hosts_added']} added, {c['hosts_gone']} gone, {c['hosts_unreachable']} "
                  f"unreachable; controls: {c['controls_added']} added, {c['controls_removed']} removed, "
                  f"{c['controls_changed']} changed", soft_wrap=True)
    style = {"new_failures": "red", "new_errors": "yellow", "fixed": "green", "errors_resolved": "green",
             "failures_not_rechecked": "yellow", "still_failing": "dim"}
    for k in LISTS:
        rows = cmp[k]
        if not rows or (k == "still_failing" and not show_still_failing):
            continue
        t = Table(title=f"{TITLES[k]} ({len(rows)})", title_style=style[k], expand=False)
        for col in ("severity", "control", "host", "before", "after", "finding"):
            t.add_column(col, overflow="fold")
        for e in rows[:SHOWN]:
            t.add_row(e["severity"], escape(e["control"]), escape(e["host"]), e["before"] or "-", e["after"] or "-",
                      safe(e["message"] or e["reason"] or "", 160))
        if len(rows) > SHOWN:
            t.add_row("…", f"{len(rows) - SHOWN} more", "", "", "", "")
        print_table(console, t)
    for k, label in (("hosts_added", "hosts added"), ("hosts_gone", "hosts gone"),
                     ("hosts_unreachable", "hosts not reachable now"),
                     ("hosts_reachable_again", "hosts reachable again")):
        if cmp[k]:
            console.print(f"{label}: " + ", ".join(
                escape(h["host"]) + (f" ({escape(str(h.get('reason') or h.get('why') or ''))})"
                                     if h.get("reason") or h.get("why") else "") for h in cmp[k]))
    for k, label in (("controls_added", "controls added"), ("controls_removed", "controls removed"),
                     ("controls_changed", "controls changed")):
        if cmp[k]:
            console.print(f"{label}: " + ", ".join(escape(x["control"]) for x in cmp[k]))
