"""``hardencheck controls lint|list|show``: the control library."""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from hardencheck.cli.common import EXIT_OK, Parser
from hardencheck.errors import ConfigError, ConfigErrors
from hardencheck.judge.controls import load_controls, translation_errors

COMMANDS = {"controls": "the control library"}


def add_parsers(sub) -> None:
    c = sub.add_parser("controls", help=COMMANDS["controls"])
    csub = c.add_subparsers(dest="controls_command", required=True, parser_class=Parser)
    for name, helptext in (("lint", "validate every control file (German de: block included)"), ("list", "list the controls")):
        x = csub.add_parser(name, help=helptext)
        x.add_argument("path", nargs="?", help="control folder (default: the shipped controls/)")
    show = csub.add_parser("show", help="show one control")
    show.add_argument("id")
    show.add_argument("--controls", help="control folder")


def run(args, console: Console) -> int:
    if args.controls_command == "lint":
        cs = load_controls(args.path)
        missing = [e for lc in cs.controls for e in translation_errors(lc)]
        if missing:
            raise ConfigErrors(missing)
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
    by_id = {i.upper(): lc for i, lc in cs.by_id().items()}   # ids are upper case; ssh-001 means SSH-001
    lc = by_id.get(args.id.upper())
    if lc is None:
        close = difflib.get_close_matches(args.id.upper(), list(by_id), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else "; `hardencheck controls list` lists them"
        raise ConfigError(f"no control {args.id!r}{hint}", field="id")
    # the file as it is, byte for byte (no console wrapping): `controls show X > x.yml` is valid YAML
    sys.stdout.write(Path(lc.file).read_text(encoding="utf-8"))
    sys.stdout.flush()
    return EXIT_OK
