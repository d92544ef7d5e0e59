"""Rendering a results document into the formats of ``report.FORMATS``: one format, or all of
a run's formats counted once into one view, as bytes, in chunks or written into a folder."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path

from hardencheck.records.files import write_bytes_atomic
from hardencheck.report import FORMATS
from hardencheck.report.view import ReportView, build_view

Renderer = Callable[[ReportView, str], bytes]


def renderer(fmt: str) -> Renderer:
    module, _ = FORMATS[fmt]
    return importlib.import_module(module).render


def render(fmt: str, doc: dict, lang: str = "en", *, results_sha256: str | None = None) -> bytes:
    """One format of ``doc`` (builds the view; to render several formats, build it once and
    call ``renderer(fmt)(view, lang)`` or ``write_reports``)."""
    return renderer(fmt)(build_view(doc, results_sha256=results_sha256), lang)


class RenderError(Exception):
    """A renderer failed (its bug, or a tool it needs): the format and the error in one line."""

    def __init__(self, fmt: str, error: BaseException):
        super().__init__(f"{type(error).__name__}: {error}")
        self.fmt = fmt


def _chunks(fmt: str, view: ReportView | None, error: BaseException | None, lang: str) -> Iterator[bytes]:
    """One format's bytes: in chunks as they are made where its module has ``render_chunks``,
    else whole. Whatever the renderer raises comes out as ``RenderError``; an error of whoever
    consumes the chunks (a full disk) is theirs and passes through unchanged."""
    try:
        if error is not None:
            raise error
        module = importlib.import_module(FORMATS[fmt][0])
        if hasattr(module, "render_chunks"):
            yield from module.render_chunks(view, lang)
        else:
            yield module.render(view, lang)
    except Exception as e:  # noqa: BLE001 - a renderer bug: report it, keep going
        raise RenderError(fmt, e) from e


def report_streams(doc: dict, formats: list[str], lang: str, *, results_sha256: str, signoff: dict | None = None
                   ) -> list[tuple[str, str, Iterator[bytes]]]:
    """(format, file name in a run folder, its bytes in chunks) for each format, all counted once
    into one view. Consuming a format's chunks raises ``RenderError`` when it cannot be rendered;
    one broken renderer never costs the others. ``signoff``: the run bundle's sign-off, shown by
    the HTML report."""
    view, error = None, None
    try:
        view = build_view(doc, results_sha256=results_sha256)
        view.signoff = signoff
    except Exception as e:  # noqa: BLE001 - a document the view cannot count: every format says so
        error = e
    return [(fmt, FORMATS[fmt][1], _chunks(fmt, view, error, lang)) for fmt in formats]


def render_reports(doc: dict, formats: list[str], lang: str, *, results_sha256: str, signoff: dict | None = None
                   ) -> tuple[dict[str, bytes], list[tuple[str, str]]]:
    """The reports of ``doc`` as bytes (file name in a run folder -> content), and the
    (format, error) of those that could not be rendered (``report_streams``, each joined)."""
    rendered: dict[str, bytes] = {}
    failed: list[tuple[str, str]] = []
    for fmt, name, chunks in report_streams(doc, formats, lang, results_sha256=results_sha256, signoff=signoff):
        try:
            rendered[name] = b"".join(chunks)
        except RenderError as e:
            failed.append((fmt, str(e)))
    return rendered, failed


def write_reports(doc: dict, folder: Path, formats: list[str], lang: str, *,
                  results_sha256: str, signoff: dict | None = None) -> tuple[list[Path], list[tuple[str, str]]]:
    """Render ``formats`` from the results document into ``folder`` (atomically, one file each).
    ``results_sha256`` is the hash of the results.json bytes the reports stand for. Returns
    (paths written, [(format, error)]); a renderer's failure is listed, a failure to write
    (disk full) is raised: that is no report's fault, and the CLI says so in one line."""
    rendered, failed = render_reports(doc, formats, lang, results_sha256=results_sha256, signoff=signoff)
    written = []
    for name, data in rendered.items():
        write_bytes_atomic(folder / name, data)
        written.append(folder / name)
    return written, failed


def load_results(path: str | Path) -> tuple[dict, Path]:
    """A run folder or a results.json file -> (document, path of results.json)."""
    p = Path(path)
    if p.is_dir():
        p = p / "results.json"
    doc = json.loads(p.read_text(encoding="utf-8"))
    return doc, p
