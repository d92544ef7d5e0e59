"""The canonical results.json itself (re-serialised, e.g. into another folder)."""

from __future__ import annotations

from hardencheck.report.view import ReportView
from hardencheck.results import document_bytes


def render(view: ReportView, lang: str = "en") -> bytes:
    return document_bytes(view.doc)
