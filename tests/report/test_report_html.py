"""The HTML report (hardencheck/report/html.py) rendered from real lab scans.

Structure (every TOM item, every host, evidence of a failing control, the results.json sha256,
German strings), hostile host output (script, entities, control characters, bidi, invalid
UTF-8, long lines) rendered inert, and real headless Chromium (Debian's ``chromium``) driven over
the DevTools protocol through ``--remote-debugging-pipe`` (stdlib only): no console errors, no
network request but the file itself, the planted script never runs, a screenshot and a PDF in
tests/artifacts/.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import html as htmlmod
import json
import os
import queue
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import markupsafe
import pytest

from hardencheck.cli import main
from hardencheck.report import html_context, i18n
from hardencheck.report.rendering import load_results, render
from hardencheck.report.i18n_html import T
from hardencheck.results import document_bytes
from hardencheck.judge.tom import CATEGORIES

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CONTROLS = "SSH-001,SSH-002,FW-001,ACCT-003,KERN-001,RAID-001,SCAN-001"

PLANT = "<script>document.title='PWNED';window.__pwned=1</script><img src=x onerror=\"window.__pwned=2\">"
HOSTILE = (PLANT + " &amp; &lt;b&gt; \x1b[31mred\x1b[0m \x07bell \u202eevil\u202c \u200bzw "
           "\ufffd\ufffd bad-utf8 \r\n" + "A" * 300_000 + "\nend")


# -- a real scan of the lab --------------------------------------------------------------------

@pytest.fixture(scope="module")
def scanned(lab, tmp_path_factory):
    """A scan of all lab hosts with a subset of controls: (document, path of results.json)."""
    out = tmp_path_factory.mktemp("html-report")
    code = main(["scan", "-i", str(lab.inventory_path), "--known-hosts", str(lab.known_hosts_path),
                 "--ssh-config", "/dev/null", "--out", str(out), "--control", CONTROLS, "--quiet",
                 "--format", "json,html,junit,md"])
    assert code in (1, 2)
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    doc, path = load_results(run)
    return doc, path


@pytest.mark.lab
def test_the_scans_streamed_reports_are_the_reports_of_the_whole_document(scanned):
    """The scan renders its reports with each host's evidence read back from its host file, one
    host at a time, and writes them as they render (records.host_files): the same bytes as the
    reports rendered afterwards from the whole results.json in memory."""
    doc, path = scanned
    for fmt, name in (("html", "report.html"), ("junit", "junit.xml"), ("md", "summary.md")):
        assert (path.parent / name).read_bytes() == render(fmt, doc, "en"), name


def _text(page: str) -> str:
    """Rendered HTML -> its visible text, roughly (tags dropped, entities decoded)."""
    return htmlmod.unescape(re.sub(r"<[^>]+>", "", page))


@pytest.mark.lab
def test_structure_en(scanned):
    doc, path = scanned
    page = render("html", doc, "en").decode("utf-8")
    assert page.startswith("<!DOCTYPE html>")
    # self-contained: no external reference at all, strict CSP first in <head>
    assert re.search(r"(src|href)=\"(https?:|//)", page) is None
    assert "<script" not in page.lower()
    head = page[:page.index("<style>")]
    assert "Content-Security-Policy" in head and "default-src 'none'" in head
    # results.json tied to the report: the sha256 of the file's real bytes
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert document_bytes(doc) == path.read_bytes()
    assert f'id="results-sha256">{sha}<' in page and page.count(sha) >= 2
    text = _text(page)
    # every TOM item and every host
    for it in doc["tom"]["items"]:
        assert f">{it['id']}<" in page, it["id"]
        assert it["title"]["en"] in text
    for h in doc["hosts"]:
        assert f">{h['name']}<" in page
    for hname in ("hardened", "weak", "sudo", "wrongkey", "hanging", "unreachable"):
        assert hname in text
    # a failing control: its finding with rationale, remediation, and the raw evidence of that host
    fail = next(r for r in doc["results"] if r["status"] == "fail" and r["host"] == "weak"
                and r["control"] == "SSH-001")
    ctl = next(c for c in doc["controls"] if c["id"] == "SSH-001")
    assert ctl["rationale"].split("\n")[0][:60] in text
    assert ctl["remediation"].split("\n")[0][:40] in text
    for sec in fail["evidence"]["sections"]:
        ev = doc["evidence"][sec]
        assert htmlmod.escape(sec.split("/", 1)[1], quote=False) in page
        assert str(markupsafe.escape(ev["code"][:60])) in page
        first_line = next(line for line in ev["stdout"].splitlines() if line.strip())
        assert str(markupsafe.escape(first_line)) in page
        assert ev["started_at"] in page
    assert fail["evidence"]["host"]["host_key_fingerprint"] in page
    # hosts that could not be checked are prominent, with the reason
    assert "hostkey_mismatch" in text and "could not be checked at all" in text
    # the method, glossary and definitions
    for key in ("method", "glossary", "definitions", "integrity", "compliance_def"):
        assert T[key]["en"] in text
    for c in doc["controls"]:
        assert f'id="c{doc["controls"].index(c)}"' in page


@pytest.mark.lab
def test_german(scanned):
    doc, _ = scanned
    page = render("html", doc, "de").decode("utf-8")
    text = _text(page)
    assert '<html lang="de">' in page
    for key in ("summary", "findings", "tom_view", "host_view", "appendix", "method", "compliance"):
        assert T[key]["de"] in text, key
    assert i18n.ROLLUP["not_met"]["de"] in text and i18n.STATUS["pass"]["de"] in text
    cats = {it["category"] for it in doc["tom"]["items"] if not it["group"]}
    for c in cats:
        assert CATEGORIES[c]["de"] in text
    assert "Zugangskontrolle" in text
    for it in doc["tom"]["items"]:
        assert it["title"]["de"] in text


def test_every_string_in_both_languages():
    for key, v in T.items():
        assert set(v) == {"en", "de"}, key
    for table in (i18n.STATUS, i18n.STATUS_DEF, i18n.ROLLUP, i18n.ROLLUP_DEF, i18n.OUTCOME, i18n.SEVERITY,
                  i18n.REASON):
        for key, v in table.items():
            assert set(v) == {"en", "de"}, key


# -- hostile host output ----------------------------------------------------------------------

def plant(doc: dict) -> dict:
    """A copy of ``doc`` with hostile text in a failing result's actual value and message, in its
    evidence stdout/stderr, a host's login noise and a host name."""
    doc = copy.deepcopy(doc)
    fail = next(r for r in doc["results"] if r["status"] == "fail")
    key = next(iter(fail["actual"]))
    fail["actual"][key] = HOSTILE
    fail["message"] = PLANT + " message \x1b]0;title\x07"
    sec = fail["evidence"]["sections"][0]
    doc["evidence"][sec]["stdout"] = HOSTILE
    doc["evidence"][sec]["stderr"] = PLANT
    doc["evidence"][sec]["truncated"] = True
    host = next(h for h in doc["hosts"] if h["name"] == fail["host"])
    host["noise"] = "Welcome " + PLANT + "\x1b[2J"
    return doc


