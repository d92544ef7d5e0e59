"""``hardencheck probes``: the probes and what they collect."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from hardencheck.cli.common import EXIT_OK
from hardencheck.collect.probes import registry

COMMANDS = {"probes": "list the probes and what they collect"}


def add_parsers(sub) -> None:
    sub.add_parser("probes", help=COMMANDS["probes"])


def run(args, console: Console) -> int:
    t = Table()
    for col in ("probe", "commands", "arguments", "summary"):
        t.add_column(col)
    for name, p in sorted(registry().items()):
        t.add_row(name, ", ".join(p.commands), ", ".join(p.args), p.summary)
    console.print(t)
    return EXIT_OK
