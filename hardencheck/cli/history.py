"""Commands over the run history: ``history``, ``diff``, ``prune``, ``import`` (issue 6).

History path: ``--history PATH``, else ``$HARDENCHECK_HISTORY``, else ``history`` in hardencheck.yml,
else ``OUT/history.db`` (OUT = ``--out``, default ``reports``) -- the same as ``scan``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from hardencheck.config import history_path, load_settings
from hardencheck.errors import ConfigError
from hardencheck.records import drift
from hardencheck.records.history import History
from hardencheck.report.changes import print_comparison
from hardencheck.report.terminal import print_table

COMMANDS: dict[str, str] = {
    "history": "list the runs in the run history",
    "diff": "what changed between two runs (default: the last two complete runs of an inventory)",
    "prune": "remove runs older than --keep from the history and their bundles from disk",
    "import": "add run folders (bundles, or folders with a results.json) to the run history",
}


def _common(p) -> None:
    p.add_argument("--history", help="run history database (default: $HARDENCHECK_HISTORY, history in "
                                     "hardencheck.yml, else <out>/history.db)")
    p.add_argument("--out", default="reports", help="the folder of the run bundles (default: reports/)")
    p.add_argument("--config", help="hardencheck.yml (default: $HARDENCHECK_CONFIG, else ./hardencheck.yml)")


def add_parsers(sub) -> None:
    p = sub.add_parser("history", help=COMMANDS["history"])
    _common(p)
    p.add_argument("--inventory", help="only runs of this inventory key (the inventory path as given to scan)")
    p.add_argument("--json", action="store_true", help="print JSON")

    d = sub.add_parser("diff", help=COMMANDS["diff"])
    d.add_argument("old", nargs="?", help="run id or bundle folder (default: the second-last run)")
    d.add_argument("new", nargs="?", help="run id or bundle folder (default: the last run)")
    _common(d)
    d.add_argument("--inventory", help="inventory key for the default runs (default: that of the latest run)")
    d.add_argument("--json", action="store_true", help="print JSON")
    d.add_argument("--all", dest="show_still_failing", action="store_true",
                   help="also list the failures that were already there")

    r = sub.add_parser("prune", help=COMMANDS["prune"])
    r.add_argument("--keep", required=True, help="keep runs younger than this: Nd (days) or Nw (weeks), e.g. 400d")
    _common(r)
    r.add_argument("--inventory", help="only runs of this inventory key")
    r.add_argument("--dry-run", action="store_true", help="list what would be removed, remove nothing")

    i = sub.add_parser("import", help=COMMANDS["import"])
    i.add_argument("folders", nargs="+", metavar="FOLDER")
    _common(i)


def _history_path(args) -> Path:
    return history_path(args.history, load_settings(args.config), args.out)


def _open(args, *, must_exist: bool = True):
    path = _history_path(args)
    if must_exist and not path.exists():
        raise ConfigError("no run history there (scan or import runs first, or give --history)", file=str(path))
    return History(path)


def parse_keep(text: str) -> float:
    m = re.fullmatch(r"\s*(\d+)\s*([dw])\s*", text or "")
    if not m or int(m.group(1)) < 1:
        raise ConfigError(f"--keep {text!r}: give a positive number of days or weeks, e.g. 400d or 57w",
                          field="--keep")
    return int(m.group(1)) * (7 if m.group(2) == "w" else 1)


def run(args, console) -> int:
    return {"history": cmd_history, "diff": cmd_diff, "prune": cmd_prune, "import": cmd_import}[args.command](
        args, console)


def cmd_history(args, console) -> int:
    with _open(args) as h:
        runs = h.runs(args.inventory)
    if args.json:
        print(json.dumps({"runs": runs}, indent=1, ensure_ascii=False))
        return 0
    t = Table(title=f"{len(runs)} run(s)")
    for col, just, wrap in (("run", "left", False), ("started (UTC)", "left", False), ("inventory", "left", True),
                            ("hosts", "right", False), ("pass", "right", False), ("fail", "right", False),
                            ("error", "right", False), ("state", "left", False), ("exit", "right", False),
                            ("source", "left", False)):
        t.add_column(col, justify=just, no_wrap=not wrap, overflow="fold")
    for r in runs:
        hosts = f"{r['hosts_scanned']}/{r['hosts_planned']}" if r["hosts_planned"] else str(r["hosts_scanned"])
        state = {"complete": "complete", "interrupted": "[red]interrupted[/]",
                 "running": "[yellow]running[/]"}[r["state"]]
        t.add_row(r["run_id"], (r["started_at"] or "")[:19].replace("T", " "), r["inventory_key"], hosts,
                  str(r["counts"]["pass"]), str(r["counts"]["fail"]), str(r["counts"]["error"]),
                  state, "" if r["exit_code"] is None else str(r["exit_code"]),
                  "import" if r["imported"] else "scan")
    print_table(console, t)
    return 0


def _resolve(h, ref: str) -> str:
    got = h.find(ref)
    if got is None:
        raise ConfigError(f"no run {ref!r} in the history (a run id, or a bundle folder: import it with "
                          f"`hardencheck import {ref}`)", file=h.path)
    return got["run_id"]


def cmd_diff(args, console) -> int:
    if args.new is None and args.old is not None:
        # one argument: compare it with its predecessor
        with _open(args) as h:
            new = h.find(args.old)
            if new is None:
                _resolve(h, args.old)
            prev = h.previous(new)
            if prev is None:
                raise ConfigError(f"run {new['run_id']} has no earlier complete run of inventory "
                                  f"{new['inventory_key']!r}")
            cmp = drift.compare(h, prev["run_id"], new["run_id"])
    elif args.old is not None:
        path = _history_path(args)
        local = [ref for ref in (args.old, args.new) if Path(ref).exists()]
        if not path.exists() and len(local) == 2:
            # two bundle folders and no history yet: compare them in memory
            with History(":memory:") as h:
                ids = [h.import_run(ref)["run_id"] for ref in (args.old, args.new)]
                cmp = drift.compare(h, ids[0], ids[1])
        else:
            with _open(args) as h:
                cmp = drift.compare(h, _resolve(h, args.old), _resolve(h, args.new))
    else:
        with _open(args) as h:
            last = h.last_runs(args.inventory, 2)
            if len(last) < 2:
                raise ConfigError(f"fewer than two complete runs of inventory "
                                  f"{args.inventory or (last[0]['inventory_key'] if last else '(any)')!r} "
                                  f"in the history", file=h.path)
            cmp = drift.compare(h, last[0]["run_id"], last[1]["run_id"])
    if args.json:
        print(json.dumps(cmp, indent=1, ensure_ascii=False))
    else:
        print_comparison(console, cmp, show_still_failing=args.show_still_failing)
    return 0


def cmd_prune(args, console) -> int:
    days = parse_keep(args.keep)
    with _open(args) as h:
        done = h.prune(days, keep_text=args.keep, dry_run=args.dry_run, inventory=args.inventory, out=args.out)
    verb = "would remove" if args.dry_run else "removed"
    passive = "would be removed" if args.dry_run else "removed"
    for d in done:
        folder = ("bundle " + escape(d["bundle_path"])) if d["bundle_removed"] else (
            f"bundle kept: {escape(d['bundle_kept_because'] or '')}")
        console.print(f"{verb} {escape(d['run_id'])} ({escape(d['started_at'] or '?')}, "
                      f"{escape(d['inventory_key'])}); {folder}")
    console.print(f"{len(done)} run(s) older than {escape(args.keep)} {passive}" +
                  ("" if args.dry_run or not done else "; recorded in the history and in pruned.jsonl"))
    return 0


def cmd_import(args, console) -> int:
    failed = 0
    with _open(args, must_exist=False) as h:
        for folder in args.folders:
            try:
                got = h.import_run(folder)
            except ConfigError as e:
                failed += 1
                print(f"error: {e}", file=sys.stderr)
                continue
            what = "already in the history" if got["status"] == "exists" else f"imported ({got['state']})"
            console.print(f"{escape(got['run_id'])}: {what}")
    return 3 if failed else 0
