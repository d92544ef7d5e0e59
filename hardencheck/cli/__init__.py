"""Command line: one module per subcommand, each with ``COMMANDS`` (name -> help),
``add_parsers(sub)`` and ``run(args, console) -> exit code``. The CLI parses and prints; the
work is done by the packages it calls (scan, records, report, judge).

Exit codes (documented in the README, defined in ``cli.common``):
  0  every result is pass, not_applicable or skipped
  1  at least one failure at or above --fail-on (default: any severity)
  2  no such failure, but some result is error (the scan is incomplete)
  3  usage or configuration error (nothing was scanned)
"""

from __future__ import annotations

import os
import sys

from rich.console import Console

from hardencheck import __version__
from hardencheck.cli import audit, controls, history, probes, report, scan, tom, verify
from hardencheck.cli.common import EXIT_USAGE, Parser
from hardencheck.errors import ConfigError

#: in the order ``hardencheck --help`` lists them
SUBCOMMANDS = (scan, report, controls, tom, probes, verify, history, audit)


def build_parser() -> Parser:
    p = Parser(prog="hardencheck", description="Agentless hardening and TOM compliance checks over SSH.")
    p.add_argument("--version", action="version", version=f"hardencheck {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    for module in SUBCOMMANDS:
        module.add_parsers(sub)
    return p


def entry() -> int:
    """Console-script entry: like ``main`` but, after an interrupted scan has written what it
    collected, exits at once instead of waiting for hosts still in flight."""
    code = main()
    if scan.abandoned_hosts:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console(stderr=False, highlight=False, soft_wrap=False)
    try:
        for module in SUBCOMMANDS:
            if args.command in module.COMMANDS:
                return module.run(args, console)
    except ConfigError as e:
        # plain text, one error per line, never wrapped: editors and CI parse "file:line"
        print("configuration error:", file=sys.stderr)
        for line in str(e).splitlines():
            print(f"  {line}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_USAGE
