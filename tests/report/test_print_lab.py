"""The print edition of the run report (issue 13.1), from a real scan of a 9-host lab, printed by
real headless Chromium (``--format pdf``, report/pdf.py) and checked with poppler's pdfinfo and
pdftotext, which share no code with the printer.

The lab: the six standard hosts plus three kinds of tests/lab/kind_print.py (long unbroken file
names and markup in FILE-001's values, a weak sshd drop-in, forwarding and an extra listener).

Asserted, in English and German: every page is A4; the page count is within the budget (120);
every page carries the run id and "n / N"; the contents list is on the cover and each entry's page
number is the page poppler finds its target on; under print media at the A4 content width (taken
from print.css's @page margins) no element is wider than the page and no word outside a value cell
is broken across lines (measured in Chromium through Runtime.evaluate); the German PDF's words
are German words of the project's vocabulary, or come from names, ids and host output. On screen
(1400 px) the host results' Control column is as wide as its ids.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from hardencheck.cli import main
from hardencheck.report.rendering import load_results, render_reports
from hardencheck.report import pdf as report_pdf
from hardencheck.report.chromium import Chromium, find_chromium
from hardencheck.report.i18n_html import T
from hardencheck.results import document_bytes

from tests.report.print_vocabulary import german_texts, german_vocabulary, host_corpus, words_outside

pytestmark = pytest.mark.lab

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
BUDGET_PAGES = 120
PRINT_CSS = Path(__file__).resolve().parents[2] / "hardencheck" / "report" / "templates" / "print.css"


def _need(tool: str) -> None:
    if shutil.which(tool) is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{tool} must be installed in CI", pytrace=False)
        pytest.skip(f"{tool} is not installed")


@pytest.fixture(scope="module")
def print_scan(tmp_path_factory):
    """A scan of the 9-host print lab with the whole control library: (document, results.json path)."""
    from tests.conftest import lab_unavailable_or_skip, lab_prefix
    from tests.lab import Lab
    from tests.lab.kind_print import PRINT_HOSTS

    lab_unavailable_or_skip()
    prefix = lab_prefix("9")
    out = tmp_path_factory.mktemp("print-scan")
    with Lab(tmp_path_factory.mktemp("print-lab"), prefix=prefix) as lab:
        lab.start(PRINT_HOSTS)
        code = main(["scan", "-i", str(lab.inventory_path), "--known-hosts", str(lab.known_hosts_path),
                     "--ssh-config", "/dev/null", "--out", str(out), "--quiet", "--format", "json"])
    assert code in (1, 2)
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    doc, path = load_results(run)
    assert len(doc["hosts"]) == 9
    return doc, path


@pytest.fixture(scope="module")
def editions(print_scan, tmp_path_factory):
    """lang -> (report.html path, report.pdf path), both rendered from the scan's results.json."""
    if not find_chromium():
        if os.environ.get("CI") == "true":
            pytest.fail("chromium must be installed in CI (apt-get install -y chromium)", pytrace=False)
        pytest.skip("chromium is not installed")
    _need("pdfinfo")
    doc, path = print_scan
    sha = hashlib.sha256(document_bytes(doc)).hexdigest()
    folder = tmp_path_factory.mktemp("print-editions")
    out = {}
    for lang in ("en", "de"):
        rendered, failed = render_reports(doc, ["html", "pdf"], lang, results_sha256=sha)
        assert failed == []
        d = folder / lang
        d.mkdir()
        for name, data in rendered.items():
            (d / name).write_bytes(data)
        out[lang] = (d / "report.html", d / "report.pdf")
    ARTIFACTS.mkdir(exist_ok=True)
    for lang, (_, p) in out.items():
        shutil.copy(p, ARTIFACTS / f"report_print_{lang}.pdf")
    return out


def pdfinfo(path: Path, *args: str) -> str:
    return subprocess.run(["pdfinfo", *args, str(path)], capture_output=True, text=True, check=True).stdout


def pdftext(path: Path, *args: str) -> str:
    return subprocess.run(["pdftotext", *args, str(path), "-"], capture_output=True, text=True, check=True).stdout


def poppler_dests(path: Path) -> dict[str, int]:
    out = {}
    for line in pdfinfo(path, "-dests").splitlines()[1:]:
        m = re.match(r'\s*(\d+)\s.*"(.*)"\s*$', line)
        if m:
            out[m.group(2)] = int(m.group(1))
    return out


