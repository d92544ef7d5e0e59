"""The report's probe snippets: for a fleet, each distinct shell snippet is shown once, in the
appendix, and every evidence record refers to it by number and SHA-256.

A snippet is numbered when the host view first shows a record that ran it. The appendix comes
after the host view in the page, so by then every snippet is known, and the evidence is read
once for the host view instead of once more beforehand only to list the snippets (a scan's
evidence is read back from its host files, one host at a time: ``records.host_files``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from hardencheck.report.html_text import _A, clip


class Snippets:
    """The snippets met so far, in the order first met (numbered from 1)."""

    def __init__(self):
        self._by_code: dict[str, _A] = {}

    def of(self, rec: dict[str, Any]) -> _A:
        """The snippet an evidence record ran, numbered on first sight."""
        code = rec.get("code", "")
        sn = self._by_code.get(code)
        if sn is None:
            n = len(self._by_code) + 1
            sha = hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()
            sn = self._by_code[code] = _A({"n": n, "anchor": f"s{n}", "sha": sha, "sha16": sha[:16],
                                           "code": clip(code, preview=False), "probe": rec.get("probe", ""),
                                           "command": rec.get("command", "")})
        return sn

    def __len__(self) -> int:
        return len(self._by_code)

    def __iter__(self) -> Iterator[_A]:
        return iter(list(self._by_code.values()))
