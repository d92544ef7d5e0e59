"""``hardencheck audit`` end to end: a small history written through the real HistoryRecorder, the
CLI writing audit.html and audit.json (en and de), hostile strings from the history (host names, the
inventory key, control and catalog titles) inert and escaped, bad input as exit 3, and the page in
real headless Chromium (the DevTools-pipe helper of tests/report/test_report_html.py): no console errors, no
request but the file itself, the planted script never runs.
"""

from __future__ import annotations

import base64
import hashlib
import html as htmlmod
import json
import re

import pytest

from hardencheck.cli import main
from hardencheck.report.audit_html import A
from tests.records.test_effectiveness import CATALOG_YML, F, NA, V1, V2, record
from tests.report.test_report_html import ARTIFACTS, chromium  # noqa: F401  (a fixture: headless Chromium)

PLANT = "<script>document.title='PWNED';window.__pwned=1</script><img src=x onerror=\"window.__pwned=2\">"
EVIL_HOST = "web<script>alert(1)</script>\u202eevil\x1b[31m"
EVIL_INV = "inv/<b>x</b>&amp;.yml"
EVIL_TITLE = PLANT + " title \u200bzw"
EVIL_CATALOG = CATALOG_YML.replace('title: {de: "TOM Test", en: "TOM test"}',
                                   'title: {de: "TOM <script>x</script>", en: "TOM <script>document.title=1</script>"}')


@pytest.fixture(scope="module")
def hist(tmp_path_factory):
    d = tmp_path_factory.mktemp("audit")
    db = d / "history.db"
    kw = {"inventory": EVIL_INV, "titles": {"FW-001": EVIL_TITLE}}
    record(db, "r1", "2026-03-01T02:00:00Z", {"a": {}, EVIL_HOST: {}}, controls=V1, manifest="m1", **kw)
    record(db, "r2", "2026-03-02T02:00:00Z", {"a": {"SSH-001": F}, EVIL_HOST: {}}, controls=V1, manifest="m2", **kw)
    record(db, "r3", "2026-03-03T02:00:00Z", {"a": {}, EVIL_HOST: None}, controls=V1, manifest="m3", **kw)
    record(db, "r4", "2026-03-04T02:00:00Z", {"a": {}, EVIL_HOST: {"PATCH-001": F}}, controls=V2, **kw)
    record(db, "r5", "2026-03-08T02:00:00Z", {"a": {}}, planned=["a", EVIL_HOST], controls=V2,
           state="interrupted", **kw)
    record(db, "r6", "2026-03-09T02:00:00Z", {"a": {}, EVIL_HOST: {"FW-001": F, "PATCH-001": NA}}, controls=V2, **kw)
    record(db, "other", "2026-03-05T02:00:00Z", {"z": {}}, controls=V1, inventory="other.yml")
    cat = d / "tom.yml"
    cat.write_text(EVIL_CATALOG)
    outs = {}
    for lang in ("en", "de"):
        out = d / f"out-{lang}"
        code = main(["audit", "--from", "2026-03-01", "--to", "2026-03-10", "--inventory", EVIL_INV,
                     "--history", str(db), "--out", str(out), "--lang", lang, "--tom", str(cat),
                     "--no-bundle-check"])          # hand-built runs: no bundles
        assert code == 0
        outs[lang] = out
    return db, cat, outs


def _text(page: str) -> str:
    return htmlmod.unescape(re.sub(r"<[^>]+>", "", page))


