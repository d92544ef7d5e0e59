"""The annual effectiveness report: ``hardencheck audit``.

``hardencheck audit --from 2026-01-01 --to 2026-12-31 [--inventory KEY | --all] [--history PATH] [--out DIR]
[--lang de|en] [--tom CATALOG] [--allowed-signers FILE] [--no-bundle-check] [--expect-hosts FILE]`` reads every run of the period from the run history (read only),
computes the figures (``hardencheck.records.audit_document``) and writes ``DIR/audit.json`` (the figures) and
``DIR/audit.html`` (the report, rendered from the same figures). DIR defaults to
``reports/audit-FROM_TO``. Bad dates, a missing or foreign database, an unknown inventory key, runs of
several inventories in the period without ``--all``, or a broken catalog are ConfigErrors (exit 3).
Every run counted is checked against its bundle (``records.bundle_check``; ``--no-bundle-check`` skips it
and the report says so): exit 1 when a run is unverifiable (its bundle missing, altered, unsigned or badly
signed under an ``allowed_signers`` policy, or its history rows differ from it; the report is written and
names it), else 0, whatever the figures say. ``--expect-hosts FILE`` (or ``expect_hosts`` in
hardencheck.yml) adds ``scope``: the asset register's completeness over the period (judge.scope.period).
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
from hardencheck.judge import scope as judge_scope
from hardencheck.records.effectiveness_periods import document_digest
from hardencheck.report import audit_html, scope_view
from hardencheck.scan import scope
from hardencheck.report.terminal import safe

COMMANDS: dict[str, str] = {"audit": "annual effectiveness report over the run history (audit.html, audit.json)"}


def add_parsers(sub) -> None:
    p = sub.add_parser("audit", help=COMMANDS["audit"],
                       description="Per TOM item and control over all runs of a period: the share of runs in "
                                   "which it held on every host, the longest failing streak, time from failure "
                                   "to fix, days without a successful scan, and weekly/daily trends.")
    p.add_argument("--from", dest="date_from", required=True, metavar="YYYY-MM-DD", help="first day (UTC)")
    p.add_argument("--to", dest="date_to", required=True, metavar="YYYY-MM-DD", help="last day (UTC), inclusive")
    p.add_argument("--inventory", metavar="KEY",
                   help="only runs of this inventory (its path as given to scan, or 'local'); default: the one "
                        "inventory of the period's runs (several: refused unless --all)")
    p.add_argument("--all", action="store_true", help="every inventory of the period in one report")
    p.add_argument("--no-bundle-check", action="store_true",
                   help="do not check the runs against their bundles (the report says so; its figures are "
                        "then the history's alone)")
    p.add_argument("--allowed-signers", metavar="FILE",
                   help="OpenSSH allowed_signers: every run's bundle must be signed by one of them (default: "
                        "allowed_signers in hardencheck.yml; none: signatures are reported, not required)")
    p.add_argument("--history", metavar="PATH",
                   help="the run history database (default: $HARDENCHECK_HISTORY, history in hardencheck.yml, "
                        "else reports/history.db)")
    p.add_argument("--config", help="hardencheck.yml (default: $HARDENCHECK_CONFIG, else ./hardencheck.yml)")
    p.add_argument("--out", metavar="DIR", help="folder for audit.html and audit.json "
                                                "(default: reports/audit-FROM_TO)")
    p.add_argument("--lang", choices=["en", "de"], default="en")
    p.add_argument("--expect-hosts", metavar="FILE",
                   help="the asset register (CSV or JSON, as for scan): how many of its hosts the period's runs "
                        "scanned successfully, which were never planned or never scanned, and scanned hosts it lacks "
                        "(default: expect_hosts in hardencheck.yml)")
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
    settings = load_settings(args.config)
    db = history_path(args.history, settings, "reports")
    allowed = args.allowed_signers or settings.allowed_signers
    if allowed and not Path(allowed).is_file():
        raise ConfigError("allowed-signers file not found", file=allowed, field="--allowed-signers")
    if args.all and args.inventory:
        raise ConfigError("--all and --inventory exclude each other", field="--all")
    inventory = inventory_key(args.inventory) if args.inventory else None
    tom = args.tom or os.environ.get("HARDENCHECK_TOM") or None
    reader = HistoryReader(db)
    try:
        known = reader.inventory_keys()
        in_period = reader.period_inventory_keys(d0, d1) if inventory is None else []
    finally:
        reader.close()
    if inventory is not None and inventory not in known:
        raise ConfigError(f"no run of inventory {inventory!r} in the history; known: "
                          f"{', '.join(known) or 'none'}", field="--inventory")
    if inventory is None and not args.all:
        if len(in_period) > 1:
            raise ConfigError(f"the period has runs of {len(in_period)} inventories: {', '.join(in_period)}; "
                              "name one with --inventory KEY, or give --all to mix them in one report",
                              field="--inventory")
        inventory = in_period[0] if in_period else None
    register = scope.load(getattr(args, "expect_hosts", None) or settings.expect_hosts, False)
    t0 = time.perf_counter()
    doc = audit_document.audit(db, d0, d1, inventory=inventory, tom=tom, bundle_check=not args.no_bundle_check,
                               allowed_signers=allowed)
    if register is not None:    # the register's completeness over the period (judge.scope.period)
        doc["scope"] = judge_scope.period(register, doc["hosts"])
        doc["digest_sha256"] = document_digest(doc)
    t1 = time.perf_counter()
    out = Path(args.out) if args.out else Path("reports") / f"audit-{d0}_{d1}"
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "audit.json", doc)
    write_bytes_atomic(out / "audit.html", audit_html.render(doc, args.lang))
    t2 = time.perf_counter()
    o, g, r = doc["overall"], doc["gaps"], doc["runs"]
    console.print(f"audit {d0} – {d1}" + (f", inventory {inventory}" if inventory else ", all inventories")
                  + f": {r['total']} run(s), {r['successful']} successful", markup=False, highlight=False, soft_wrap=True)
    hl = o["headline"]
    console.print(f"technical measures: {hl['measures']}: {len(hl['classes']['held_all_period'])} held all period, "
                  f"{len(hl['classes']['fixed'])} held with failures fixed, {len(hl['classes']['failing'])} failing "
                  f"at period end, {len(hl['classes']['incomplete'])} with incomplete evidence, "
                  f"{len(hl['classes']['never_verified'])} never verified", markup=False, highlight=False,
                  soft_wrap=True)
    for w in doc["period"]["warnings"]:
        console.print(f"warning: {period_warning(w)}", markup=False, highlight=False, soft_wrap=True)
    if not r["bundle_check"]:
        console.print("warning: --no-bundle-check: the runs were not checked against their bundles; the figures are "
                      "the history's alone", markup=False, highlight=False, soft_wrap=True)
    else:
        sig = r["signatures"]
        console.print(f"bundles: {r['verified']} run(s) verified against their bundles, {r['unverifiable']} "
                      f"unverifiable; signatures: {sig['good']} by an allowed signer, {sig['unchecked']} signed and "
                      f"not checked against anyone, {sig['unsigned']} unsigned, {sig['bad']} bad"
                      + (f" (policy {allowed})" if allowed else " (no allowed_signers policy)"),
                      markup=False, highlight=False, soft_wrap=True)
        for x in r["list"]:
            c = x["bundle_check"]
            if c and c["status"] == "unverifiable":
                console.print(f"UNVERIFIABLE run {safe(x['run_id'])}: {safe(c['reason'], 600)}", highlight=False,
                              soft_wrap=True)
    if "scope" in doc:
        console.print(scope_view.audit_summary(doc["scope"], args.lang), markup=False, highlight=False,
                      soft_wrap=True)
    console.print(f"days without a successful scan: {g['days_without_successful_scan']} "
                  f"(longest gap {g['longest_days']})", markup=False, highlight=False, soft_wrap=True)
    console.print(f"wrote {out / 'audit.html'} and {out / 'audit.json'} "
                  f"(computed in {t1 - t0:.2f} s, rendered in {t2 - t1:.2f} s)", markup=False, highlight=False, soft_wrap=True)
    console.print(f"SHA-256 of the figures (quote this): {doc['digest_sha256']}", markup=False, highlight=False,
                  soft_wrap=True)
    return 1 if r["unverifiable"] else 0


def period_warning(w: dict) -> str:
    """One line for a ``period.warnings`` entry of audit.json."""
    k, n = w["kind"], w["n"]
    return {"no_runs": f"no run in the {n} requested day(s)",
            "before_first_run": f"{n} requested day(s) before the first run ({w.get('from')} – {w.get('to')})",
            "after_last_run": f"{n} requested day(s) after the last run ({w.get('from')} – {w.get('to')})",
            "not_evaluated": f"{n} requested day(s) after the evaluation time ({w.get('from')} – {w.get('to')}): "
                             "not evaluated",
            "before_period": f"{n} run(s) of the history before the period left out ({w.get('first')} – {w.get('last')})",
            "after_period": f"{n} run(s) of the history after the period left out ({w.get('first')} – {w.get('last')})",
            "after_evaluated_end": f"{n} run(s) dated after the evaluation time, not counted ({w.get('first')} – "
                                   f"{w.get('last')})"}.get(k, k)
