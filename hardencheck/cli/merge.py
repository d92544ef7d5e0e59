"""``hardencheck merge``: the shard bundles of one run (a CI matrix) become one normal run bundle."""

from __future__ import annotations

import sys

from rich.console import Console

from hardencheck.cli.common import HelpFormatter, csv_list
from hardencheck.report.terminal import summary_from_doc
from hardencheck.scan import gc_settings
from hardencheck.scan.merge import load_shards
from hardencheck.scan.plan import prepare
from hardencheck.scan.run import BundleWriteError, EXIT_IO, ScanRun

COMMANDS = {"merge": "join the shard bundles of one run (scan --shard K/N) into one run bundle"}

EXAMPLES = """examples:
  hardencheck scan -i inv.yml --run-id "$CI_PIPELINE_ID" --shard 2/4 --out shards/    (one job of four)
  hardencheck merge shards/*.shard-*-of-4 --out reports/ --sign-key ~/.ssh/hc_sign

The shards must share the run id, the shard count and the plan (inventory, controls, catalog,
options: the files they name are read again and must be unchanged). A missing or unfinished shard
makes the merged run incomplete: exit code 2, its hosts listed as not scanned."""


def add_parsers(sub) -> None:
    m = sub.add_parser("merge", help=COMMANDS["merge"], description=COMMANDS["merge"], epilog=EXAMPLES,
                       formatter_class=HelpFormatter)
    m.add_argument("shards", nargs="+", metavar="SHARD_DIR", help="shard bundles written by scan --shard K/N")
    m.add_argument("--out", default="reports", help="where the merged run folder is created (default: reports/)")
    m.add_argument("--format", dest="formats", type=csv_list, default=["html", "junit", "json"],
                   help="reports written into the run folder (default: html,junit,json)")
    m.add_argument("--lang", choices=["en", "de"], default="en", help="language of the reports")
    m.add_argument("--config", help="hardencheck.yml (default: $HARDENCHECK_CONFIG, else ./hardencheck.yml)")
    m.add_argument("--sign-key", help="sign the merged bundle's manifest with this SSH key")
    m.add_argument("--allowed-signers", help="check each shard's signature against this allowed_signers file")
    m.add_argument("--history", help="run history database (default as for scan)")
    m.add_argument("--no-history", action="store_true", help="do not record the merged run in the history")
    m.add_argument("--expect-hosts", metavar="FILE",
                   help="asset register (CSV or JSON) the merged run is reconciled with (default: expect_hosts in "
                        "hardencheck.yml)")
    m.add_argument("--fail-on-missing-hosts", action="store_true",
                   help="exit 2 when the register names hosts the inventory lacks")
    m.add_argument("--stale-days", type=int, metavar="N",
                   help="list hosts without a successful scan in the last N days (default: stale_days, else 7)")
    m.add_argument("--quiet", action="store_true", help="only the summary")


def run(args, console: Console) -> int:
    shards = load_shards(args.shards, args.allowed_signers)
    plan = prepare(shards.request(out=args.out, formats=args.formats, lang=args.lang, config=args.config,
                                  sign_key=args.sign_key, history=args.history, no_history=args.no_history,
                                  expect_hosts=args.expect_hosts, fail_on_missing_hosts=args.fail_on_missing_hosts,
                                  stale_days=args.stale_days))
    scan = ScanRun(plan, merge=shards)
    for k in shards.missing:
        print(f"warning: shard {k}/{shards.count} is missing: its hosts are not scanned and the merged run is "
              "incomplete", file=sys.stderr)
    for b in shards.bundles:
        if b.manifest["run"].get("state") != "complete" or b.state != "ok":
            print(f"warning: shard {b.shard['index']}/{b.shard['count']} ({b.folder}) is "
                  f"{b.manifest['run'].get('state')}, verified {b.state}: the merged run is incomplete", file=sys.stderr)
    try:
        scan.open()
    except BundleWriteError as e:
        print(f"error: cannot create the run folder: {e}", file=sys.stderr)
        return EXIT_IO
    with gc_settings.for_scan():
        outcomes, complete = scan.collect()
        result = scan.finish(outcomes, complete)
    if result.error:
        print(f"error: {result.error}", file=sys.stderr)
        return result.code
    summary_from_doc(console, result.doc, results_path=str(result.run_dir / "results.json"),
                     exit_code=result.code, fail_on=result.fail_on, lang=args.lang)
    console.print(f"merged {len(shards.bundles)} of {shards.count} shard(s), {len(outcomes)} of "
                  f"{len(shards.planned)} host(s): {result.run_dir} (check it with: hardencheck verify "
                  f"{result.run_dir})", markup=False, highlight=False, soft_wrap=True)
    return result.code