def test_files_and_figures(hist):
    db, _, outs = hist
    doc = json.loads((outs["en"] / "audit.json").read_text(encoding="utf-8"))
    page = (outs["en"] / "audit.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<html lang="en">' in page
    # the inventory filter: r1..r6 only (other.yml's run left out)
    assert doc["inventory"] == EVIL_INV
    assert [r["run_id"] for r in doc["runs"]["list"]] == ["r1", "r2", "r3", "r4", "r5", "r6"]
    assert doc["history"]["snapshot_sha256"] == hashlib.sha256(db.read_bytes()).hexdigest()
    assert f'id="history-sha256">{doc["history"]["snapshot_sha256"]}<' in page
    assert f'id="runs-sha256">{doc["runs"]["digest_sha256"]}<' in page
    # who and what produced it
    from hardencheck import __version__
    gen = doc["generated"]
    assert gen["tool"] == {"name": "hardencheck", "version": __version__}
    assert f"{gen['at']} by {gen['user']} on {gen['host']} with hardencheck {__version__}" in _text(page)
    # the figures in the page are the JSON's: SSH-001 held in r1, r4, r6, failed in r2, not verified
    # in r3 (host unreachable) and r5 (interrupted); fixed after 2 days
    ssh = next(c for c in doc["controls"] if c["id"] == "SSH-001")["figures"]
    assert (ssh["held"], ssh["failed"], ssh["not_verified"], ssh["share_held"]) == (3, 1, 2, 0.5)
    row = re.search(r'<tr id="c\d+"><td class="mono nowrap">SSH-001</td>.*?</tr>', page, re.S).group()
    assert "<strong>50.0 %</strong>" in row and "2.0 d / 2.0 d" in row and "2 runs / 2 days" in row
    fw = next(c for c in doc["controls"] if c["id"] == "FW-001")["figures"]
    assert fw["open"][0]["hosts"] == [EVIL_HOST]
    text = _text(page)
    for it in doc["items"]:
        assert f">{it['id']}<" in page or f">{it['id']} " in page, it["id"]
        assert it["title"]["en"] in text
    for c in ("SSH-001", "FW-001", "PATCH-001"):
        assert c in text
    # the gap 03-05..03-08 and the method
    assert "2026-03-05" in text and A["method_title"]["en"] in text
    assert doc["gaps"]["list"] == [{"from": "2026-03-05", "to": "2026-03-08", "days": 4},
                                   {"from": "2026-03-10", "to": "2026-03-10", "days": 1}]
    # self-contained: no external reference, no script, the run report's CSP
    assert re.search(r"(src|href)=\"(https?:|//)", page) is None
    head = page[:page.index("<style>")]
    assert "Content-Security-Policy" in head and "default-src 'none'" in head
    assert page.count("<svg") >= 1 + len([c for c in doc["controls"]])


def test_german(hist):
    _, _, outs = hist
    page = (outs["de"] / "audit.html").read_text(encoding="utf-8")
    text = _text(page)
    assert '<html lang="de">' in page
    for key in ("title", "trend", "measures_table", "controls_table", "process", "method_title"):
        assert A[key]["de"] in text, key
    assert "Nur Schlüssel" in text and "Zugangskontrolle" in text
    assert "50,0 %" in text and "2,0 Tg. / 2,0 Tg." in text                    # decimal comma
    assert A["method"]["de"][0][:40] in text
    # the same figures in both languages
    assert json.loads((outs["de"] / "audit.json").read_text())["controls"] == \
        json.loads((outs["en"] / "audit.json").read_text())["controls"]


def test_hostile_strings_inert(hist):
    _, _, outs = hist
    for lang in ("en", "de"):
        page = (outs[lang] / "audit.html").read_text(encoding="utf-8")
        low = page.lower()
        assert "<script" not in low and "<img" not in low and "<b>" not in low
        assert "&lt;script&gt;document.title=&#39;PWNED&#39;" in page         # the control title, as text
        assert "web&lt;script&gt;alert(1)&lt;/script&gt;" in page            # the host name
        assert "inv/&lt;b&gt;x&lt;/b&gt;&amp;amp;.yml" in page               # the inventory key, entity literal
        for raw in ("\x1b", "\u202e", "\u200b"):
            assert raw not in page, repr(raw)
        for shown in ("\\x1b", "\\u202e", "\\u200b"):
            assert f'<span class="esc">{shown}</span>' in page, shown


def test_bad_input_exit_3(hist, tmp_path, capsys, monkeypatch):
    db, cat, _ = hist
    base = ["audit", "--history", str(db), "--out", str(tmp_path / "o")]
    assert main(base + ["--from", "2026-13-01", "--to", "2026-12-31"]) == 3
    assert "--from" in capsys.readouterr().err
    assert main(base + ["--from", "2026-03-02", "--to", "2026-03-01"]) == 3
    assert main(base + ["--from", "2026-03-01", "--to", "2026-03-02", "--inventory", "nope.yml"]) == 3
    err = capsys.readouterr().err
    assert "nope.yml" in err and "other.yml" in err                         # names the known keys
    assert main(["audit", "--history", str(tmp_path / "missing.db"), "--from", "2026-03-01",
                 "--to", "2026-03-02"]) == 3
    bad = tmp_path / "bad.yml"
    bad.write_text("catalog: {}\n")
    assert main(base + ["--from", "2026-03-01", "--to", "2026-03-02", "--tom", str(bad)]) == 3
    # runs of two inventories in the period: refused unless one is named or --all is given
    assert main(base + ["--from", "2026-03-01", "--to", "2026-03-10"]) == 3
    err = capsys.readouterr().err
    assert "2 inventories" in err and "other.yml" in err and EVIL_INV in err and "--all" in err
    assert main(base + ["--from", "2026-03-01", "--to", "2026-03-10", "--all", "--inventory", "other.yml"]) == 3
    assert not (tmp_path / "o").exists()
    assert main(base + ["--from", "2026-03-01", "--to", "2026-03-10", "--all", "--no-bundle-check"]) == 0
    doc = json.loads((tmp_path / "o" / "audit.json").read_text())
    assert doc["inventory"] is None and "other" in [r["run_id"] for r in doc["runs"]["list"]]
    # the history from the environment, the default output folder
    monkeypatch.setenv("HARDENCHECK_HISTORY", str(db))
    monkeypatch.chdir(tmp_path)
    assert main(["audit", "--from", "2026-03-01", "--to", "2026-03-02", "--tom", str(cat), "--no-bundle-check"]) == 0
    assert (tmp_path / "reports" / "audit-2026-03-01_2026-03-02" / "audit.html").is_file()


def test_chromium_no_errors_no_requests(hist, chromium):  # noqa: F811
    _, _, outs = hist
    page = outs["en"] / "audit.html"
    url = page.as_uri()
    session, seconds = chromium.open(url)
    assert "PWNED" not in chromium.evaluate("document.title", session)
    assert chromium.evaluate("typeof window.__pwned", session) == "undefined"
    assert chromium.evaluate("document.scripts.length", session) == 0
    assert chromium.evaluate("document.images.length", session) == 0
    body = chromium.evaluate("document.body.textContent", session)
    assert "web<script>alert(1)</script>" in body
    assert chromium.evaluate("document.querySelectorAll('svg rect').length", session) > 20
    ARTIFACTS.mkdir(exist_ok=True)
    chromium.send("Emulation.setDeviceMetricsOverride",
                  {"width": 1280, "height": 2400, "deviceScaleFactor": 1, "mobile": False}, session=session)
    png = base64.b64decode(chromium.send("Page.captureScreenshot", {"format": "png"}, session=session)["data"])
    (ARTIFACTS / "audit_html.png").write_bytes(png)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    p = chromium.problems(session)
    assert p["exceptions"] == [] and p["console"] == []
    assert [e for e in p["log"] if e["level"] in ("error", "warning")] == []
    assert p["requests"] == [url]
    assert seconds < 30


@pytest.mark.parametrize("lang", ["en", "de"])
def test_held_with_exceptions_exceptions_life_and_attestations_in_the_html(tmp_path, lang):
    """The hand-built history of tests/records/test_register_history: the new outcome distinct in the
    tables, strips and chart, each exception's life, the attestation validity, deviations; hostile
    justification inert."""
    from hardencheck.report.audit_html import COLORS, render
    from hardencheck.report.i18n import OUTCOME, RESPONSE_STATE
    from tests.records.test_register_history import build
    doc = build(tmp_path)
    page = render(doc, lang).decode()
    text = _text(page)
    hwe = OUTCOME["held_with_exceptions"][lang]
    assert A["hwe_runs"][lang] in text and hwe in page
    assert COLORS["held_with_exceptions"] in page       # weekly strips and the daily chart's legend
    assert '<span class="badge s-met_with_exceptions">3</span>' in page     # SSH-001 and measure 1.1: 3 runs
    assert A["exc_life"][lang] in text and A["att_validity"][lang] in text and A["deviations"][lang] in text
    assert A["renewed_by"][lang].format(ids="EXC-2") in text and A["renews"][lang].format(ids="EXC-1") in text
    for st in ("active", "expiring", "expired"):
        assert RESPONSE_STATE[st][lang] in text
    assert "<i>EXC-1</i>" not in page and "&lt;i&gt;EXC-1&lt;/i&gt;" in page
    assert "3 / 1 / 1 / 0" in text                      # measure 1.3: attested / expired / not attested / docs
    assert "2026-03-03" in text and "also allows 8080" in text
    assert A["headline_hwe"][lang].format(n=1, e=2, x=1) in text
    assert A["headline_org"][lang].format(n=1, m=0) in text
