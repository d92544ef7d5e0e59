"""What every subcommand shares: exit codes, the argument parser class, small argument types."""

from __future__ import annotations

import argparse
import difflib
import sys

from hardencheck.errors import ConfigError
from hardencheck.report import FORMATS

# Exit codes (documented in the README):
EXIT_OK = 0      # every result is pass, not_applicable or skipped
EXIT_FAIL = 1    # at least one failure at or above --fail-on (default: any severity)
EXIT_ERROR = 2   # no such failure, but some result is error (the scan is incomplete)
EXIT_USAGE = 3   # usage or configuration error (nothing was scanned)


class Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse exits 2 by default; 2 means "scan incomplete" here
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")

    def unknown_arguments(self, extra: list[str]) -> None:
        """Refuse arguments this (sub)command does not know, with its own usage and, for a
        mistyped option, the option that was probably meant."""
        hints = []
        known = [o for a in self._actions for o in a.option_strings]
        for arg in extra:
            if arg.startswith("-"):
                close = difflib.get_close_matches(arg.split("=", 1)[0], known, n=1, cutoff=0.6)
                if close:
                    hints.append(f"{arg}: did you mean {close[0]}?")
        self.error(f"unrecognized arguments: {' '.join(extra)}" + ("; " + "; ".join(hints) if hints else ""))


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the examples in an epilog as written."""


def csv_list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def check_formats(formats: list[str]) -> None:
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ConfigError(f"unknown report format(s) {', '.join(unknown)}; known: {', '.join(FORMATS)}",
                          field="--format")