@pytest.mark.lab
def test_hostile_output_is_inert(scanned):
    doc = plant(scanned[0])
    page = render("html", doc, "en").decode("utf-8")
    assert "<script" not in page.lower() and "<img" not in page.lower()
    assert "&lt;script&gt;document.title=&#39;PWNED&#39;" in page
    assert "&amp;amp; &amp;lt;b&amp;gt;" in page               # entities stay literal text
    for raw in ("\x1b", "\x07", "\u202e", "\u200b", "\r"):
        assert raw not in page, repr(raw)
    for shown in ("\\x1b", "\\x07", "\\u202e", "\\u200b", "\\x0d"):
        assert f'<span class="esc">{shown}</span>' in page, shown
    assert '<span class="esc">\ufffd</span>' in page
    # the long line: kept up to the 64 KiB evidence limit, the rest counted, the tail folded
    assert "more bytes not shown (beyond the 64 KiB evidence limit)" in page
    m = re.search(r"… (\d+) more bytes not shown", page)
    assert m and int(m.group(1)) > 200_000
    assert re.search(r"<summary>… \d+ more bytes</summary>", page)
    assert "TRUNCATED" in page


def test_lone_surrogates_and_missing_tom_do_not_crash():
    doc = {"schema_version": "1.0", "run": {"id": "x\udcff", "started_at": None, "ended_at": None,
                                            "complete": False, "tool": {"name": "hardencheck", "version": "0"},
                                            "inventory": {"path": None, "sha256": None, "hosts": ["h"],
                                                          "not_scanned": ["h"]},
                                            "controls": {"path": "c", "sha256": "0", "ids": []}, "exit_code": 2},
           "summary": {"hosts": 0, "status_counts": {}}, "controls": [], "hosts": [], "results": [],
           "evidence": {}}
    page = render("html", doc, "de").decode("utf-8")
    assert "\\udcff" in page and "abgebrochen" in page


