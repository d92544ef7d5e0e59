"""The run report's cover never prints ``None`` (issue 13, part 6) and says who vouches for the bundle
(part 4): a real scan of this machine (local transport), its results.json rendered as saved, with
``fail_on`` saved as null (results.json before 1.2), as a killed run (no exit code), and with the
signature states a caller that checked the bundle passes in."""

from __future__ import annotations

import html as htmlmod
import json
import re
import sys

import pytest

from hardencheck.cli import main
from hardencheck.report import html as html_report
from hardencheck.report.html_cover import S
from hardencheck.report.view import build_view


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    out = tmp_path_factory.mktemp("cover")
    assert main(["scan", "--out", str(out), "--control", "KERN-001", "--quiet", "--format", "json",
                 "--no-history"]) in (0, 1, 2)
    (p,) = out.glob("*/results.json")
    return json.loads(p.read_text())


def _cover(doc: dict, lang: str, signature: dict | None = None) -> tuple[str, str, str]:
    view = build_view(doc)
    if signature is not None:
        view.signature = signature
    page = html_report.render(view, lang).decode()
    cover = page[page.index('id="cover"'):page.index("</table>", page.index('id="cover"'))]
    text = htmlmod.unescape(re.sub(r"<[^>]+>", "", cover))
    exit_line = htmlmod.unescape(re.search(r'id="exit-line">(.*?)</td>', page).group(1))
    sig = htmlmod.unescape(re.search(r'id="bundle-signature"[^>]*>(.*?)</td>', page).group(1))
    assert "None" not in text, text
    return exit_line, sig, text


@pytest.mark.parametrize("lang", ["en", "de"])
def test_exit_line_with_fail_on_saved_as_null(saved, lang):
    doc = json.loads(json.dumps(saved))
    doc["run"]["options"]["fail_on"] = None
    doc["run"]["exit_code"] = 1
    exit_line, _, _ = _cover(doc, lang)
    assert exit_line == {"en": "1 (failures at or above 'info')", "de": "1 (Abweichungen ab Schweregrad 'info')"}[lang]
    doc["run"]["options"]["fail_on_new"] = "high"                   # --fail-on-new alone: fail_on none
    assert "'none'" in _cover(doc, lang)[0]


@pytest.mark.parametrize("lang", ["en", "de"])
def test_killed_run_and_null_fields(saved, lang):
    doc = json.loads(json.dumps(saved))
    doc["run"].update(exit_code=None, ended_at=None, scanner={"host": None, "user": None})
    doc["run"]["tool"] = {"name": None, "version": None}
    exit_line, _, text = _cover(doc, lang)
    assert exit_line == S["exit_none"][lang]
    # the host view of the local transport (no port): no "None" anywhere in the page's own fields
    page = htmlmod.unescape(re.sub(r"<[^>]+>", " ", html_report.render(build_view(doc), lang).decode()))
    assert ":None" not in page and "None (" not in page


@pytest.mark.parametrize("lang", ["en", "de"])
def test_signature_row(saved, lang):
    _, sig, _ = _cover(saved, lang)                                   # as the scan writes it into the bundle
    assert sig == S["sig_unknown"][lang]
    assert _cover(saved, lang, {"status": "good", "by": "ci@example.org"})[1] == \
        S["sig_good"][lang].format(by="ci@example.org")
    assert _cover(saved, lang, {"status": "unsigned", "by": None})[1] == S["sig_unsigned"][lang]
    key = "ED25519 key SHA256:abc"
    assert _cover(saved, lang, {"status": "unchecked", "by": key})[1] == S["sig_unchecked"][lang].format(by=key)
    doc = json.loads(json.dumps(saved))
    doc["run"]["signing"] = {"key": "<b>" + key}                     # hostile: printed as text
    view = build_view(doc)
    page = html_report.render(view, lang).decode()
    assert "<b>ED25519" not in page and "&lt;b&gt;ED25519" in page


def test_a_signed_scan_names_its_key_on_the_cover(tmp_path):
    """A real local scan with --sign-key: results.json records the key, the cover names it, and
    it is the key verify reports as the signer."""
    import subprocess
    key = tmp_path / "sign"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    fp = subprocess.run(["ssh-keygen", "-l", "-f", str(key)], capture_output=True, text=True).stdout.split()[1]
    out = tmp_path / "out"
    assert main(["scan", "--out", str(out), "--control", "KERN-001", "--quiet", "--format", "json,html",
                 "--no-history", "--sign-key", str(key)]) in (0, 1, 2)
    [run] = list(out.iterdir())
    doc = json.loads((run / "results.json").read_text())
    assert doc["run"]["signing"]["key"] == f"ED25519 key {fp}"
    assert fp in (run / "report.html").read_text()
    v = subprocess.run([sys.executable, "-m", "hardencheck", "verify", str(run)], capture_output=True, text=True)
    assert fp in v.stdout.splitlines()[0]
