"""``hardencheck report``: render reports from a saved run (no rescanning)."""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console

from hardencheck.cli.common import EXIT_ERROR, EXIT_OK, check_formats, csv_list
from hardencheck.errors import ConfigError
from hardencheck.records.bundle import is_bundle
from hardencheck.records.run_folder import load_saved_run
from hardencheck.report.rendering import write_reports

COMMANDS = {"report": "render reports from a saved run (no rescanning)"}


def add_parsers(sub) -> None:
    r = sub.add_parser("report", help=COMMANDS["report"])
    r.add_argument("run", help="a run folder or its results.json")
    r.add_argument("--format", dest="formats", type=csv_list, default=["html"],
                   help="comma-separated: html, pdf (headless Chromium), junit, md, csv, json, oscal (default: html)")
    r.add_argument("--lang", choices=["en", "de"], default="en")
    r.add_argument("--out", help="folder for the reports (default: the run folder)")


def run(args, console: Console) -> int:
    check_formats(args.formats)
    saved = load_saved_run(args.run)
    if saved.killed:
        print(f"note: {saved.path.parent} has no results.json (the scan was killed); reporting the "
              f"{len(saved.doc['hosts'])} host(s) that finished", file=sys.stderr)
    src = Path(args.run)
    folder = src if src.is_dir() else src.parent
    if args.out:
        out = Path(args.out)
        if is_bundle(out):
            raise ConfigError("this is a sealed run bundle: files written into it would fail "
                              "`hardencheck verify`; choose another folder with --out", file=str(out),
                              field="--out")
    elif is_bundle(folder):
        # a sealed bundle is never written into (verify would report the files as added): the
        # reports go into a folder beside it
        out = folder.parent / f"{folder.name}-reports"
        console.print(f"{folder} is a sealed run bundle: writing the reports to {out}", markup=False,
                      highlight=False, soft_wrap=True)
    else:
        out = folder
    written, failed = write_reports(saved.doc, out, args.formats, args.lang, results_sha256=saved.results_sha256,
                                    signoff=saved.signoff)
    for p in written:
        console.print(f"report: {p}", markup=False, highlight=False, soft_wrap=True)
    for fmt, err in failed:
        print(f"error: the {fmt} report could not be rendered ({err})", file=sys.stderr)
    return EXIT_ERROR if failed else EXIT_OK
