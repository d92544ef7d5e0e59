"""``hardencheck controls lint|list|show``: the control library."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from hardencheck.cli.common import EXIT_OK, Parser
from hardencheck.errors import ConfigError
from hardencheck.judge.controls import load_controls

COMMANDS = {"controls": "the control library"}


def add_parsers(sub) -> None:
    c = sub.add_parser("controls", help=COMMANDS["controls"])
    csub = c.add_subparsers(dest="controls_command", required=True, parser_class=Parser)
    for name, helptext in (("lint", "validate every control file"), ("list", "list the controls")):
        x = csub.add_parser(name, help=helptext)
        x.add_argument("path", nargs="?", help="control folder (default: the shipped controls/)")
    show = csub.add_parser("show", help="show one control")
    show.add_argument("id")
    show.add_argument("--controls", help="control folder")


def run(args, console: Console) -> int:
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
