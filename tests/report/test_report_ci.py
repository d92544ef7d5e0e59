"""The CI formats (JUnit XML, Markdown summary, CSV) and their parity with the terminal summary.

Rendered from a real scan of the lab hosts (a control subset, through the CLI, which writes the
formats itself) and from synthetic documents with hostile host output and 500 hosts.
"""

import contextlib
import csv
import io
import json
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from rich.console import Console

from hardencheck.report import csv_format, markdown
from hardencheck.report.rendering import render
from hardencheck.report.i18n import ROLLUP, word
from hardencheck.report.view import build_view
from hardencheck.report.terminal import summary_from_doc
from hardencheck.results import STATUSES, validate_document

import xmlschema

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CONTROLS = "SSH-001,FW-001,ACCT-003,RAID-001,AVAIL-003"

SCRIPT = "<script>alert(1)</script>"
FORMULA = "=cmd|' /C calc'!A0"
HOSTILE = (f"{SCRIPT} a|b `rm -rf /` {FORMULA} nul\x00 esc\x1b[2J\x1b]0;title\x07 "
           "bad\ud800surrogate\udcff [click](https://evil.example) <img src=x onerror=alert(2)> "
           "&amp; $x^2$ \u202eevil\u202c **bold**")
LONG = "A" * 1_000_000


def junit_xsd() -> Path:
    """The Jenkins/xUnit JUnit schema (junit-10.xsd) as pytest's own test suite validates against
    it. It is taken from the pytest source distribution on PyPI (not committed here) and cached
    in tests/artifacts/."""
    import subprocess
    import sys
    import tarfile
    import tempfile
    from importlib.metadata import version

    target = ARTIFACTS / "junit-10.xsd"
    if target.exists():
        return target
    ARTIFACTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                        f"pytest=={version('pytest')}", "-d", tmp], check=True, capture_output=True)
        (sdist,) = Path(tmp).glob("pytest-*.tar.gz")
        with tarfile.open(sdist) as tar:
            member = next(m for m in tar.getmembers() if m.name.endswith("testing/example_scripts/junit-10.xsd"))
            target.write_bytes(tar.extractfile(member).read())
    return target


@pytest.fixture(scope="module")
def schema():
    return xmlschema.XMLSchema(str(junit_xsd()))


# -- a real scan of the lab ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def scanned(lab, tmp_path_factory):
    """One CLI scan of every lab host with a control subset; the scan writes json, junit, md and csv.
    Returns (document, run folder, the scan's own terminal output)."""
    from hardencheck.cli import main

    out = tmp_path_factory.mktemp("ci-reports")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["scan", "-i", str(lab.inventory_path), "--known-hosts", str(lab.known_hosts_path),
                     "--ssh-config", "/dev/null", "--out", str(out), "--quiet", "--control", CONTROLS,
                     "--format", "json,junit,md,csv"])
    assert code in (1, 2), buf.getvalue()
    (results,) = out.glob("*/results.json")
    return json.loads(results.read_text()), results.parent, buf.getvalue()


@pytest.mark.lab
def test_junit_from_the_lab_validates_and_counts_match(scanned, schema):
    doc, run, _ = scanned
    path = run / "junit.xml"
    schema.validate(str(path))
    root = ET.parse(path).getroot()
    by_host = {}
    for r in doc["results"]:
        by_host.setdefault(r["host"], []).append(r)
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [h["name"] for h in doc["hosts"]]
    for suite in suites:
        results = by_host[suite.get("name")]
        n = {s: sum(r["status"] == s for r in results) for s in STATUSES}
        assert int(suite.get("tests")) == len(results) == len(suite.findall("testcase"))
        assert int(suite.get("failures")) == n["fail"] == len(suite.findall("testcase/failure"))
        assert int(suite.get("errors")) == n["error"] == len(suite.findall("testcase/error"))
        assert int(suite.get("skipped")) == n["skipped"] + n["not_applicable"] == len(suite.findall("testcase/skipped"))
        for case, r in zip(suite.findall("testcase"), results):
            assert case.get("classname") == f"hardencheck.{r['host']}"
            assert case.get("name").startswith(r["control"] + " ")
            if r["status"] == "fail":
                f = case.find("failure")
                assert f.get("type") == r["severity"] and f.get("message") == r["message"]
                assert "expected: " + r["expected"] in f.text and "actual: " in f.text
            if r["status"] == "error":
                assert case.find("error").get("type") == r["reason"]
    props = {p.get("name"): p.get("value") for p in suites[0].iter("property")}
    hardened = next(h for h in doc["hosts"] if h["name"] == suites[0].get("name"))
    assert props["host_key_fingerprint"] == hardened["identity"]["host_key_fingerprint"]
    wrongkey = next(s for s in suites if s.get("name") == "wrongkey")
    assert wrongkey.find("system-err").text.startswith("hostkey_mismatch")
    assert render("junit", doc, "en") == path.read_bytes()


