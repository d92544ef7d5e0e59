"""The README's control table is the library's: every control with its severity, title and the
default catalog's measures, in id order (run this file as a script to print the table)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from hardencheck.judge import tom
from hardencheck.judge.controls import load_controls

README = Path(__file__).resolve().parents[1] / "README.md"


def _key(cid: str):
    area, _, num = cid.rpartition("-")
    return area, int(num)


def control_table() -> str:
    controls = load_controls()
    items = tom.load_catalog(None, controls).items_of_control()
    rows = ["| control | severity | title | TOM item (default catalog) |", "| --- | --- | --- | --- |"]
    for lc in sorted(controls.controls, key=lambda lc: _key(lc.id)):
        c = lc.control
        rows.append(f"| {c.id} | {c.severity} | {c.title} | {', '.join(items.get(c.id, [])) or '—'} |")
    return "\n".join(rows) + "\n"


def test_readme_lists_every_control():
    text = README.read_text(encoding="utf-8")
    table = control_table()
    assert table in text, "README's control table is out of date; print it with: python tests/test_readme_controls.py"
    n = len(table.splitlines()) - 2
    assert re.search(rf"\b{n} controls in `controls/`", text), f"README should say '{n} controls in `controls/`'"


if __name__ == "__main__":
    sys.stdout.write(control_table())
