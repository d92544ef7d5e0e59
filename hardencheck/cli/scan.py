"""``hardencheck scan``: parse the options, show progress and the outcome; the scan itself is
``hardencheck.scan`` (plan, run, record)."""

from __future__ import annotations

import os
import signal
import sys

from rich.console import Console

from hardencheck import __version__
from hardencheck.cli.common import HelpFormatter, csv_list
from hardencheck.inventory import Host
from hardencheck.scan import gc_settings
from hardencheck.scan.outcome import EXIT_IO
from hardencheck.scan.request import ScanRequest
from hardencheck.scan.selection import select

# Imported in run(), after the first hosts' connections have been started (collect.head_start):
# the control library, the run's records and the reports (pydantic models, the probe modules,
# rich's tables) take about 0.15 s to import, which the connections then overlap.

COMMANDS = {"scan": "scan the hosts of an inventory (default: this machine)"}

#: set when an interrupted scan left host threads running; ``cli.entry`` then exits at once
abandoned_hosts = False


EXAMPLES = """examples:
  sudo hardencheck scan                                  this machine (local transport, no SSH)
  hardencheck scan -i inventories/prod.yml               every host of the inventory over SSH
  hardencheck scan -i inv.yml --limit web,db1 --tags ssh --fail-on high
  hardencheck scan -i inv.yml --fail-on-new high         CI: fail only on new failures
  hardencheck scan -i inv.yml --format html,md --lang de --sign-key ~/.ssh/hc_sign
  hardencheck scan -i inv.yml --expect-hosts assets.csv --fail-on-missing-hosts   were all servers tested?

exit codes: 0 all clear, 1 failures at or above --fail-on, 2 incomplete (errors), 3 usage or
configuration error (nothing scanned), 4 the bundle or the history could not be written (disk full,
I/O error)"""