@pytest.mark.lab
def test_csv_from_the_lab_round_trips(scanned):
    doc, run, _ = scanned
    data = (run / "results.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert tuple(table[0]) == csv_format.COLUMNS
    assert len(table) - 1 == len(doc["results"])
    expected = [["" if v is None else str(v) for v in row] for row in csv_format.rows(doc)]
    assert [unneutralise(row) for row in table[1:]] == expected
    row = dict(zip(table[0], table[1 + next(i for i, r in enumerate(doc["results"])
                                            if r["host"] == "weak" and r["control"] == "SSH-001")]))
    assert row["status"] == "fail" and json.loads(row["actual"])["passwordauthentication"] == "yes"
    assert row["host_key_fingerprint"].startswith("SHA256:") and row["tom"]


@pytest.mark.lab
def test_markdown_and_terminal_show_the_same_figures(scanned):
    doc, run, terminal_out = scanned
    text = (run / "summary.md").read_text(encoding="utf-8")
    s = build_view(doc)
    assert s.totals == doc["summary"]["status_counts"]
    # the scan's own terminal summary (built from the outcomes) …
    total_line = next(line for line in terminal_out.splitlines() if line.startswith("total: "))
    terminal_totals = {st: int(n) for n, st in re.findall(r"(\d+) (\w+)", total_line)}
    assert terminal_totals == s.totals
    # … the Markdown totals row (from the saved document)
    lines = text.splitlines()
    i = lines.index("### Results")
    assert lines[i + 4] == "| " + " | ".join(str(s.totals[st]) for st in STATUSES) + " |"
    tom_line = next(line for line in terminal_out.splitlines() if line.startswith("TOM measures: "))
    assert dict((st, int(n)) for n, st in re.findall(r"(\d+) (\w+)", tom_line)) == s.tom_counts
    assert "TOM measures: " in text
    for st, n in s.tom_counts.items():
        assert f"{n} {word(ROLLUP, st, 'en')}" in text
    # hosts that could not be scanned, with their reasons, in both
    for h in s.hosts_with_errors:
        assert h.reason in terminal_out and h.reason.replace("_", "\\_") in text
    assert {h.name for h in s.hosts_with_errors} == {"wrongkey", "hanging", "unreachable"}
    # the failing controls: every (severity, control) count of the Markdown is the terminal's rows
    failing_rows = re.findall(r"│ (critical|high|medium|low|info) +│ ([A-Z]+-\d+) +│ (\S+) +│", terminal_out)
    assert len(failing_rows) == s.totals["fail"]
    for g in s.failure_groups:
        assert sum(1 for _, c, _ in failing_rows if c == g.control) == len(g.hosts)
        assert re.search(rf"\| {g.control} \|.*\| {len(g.hosts)} \|$", text, re.M)
    # the same document through the terminal renderer gives the scan's own figures
    buf = io.StringIO()
    summary_from_doc(Console(file=buf, width=200), doc)
    assert total_line in buf.getvalue()


@pytest.mark.lab
def test_markdown_german_uses_the_tom_category_names(scanned):
    from hardencheck.judge.tom import CATEGORIES

    doc, _, _ = scanned
    text = render("md", doc, "de").decode()
    assert "### Ergebnisse" in text and "TOM-Maßnahmen" in text
    s = build_view(doc)
    assert s.tom_open
    for m in s.tom_open:
        assert CATEGORIES[m.category]["de"] in text and markdown.md(m.title["de"], 80) in text


# -- hostile host output ------------------------------------------------------------------------

def _result(host, control, status, severity="high", message="", actual=None, reason=None, address="192.0.2.1"):
    return {"host": host, "control": control, "status": status, "severity": severity,
            "expected": "`x` equals true", "actual": actual, "message": message, "reason": reason,
            "tom": ["1.2.1"], "params": {},
            "evidence": {"probe": "p", "args": {}, "sections": [f"{host}/p/s"],
                         "collected_at": "2026-11-23T06:00:00.000Z",
                         "host": {"name": host, "address": address,
                                  "host_key_fingerprint": "SHA256:" + "a" * 43}}}


def _host(name, status="ok", error=None, address="192.0.2.1"):
    return {"name": name, "identity": {"name": name, "address": address, "port": 22, "user": "root",
                                       "transport": "ssh", "host_key_type": "ssh-ed25519",
                                       "host_key_fingerprint": None if error else "SHA256:" + "a" * 43},
            "status": status, "error": error, "started_at": "2026-11-23T06:00:00.000Z",
            "ended_at": "2026-11-23T06:00:01.500Z", "os": None, "exec": None, "noise": HOSTILE}


def _doc(hosts, results, controls):
    counts = {s: sum(r["status"] == s for r in results) for s in STATUSES}
    return {
        "schema_version": "1.0",
        "run": {"id": "20261123T060000Z-abcdef", "started_at": "2026-11-23T06:00:00.000Z",
                "ended_at": "2026-11-23T06:00:02.000Z", "complete": True,
                "tool": {"name": "hardencheck", "version": "0.1.0"},
                "inventory": {"path": "inv.yml", "sha256": "0" * 64, "hosts": [h["name"] for h in hosts],
                              "not_scanned": []},
                "controls": {"path": "controls", "sha256": "1" * 64, "ids": [c["id"] for c in controls]},
                "options": {"fail_on": "info"}, "exit_code": 1},
        "summary": {"hosts": len(hosts), "hosts_with_errors": [h["name"] for h in hosts if h["status"] != "ok"],
                    "status_counts": counts},
        "controls": controls,
        "hosts": hosts,
        "results": results,
        "evidence": {},
        "tom": {"catalog": {"id": "t", "version": "1", "sha256": "2" * 64},
                "items": [{"id": "1.2.1", "title": {"de": HOSTILE, "en": HOSTILE}, "group": False,
                           "category": "zugangskontrolle", "controls": [c["id"] for c in controls],
                           "status": "not_met", "hosts": {h["name"]: "not_met" for h in hosts}}]},
    }


def _control(cid, title="SSH accepts keys only", severity="high"):
    return {"id": cid, "title": title, "severity": severity, "probe": "p", "sha256": "3" * 64}


@pytest.fixture(scope="module")
def hostile():
    evil = "web|1<script>`x`\x1b[31m\ud800"
    formula = "=HYPERLINK(\"https://evil.example\")"
    hosts = [_host(evil), _host(formula, address="-2+3"),
             _host("::set-env name=PATH::/tmp", status="error",
                   error={"reason": "hostkey_mismatch", "message": HOSTILE + LONG})]
    controls = [_control("SSH-001", title=HOSTILE), _control("FW-001"), _control("RAID-001"),
                _control("LOG-001")]
    results = []
    for h in hosts:
        n, a = h["name"], h["identity"]["address"]
        if h["status"] != "ok":
            results += [_result(n, c["id"], "error", message=h["error"]["message"], reason="hostkey_mismatch")
                        for c in controls]
            continue
        results += [
            _result(n, "SSH-001", "fail", message=HOSTILE, actual={"banner": HOSTILE, "long": LONG}, address=a),
            _result(n, "FW-001", "error", message=FORMULA + LONG, reason="probe_failed", address=a),
            _result(n, "RAID-001", "not_applicable", message="no software RAID " + HOSTILE, reason="precondition", address=a),
            _result(n, "LOG-001", "skipped", message="@SUM(1+1)*cmd|' /C calc'!A0", reason="deselected", address=a),
        ]
    return _doc(hosts, results, controls)


def test_hostile_document_follows_the_results_schema(hostile):
    validate_document(hostile)


def test_junit_keeps_hostile_output_as_inert_valid_xml(hostile, schema):
    data = render("junit", hostile, "en")
    schema.validate(io.BytesIO(data))
    root = ET.fromstring(data)
    assert b"<script>" not in data and b"\x1b" not in data and b"\x00" not in data
    assert len(data) < 300_000                           # three 1 MB lines, bounded
    suites = root.findall("testsuite")
    assert [s.get("tests") for s in suites] == ["4", "4", "4"]
    assert [(s.get("failures"), s.get("errors"), s.get("skipped")) for s in suites] == \
        [("1", "1", "2"), ("1", "1", "2"), ("0", "4", "0")]
    failure = suites[0].find("testcase/failure")
    # readable: the text survives, forbidden characters are shown, not dropped
    assert SCRIPT in failure.get("message") and FORMULA in failure.get("message")
    assert "nul\\x00" in failure.get("message") and "esc\\x1b[2J" in failure.get("message")
    assert "bad\ufffdsurrogate\ufffd" in failure.get("message") and "\\u202e" in failure.get("message")
    assert "more characters in results.json" in failure.text
    assert re.fullmatch(r"hardencheck\.[A-Za-z0-9_-]+", suites[0].find("testcase").get("classname"))
    assert suites[0].get("name") == "web|1<script>`x`\\x1b[31m\ufffd"
    assert suites[2].find("testcase/error").get("type") == "hostkey_mismatch"


def test_csv_round_trips_hostile_values_and_neutralises_formulas(hostile):
    data = render("csv", hostile, "en")
    assert data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert len(table) == 1 + len(hostile["results"])
    expected = [["" if v is None else str(v) for v in row] for row in csv_format.rows(hostile)]
    for got, want in zip(table[1:], expected):
        for g, w in zip(unneutralise(got), want):
            w = w.replace("\ud800", "\ufffd").replace("\udcff", "\ufffd")
            if len(w) > csv_format.CELL_LIMIT:
                assert g.startswith(w[: csv_format.CELL_LIMIT]) and "more characters in results.json" in g
            else:
                assert g == w
    for row in table[1:]:
        for value in row:
            assert not value.startswith(csv_format.FORMULA_START), value
    rows = [dict(zip(table[0], r)) for r in table[1:]]
    assert rows[4]["host"] == "'" + hostile["hosts"][1]["name"] and rows[4]["address"] == "'-2+3"
    assert rows[1]["message"].startswith("'=cmd|' /C calc'!A0")
    assert rows[3]["message"] == "'@SUM(1+1)*cmd|' /C calc'!A0"
    assert "nul\x00" in rows[0]["message"] and "\x1b[2J" in rows[0]["message"]   # kept as data


def test_markdown_escapes_hostile_output(hostile):
    text = render("md", hostile, "en").decode("utf-8")
    assert "<script>" not in text and "<img" not in text and not re.search(r"(?<!\\)\]\(", text)
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff\u202a-\u202e]", text)
    assert not any(line.startswith("::") for line in text.splitlines())
    assert "&lt;script&gt;" in text and "\\x1b" in text
    assert len(text) < 8000
    # every table row has as many cell separators as its header: host pipes are escaped
    for block in re.findall(r"((?:^\|.*\|$\n?)+)", text, re.M):
        rows = block.strip().splitlines()
        seps = {len(re.findall(r"(?<!\\)\|", r)) for r in rows}
        assert len(seps) == 1, rows
    assert "web\\|1&lt;script&gt;\\`x\\`" in text


