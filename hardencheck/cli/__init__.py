"""Command line: one module per subcommand, each with ``COMMANDS`` (name -> help),
``add_parsers(sub)`` and ``run(args, console) -> exit code``. The CLI parses and prints; the
work is done by the packages it calls (scan, records, report, judge).

Exit codes (documented in the README, defined in ``cli.common``):
  0  every result is pass, not_applicable or skipped
  1  at least one failure at or above --fail-on (default: any severity)
  2  no such failure, but some result is error (the scan is incomplete)
  3  usage or configuration error (nothing was scanned)
  4  the run's records could not be written (disk full, I/O error on the output folder or the
     history); also any command's unexpected I/O error, in one line naming the path and errno
"""

from __future__ import annotations

import argparse
import importlib
import os
import sqlite3
import sys

from hardencheck import __version__
from hardencheck.cli.common import EXIT_USAGE, HelpFormatter, Parser
from hardencheck.errors import ConfigError
from hardencheck.records.files import describe_os_error

EXIT_IO = 4     # as hardencheck.scan.run.EXIT_IO (not imported here: see COMMAND_MODULES)

#: command -> the module of hardencheck.cli that defines it, in the order ``hardencheck --help``
#: lists them. A command line imports only its own command's module (``hardencheck scan`` loads
#: neither the audit report nor the history code): a one-host scan starts about 0.2 s sooner.
#: tests/test_cli_modules.py checks this table against each module's ``COMMANDS``.
COMMAND_MODULES = {"scan": "scan", "merge": "merge", "report": "report", "controls": "controls", "tom": "tom",
                   "exceptions": "exceptions", "probes": "probes", "verify": "verify", "signoff": "signoff",
                   "history": "history", "diff": "history", "prune": "history", "import": "history",
                   "audit": "audit"}


def _modules(argv: list[str] | None) -> list:
    """The cli modules to build the parser from: the named command's, or all (help, a typo)."""
    args = sys.argv[1:] if argv is None else argv
    first = next((a for a in args if not a.startswith("-")), None)
    names = [COMMAND_MODULES[first]] if first in COMMAND_MODULES else list(dict.fromkeys(COMMAND_MODULES.values()))
    return [importlib.import_module(f"hardencheck.cli.{n}") for n in names]


EXAMPLES = """examples:
  sudo hardencheck scan                              this machine, reports in reports/<run>/
  hardencheck scan -i inventories/prod.yml --fail-on high
  hardencheck report reports/<run> --format md --lang de
  hardencheck verify --chain reports/
  hardencheck audit --from 2026-01-01 --to 2026-12-31

'hardencheck COMMAND --help' shows the options of a command."""


def build_parser(modules: list | None = None) -> Parser:
    p = Parser(prog="hardencheck", description="Agentless hardening and TOM compliance checks over SSH.",
               epilog=EXAMPLES, formatter_class=HelpFormatter)
    p.add_argument("--version", action="version", version=f"hardencheck {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for module in modules if modules is not None else _modules([]):
        module.add_parsers(sub)
    return p


def parse(argv: list[str] | None):
    """(parser, args); an unknown option is refused by the subcommand it was given to."""
    parser = build_parser(_modules(argv))
    args, extra = parser.parse_known_args(argv)
    if extra:
        subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        (subparsers.choices.get(args.command) or parser).unknown_arguments(extra)
    return parser, args


def entry() -> int:
    """Console-script entry: like ``main`` but, after an interrupted scan has written what it
    collected, exits at once instead of waiting for hosts still in flight."""
    code = main()
    scan = sys.modules.get("hardencheck.cli.scan")
    if scan is not None and scan.abandoned_hosts:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def main(argv: list[str] | None = None) -> int:
    parser, args = parse(argv)
    if args.command is None:          # a bare `hardencheck`: what it can do, not an error
        parser.print_help()
        return 0
    from rich.console import Console
    console = Console(stderr=False, highlight=False, soft_wrap=False)
    try:
        return importlib.import_module(f"hardencheck.cli.{COMMAND_MODULES[args.command]}").run(args, console)
    except ConfigError as e:
        # plain text, one error per line, never wrapped: editors and CI parse "file:line"
        print("configuration error:", file=sys.stderr)
        for line in str(e).splitlines():
            print(f"  {line}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as e:
        # a full disk or an I/O error: one line naming the file and the errno, never a traceback
        print(f"error: {describe_os_error(e)}", file=sys.stderr)
        return EXIT_IO
    except sqlite3.OperationalError as e:
        # the run history's database: disk full, I/O error, read-only, locked
        code = getattr(e, "sqlite_errorname", None)
        print(f"error: the run history database: {e}" + (f", {code}" if code else ""), file=sys.stderr)
        return EXIT_IO
