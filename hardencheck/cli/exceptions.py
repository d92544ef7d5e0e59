"""``hardencheck exceptions lint|list``: the response register (judge.exceptions).

``lint [FILE ...]`` validates the register (default: ``exceptions:`` of hardencheck.yml) as a scan
would before anything connects: every field, duplicate ids, unknown control ids, and with ``-i``
hosts and groups that match nothing in the inventory. ``list [--expiring 30d]`` prints the entries
with their state today (UTC); with ``--expiring`` only those that expire (or fall due) within that
time or already did.
"""

from __future__ import annotations

import re
import time

from rich.console import Console
from rich.table import Table

from hardencheck.cli.common import EXIT_OK, Parser
from hardencheck.config import load_settings
from hardencheck.errors import ConfigError, ConfigErrors
from hardencheck.inventory import load_inventory
from hardencheck.judge import exceptions as register
from hardencheck.judge.controls import load_controls
from hardencheck.report.terminal import print_table, safe

COMMANDS = {"exceptions": "the response register: lint it, list its entries and what expires"}

EXAMPLES = """examples:
  hardencheck exceptions lint inventories/exceptions.example.yml -i inventories/example.yml
  hardencheck exceptions list --expiring 30d            entries of hardencheck.yml's register

exit codes: 0 valid, 3 the register has errors (each names file, line and field)"""


def _days(value: str) -> int:
    m = re.fullmatch(r"(\d+)\s*([dw]?)", value.strip())
    if not m:
        raise ConfigError(f"--expiring takes days like 30d or 2w, got {value!r}", field="--expiring")
    return int(m.group(1)) * (7 if m.group(2) == "w" else 1)


def add_parsers(sub) -> None:
    e = sub.add_parser("exceptions", help=COMMANDS["exceptions"], description=COMMANDS["exceptions"],
                       epilog=EXAMPLES)
    esub = e.add_subparsers(dest="exceptions_command", required=True, parser_class=Parser)
    for name, helptext in (("lint", "validate the register (as a scan would before it connects)"),
                           ("list", "the entries and their state today (UTC)")):
        x = esub.add_parser(name, help=helptext)
        x.add_argument("files", nargs="*", metavar="FILE",
                       help="register files or folders (default: exceptions: in hardencheck.yml)")
        x.add_argument("--config", help="hardencheck.yml (default: $HARDENCHECK_CONFIG, else ./hardencheck.yml)")
        x.add_argument("--controls", help="control library folder (default: the shipped controls/)")
        x.add_argument("-i", "--inventory", help="check hosts and groups against this inventory")
        if name == "list":
            x.add_argument("--expiring", metavar="DAYS", help="only entries that expire or fall due within this "
                                                              "time (30d, 2w) or already did")


def _load(args):
    paths = args.files or load_settings(args.config).exceptions
    if not paths:
        raise ConfigError("no register: give FILE or set exceptions: in hardencheck.yml", field="exceptions")
    reg = register.load_register(paths)
    controls = load_controls(args.controls)
    hosts = load_inventory(args.inventory).hosts if args.inventory else None
    errors = register.check_register(reg, controls.by_id(), hosts if hosts is not None else [])
    if hosts is None:       # without an inventory only the control ids can be checked
        errors = [e for e in errors if "matches no" not in e.message]
    if errors:
        raise ConfigErrors(errors)
    return reg, hosts is not None


def run(args, console: Console) -> int:
    reg, with_inventory = _load(args)
    today = register.utc_date(time.time())
    if args.exceptions_command == "lint":
        where = ", ".join(f["path"] for f in reg.files)
        console.print(f"{len(reg.entries)} entr{'y' if len(reg.entries) == 1 else 'ies'} OK in {safe(where)}"
                      + ("" if with_inventory else " (hosts and groups not checked: give -i INVENTORY)"),
                      highlight=False)
        for loc in register.expiring_within(reg, today, register.EXPIRING_DAYS):
            console.print(f"[yellow]warning:[/] {safe(loc.file)}:{loc.line}: {safe(loc.entry.id)} is "
                          f"{register.state(loc.entry, today)} ({loc.entry.expires or loc.entry.due})")
        return EXIT_OK
    entries = reg.entries
    if args.expiring:
        entries = register.expiring_within(reg, today, _days(args.expiring) + 1)
    t = Table(title=f"response register on {today.isoformat()} (UTC)")
    for col in ("id", "action", "state", "controls", "hosts / groups", "expires / due", "approved by / owner",
                "justification"):
        t.add_column(col)
    style = {"expired": "red", "overdue": "red", "expiring": "yellow", "active": "green"}
    for loc in entries:
        e = loc.entry
        st = register.state(e, today)
        t.add_row(safe(e.id), e.action, f"[{style[st]}]{st}[/]", safe(", ".join(e.controls)),
                  safe(", ".join(e.hosts + [f"@{g}" for g in e.groups])), str(e.expires or e.due or "—"),
                  safe(e.approved_by or e.owner or "—"), safe(e.justification, 120))
    print_table(console, t)
    return EXIT_OK
