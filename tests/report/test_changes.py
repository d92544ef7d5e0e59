"""The changes between two runs on the terminal (hardencheck/report/changes.py)."""

from __future__ import annotations

import io

from rich.console import Console

from hardencheck.report.changes import print_comparison
from tests.records.test_drift import every_kind_of_change


def test_print_comparison(tmp_path):
    cmp = every_kind_of_change(tmp_path)
    buf = io.StringIO()
    print_comparison(Console(file=buf, width=200, color_system=None), cmp)
    text = buf.getvalue()
    assert "changes since run r1" in text and "new failures (4)" in text and "fixed (2)" in text
    assert "hosts gone: gone (not_in_run)" in text and "controls changed: SSH-002" in text
    assert "2 still failing" in text and "still failing (" not in text      # a count only, unless asked
    buf = io.StringIO()
    print_comparison(Console(file=buf, width=200, color_system=None), cmp, show_still_failing=True)
    assert "still failing (2)" in buf.getvalue()