@pytest.mark.parametrize("lang", ["en", "de"])
def test_a4_and_page_budget(editions, lang):
    pdf = editions[lang][1]
    pages = int(re.search(r"^Pages:\s+(\d+)", pdfinfo(pdf), re.M).group(1))
    assert 20 <= pages <= BUDGET_PAGES, pages
    sizes = re.findall(r"^Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", pdfinfo(pdf, "-f", "1", "-l", str(pages)), re.M)
    assert len(sizes) == pages
    # A4 = 210 x 297 mm = 595.28 x 841.89 pt (Chromium rounds to whole device pixels)
    assert all(abs(float(w) - 595.3) < 1.5 and abs(float(h) - 841.9) < 1.5 for w, h in sizes), set(sizes)


@pytest.mark.parametrize("lang", ["en", "de"])
def test_running_header_and_page_numbers(editions, print_scan, lang):
    doc, _ = print_scan
    pdf = editions[lang][1]
    pages = pdftext(pdf).split("\f")[:-1]
    run_label = f"{T['run_id'][lang]} {doc['run']['id']}"
    for n, text in enumerate(pages, 1):
        assert run_label in text, n
        assert re.search(rf"(?m)^\s*{n}\s*/\s*{len(pages)}\s*$", text), n
        assert "results.json sha256" in text, n


@pytest.mark.parametrize("lang", ["en", "de"])
def test_contents_with_page_numbers(editions, print_scan, lang):
    doc, _ = print_scan
    pdf = editions[lang][1]
    dests = poppler_dests(pdf)
    # report.pdf's own reading of the destinations agrees with poppler's
    assert report_pdf.destinations(pdf.read_bytes()) == dests
    cover = pdftext(pdf, "-layout", "-f", "1", "-l", "2")
    assert T["contents"][lang] in cover
    toc = cover[cover.index(T["contents"][lang]):]
    entries = {m.group(1).strip(): int(m.group(2)) for m in re.finditer(r"(?m)^\s*(\S.*?\S)\s{2,}(\d+)\s*$", toc)}
    expect = {T["summary"][lang]: "summary", T["findings"][lang]: "findings",
              T["errors_title"][lang]: "findings-errors", T["tom_view"][lang]: "tom",
              T["host_view"][lang]: "hosts", T["appendix"][lang]: "appendix", T["method"][lang]: "app-method",
              T["definitions"][lang]: "app-definitions", T["signoff"][lang]: "signoff"}
    for title, anchor in expect.items():
        assert title in entries, (title, sorted(entries))
        assert entries[title] == dests[anchor], (title, entries[title], dests[anchor])
    for i, h in enumerate(doc["hosts"]):
        assert entries[h["name"]] == dests[f"h{i}"], h["name"]
    # the chapters are in the print order: summary, findings (failures, then errors), TOM view, annex
    order = [dests[a] for a in ("summary", "findings", "findings-errors", "tom", "hosts", "appendix", "signoff")]
    assert order == sorted(order) and order[0] in (2, 3)


# -- layout, measured in Chromium under print media ---------------------------------------------

LAYOUT_JS = r"""
(() => {
  const W = document.documentElement.clientWidth;
  const valueSel = '.v, .act, pre, .mono, code, .esc';
  const wide = [], broken = [];
  let tables = 0, cells = 0;
  for (const e of document.body.querySelectorAll('*')) {
    const r = e.getBoundingClientRect();
    if (r.width && r.right > W + 1) wide.push(e.tagName + '.' + e.className + ' in #' + ((e.closest('[id]') || {}).id) + ': ' + Math.round(r.right));
  }
  for (const t of document.querySelectorAll('table')) {
    if (!t.checkVisibility()) continue;
    tables++;
    if (t.scrollWidth > t.clientWidth + 1) wide.push('table scrolls in #' + ((t.closest('[id]') || {}).id));
  }
  for (const c of document.querySelectorAll('th, td')) {
    if (!c.checkVisibility() || c.matches(valueSel)) continue;
    cells++;
    const walker = document.createTreeWalker(c, NodeFilter.SHOW_TEXT);
    let n;
    while ((n = walker.nextNode())) {
      if (n.parentElement.closest(valueSel) || !n.parentElement.checkVisibility()) continue;
      const re = /[^\s\-\/\u00ad]{2,}/g; let m;
      while ((m = re.exec(n.data))) {
        const rg = document.createRange(); rg.setStart(n, m.index); rg.setEnd(n, m.index + m[0].length);
        const tops = new Set([...rg.getClientRects()].filter(x => x.width > 0).map(x => Math.round(x.top)));
        if (tops.size > 1) broken.push(m[0] + ' (' + Math.round(c.getBoundingClientRect().width) + ' px)');
      }
    }
  }
  return {W, tables, cells, wide: wide.slice(0, 20), broken: broken.slice(0, 20),
          text: document.body.innerText.length};
})()
"""