def add_parsers(sub) -> None:
    s = sub.add_parser("scan", help=COMMANDS["scan"], description=COMMANDS["scan"], epilog=EXAMPLES,
                       formatter_class=HelpFormatter)
    s.add_argument("-i", "--inventory", help="inventory file (native YAML, Ansible YAML, INI or the JSON of "
                                             "ansible-inventory --list); "
                                             "without it, this machine is scanned locally")
    s.add_argument("--ansible-dir", metavar="DIR",
                   help="playbook directory whose group_vars/ and host_vars/ apply to an Ansible inventory, "
                        "above those beside the inventory (as ansible-inventory --playbook-dir)")
    s.add_argument("--limit", type=csv_list, help="only these hosts or groups (comma-separated, globs allowed)")
    s.add_argument("--tags", type=csv_list, help="only controls with one of these tags; the others are 'skipped'")
    s.add_argument("--control", dest="control_ids", type=csv_list, help="only these control ids")
    s.add_argument("--skip-tags", type=csv_list, metavar="TAGS",
                   help="leave out controls with one of these tags ('skipped': not run in this scan), e.g. "
                        "filesystem-walk nightly and the full library weekly; the annual report counts a control "
                        "left out that night as not run, as long as it ran in the period")
    s.add_argument("--controls", action="append", metavar="DIR",
                   help="a folder of your own controls, merged with the library (repeatable; an id defined twice "
                        "is an error; default: controls in hardencheck.yml)")
    s.add_argument("--library", metavar="DIR", help="a control library replacing the shipped controls/")
    s.add_argument("--tom", default=os.environ.get("HARDENCHECK_TOM"),
                   help="TOM catalog that structures the results (default: $HARDENCHECK_TOM, else the "
                        "shipped controls/tom/default.yml)")
    s.add_argument("--only-catalog", action="store_true",
                   help="run only the controls the TOM catalog maps (the others are 'skipped'), so a company's "
                        "job is judged by its own TOM")
    s.add_argument("--run-id", metavar="ID", help="the run's id and folder name (e.g. the CI pipeline id; default: "
                                                "start time and a random suffix)")
    s.add_argument("--shard", metavar="K/N", help="scan only the K-th of N stable shares of the hosts and write a shard "
                                                   "bundle (no history, no chain); 'hardencheck merge' joins the shards")
    s.add_argument("--shard-by", choices=["host", "group"], default="host",
                   help="host: by a hash of the host name (default); group: whole groups (a host's first group) dealt "
                        "to the shards in name order, e.g. one shard per network zone")
    s.add_argument("--resume", metavar="RUN_DIR",
                   help="continue an interrupted or killed run in place: same run id, only the hosts without a host "
                        "file are scanned; refused unless inventory, controls, catalog and options are the run's")
    s.add_argument("--out", default="reports", help="where the run folder is created (default: reports/)")
    s.add_argument("--fail-on", choices=["info", "low", "medium", "high", "critical", "none"],
                   help="lowest severity whose failure makes the exit code 1 (default: info = any; "
                        "none with --fail-on-new)")
    s.add_argument("--forks", type=int, default=20, help="hosts scanned in parallel (default: 20)")
    s.add_argument("--ssh-config", help="OpenSSH client config to honour (default: ~/.ssh/config if present)")
    s.add_argument("--known-hosts", action="append", help="known_hosts file (repeatable); overrides the "
                                                          "inventory and ssh_config")
    s.add_argument("--trust-on-first-use", action="store_true",
                   help="record unknown host keys instead of refusing them (changed keys are still refused)")
    s.add_argument("--connect-timeout", type=float,
                   help=f"seconds for TCP, banner and authentication (default: the inventory's connect_timeout, "
                        f"else {Host.connect_timeout:g})")
    s.add_argument("--command-timeout", type=float,
                   help=f"seconds for the whole probe script on one host (default: the inventory's "
                        f"command_timeout, else {Host.command_timeout:g})")
    s.add_argument("--idle-timeout", type=float,
                   help=f"seconds a host may send nothing before it is cut as a timeout (a hung host costs "
                        f"this, not the whole command timeout; the filesystem walks may be quiet longer; "
                        f"0: no idle limit; default: the inventory's idle_timeout, else {Host.idle_timeout:g})")
    s.add_argument("--jump-max-sessions", type=int, metavar="N",
                   help="targets in flight at a time through one jump host, whose one shared connection they use "
                        "(default: the inventory's jump_max_sessions, else 8: below sshd's MaxStartups start of 10)")
    s.add_argument("--sudo-password-env", metavar="VAR",
                   help="name of an environment variable holding the sudo password (never the password)")
    s.add_argument("--format", dest="formats", type=csv_list, default=["html", "junit", "json"],
                   help="reports written into the run folder (default: html,junit,json; also md, csv, oscal, pdf)")
    s.add_argument("--lang", choices=["en", "de"], default="en", help="language of the reports")
    s.add_argument("--quiet", action="store_true", help="no progress lines, only the summary")
    s.add_argument("--config", help="hardencheck.yml (default: $HARDENCHECK_CONFIG, else ./hardencheck.yml)")
    s.add_argument("--exceptions", action="append", metavar="FILE",
                   help="the response register: a file or a folder of files, repeatable (default: exceptions "
                        "in hardencheck.yml); an active risk_accepted/false_positive entry turns a fail into 'waived'")
    s.add_argument("--attestations", metavar="FILE", help="attestations of organisational TOM measures (default: "
                                                          "attestations in hardencheck.yml)")
    s.add_argument("--testinfra", action="append", metavar="PATH",
                   help="pytest-testinfra test file or folder (repeatable; default: testinfra in hardencheck.yml): each "
                        "test marked @pytest.mark.hardencheck(id=..., title=..., severity=...) is a control, run on "
                        "every host over hardencheck's connection (one exec per command: slower than YAML controls)")
    s.add_argument("--sign-key", help="sign the bundle's manifest with this SSH key (ssh-keygen -Y sign; a "
                                      ".pub file uses the key in ssh-agent; default: sign_key from hardencheck.yml)")
    s.add_argument("--history", help="run history database (default: $HARDENCHECK_HISTORY, history in "
                                     "hardencheck.yml, else <out>/history.db)")
    s.add_argument("--no-history", action="store_true", help="do not record this run in the history")
    s.add_argument("--exposure", action="store_true",
                   help="also scan the hosts' addresses from here with nmap (one run, in parallel with SSH; a SYN "
                        "scan as root, else a connect scan): the net.exposure controls judge what the network "
                        "sees; settings: exposure in hardencheck.yml")
    s.add_argument("--expect-hosts", metavar="FILE",
                   help="the asset register (CSV or JSON export: a name column fqdn/hostname/host_name/host/name, "
                        "optional environment): hosts it names that the inventory lacks, inventory hosts it lacks, and "
                        "hosts without a successful scan for --stale-days go into the report's scope section "
                        "(default: expect_hosts in hardencheck.yml)")
    s.add_argument("--fail-on-missing-hosts", action="store_true",
                   help="exit 2 (incomplete) when the register names hosts the inventory lacks")
    s.add_argument("--stale-days", type=int, metavar="N",
                   help="scope: list hosts without a successful scan in the last N days (default: stale_days in "
                        "hardencheck.yml, else 7)")
    s.add_argument("--compare", choices=["last"], help="after the scan, show what changed since the last "
                                                       "run of the same inventory (needs the history)")
    s.add_argument("--fail-on-new", choices=["info", "low", "medium", "high", "critical"],
                   help="exit 1 only for failures at or above this severity that the last run did not have "
                        "(implies --compare last; known failures no longer fail the job)")


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def head_start(req: ScanRequest, selection, resume: str | None = None):
    """The first hosts' connections, opened while the plan loads (``collect.head_start``); None
    where opening them early could do more than a scan that is refused at once would: with
    --trust-on-first-use (it writes known_hosts), --resume (which hosts are left is in the run
    folder), or an identity file the plan will refuse."""
    if req.trust_on_first_use or resume or selection.identity_errors:
        return None
    from hardencheck.collect.head_start import HeadStart
    return HeadStart.start(selection.hosts, req.forks, req.transport_options())


