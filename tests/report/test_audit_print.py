"""The annual report's print edition (issue 13): a year of nightly runs (9 hosts, every control of the
library, failures that come and go, missed nights, an unreachable host) computed by the real
``audit_document.compute`` and rendered by ``audit_html``, printed by headless Chromium
(``report.chromium``, the print engineer's DevTools client): A4 pages, the shared print stylesheet's
running header and page numbers, and no table, chart or strip wider than the page's text width
(measured through the DevTools protocol with the print styles applied at the A4 text width)."""

from __future__ import annotations

import random
import re
import subprocess
from datetime import date, datetime, timedelta, timezone

import pytest

from hardencheck.records.audit_document import compute, outline_from_file
from hardencheck.records.effectiveness import Counts, Run
from hardencheck.report import audit_html

#: A4 text width of templates/print.css: 210 mm - 2 x 13 mm margins, in CSS px (96 per inch)
TEXT_WIDTH_PX = int((210 - 26) / 25.4 * 96)
HOSTS = [f"srv{k:02d}.example.internal" for k in range(9)]


def year_doc() -> dict:
    outline = outline_from_file(None)
    controls = sorted({c for it in outline.items for c in it.get("controls") or []})
    rng = random.Random(13)
    failing: dict[tuple[str, str], int] = {}          # (host, control) -> nights left failing
    runs = []
    for k in range(365):
        day = date(2026, 1, 1) + timedelta(days=k)
        if k % 41 == 7:                                # missed nights
            continue
        down = {HOSTS[8]} if k % 29 == 3 else set()
        counts = {c: Counts() for c in controls}
        for h in HOSTS:
            for c in controls:
                if h in down:
                    counts[c].error += 1
                    continue
                left = failing.get((h, c), 0)
                if left == 0 and rng.random() < 0.002:
                    left = rng.randint(1, 20)
                if left:
                    counts[c].fail += 1
                    failing[(h, c)] = left - 1
                elif c.startswith("RAID") or c.startswith("BACKUP-002"):
                    counts[c].not_applicable += 1
                else:
                    counts[c].passed += 1
        runs.append(Run(run_id=f"{day:%Y%m%d}T020000Z-{k:06x}", started_at=f"{day}T02:00:00Z", state="complete",
                        hosts={h: "error" if h in down else "ok" for h in HOSTS}, controls=counts,
                        inventory_key="inventories/prod.yml", manifest_sha256=f"{k:064x}"))
    info = {c: {"title": f"Control {c} with a title of some length", "severity": "high"} for c in controls}
    checks = [{"run_id": r.run_id, "status": "verified", "reason": None, "bundle": f"/srv/reports/{r.run_id}",
               "signature": {"status": "good", "by": "ci@example.org"}} for r in runs]
    return compute(runs, outline, date(2026, 1, 1), date(2026, 12, 31), inventory="inventories/prod.yml",
                   as_of=datetime(2027, 1, 1, tzinfo=timezone.utc), control_info=info, bundle_checks=checks)


@pytest.fixture(scope="module")
def browser():
    from hardencheck.report.chromium import Chromium, find_chromium
    if not find_chromium():
        pytest.skip("chromium is not installed")
    with Chromium() as b:
        yield b


@pytest.mark.parametrize("lang", ["en", "de"])
def test_the_year_prints_to_a4_within_the_page(browser, tmp_path, lang):
    doc = year_doc()
    assert doc["runs"]["total"] == 356 and doc["overall"]["headline"]["measures"] >= 20
    page = tmp_path / "audit.html"
    page.write_bytes(audit_html.render(doc, lang))
    session = browser.open(page)
    browser.emulate_media("print", session)
    browser.send("Emulation.setDeviceMetricsOverride", {"width": TEXT_WIDTH_PX, "height": 1100, "deviceScaleFactor": 1,
                                                        "mobile": False}, session=session)
    wide = browser.evaluate(
        "Array.from(document.querySelectorAll('table, svg, pre')).filter(e => e.checkVisibility())"
        f".map(e => [e.tagName, e.id || e.className.baseVal || e.className || '', "
        "Math.ceil(e.getBoundingClientRect().right), e.scrollWidth, e.clientWidth])"
        f".filter(x => x[2] > {TEXT_WIDTH_PX} + 1 || (x[0] != 'svg' && x[3] > x[4] + 1))", session)
    assert wide == [], wide[:10]
    pdf = browser.print_pdf(session)
    browser.close_page(session)
    assert pdf.startswith(b"%PDF-")
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert boxes and all(abs(float(w) - 595.3) < 2 and abs(float(h) - 841.9) < 2 for w, h in boxes), set(boxes)
    pages = len(boxes)
    assert 3 <= pages <= 150, pages
    (tmp_path / "audit.pdf").write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "audit.pdf"), "-"], capture_output=True,
                          check=True).stdout.decode()
    assert f"1 / {pages}" in text and f"{pages} / {pages}" in text          # the print stylesheet's footer
    assert "2026-01-01 – 2026-12-31" in text                                 # running header: the period covered
    assert doc["runs"]["digest_sha256"][:16] in text
