"""Command line: ``hardencheck scan``, ``hardencheck controls lint|list|show``, ``hardencheck probes``.

Exit codes (documented in the README):
  0  every result is pass, not_applicable or skipped
  1  at least one failure at or above --fail-on (default: any severity)
  2  no such failure, but some result is error (the scan is incomplete)
  3  usage or configuration error (nothing was scanned)
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import signal
import sys
import time
from pathlib import Path

from rich.console import Console

from hardencheck import __version__
from hardencheck.errors import ConfigError, ConfigErrors

EXIT_OK, EXIT_FAIL, EXIT_ERROR, EXIT_USAGE = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse exits 2 by default; 2 means "scan incomplete" here
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="hardencheck", description="Agentless hardening and TOM compliance checks over SSH.")
    p.add_argument("--version", action="version", version=f"hardencheck {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    s = sub.add_parser("scan", help="scan the hosts of an inventory (default: this machine)")
    s.add_argument("-i", "--inventory", help="inventory file (native YAML, Ansible YAML or INI); "
                                             "without it, this machine is scanned locally")
    s.add_argument("--limit", type=_csv, help="only these hosts or groups (comma-separated, globs allowed)")
    s.add_argument("--tags", type=_csv, help="only controls with one of these tags; the others are 'skipped'")
    s.add_argument("--control", dest="control_ids", type=_csv, help="only these control ids")
    s.add_argument("--controls", help="control library folder (default: the shipped controls/)")
    s.add_argument("--tom", default=os.environ.get("HARDENCHECK_TOM"),
                   help="TOM catalog that structures the results (default: $HARDENCHECK_TOM, else the "
                        "shipped controls/tom/default.yml)")
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
    s.add_argument("--connect-timeout", type=float, help="seconds for TCP, banner and authentication")
    s.add_argument("--command-timeout", type=float, help="seconds for the whole probe script on one host")
    s.add_argument("--sudo-password-env", metavar="VAR",
                   help="name of an environment variable holding the sudo password (never the password)")
    s.add_argument("--format", dest="formats", type=_csv, default=["html", "junit", "json"],
                   help="reports written into the run folder (default: html,junit,json; also md, csv)")
    s.add_argument("--lang", choices=["en", "de"], default="en", help="language of the reports")
    s.add_argument("--quiet", action="store_true", help="no progress lines, only the summary")
    s.add_argument("--config", help="hardencheck.yml (default: $HARDENCHECK_CONFIG, else ./hardencheck.yml)")
    s.add_argument("--sign-key", help="sign the bundle's manifest with this SSH key (ssh-keygen -Y sign; a "
                                      ".pub file uses the key in ssh-agent; default: sign_key from hardencheck.yml)")
    s.add_argument("--history", help="run history database (default: $HARDENCHECK_HISTORY, history in "
                                     "hardencheck.yml, else <out>/history.db)")
    s.add_argument("--no-history", action="store_true", help="do not record this run in the history")
    s.add_argument("--compare", choices=["last"], help="after the scan, show what changed since the last "
                                                       "run of the same inventory (needs the history)")
    s.add_argument("--fail-on-new", choices=["info", "low", "medium", "high", "critical"],
                   help="exit 1 only for failures at or above this severity that the last run did not have "
                        "(implies --compare last; known failures no longer fail the job)")

    r = sub.add_parser("report", help="render reports from a saved run (no rescanning)")
    r.add_argument("run", help="a run folder or its results.json")
    r.add_argument("--format", dest="formats", type=_csv, default=["html"],
                   help="comma-separated: html, junit, md, csv, json (default: html)")
    r.add_argument("--lang", choices=["en", "de"], default="en")
    r.add_argument("--out", help="folder for the reports (default: the run folder)")

    c = sub.add_parser("controls", help="the control library")
    csub = c.add_subparsers(dest="controls_command", required=True, parser_class=_Parser)
    for name, helptext in (("lint", "validate every control file"), ("list", "list the controls")):
        x = csub.add_parser(name, help=helptext)
        x.add_argument("path", nargs="?", help="control folder (default: the shipped controls/)")
    show = csub.add_parser("show", help="show one control")
    show.add_argument("id")
    show.add_argument("--controls", help="control folder")

    t = sub.add_parser("tom", help="the TOM catalog: its items and which controls prove them")
    tsub = t.add_subparsers(dest="tom_command", required=True, parser_class=_Parser)
    for name, helptext in (("show", "print the catalog tree with each item's controls"),
                           ("coverage", "items without a technical control, controls that prove no item"),
                           ("lint", "validate the catalog against the control library")):
        x = tsub.add_parser(name, help=helptext)
        x.add_argument("--tom", default=os.environ.get("HARDENCHECK_TOM"),
                       help="catalog file (default: $HARDENCHECK_TOM, else controls/tom/default.yml)")
        x.add_argument("--controls", help="control library folder")
        if name == "show":
            x.add_argument("--lang", choices=["en", "de"], default="en")

    sub.add_parser("probes", help="list the probes and what they collect")
    for module in _command_modules():
        module.add_parsers(sub)
    return p


def _command_modules():
    """Modules that bring their own subcommands: COMMANDS, add_parsers(sub), run(args, console)."""
    from hardencheck.cli import audit, history, verify

    return (verify, history, audit)


_abandoned_hosts = False   # an interrupted scan left host threads running


def entry() -> int:
    """Console-script entry: like ``main`` but, after an interrupted scan has written what it
    collected, exits at once instead of waiting for hosts still in flight."""
    code = main()
    if _abandoned_hosts:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console(stderr=False, highlight=False, soft_wrap=False)
    try:
        if args.command == "scan":
            return cmd_scan(args, console)
        if args.command == "controls":
            return cmd_controls(args, console)
        if args.command == "probes":
            return cmd_probes(console)
        if args.command == "tom":
            return cmd_tom(args, console)
        if args.command == "report":
            return cmd_report(args, console)
        for module in _command_modules():
            if args.command in module.COMMANDS:
                return module.run(args, console)
    except ConfigError as e:
        # plain text, one error per line, never wrapped: editors and CI parse "file:line"
        print("configuration error:", file=sys.stderr)
        for line in str(e).splitlines():
            print(f"  {line}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_USAGE


# -- scan --------------------------------------------------------------------------------------

def _load_hosts(args):
    from hardencheck.inventory import limit_hosts, load_inventory, local_inventory
    from hardencheck.inventory.ssh_config import apply_ssh_config

    inv = load_inventory(args.inventory) if args.inventory else local_inventory()
    hosts = limit_hosts(inv, args.limit) if args.limit else list(inv.hosts)
    ssh_config = args.ssh_config
    if ssh_config and not Path(ssh_config).exists():
        raise ConfigError("file not found", file=ssh_config)
    if ssh_config is None and Path("~/.ssh/config").expanduser().is_file():
        ssh_config = str(Path("~/.ssh/config").expanduser())
    out = []
    for h in hosts:
        if h.transport == "ssh" and ssh_config:
            h = apply_ssh_config(h, ssh_config, getattr(h, "explicit", set()))
        if args.connect_timeout:
            h.connect_timeout = args.connect_timeout
        if args.command_timeout:
            h.command_timeout = args.command_timeout
        if args.sudo_password_env:
            h.sudo_password_env = args.sudo_password_env
        out.append(h)
    if not out:
        raise ConfigError("no hosts selected", file=args.inventory)
    return inv, out


def cmd_scan(args, console: Console) -> int:
    from hardencheck.collect import engine
    from hardencheck.judge.controls import check_param_overrides, load_controls
    from hardencheck.report.terminal import Progress, summary_from_doc
    from hardencheck.records.bundle import BundleWriter, find_previous, inventory_key
    from hardencheck.config import history_path, load_settings
    from hardencheck.results import build_document, document_bytes, exit_code, outcome_to_json, utc
    from hardencheck.records.provenance import provenance
    from hardencheck.records.signature import check_key
    from hardencheck.collect.transports import make_transport

    if args.forks < 1:
        raise ConfigError("--forks must be at least 1")
    _check_formats(args.formats)
    from hardencheck.judge import tom

    controls = load_controls(args.controls)
    catalog = tom.load_catalog(args.tom, set(controls.by_id()))
    inv, hosts = _load_hosts(args)
    errors = []
    for h in hosts:
        errors += check_param_overrides(controls, h.params, f"{inv.path or 'inventory'} (host {h.name})")
    known = set(controls.by_id())
    if args.control_ids:
        unknown = [c for c in args.control_ids if c not in known]
        if unknown:
            errors.append(ConfigError(f"unknown control id(s): {', '.join(unknown)}", field="--control"))
    if errors:
        raise ConfigErrors(errors)
    if args.tags:
        all_tags = {t for lc in controls.controls for t in lc.control.tags}
        unknown = [t for t in args.tags if t not in all_tags]
        if unknown:
            raise ConfigError(f"no control has the tag(s) {', '.join(unknown)}; known: "
                              f"{', '.join(sorted(all_tags))}", field="--tags")

    settings = load_settings(args.config)
    sign_key = args.sign_key or settings.sign_key
    if sign_key:
        check_key(sign_key)
    compare = args.compare or ("last" if args.fail_on_new else None)
    if compare and args.no_history:
        raise ConfigError("--compare/--fail-on-new need the run history; drop --no-history", field="--no-history")

    started = time.time()
    run_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started)) + "-" + secrets.token_hex(3)
    out = Path(args.out)
    # opened before anything is written: a history this version cannot use is a config error
    history = None if args.no_history else _HistorySink(history_path(args.history, settings, out))
    run_dir = out / run_id
    run_dir.mkdir(parents=True, exist_ok=False)
    opts = engine.ScanOptions(
        tags=set(args.tags) if args.tags else None,
        control_ids=set(args.control_ids) if args.control_ids else None,
        forks=args.forks,
        tom_items=catalog.items_of_control(),
        transport_options={"known_hosts": args.known_hosts, "trust_on_first_use": args.trust_on_first_use},
        redactor=settings.redactor(),
    )
    key = inventory_key(inv.path)
    run = {
        "id": run_id,
        "started_at": utc(started),
        "ended_at": None,
        "complete": False,
        **provenance(),
        "inventory": {"path": inv.path, "key": key, "sha256": inv.sha256, "hosts": [h.name for h in hosts]},
        "controls": {"path": controls.root, "sha256": controls.sha256,
                     "ids": [lc.id for lc in controls.controls]},
        "options": {"limit": args.limit, "tags": args.tags, "control_ids": args.control_ids,
                    "fail_on": args.fail_on, "fail_on_new": args.fail_on_new, "forks": args.forks,
                    "trust_on_first_use": args.trust_on_first_use},
    }
    controls_json = [_control_json(lc) for lc in controls.controls]
    bundle = BundleWriter(run_dir, {
        "id": run_id, "started_at": run["started_at"], "ended_at": None, "tool": run["tool"],
        "python": run["python"], "scanner": run["scanner"],
        "inventory": {"key": key, "path": inv.path, "sha256": inv.sha256},
        "controls": {"sha256": controls.sha256}, "tom": {"sha256": catalog.sha256},
        "hosts_planned": [h.name for h in hosts],
    }, find_previous(out, key, run_id, run["started_at"]), sign_key,
        plan={"run": run, "controls": controls_json, "tom": {"catalog": tom.document(catalog)}})
    if history is not None:
        history.guard(lambda r: r.begin(run, controls_json, catalog.items_of_control(), tom.document(catalog),
                                        str(run_dir)))

    progress = Progress(console if not args.quiet else Console(quiet=True), len(hosts))
    if not args.quiet:
        console.print(f"hardencheck {__version__}: {len(hosts)} host(s), {len(controls.controls)} control(s), "
                      f"run {run_id}")
    complete = True
    finished: list = []

    def host_done(outcome):
        # persisted before anything else happens: a kill after this line loses nothing of the host
        host_json = outcome_to_json(outcome)
        rel, digest = bundle.add_host(host_json)
        if history is not None:
            history.guard(lambda r: r.host_done(host_json, rel, digest))
        finished.append(outcome)

    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        with progress:
            outcomes = engine.scan(hosts, controls, opts,
                                   lambda h, **kw: make_transport(h, **kw),
                                   on_event=(lambda *a: None) if args.quiet else progress.event,
                                   on_host_done=host_done)
    except KeyboardInterrupt:
        # Keep what was collected: finished hosts go into a results.json marked incomplete.
        global _abandoned_hosts
        _abandoned_hosts = True
        complete = False
        order = {h.name: i for i, h in enumerate(hosts)}
        outcomes = sorted(finished, key=lambda o: order[o.host.name])
        console.print(f"[red]interrupted[/]: {len(outcomes)} of {len(hosts)} host(s) finished; "
                      "their results are kept")
    finally:
        signal.signal(signal.SIGTERM, previous)
    ended = time.time()
    results = [r for o in outcomes for r in o.results]
    fail_on = args.fail_on or ("none" if args.fail_on_new else "info")
    code = exit_code(results, fail_on) if complete else EXIT_ERROR
    scanned = {o.host.name for o in outcomes}
    run.update(ended_at=utc(ended), complete=complete)
    run["inventory"]["not_scanned"] = [h.name for h in hosts if h.name not in scanned]
    doc = build_document(run, controls_json, outcomes)
    doc["tom"] = {"catalog": tom.document(catalog),
                  "items": tom.rollup(catalog, doc["results"], [o.host.name for o in outcomes])}
    if compare and history is not None:
        from hardencheck.records import drift

        comparison = history.guard(lambda r: drift.compare_with_previous(r.history, run_id))
        if comparison is not None:
            doc["comparison"] = comparison
            if args.fail_on_new and complete and drift.new_failures_at_or_above(comparison, args.fail_on_new):
                code = EXIT_FAIL
    run["exit_code"] = code
    data = document_bytes(doc)
    bundle.put("results.json", data)
    written, failed = write_reports(doc, run_dir, [f for f in args.formats if f != "json"], args.lang,
                                    results_sha256=hashlib.sha256(data).hexdigest())
    for path in written:
        bundle.adopt(path.relative_to(run_dir).as_posix())
    if failed and code == EXIT_OK:
        code = EXIT_ERROR   # the results are complete, but a deliverable is missing
    manifest_sha = bundle.seal("complete" if complete else "interrupted", run["ended_at"], exit_code=code)
    if history is not None:
        history.guard(lambda r: r.end(doc, manifest_sha))
        history.guard(lambda r: r.close())
        if history.error and code == EXIT_OK:
            code = EXIT_ERROR   # the run is in its bundle, but the history has a gap
    results_path = run_dir / "results.json"
    summary_from_doc(console, doc, results_path=str(results_path), exit_code=code,
                     fail_on=fail_on)
    if "comparison" in doc:
        from hardencheck.report.changes import print_comparison

        print_comparison(console, doc["comparison"])
    for path in written:
        console.print(f"report: {path}", markup=False, highlight=False)
    console.print(f"bundle: {run_dir} (check it with: hardencheck verify {run_dir})", markup=False,
                  highlight=False, soft_wrap=True)
    for fmt, err in failed:
        print(f"error: the {fmt} report could not be rendered ({err}); results.json is complete, "
              f"re-render with: hardencheck report {run_dir} --format {fmt} --out DIR", file=sys.stderr)
    return code


class _HistorySink:
    """The run history as the scan uses it: once open, a failing database (disk full, locked)
    costs the history of this run, never the scan; the bundle stays the full record."""

    def __init__(self, path: Path):
        from hardencheck.records.history import HistoryRecorder

        self.recorder = HistoryRecorder(path)
        self.path = path
        self.error: str | None = None

    def guard(self, use):
        """``use(recorder)``, unless the history already failed; a failure now is reported once."""
        if self.error is not None:
            return None
        try:
            return use(self.recorder)
        except Exception as e:  # noqa: BLE001 - reported, and the scan goes on
            self.error = f"{type(e).__name__}: {e}"
            print(f"error: the run history {self.path} stopped recording ({self.error}); the bundle holds "
                  f"every result; add it later with: hardencheck import <bundle>", file=sys.stderr)
            try:
                self.recorder.close()
            except Exception:  # noqa: BLE001
                pass
            return None


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def _control_json(lc) -> dict:
    c = lc.control
    return {"id": c.id, "title": c.title, "severity": c.severity, "tags": list(c.tags),
            "references": c.references.model_dump(), "probe": c.probe, "params": c.params,
            "description": c.description, "rationale": c.rationale, "remediation": c.remediation,
            "file": os.path.relpath(lc.file), "sha256": lc.sha256}


# -- controls / probes -------------------------------------------------------------------------

def cmd_controls(args, console: Console) -> int:
    from hardencheck.judge.controls import load_controls
    from rich.table import Table

    if args.controls_command == "lint":
        cs = load_controls(args.path)
        console.print(f"{len(cs.controls)} control(s) OK in {cs.root} (sha256 {cs.sha256[:16]}…)")
        return EXIT_OK
    if args.controls_command == "list":
        cs = load_controls(args.path)
        t = Table()
        for col in ("id", "severity", "probe", "tags", "title"):
            t.add_column(col)
        for lc in cs.controls:
            c = lc.control
            t.add_row(c.id, c.severity, c.probe, ",".join(c.tags), c.title)
        console.print(t)
        return EXIT_OK
    cs = load_controls(args.controls)
    lc = cs.by_id().get(args.id)
    if lc is None:
        raise ConfigError(f"no control {args.id!r}", field="id")
    console.print(Path(lc.file).read_text(encoding="utf-8"), markup=False, highlight=False)
    return EXIT_OK


def cmd_probes(console: Console) -> int:
    from hardencheck.collect.probes import registry
    from rich.table import Table

    t = Table()
    for col in ("probe", "commands", "arguments", "summary"):
        t.add_column(col)
    for name, p in sorted(registry().items()):
        t.add_row(name, ", ".join(p.commands), ", ".join(p.args), p.summary)
    console.print(t)
    return EXIT_OK


def cmd_tom(args, console: Console) -> int:
    from rich.tree import Tree

    from hardencheck.judge import tom
    from hardencheck.judge.controls import load_controls

    controls = load_controls(args.controls)
    catalog = tom.load_catalog(args.tom, set(controls.by_id()))
    if args.tom_command == "lint":
        console.print(f"{len(catalog.measures())} measure(s) OK in {catalog.path} "
                      f"(catalog {catalog.info.id} {catalog.info.version})")
        return EXIT_OK
    if args.tom_command == "coverage":
        cov = tom.coverage(catalog, [lc.id for lc in controls.controls])
        by_id = {it.id: it for it, _, _ in catalog.walk()}
        console.print(f"[bold]{catalog.info.title.en}[/] ({catalog.info.id} {catalog.info.version})")
        console.print(f"\n{len(cov['organisational_items'])} item(s) without a technical control "
                      "(need a person's attestation):")
        for i in cov["organisational_items"]:
            console.print(f"  {i}  {by_id[i].title.en}", markup=False)
        console.print(f"\n{len(cov['unmapped_controls'])} control(s) that prove no item of this catalog:")
        for c in cov["unmapped_controls"]:
            console.print(f"  {c}  {controls.by_id()[c].control.title}", markup=False)
        return EXIT_OK
    lang = args.lang
    root = Tree(f"[bold]{getattr(catalog.info.title, lang)}[/] ({catalog.info.id} {catalog.info.version}, "
                f"{catalog.info.date})")
    nodes = {(): root}
    for it, depth, parents in catalog.walk():
        parent = nodes[tuple(parents)]
        label = f"[bold]{it.id}[/] {getattr(it.title, lang)}"
        if it.items is None:
            cat = tom.CATEGORIES[it.category][lang]
            ctl = ", ".join(it.controls) if it.controls else (
                "organisatorisch" if lang == "de" else "organisational")
            label += f"  [dim]{cat} · Art. 32(1)({it.art32})[/]  → {ctl}"
        nodes[tuple(parents + [it.id])] = parent.add(label)
    console.print(root)
    return EXIT_OK


def _check_formats(formats: list[str]) -> None:
    from hardencheck.report import FORMATS

    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ConfigError(f"unknown report format(s) {', '.join(unknown)}; known: {', '.join(FORMATS)}",
                          field="--format")


def write_reports(doc: dict, folder: Path, formats: list[str], lang: str, *, results_sha256: str):
    """Render ``formats`` from the results document into ``folder`` (atomically, one file each).
    ``results_sha256`` is the hash of the results.json bytes the reports stand for.
    Returns (paths written, [(format, error)]): one broken renderer never costs the others."""
    from hardencheck.report import FORMATS, renderer
    from hardencheck.records.files import write_bytes_atomic

    written, failed = [], []
    sha = results_sha256
    for fmt in formats:
        path = folder / FORMATS[fmt][1]
        try:
            if fmt == "html":   # the report quotes the sha256 of results.json; compute it once
                data = renderer(fmt)(doc, lang, results_sha256=sha)
            else:
                data = renderer(fmt)(doc, lang)
            write_bytes_atomic(path, data)
        except Exception as e:  # a renderer bug: report it, keep going
            failed.append((fmt, f"{type(e).__name__}: {e}"))
            continue
        written.append(path)
    return written, failed


def cmd_report(args, console: Console) -> int:
    from hardencheck.records.bundle import document_from_hosts, is_bundle
    from hardencheck.report import load_results
    from hardencheck.results import document_bytes

    _check_formats(args.formats)
    src = Path(args.run)
    folder = src if src.is_dir() else src.parent
    try:
        doc, path = load_results(args.run)
        results_sha = hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        if not is_bundle(folder):
            raise ConfigError("no results.json there", file=args.run) from None
        try:   # a killed scan: its finished hosts, read from the bundle
            doc = document_from_hosts(folder)
        except (OSError, ValueError, KeyError) as e:
            raise ConfigError(f"the bundle has no results.json and its host files cannot be read ({e})",
                              file=args.run) from None
        path = folder / "results.json"
        results_sha = hashlib.sha256(document_bytes(doc)).hexdigest()
        print(f"note: {folder} has no results.json (the scan was killed); reporting the "
              f"{len(doc['hosts'])} host(s) that finished", file=sys.stderr)
    except ValueError as e:
        raise ConfigError(f"not a results.json: {e}", file=args.run) from None
    if not str(doc.get("schema_version", "")).startswith("1."):
        raise ConfigError(f"unsupported schema_version {doc.get('schema_version')!r} (this hardencheck "
                          "reads 1.x)", file=str(path), field="schema_version")
    out = Path(args.out) if args.out else folder
    if is_bundle(out):
        raise ConfigError("this is a sealed run bundle: files written into it would fail "
                          "`hardencheck verify`; choose another folder with --out", file=str(out), field="--out")
    written, failed = write_reports(doc, out, args.formats, args.lang, results_sha256=results_sha)
    for p in written:
        console.print(f"report: {p}", markup=False, highlight=False)
    for fmt, err in failed:
        print(f"error: the {fmt} report could not be rendered ({err})", file=sys.stderr)
    return EXIT_ERROR if failed else EXIT_OK