# -- headless Chromium over the DevTools protocol (pipe transport, stdlib only) -----------------

def chromium_binary() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Chromium:
    """Headless Chromium driven over ``--remote-debugging-pipe`` (NUL-separated JSON on fds 3/4)."""

    def __init__(self, binary: str, workdir: Path):
        self.events: list[dict] = []
        self._replies: dict[int, queue.Queue] = {}
        self._lock = threading.Lock()
        self._next = 0
        cmd_r, self._cmd_w = os.pipe()
        self._ev_r, ev_w = os.pipe()

        def fds():
            os.dup2(cmd_r, 3)
            os.dup2(ev_w, 4)

        self.proc = subprocess.Popen(
            [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
             "--disable-default-apps", "--mute-audio", f"--user-data-dir={workdir / 'profile'}",
             "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(workdir / "chromium.log", "wb"),
            pass_fds=(3, 4), preexec_fn=fds)
        os.close(cmd_r)
        os.close(ev_w)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        buf = b""
        while True:
            chunk = os.read(self._ev_r, 1 << 20)
            if not chunk:
                break
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                if "id" in msg and msg["id"] in self._replies:
                    self._replies[msg["id"]].put(msg)
                else:
                    with self._lock:
                        self.events.append(msg)

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 120) -> dict:
        with self._lock:
            self._next += 1
            mid = self._next
        q: queue.Queue = queue.Queue()
        self._replies[mid] = q
        msg = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        reply = q.get(timeout=timeout)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def wait_event(self, method: str, session: str | None = None, timeout: float = 120) -> dict:
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self._lock:
                for e in self.events:
                    if e.get("method") == method and (session is None or e.get("sessionId") == session):
                        return e
            time.sleep(0.02)
        raise TimeoutError(method)

    def open(self, url: str, timeout: float = 300) -> tuple[str, float]:
        """A new page with console, log and network events on; navigate; -> (session, seconds to load)."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session=session)
        t0 = time.time()
        self.send("Page.navigate", {"url": url}, session=session)
        self.wait_event("Page.loadEventFired", session, timeout=timeout)
        return session, time.time() - t0

    def evaluate(self, expr: str, session: str):
        r = self.send("Runtime.evaluate", {"expression": expr, "returnByValue": True}, session=session)
        return r["result"].get("value")

    def close(self):
        try:
            self.send("Browser.close", timeout=10)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._cmd_w)

    def problems(self, session: str) -> dict[str, list]:
        """Console errors/warnings, exceptions, log entries and the URLs requested."""
        with self._lock:
            evs = [e for e in self.events if e.get("sessionId") == session]
        return {
            "console": [e["params"] for e in evs if e["method"] == "Runtime.consoleAPICalled"],
            "exceptions": [e["params"] for e in evs if e["method"] == "Runtime.exceptionThrown"],
            "log": [e["params"]["entry"] for e in evs if e["method"] == "Log.entryAdded"],
            "requests": [e["params"]["request"]["url"] for e in evs if e["method"] == "Network.requestWillBeSent"],
        }


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    binary = chromium_binary()
    if not binary:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium must be installed in CI (apt-get install -y chromium)", pytrace=False)
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    browser = Chromium(binary, tmp_path_factory.mktemp("chromium"))
    yield browser
    browser.close()


@pytest.mark.lab
def test_chromium_loads_inert_screenshot_pdf(scanned, chromium, tmp_path):
    doc = plant(scanned[0])
    page = tmp_path / "report.html"
    page.write_bytes(render("html", doc, "en"))
    url = page.as_uri()
    session, _seconds = chromium.open(url)
    title = chromium.evaluate("document.title", session)
    assert "PWNED" not in title and "Audit report" in title
    assert chromium.evaluate("typeof window.__pwned", session) == "undefined"
    assert chromium.evaluate("document.scripts.length", session) == 0
    assert chromium.evaluate("document.images.length", session) == 0
    # the planted text is there, as text
    body = chromium.evaluate("document.body.textContent", session)
    assert "<script>document.title='PWNED'" in body
    # every host and TOM item is in the DOM
    for h in doc["hosts"]:
        assert h["name"] in body
    assert chromium.evaluate("document.querySelectorAll('.measure').length", session) == \
        sum(1 for it in doc["tom"]["items"] if not it["group"])
    # a fragment link into folded evidence opens it
    sec = next(r for r in doc["results"] if r["status"] == "fail")["evidence"]["sections"][0]
    anchor = chromium.evaluate(
        "[...document.querySelectorAll('details[id^=e] > summary')].find(s => s.textContent.startsWith("
        + json.dumps(sec.split("/", 1)[1]) + ")).parentElement.id", session)
    assert anchor

    # print media: a folded host's results table is laid out (forced open) for print-to-PDF; its raw
    # evidence records are not (the print edition refers to them in results.json instead)
    host_table = "document.querySelector('details.host:not([open]) table:not(.kv)')"
    chromium.send("Emulation.setEmulatedMedia", {"media": "print"}, session=session)
    visible = chromium.evaluate(f"{host_table}.checkVisibility()", session)
    record_printed = chromium.evaluate(f"document.querySelector('#{anchor} pre').checkVisibility()", session)
    reference = chromium.evaluate("document.querySelector('details.host p.print-only').checkVisibility()", session)
    chromium.send("Emulation.setEmulatedMedia", {"media": ""}, session=session)
    assert chromium.evaluate(f"{host_table}.checkVisibility()", session) is False
    assert chromium.evaluate(f"document.querySelector('#{anchor} pre').checkVisibility()", session) is False
    assert chromium.evaluate("document.querySelector('details.host p.print-only').checkVisibility()",
                             session) is False
    assert visible is True and reference is True and record_printed is False

    ARTIFACTS.mkdir(exist_ok=True)
    chromium.send("Emulation.setDeviceMetricsOverride",
                  {"width": 1280, "height": 2000, "deviceScaleFactor": 1, "mobile": False}, session=session)
    png = base64.b64decode(chromium.send("Page.captureScreenshot", {"format": "png"}, session=session)["data"])
    (ARTIFACTS / "report_html.png").write_bytes(png)
    pdf = base64.b64decode(chromium.send("Page.printToPDF", {"printBackground": True, "preferCSSPageSize": True},
                                         session=session, timeout=300)["data"])
    (ARTIFACTS / "report_html.pdf").write_bytes(pdf)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert pdf[:5] == b"%PDF-" and len(pdf) > 10_000
    (ARTIFACTS / "report_html.html").write_bytes(page.read_bytes())

    p = chromium.problems(session)
    assert p["exceptions"] == [] and p["console"] == []
    assert [e for e in p["log"] if e["level"] in ("error", "warning")] == []
    assert p["requests"] == [url]


@pytest.mark.lab
def test_fleet_layout_snippets_once(scanned, monkeypatch):
    """Above INLINE_SNIPPET_HOSTS each distinct probe snippet is printed once in the appendix and the
    evidence records refer to it; above TABLE_HOSTS the TOM view lists hosts per status."""
    doc, path = scanned
    monkeypatch.setattr(html_context, "INLINE_SNIPPET_HOSTS", 0)
    monkeypatch.setattr(html_context, "TABLE_HOSTS", 0)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    page = render("html", doc, "en", results_sha256=sha).decode("utf-8")
    assert sha in page
    codes = {e["code"] for e in doc["evidence"].values()}
    assert page.count('<pre class="code">') == len(codes)
    for code in codes:
        assert str(markupsafe.escape(code)) in page
        assert hashlib.sha256(code.encode()).hexdigest() in page
    assert 'href="#s1"' in page and 'id="s1"' in page


@pytest.mark.lab
def test_a_fleets_report_reads_each_host_file_at_most_twice(scanned, tmp_path, monkeypatch):
    """A scan's evidence is read back from its host files while the report renders: once for the
    findings' excerpts, once for the host view. The appendix's snippets are numbered as the host
    view meets them (report.html_snippets), not found by a pass of their own over every file."""
    from hardencheck.records.host_files import HostFile, HostFileEvidence

    doc, _ = scanned
    monkeypatch.setattr(html_context, "INLINE_SNIPPET_HOSTS", 0)
    by_host: dict[str, dict] = {}
    for key, rec in doc["evidence"].items():
        by_host.setdefault(key.split("/", 1)[0], {})[key] = rec
    files = []
    for name, evidence in by_host.items():
        p = tmp_path / f"{name}.json"
        p.write_bytes(document_bytes({"host": {"name": name}, "results": [], "evidence": evidence}))
        files.append(HostFile(name, p, list(evidence), True))
    reads: dict[str, int] = {}
    real = HostFile.evidence
    monkeypatch.setattr(HostFile, "evidence", lambda hf: reads.__setitem__(hf.name, reads.get(hf.name, 0) + 1)
                        or real(hf))
    sha = "0" * 64
    assert render("html", dict(doc, evidence=HostFileEvidence(files)), "en", results_sha256=sha) == \
        render("html", doc, "en", results_sha256=sha)
    assert len(reads) == len(by_host) > 1 and max(reads.values()) <= 2, reads


def test_evidence_names_the_binary_that_answered(tmp_path):
    """Each evidence record says which program ran (path, symlink target, owner, mode), and flags
    an untrusted one or one outside the system directories."""
    from hardencheck.cli import main
    from hardencheck.report.rendering import render

    out = tmp_path / "reports"
    main(["scan", "--out", str(out), "--control", "SSH-001", "--quiet", "--no-history", "--format", "json"])
    doc = json.loads(next(out.glob("*/results.json")).read_text())
    sshd = next(k for k in doc["evidence"] if k.endswith("sshd.config/effective"))
    html = render("html", doc, "en").decode()
    assert "Programs: sshd = /usr/sbin/sshd (uid 0, mode 755)" in html
    doc["evidence"][sshd]["tools"] = [
        {"tool": "sshd", "status": "untrusted", "path": "/usr/local/sbin/sshd", "real_path": "/opt/x/sshd",
         "uid": 1000, "gid": 1000, "mode": "777", "system_dir": False},
        {"tool": "aide", "status": "ok", "path": "/usr/local/bin/aide", "real_path": "/usr/local/bin/aide",
         "uid": 0, "gid": 0, "mode": "755", "system_dir": False},
        {"tool": "ufw", "status": "missing"}]
    de = render("html", doc, "de").decode()
    assert ("Programme: sshd = /usr/local/sbin/sshd → /opt/x/sshd (uid 1000, mode 777) NICHT VERTRAUENSWÜRDIG, "
            "nicht ausgeführt; aide = /usr/local/bin/aide (uid 0, mode 755) (außerhalb der Systemverzeichnisse); "
            "ufw: nicht installiert") in de
