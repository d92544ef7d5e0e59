"""The scope section in every run report: built by scan.scope from a real register file, rendered in
HTML, Markdown and the terminal in English and German; hostile inventory names and register
environments stay inert text; a document without a scope shows no section."""

from __future__ import annotations

import io
from types import SimpleNamespace as NS

import pytest
from rich.console import Console

from hardencheck.judge.asset_register import load_asset_register
from hardencheck.report.rendering import render
from hardencheck.report.terminal import summary_from_doc
from hardencheck.results import SCHEMA_VERSION, STATUSES, validate_document
from hardencheck.scan import scope

EVIL_ENV = "<img src=x onerror=alert(1)>|`x`"
EVIL_HOST = "web<script>alert(2)</script>"


def _doc(scope_block):
    hosts = [{"name": n, "identity": {"name": n, "address": "192.0.2.1"}, "status": s, "error": e,
              "started_at": "2026-12-07T01:00:00.000Z", "ended_at": "2026-12-07T01:00:01.000Z", "os": None,
              "exec": None} for n, s, e in (("db1", "ok", None), (EVIL_HOST, "ok", None),
                                           ("mail", "error", {"reason": "unreachable", "message": "refused"}))]
    doc = {"schema_version": SCHEMA_VERSION,
           "run": {"id": "20261207T010000Z-abcdef", "started_at": "2026-12-07T01:00:00.000Z",
                   "ended_at": "2026-12-07T01:00:02.000Z", "complete": True,
                   "tool": {"name": "hardencheck", "version": "0.1.0"},
                   "inventory": {"path": "inv.yml", "sha256": "0" * 64, "hosts": [h["name"] for h in hosts],
                                 "not_scanned": []},
                   "controls": {"path": "controls", "sha256": "1" * 64, "ids": []},
                   "options": {"fail_on": "info"}, "exit_code": 2},
           "summary": {"hosts": 3, "hosts_with_errors": ["mail"], "status_counts": {s: 0 for s in STATUSES}},
           "controls": [], "hosts": hosts, "results": [], "evidence": {}}
    if scope_block is not None:
        doc["scope"] = scope_block
    return doc


@pytest.fixture(scope="module")
def doc(tmp_path_factory):
    reg = tmp_path_factory.mktemp("reg") / "assets.csv"
    reg.write_text(f'hostname,environment\ndb1.example.org,prod\nmail,prod\nlegacy9,"{EVIL_ENV}"\n')
    register = load_asset_register(reg)
    inventory = [NS(name="db1", address="10.0.0.1"), NS(name=EVIL_HOST, address="10.0.0.2"),
                 NS(name="mail", address="10.0.0.3")]
    outcomes = [NS(host=NS(name="db1", status="ok", started_at="2026-12-07T01:00:00.000Z", error=None)),
                NS(host=NS(name=EVIL_HOST, status="ok", started_at="2026-12-07T01:00:00.000Z", error=None)),
                NS(host=NS(name="mail", status="error", started_at="2026-12-07T01:00:00.000Z",
                           error={"reason": "unreachable"}))]
    history = {"mail": {"last_ok": "2026-11-01T00:00:00.000Z", "last_attempt": "2026-12-06T00:00:00.000Z",
                        "last_status": "error", "last_reason": "unreachable"}}
    block = scope.block(register, inventory, outcomes, history, as_of="2026-12-07T01:00:02.000Z", days=7,
                        fail_on_missing=True)
    d = _doc(block)
    validate_document(d)
    return d


def test_the_block(doc):
    sc = doc["scope"]
    assert [(m["host"], m["by"]) for m in sc["matched"]] == [("db1", "short_name"), ("mail", "name")]
    assert [m["name"] for m in sc["missing_from_inventory"]] == ["legacy9"]
    assert [u["host"] for u in sc["not_in_register"]] == [EVIL_HOST]
    assert [(h["host"], h["days_since_ok"], h["this_run"]) for h in sc["stale"]["hosts"]] == [("mail", 36.0, "error")]
    assert scope.exit_code(0, sc) == 2 and scope.exit_code(1, sc) == 1
    assert scope.exit_code(0, dict(sc, fail_on_missing_hosts=False)) == 0


@pytest.mark.parametrize("lang,title,missing", [("en", "Were all servers tested?", "missing from the inventory"),
                                                ("de", "Wurden alle Server geprüft?", "fehlt im Inventar")])
def test_html_section_in_both_languages_is_inert(doc, lang, title, missing):
    html = render("html", doc, lang).decode()
    section = html[html.index('id="scope"'):html.index('id="findings"')]
    assert title in section and missing in section and 'href="#scope"' in html
    assert "<script>alert(2)" not in html and "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in section and "web&lt;script&gt;" in section
    assert "legacy9" in section and "db1" not in section.split('id="scope-unknown"')[1].split('id="scope-stale"')[0]
    assert "--fail-on-missing-hosts" in section


def test_markdown_and_terminal(doc):
    md = render("md", doc, "de").decode()
    assert "### Wurden alle Server geprüft?" in md and "#### Im Asset-Register, fehlt im Inventar" in md
    assert "<img" not in md and "<script>" not in md
    buf = io.StringIO()
    summary_from_doc(Console(file=buf, width=300), doc)
    line = next(ln for ln in buf.getvalue().splitlines() if ln.startswith("scope:"))
    assert line == ("scope: 1 host(s) of the register missing from the inventory, 1 not in the register, 1 without a "
                    "successful scan for more than 7 days: legacy9")


def test_no_register_no_section(doc):
    plain = _doc(None)
    assert 'id="scope"' not in render("html", plain, "en").decode()
    assert "servers tested" not in render("md", plain, "en").decode()