def run(args, console: Console) -> int:
    req = ScanRequest.from_namespace(args)
    req.check()
    selection = select(req)
    head = head_start(req, selection, args.resume)
    try:
        return _run(args, console, req, selection, head)
    finally:
        if head is not None:
            head.close()     # what no host took: a refused plan, an interrupt, a bundle not created


def _run(args, console: Console, req: ScanRequest, selection, head) -> int:
    from hardencheck.records.provenance import user
    from hardencheck.scan.plan import prepare
    from hardencheck.scan.run import BundleWriteError, ScanRun
    plan = prepare(req, selection)
    if os.geteuid() != 0 and any(h.transport == "local" and not h.become for h in plan.hosts):
        print(f"note: this machine is scanned as {user()}, not root: what only root may read (shadow, sudoers, "
              "firewall rules, logs ...) ends as error 'permission_denied'; for a complete scan run it as "
              "root (sudo)", file=sys.stderr)
    scan = ScanRun(plan, resume=args.resume)
    try:
        scan.open()
    except BundleWriteError as e:
        print(f"error: cannot create the run folder: {e}; nothing was scanned", file=sys.stderr)
        return EXIT_IO
    with gc_settings.for_scan():
        return _scan(args, console, plan, scan, head)


def _scan(args, console: Console, plan, scan, head) -> int:
    """The opened run: its hosts scanned, the run finished, what it wrote printed."""
    global abandoned_hosts
    from hardencheck.collect.transports import make_transport
    from hardencheck.report.changes import print_comparison
    from hardencheck.report.terminal import Progress, summary_from_doc
    progress = Progress(console if not args.quiet else Console(quiet=True), len(scan.hosts_to_scan))
    if not args.quiet:
        console.print(f"hardencheck {__version__}: {scan.host_count} host(s), {len(plan.controls.controls)} "
                      f"control(s), run {scan.run_id}")
        if scan.resumed is not None:
            console.print(f"resuming: {scan.host_count - len(scan.hosts_to_scan)} host(s) finished before, "
                          f"{len(scan.hosts_to_scan)} to scan", markup=False, highlight=False)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        with progress:
            outcomes, complete = scan.collect((lambda *a: None) if args.quiet else progress.event,
                                              head.transport_factory if head is not None else make_transport)
    finally:
        signal.signal(signal.SIGTERM, previous)
    if not complete:
        # hosts still in flight are not waited for: entry() exits without joining their threads
        abandoned_hosts = True
    if not complete and scan.bundle_error is None:
        console.print(f"[red]interrupted[/]: {len(outcomes)} of {scan.host_count} host(s) finished; "
                      "their results are kept")
    result = scan.finish(outcomes, complete)
    run_dir = result.run_dir
    if result.error:
        # one line (CI logs grep it): the file, the errno, what the bundle keeps
        print(f"error: {result.error}", file=sys.stderr)
        return result.code
    summary_from_doc(console, result.doc, results_path=str(run_dir / "results.json"), exit_code=result.code,
                     fail_on=result.fail_on, lang=args.lang)
    if "comparison" in result.doc:
        print_comparison(console, result.doc["comparison"])
    for path in result.written:
        console.print(f"report: {path}", markup=False, highlight=False, soft_wrap=True)
    console.print(f"bundle: {run_dir} (check it with: hardencheck verify {run_dir})", markup=False,
                  highlight=False, soft_wrap=True)
    for fmt, err in result.failed:
        print(f"error: the {fmt} report could not be rendered ({err}); results.json is complete, "
              f"re-render with: hardencheck report {run_dir} --format {fmt} --out DIR", file=sys.stderr)
    if result.code == EXIT_IO:
        print(f"exit code {EXIT_IO}: the run history could not be written (see the error above); the bundle "
              f"{run_dir} is complete", file=sys.stderr)
    return result.code