def content_width_px() -> float:
    """The A4 page's content width in CSS pixels, from print.css's @page margins (mm)."""
    css = PRINT_CSS.read_text()
    m = re.search(r"@page\s*{[^}]*?size:\s*A4;\s*margin:\s*([\d.]+)mm\s+([\d.]+)mm\s+([\d.]+)mm\s+([\d.]+)mm", css)
    assert m, "print.css: @page { size: A4; margin: T R B L (mm) } not found"
    return (210 - float(m.group(2)) - float(m.group(4))) * 96 / 25.4


@pytest.fixture(scope="module")
def browser(editions):
    with Chromium() as b:
        yield b


@pytest.mark.parametrize("lang", ["en", "de"])
def test_nothing_wider_than_the_page(editions, browser, lang):
    html = editions[lang][0]
    session = browser.open(html)
    width = int(content_width_px())
    browser.send("Emulation.setScrollbarsHidden", {"hidden": True}, session=session)
    browser.send("Emulation.setDeviceMetricsOverride",
                 {"width": width, "height": 1100, "deviceScaleFactor": 1, "mobile": False}, session=session)
    browser.emulate_media("print", session)
    got = browser.evaluate(LAYOUT_JS, session)
    # the long unbroken file name of the pxwide host is laid out (so long values are exercised)
    assert browser.evaluate("document.body.innerText.includes('retention-export-xxxxxxxx')", session) is True
    browser.close_page(session)
    assert got["W"] == width
    assert got["tables"] > 50 and got["cells"] > 1000
    assert got["wide"] == [], got["wide"]
    assert got["broken"] == [], got["broken"]


def test_screen_control_column_not_one_letter(editions, browser):
    """The screen bug of issue 13: at 1400 px the host results' Control column was 27 px."""
    session = browser.open(editions["en"][0])
    browser.send("Emulation.setDeviceMetricsOverride",
                 {"width": 1400, "height": 1000, "deviceScaleFactor": 1, "mobile": False}, session=session)
    browser.evaluate("document.querySelectorAll('details.host').forEach(d => d.open = true)", session)
    cols = browser.evaluate("""[...document.querySelectorAll('table.hostresults td.cid')].map(td => {
        const a = td.querySelector('a') || td; return [a.textContent, Math.round(td.clientWidth),
        a.getClientRects().length, Math.round(a.getBoundingClientRect().width)]; })""", session)
    browser.close_page(session)
    assert len(cols) > 300
    for text, width, lines, text_width in cols:
        assert lines == 1 and width >= text_width, (text, width, text_width)


def test_german_words_only_from_the_vocabulary(editions, print_scan):
    doc, _ = print_scan
    text = pdftext(editions["de"][1], "-layout")      # -layout: no joining of words at line-end hyphens
    assert T["findings"]["de"] in text and T["contents"]["de"] in text
    corpus = host_corpus(doc) + "\n" + hashlib.sha256(document_bytes(doc)).hexdigest()
    foreign = words_outside(text, german_vocabulary(doc), corpus, "\n".join(german_texts(doc)))
    assert foreign == [], foreign[:40]


def test_pdf_without_chromium_names_the_reason(print_scan, monkeypatch):
    doc, _ = print_scan
    monkeypatch.setenv("HARDENCHECK_CHROMIUM", "/nonexistent/chromium")
    rendered, failed = render_reports(doc, ["pdf", "md"], "en", results_sha256="0" * 64)
    assert list(rendered) == ["summary.md"]
    assert len(failed) == 1 and failed[0][0] == "pdf"
    assert "ChromiumUnavailable" in failed[0][1] and "apt-get install chromium" in failed[0][1]
    json.dumps(failed)
