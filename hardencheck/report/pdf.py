"""The print edition of the run report as a PDF (``--format pdf`` -> report.pdf): the HTML report
(``report.html``, same content, its print styles ``templates/print.css``) printed to A4 by
headless Chromium over the DevTools protocol (``report.chromium``).

The contents list carries page numbers in two passes: Chromium lays out @page margin boxes
(running header and footer, "n / N") but not ``target-counter()``. So the page is printed once,
the page of every contents entry is read from the PDF's named destinations (Chromium writes one
for every element an internal link points at), the numbers are written into the contents list
(its number boxes have a fixed width, so the layout does not move) and the page is printed again;
the second print's destinations must give the same numbers, or a third pass is made, and if they
still move the rendering fails with that reason rather than print a wrong page number.

Without Chromium the format fails with ``ChromiumUnavailable`` (how to install it), and the other
formats of the same call are still written.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from hardencheck.report import html as report_html
from hardencheck.report.chromium import Chromium
from hardencheck.report.view import ReportView

#: a contents entry's page number box, as templates/report.html.j2 writes it (ids are ours: [a-z0-9-])
TOC_SLOT = re.compile(rb'<span class="toc-page" data-toc="([a-z0-9-]+)">[0-9]*</span>')
PASSES = 3


class PdfError(RuntimeError):
    """The PDF could not be made as promised (e.g. its contents' page numbers would not settle)."""


def render(view: ReportView, lang: str = "en") -> bytes:
    page = report_html.render(view, lang)
    with Chromium() as browser:
        return print_with_contents(browser, page)


def print_with_contents(browser: Chromium, page: bytes) -> bytes:
    """``page`` (an HTML report with contents slots) printed, its contents' page numbers filled."""
    wanted = [m.decode() for m in TOC_SLOT.findall(page)]
    with tempfile.TemporaryDirectory(prefix="hardencheck-pdf-") as tmp:
        path = Path(tmp) / "report.html"
        numbers: dict[str, int] = {}
        for _ in range(PASSES):
            path.write_bytes(fill_contents(page, numbers))
            session = browser.open(path)
            pdf = browser.print_pdf(session)
            browser.close_page(session)
            if not wanted:
                return pdf
            found = destinations(pdf)
            now = {k: found[k] for k in wanted if k in found}
            if now == numbers:
                return pdf
            numbers = now
    raise PdfError(f"the contents' page numbers did not settle after {PASSES} prints")


def fill_contents(page: bytes, numbers: dict[str, int]) -> bytes:
    """The page with each contents slot holding its page number (empty where unknown)."""
    return TOC_SLOT.sub(lambda m: b'<span class="toc-page" data-toc="%s">%s</span>'
                        % (m.group(1), str(numbers.get(m.group(1).decode(), "")).encode()), page)


# -- named destinations of a PDF as Chromium (Skia) writes it ----------------------------------------

_REF = re.compile(rb"(\d+) 0 R")


def destinations(pdf: bytes) -> dict[str, int]:
    """name -> 1-based page number, from the catalog's /Dests dictionary and the page tree.
    Skia writes a classic cross-reference table and uncompressed dictionaries (only page content
    is compressed); a PDF without /Dests has none. A structure this parser does not know raises
    PdfError."""
    offsets, root = _xref(pdf)

    def obj(n: int) -> bytes:
        if n not in offsets:
            raise PdfError(f"object {n} is not in the PDF's cross-reference table")
        head = re.compile(rb"%d 0 obj\s*" % n).match(pdf, offsets[n])
        if not head:
            raise PdfError(f"object {n} is not where the cross-reference table says")
        return _dictionary(pdf, head.end())

    catalog = obj(root)
    pages_ref = re.search(rb"/Pages\s+(\d+) 0 R", catalog)
    if not pages_ref:
        raise PdfError("the PDF catalog has no page tree")
    page_no: dict[int, int] = {}

    def walk(n: int, depth: int = 0) -> None:
        node = obj(n)
        if depth > 32:
            raise PdfError("the PDF page tree is too deep")
        kids = re.search(rb"/Kids\s*\[([^\]]*)\]", node)
        if re.search(rb"/Type\s*/Pages\b", node) and kids:
            for k in _REF.findall(kids.group(1)):
                walk(int(k), depth + 1)
        else:
            page_no[n] = len(page_no) + 1

    walk(int(pages_ref.group(1)))
    dests_ref = re.search(rb"/Dests\s+(\d+) 0 R", catalog)
    if not dests_ref:
        return {}
    out: dict[str, int] = {}
    for name, page in re.findall(rb"/([^\s/\[\]<>()]+)\s*\[\s*(\d+) 0 R", obj(int(dests_ref.group(1)))):
        if int(page) in page_no:
            out[_name(name)] = page_no[int(page)]
    return out


def _xref(pdf: bytes) -> tuple[dict[int, int], int]:
    """(object number -> byte offset, the catalog's object number) from the last cross-reference
    table and its trailer."""
    m = re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", pdf[-1024:])
    if not m:
        raise PdfError("the PDF has no startxref (not a complete PDF)")
    pos = int(m.group(1))
    if not pdf.startswith(b"xref", pos):
        raise PdfError("the PDF uses a cross-reference stream, which this reader does not know")
    offsets: dict[int, int] = {}
    i = pos + 4
    sub = re.compile(rb"\s*(\d+) (\d+)\s*\r?\n")
    entry = re.compile(rb"(\d{10}) (\d{5}) ([nf])\s*\r?\n?")
    while True:
        h = sub.match(pdf, i)
        if not h:
            break
        first, count = int(h.group(1)), int(h.group(2))
        i = h.end()
        for k in range(count):
            e = entry.match(pdf, i)
            if not e:
                raise PdfError("a damaged cross-reference table in the PDF")
            if e.group(3) == b"n":
                offsets[first + k] = int(e.group(1))
            i = e.end()
    trailer = re.compile(rb"\s*trailer\s*").match(pdf, i)
    root = re.search(rb"/Root\s+(\d+) 0 R", _dictionary(pdf, trailer.end()) if trailer else b"")
    if not root:
        raise PdfError("the PDF trailer names no catalog")
    return offsets, int(root.group(1))


def _dictionary(pdf: bytes, start: int) -> bytes:
    """The ``<< ... >>`` dictionary at ``start`` (nested ones included), or b"" if none starts there."""
    if not pdf.startswith(b"<<", start):
        return b""
    depth, i = 0, start
    while i < len(pdf) - 1:
        two = pdf[i:i + 2]
        if two == b"<<":
            depth, i = depth + 1, i + 2
        elif two == b">>":
            depth, i = depth - 1, i + 2
            if depth == 0:
                return pdf[start:i]
        elif pdf[i:i + 1] == b"(":                 # a literal string: skip it (it may hold << or >>)
            i = _skip_string(pdf, i)
        else:
            i += 1
    raise PdfError("an unterminated dictionary in the PDF")


def _skip_string(pdf: bytes, i: int) -> int:
    depth = 0
    while i < len(pdf):
        c = pdf[i:i + 1]
        if c == b"\\":
            i += 2
            continue
        if c == b"(":
            depth += 1
        elif c == b")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise PdfError("an unterminated string in the PDF")


def _name(raw: bytes) -> str:
    """A PDF name's text (#xx escapes decoded)."""
    return re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), raw).decode("utf-8", "replace")
