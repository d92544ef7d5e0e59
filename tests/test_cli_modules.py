"""The command line loads only the module of the command it runs (a scan does not import the
annual report, the history or the print edition, nor paramiko's ``invoke``), and its command
table agrees with the modules."""

import importlib
import json
import pkgutil
import subprocess
import sys

import hardencheck.cli as cli
from hardencheck.scan.run import EXIT_IO


def test_the_command_table_names_every_command_of_every_cli_module():
    names = [m.name for m in pkgutil.iter_modules(cli.__path__) if m.name != "common"]
    table = {}
    for name in names:
        for command in importlib.import_module(f"hardencheck.cli.{name}").COMMANDS:
            table[command] = name
    assert table == cli.COMMAND_MODULES
    assert cli.EXIT_IO == EXIT_IO


def _loaded_after(argv: list[str]) -> set[str]:
    code = ("import json, sys; from hardencheck.cli import parse; parse(%r); "
            "print(json.dumps(sorted(sys.modules)))" % (argv,))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out))


def test_a_scan_command_line_imports_only_what_a_scan_needs():
    loaded = _loaded_after(["scan", "--no-history"])
    assert "hardencheck.cli.scan" in loaded and "paramiko" in loaded
    assert "invoke" not in loaded          # paramiko loads without it (hardencheck._paramiko)
    for other in ("hardencheck.cli.audit", "hardencheck.cli.history", "hardencheck.cli.merge",
                  "hardencheck.records.audit_document", "hardencheck.report.audit_html"):
        assert other not in loaded, other


def test_help_and_unknown_commands_still_know_every_command(capsys):
    assert set(cli.COMMAND_MODULES) <= set(_loaded_choices())
    proc = subprocess.run([sys.executable, "-m", "hardencheck", "scna"], capture_output=True, text=True)
    assert proc.returncode == 3 and "scan" in proc.stderr


def _loaded_choices():
    import argparse
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices
