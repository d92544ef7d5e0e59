"""Reports: every format is rendered from one saved results.json document (no rescanning).

One module per format, each with ``render(doc: dict, lang: str) -> bytes``, registered in
``FORMATS``. ``doc`` is the parsed results.json (schema 1.x, see results.py); renderers treat
every string that came from a host (stdout, stderr, actual values, messages, host names) as
hostile input.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Callable

#: format name -> (module, file name in the run folder)
FORMATS: dict[str, tuple[str, str]] = {
    "json": ("hardencheck.report.json_format", "results.json"),
    "html": ("hardencheck.report.html", "report.html"),
    "junit": ("hardencheck.report.junit", "junit.xml"),
    "md": ("hardencheck.report.markdown", "summary.md"),
    "csv": ("hardencheck.report.csv_format", "results.csv"),
}
LANGS = ("en", "de")


def renderer(fmt: str) -> Callable[[dict, str], bytes]:
    module, _ = FORMATS[fmt]
    return importlib.import_module(module).render


def load_results(path: str | Path) -> tuple[dict, Path]:
    """A run folder or a results.json file -> (document, path of results.json)."""
    p = Path(path)
    if p.is_dir():
        p = p / "results.json"
    doc = json.loads(p.read_text(encoding="utf-8"))
    return doc, p
