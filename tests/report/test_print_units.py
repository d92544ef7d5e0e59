"""The print edition's parts without a lab: the running header's CSS escaping (css_str), a
hostile run id and host name printed by real headless Chromium (the header shows them as text,
nothing leaves the <style> element, the contents slots cannot be forged), and report.pdf's
reading of named destinations against poppler's pdfinfo."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from hardencheck.report import html as report_html
from hardencheck.report import pdf as report_pdf
from hardencheck.report.chromium import find_chromium
from hardencheck.report.html_text import css_str
from hardencheck.report.view import build_view

HOSTILE_RUN = 'r-1 "quoted"; } @page { size: 5mm } </style><script>alert(1)</script> \\ é \u202e end'
FORGED_SLOT = '<span class="toc-page" data-toc="summary">1</span>'


def _css_unescape(s: str) -> str:
    return re.sub(r"\\([0-9a-f]{6})", lambda m: chr(int(m.group(1), 16)), s)


def test_css_str_leaves_only_safe_characters_and_round_trips():
    for text in (HOSTILE_RUN, "plain-run_20261206T0100Z", "tab\there\nnewline\x00nul", "", "x" * 500):
        out = css_str(text)
        assert re.fullmatch(r"[A-Za-z0-9_.,:;/()+=@#\-\\]*", out), out
        assert '"' not in out and "<" not in out and "\n" not in out
        expect = re.sub(r"[\t\n\x00\u202e]", " ", text)[:200]
        assert _css_unescape(out) == expect


def hostile_doc() -> dict:
    host = f"web-1 {FORGED_SLOT}"
    return {
        "schema_version": "1.0",
        "run": {"id": HOSTILE_RUN, "started_at": "2026-12-06T01:00:00Z", "ended_at": "2026-12-06T01:01:00Z",
                "complete": True, "tool": {"name": "hardencheck", "version": "0"},
                "inventory": {"path": "inv.yml", "sha256": "0" * 64, "hosts": [host], "not_scanned": []},
                "controls": {"path": "c", "sha256": "0", "ids": []}, "exit_code": 0},
        "summary": {"hosts": 1, "status_counts": {}}, "controls": [],
        "hosts": [{"name": host, "identity": {}, "status": "ok", "error": None,
                   "started_at": None, "ended_at": None}],
        "results": [], "evidence": {}}


def test_hostile_run_id_and_host_name_in_the_page():
    page = report_html.render(build_view(hostile_doc()), "en")
    style = page[page.index(b"<style>"):page.index(b"</style>")]
    # the hostile text is inside a CSS string, escaped: no markup character in the whole <style>
    assert b"<" not in style[len(b"<style>"):] and b"\\00003cscript" in style
    assert page.count(b"</style>") == 1
    # the contents slots are the template's own: a host name cannot add one
    slots = [m.decode() for m in report_pdf.TOC_SLOT.findall(page)]
    assert slots.count("summary") == 1 and len(slots) == len(set(slots))


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    if not find_chromium():
        if os.environ.get("CI") == "true":
            pytest.fail("chromium must be installed in CI", pytrace=False)
        pytest.skip("chromium is not installed")
    if shutil.which("pdfinfo") is None:
        pytest.skip("poppler-utils are not installed")
    path = tmp_path_factory.mktemp("print-units") / "report.pdf"
    path.write_bytes(report_pdf.render(build_view(hostile_doc()), "de"))
    return path


def test_header_shows_the_hostile_run_id_as_text(printed):
    text = subprocess.run(["pdftotext", "-layout", str(printed), "-"], capture_output=True, text=True,
                          check=True).stdout
    pages = text.split("\f")[:-1]
    assert len(pages) >= 3
    shown = "Prüflauf " + HOSTILE_RUN.replace("\u202e", " ")
    for n, p in enumerate(pages, 1):
        # the header box is one line; a long run id is cut by the page edge, its start is there
        assert shown[:60] in p, (n, p[:300])
        assert re.search(rf"\b{n}\s*/\s*{len(pages)}\s*$", p), n
    info = subprocess.run(["pdfinfo", str(printed)], capture_output=True, text=True, check=True).stdout
    assert "(A4)" in info                                    # an injected "@page { size: 5mm }" did not apply


def test_destinations_agree_with_poppler(printed):
    out = subprocess.run(["pdfinfo", "-dests", str(printed)], capture_output=True, text=True, check=True).stdout
    poppler = {m.group(2): int(m.group(1)) for m in re.finditer(r'(?m)^\s*(\d+)\s.*"(.*)"\s*$', out)}
    mine = report_pdf.destinations(printed.read_bytes())
    assert mine == poppler and {"summary", "findings", "signoff"} <= set(mine)
    # and the contents list shows them (the hostile host's entry included)
    text = subprocess.run(["pdftotext", "-layout", "-f", "1", "-l", "1", str(printed), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert re.search(rf"Befunde\s+\.*\s*{mine['findings']}\s*$", text, re.M), text


def test_fill_contents_writes_numbers_only_into_slots():
    page = b'<a href="#x">X</a><span class="toc-fill"></span><span class="toc-page" data-toc="x"></span>'
    assert report_pdf.fill_contents(page, {"x": 7}).endswith(b'data-toc="x">7</span>')
    assert report_pdf.fill_contents(page, {}) == page