def test_terminal_summary_of_a_hostile_document_is_inert(hostile):
    buf = io.StringIO()
    summary_from_doc(Console(file=buf, force_terminal=True, width=160), hostile)
    out = buf.getvalue()
    assert "\x1b[2J" not in out and "\x1b]0" not in out and "\u202e" not in out
    assert "total: " in out


def unneutralise(row):
    return [v[1:] if v.startswith("'") and v[1:].startswith(csv_format.FORMULA_START) else v for v in row]


# -- fleet size ---------------------------------------------------------------------------------

def fleet(n_hosts=500, n_controls=60):
    controls = [_control(f"CTL-{i:03d}", title=f"Control number {i} keeps the fleet safe",
                         severity=("critical", "high", "medium", "low")[i % 4]) for i in range(n_controls)]
    hosts, results = [], []
    for h in range(n_hosts):
        name = f"host{h:03d}.prod.example.com"
        if h % 50 == 7:
            hosts.append(_host(name, "error", {"reason": ("timeout", "unreachable")[h % 2],
                                               "message": f"{name}:22 timed out"}))
            results += [_result(name, c["id"], "error", c["severity"], "timed out", reason="timeout")
                        for c in controls]
            continue
        hosts.append(_host(name))
        for i, c in enumerate(controls):
            status = "fail" if (h + i) % 7 == 0 else "error" if (h * i) % 97 == 3 else \
                "not_applicable" if i % 13 == 5 else "pass"
            results.append(_result(name, c["id"], status, c["severity"], f"finding {i} on {name}",
                                   actual={"value": i}, reason="probe_failed" if status == "error" else None))
    doc = _doc(hosts, results, controls)
    doc["tom"]["items"][0]["title"] = {"de": "Anmeldung nur mit Schlüssel", "en": "Key login only"}
    return doc


