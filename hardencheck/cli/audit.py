"""The annual effectiveness report: ``hardencheck audit``.

``hardencheck audit --from 2026-01-01 --to 2026-12-31 [--inventory KEY] [--history PATH] [--out DIR]
[--lang de|en] [--tom CATALOG]`` reads every run of the period from the run history (read only),
computes the figures (``hardencheck.records.audit_document``) and writes ``DIR/audit.json`` (the figures) and
``DIR/audit.html`` (the report, rendered from the same figures). DIR defaults to
``reports/audit-FROM_TO``. Bad dates, a missing or foreign database, an unknown inventory key or a
broken catalog are ConfigErrors (exit 3); otherwise the exit code is 0, whatever the figures say.
"""

from __future__ import annotations

import os
import time
from datetime import date
from pathlib import Path

from hardencheck.config import history_path, load_settings
from hardencheck.errors import ConfigError
from hardencheck.records import audit_document
from hardencheck.records.bundle import inventory_key
from hardencheck.records.files import write_bytes_atomic, write_json_atomic
from hardencheck.records.history import HistoryReader
from hardencheck.report import audit_html

COMMANDS: dict[str, str] = {"audit": "annual effectiveness report over the run history (audit.html, audit.json)"}


def add_parsers(sub) -> None:
    p = sub.add_parser("audit", help=COMMANDS["audit"],
                       description="Per TOM item and control over all runs of a period: the share of runs in "
                                   "which it held on every host, the longest failing streak, time from failure "
                                   "to fix, days without a successful scan, and weekly/daily trends.")
    p.add_argument("--from", dest="date_from", required=True, metavar="YYYY-MM-DD", help="first day (UTC)")
    p.add_argument("--to", dest="date_to", required=True, metavar="YYYY-MM-DD", help="last day (UTC), inclusive")
    p.add_argument("--inventory", metavar="KEY",
                   help="only runs of this inventory (its path as given to scan, or 'local'); default: all")
    p.add_argument("--history", metavar="PATH",
                   help="the run history database (default: $HARDENCHECK_HISTORY, history in hardencheck.yml, "
                        "else reports/history.db)")
    p.add_argument("--config", help="hardencheck.yml (default: $HARDENCHECK_CONFIG, else ./hardencheck.yml)")
    p.add_argument("--out", metavar="DIR", help="folder for audit.html and audit.json "
                                                "(default: reports/audit-FROM_TO)")
    p.add_argument("--lang", choices=["en", "de"], default="en")
    p.add_argument("--tom", metavar="CATALOG",
                   help="TOM catalog that structures the report (default: the one recorded with the latest run "
                        "of the period, else the built-in default; also $HARDENCHECK_TOM)")


def _day(value: str, flag: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ConfigError(f"not a date (YYYY-MM-DD): {value!r}", field=flag) from None


def run(args, console) -> int:
    d0, d1 = _day(args.date_from, "--from"), _day(args.date_to, "--to")
    if d1 < d0:
        raise ConfigError(f"--to {d1} is before --from {d0}", field="--to")
    # the history beside the bundles (reports/), wherever the audit files go
    db = history_path(args.history, load_settings(args.config), "reports")
    inventory = inventory_key(args.inventory) if args.inventory else None
    tom = args.tom or os.environ.get("HARDENCHECK_TOM") or None
    if inventory is not None:
        reader = HistoryReader(db)
        try:
            known = reader.inventory_keys()
        finally:
            reader.close()
        if inventory not in known:
            raise ConfigError(f"no run of inventory {inventory!r} in the history; known: "
                              f"{', '.join(known) or 'none'}", field="--inventory")
    t0 = time.perf_counter()
    doc = audit_document.audit(db, d0, d1, inventory=inventory, tom=tom)
    t1 = time.perf_counter()
    out = Path(args.out) if args.out else Path("reports") / f"audit-{d0}_{d1}"
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "audit.json", doc)
    write_bytes_atomic(out / "audit.html", audit_html.render(doc, args.lang))
    t2 = time.perf_counter()
    o, g, r = doc["overall"], doc["gaps"], doc["runs"]
    console.print(f"audit {d0} – {d1}" + (f", inventory {inventory}" if inventory else ", all inventories")
                  + f": {r['total']} run(s), {r['successful']} successful", markup=False, highlight=False, soft_wrap=True)
    console.print(f"measures held in every run: {o['items_held_every_run']} of {o['items_judged']}; "
                  f"with failures: {o['items_with_failures']}; still failing at the end: {o['items_open']}",
                  markup=False, highlight=False, soft_wrap=True)
    console.print(f"days without a successful scan: {g['days_without_successful_scan']} "
                  f"(longest gap {g['longest_days']})", markup=False, highlight=False, soft_wrap=True)
    console.print(f"wrote {out / 'audit.html'} and {out / 'audit.json'} "
                  f"(computed in {t1 - t0:.2f} s, rendered in {t2 - t1:.2f} s)", markup=False, highlight=False, soft_wrap=True)
    return 0
