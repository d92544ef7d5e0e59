"""Reports: every format is rendered from one saved results.json document (no rescanning).

The document is counted once, into a ``ReportView`` (``report.view``); every format is one
module with ``render(view: ReportView, lang: str) -> bytes``, registered in ``FORMATS`` with
the file it writes into a run folder. Status, severity, reason and roll-up words come from
``report.i18n``. Renderers treat every string that came from a host (stdout, stderr, actual
values, messages, host names) as hostile input.

Adding a format: a module with ``render(view, lang)`` and one line in ``FORMATS``. Rendering
(one format, all of a run's formats, written into a folder) is ``report.rendering``; this package's
own module only names the formats, so that the command line can check ``--format`` before it
loads anything heavy.
"""

from __future__ import annotations

#: format name -> (module, file name in the run folder). Modules are imported by name when a
#: format is rendered, so that the CLI can validate ``--format`` against this table without
#: loading jinja2 and every renderer.
FORMATS: dict[str, tuple[str, str]] = {
    "json": ("hardencheck.report.json_format", "results.json"),
    "html": ("hardencheck.report.html", "report.html"),
    "junit": ("hardencheck.report.junit", "junit.xml"),
    "md": ("hardencheck.report.markdown", "summary.md"),
    "csv": ("hardencheck.report.csv_format", "results.csv"),
    "oscal": ("hardencheck.report.oscal", "oscal-assessment-results.json"),
    "pdf": ("hardencheck.report.pdf", "report.pdf"),       # the print edition (headless Chromium)
}
LANGS = ("en", "de")