def test_500_hosts_markdown_stays_short_and_every_format_renders_fast():
    doc = fleet()
    t = time.perf_counter()
    md = render("md", doc, "en")
    md_s = time.perf_counter() - t
    assert len(md) < 12_000, len(md)
    s = build_view(doc)
    # figures follow the language's number format (English: 22,864)
    from hardencheck.report.i18n import num
    assert f"| {num(s.totals['pass'], 'en')} | {num(s.totals['fail'], 'en')} | {num(s.totals['error'], 'en')} |" \
        in md.decode()
    assert f"| {num(s.totals['pass'], 'de')} | " in render("md", doc, "de").decode() and s.totals["pass"] >= 1000
    assert "… and " in md.decode()
    t = time.perf_counter()
    xml = render("junit", doc, "en")
    junit_s = time.perf_counter() - t
    t = time.perf_counter()
    table = render("csv", doc, "en")
    csv_s = time.perf_counter() - t
    root = ET.fromstring(xml)
    assert len(root.findall("testsuite")) == 500 and len(root.findall("testsuite/testcase")) == 30_000
    assert table.count(b"\r\n") == 30_001
    assert md_s < 5 and junit_s < 20 and csv_s < 10, (md_s, junit_s, csv_s)


def test_markdown_of_an_interrupted_clean_run():
    doc = _doc([_host("a")], [_result("a", "SSH-001", "pass")], [_control("SSH-001")])
    doc["run"].update(complete=False, exit_code=2)
    doc["run"]["inventory"]["not_scanned"] = ["b", "c|d"]
    doc["tom"]["items"][0].update(status="met", hosts={"a": "met"})
    text = render("md", doc, "en").decode()
    assert text.startswith("## hardencheck: ⚠ scan interrupted")
    assert "**Scan interrupted**: 2 planned host(s) not scanned: b, c\\|d" in text
    assert "No control failed." in text and "TOM measures: 1 met" in text
    de = render("md", doc, "de").decode()
    assert "Scan abgebrochen" in de and "Keine Kontrolle wurde als „nicht bestanden“ bewertet." in de


def test_markdown_host_text_cannot_mention_people_or_link_issues():
    out = markdown.md("contact @security-team, see #42")
    assert "@security" not in out.replace("\\@", "") and "#42" not in out.replace("\\#", "")
    assert out == "contact \\@security-team, see \\#42"
