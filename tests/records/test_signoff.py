"""The reviewer's sign-off: `hardencheck signoff` writes signoff.json (+ an OpenSSH signature,
namespace hardencheck-signoff) beside a sealed bundle's files; `verify` checks it.

Real bundles from a local-transport scan, real keys and signatures made and checked by ssh-keygen.
"""

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from hardencheck.cli import main
from hardencheck.records.bundle import MANIFEST, SIGNATURE
from hardencheck.records.signoff import SIGNOFF, SIGNOFF_SIG
from hardencheck.results import document_bytes

README = Path(__file__).resolve().parents[2] / "README.md"
HOSTILE = "<script>alert(1)</script> [bold red]RED[/] \x1b[31mansi \u202eevil\u202c & \"q\""


def keypair(tmp, name):
    key = tmp / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True)
    return key, " ".join((tmp / f"{name}.pub").read_text().split()[:2])


def scan(out, *extra):
    code = main(["scan", "--out", str(out), "--control", "RAID-001", "--quiet", "--no-history", *extra])
    assert code in (0, 1, 2)
    (run,) = [p for p in out.iterdir() if (p / MANIFEST).is_file()]
    return run


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A bundle signed by the scanner's key; the reviewer's key; allowed_signers naming each for its
    own namespace."""
    tmp = tmp_path_factory.mktemp("signoff")
    scanner, scanner_pub = keypair(tmp, "scanner")
    reviewer, reviewer_pub = keypair(tmp, "jana")
    allowed = tmp / "allowed_signers"
    allowed.write_text(f'scanner@example.org namespaces="hardencheck-manifest" {scanner_pub}\n'
                       f'jana@example.org namespaces="hardencheck-signoff" {reviewer_pub}\n')
    bundle = scan(tmp / "out", "--sign-key", str(scanner))
    return {"bundle": bundle, "allowed": allowed, "scanner": scanner, "reviewer": reviewer, "tmp": tmp}


def copy(lab, tmp_path, name=None):
    dest = tmp_path / (name or lab["bundle"].name)
    shutil.copytree(lab["bundle"], dest)
    return dest


def run(capsys, *argv):
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def signoff(capsys, bundle, key=None, decision="accepted", comment="Reviewed; all clear.", *extra):
    argv = ["signoff", bundle, "--reviewer", "Jana Beispiel (CISO)", "--decision", decision, "--comment", comment,
            *extra]
    if key:
        argv += ["--sign-key", key]
    return run(capsys, *argv)


def hashes(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in folder.rglob("*") if p.is_file()}


def test_signed_signoff_verifies_and_leaves_the_bundle_sealed(lab, tmp_path, capsys):
    bundle = copy(lab, tmp_path)
    before = hashes(bundle)
    code, out, err = signoff(capsys, bundle, lab["reviewer"], "accepted_with_findings", "Reviewed.",
                             "--allowed-signers", lab["allowed"])
    assert code == 0, err
    assert "sign-off written" in out and "signed" in out
    after = hashes(bundle)
    assert {k: v for k, v in after.items() if k not in (SIGNOFF, SIGNOFF_SIG)} == before
    assert set(after) - set(before) == {SIGNOFF, SIGNOFF_SIG}
    assert not [p for p in bundle.parent.iterdir() if p.name.startswith(".")]       # nothing staged left
    doc = json.loads((bundle / SIGNOFF).read_text())
    manifest = (bundle / MANIFEST).read_bytes()
    assert doc["manifest_sha256"] == hashlib.sha256(manifest).hexdigest()
    assert doc["run_id"] == json.loads(manifest)["run"]["id"] and doc["run_state"] == "complete"
    assert doc["decision"] == "accepted_with_findings" and doc["reviewer"] == "Jana Beispiel (CISO)"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", doc["date"]) and doc["tool"]["name"] == "hardencheck"
    results = next(f for f in json.loads(manifest)["files"] if f["path"] == "results.json")
    assert doc["results_sha256"] == results["sha256"]

    code, out, _ = run(capsys, "verify", bundle, "--allowed-signers", lab["allowed"])
    assert code == 0, out
    assert "good signature by jana@example.org (namespace hardencheck-signoff)" in out
    assert "good signature by scanner@example.org" in out and "accepted_with_findings" in out
    code, out, _ = run(capsys, "verify", bundle)           # no policy: the signature still has to match
    assert code == 0 and "the signature matches, the signer was not checked" in out


def test_an_edited_signoff_is_refused(lab, tmp_path, capsys):
    bundle = copy(lab, tmp_path)
    assert signoff(capsys, bundle, lab["reviewer"], "rejected", "Not acceptable: SSH-002.")[0] == 0
    p = bundle / SIGNOFF
    p.write_text(p.read_text().replace('"rejected"', '"accepted"'))
    code, out, _ = run(capsys, "verify", bundle, "--allowed-signers", lab["allowed"])
    assert code == 1 and f"FAIL {bundle.name}/{SIGNOFF_SIG}: the signature does not match {SIGNOFF}" in out
    code, out, _ = run(capsys, "verify", bundle)            # caught without allowed signers too
    assert code == 1 and "edited after signing" in out


def test_a_signoff_copied_to_another_bundle_is_refused(lab, tmp_path, capsys):
    first = copy(lab, tmp_path, "first")
    assert signoff(capsys, first, lab["reviewer"])[0] == 0
    other = scan(tmp_path / "other", "--sign-key", str(lab["scanner"]))
    for name in (SIGNOFF, SIGNOFF_SIG):
        shutil.copy(first / name, other / name)
    for policy in (["--allowed-signers", lab["allowed"]], []):
        code, out, _ = run(capsys, "verify", other, *policy)
        assert code == 1 and f"FAIL {other.name}/{SIGNOFF}: names another manifest" in out, out


def test_a_bundle_changed_after_the_signoff_no_longer_matches_it(lab, tmp_path, capsys):
    bundle = copy(lab, tmp_path)
    assert signoff(capsys, bundle, lab["reviewer"])[0] == 0
    # re-sealing the bundle (a new manifest, validly signed by the scanner) orphans the sign-off
    m = json.loads((bundle / MANIFEST).read_text())
    m["run"]["ended_at"] = "2099-01-01T00:00:00Z"
    (bundle / MANIFEST).write_bytes(document_bytes(m))
    (bundle / SIGNATURE).unlink()
    subprocess.run(["ssh-keygen", "-Y", "sign", "-q", "-f", str(lab["scanner"]), "-n", "hardencheck-manifest",
                    str(bundle / MANIFEST)], check=True)
    code, out, _ = run(capsys, "verify", bundle, "--allowed-signers", lab["allowed"])
    assert code == 1 and "names another manifest" in out and "good signature by scanner@example.org" in out


def test_unsigned_signoff_is_a_note_without_policy_and_bad_with_one(lab, tmp_path, capsys):
    bundle = copy(lab, tmp_path)
    code, out, _ = signoff(capsys, bundle)
    assert code == 0 and "UNSIGNED" in out and not (bundle / SIGNOFF_SIG).exists()
    code, out, _ = run(capsys, "verify", bundle)
    assert code == 0 and f"note {bundle.name}/{SIGNOFF}" in out and "UNSIGNED: who made it is not proven" in out
    code, out, _ = run(capsys, "verify", bundle, "--allowed-signers", lab["allowed"])
    assert code == 1 and f"FAIL {bundle.name}/{SIGNOFF_SIG}: missing: the sign-off is not signed" in out


def test_the_scanner_key_cannot_sign_off(lab, tmp_path, capsys):
    """allowed_signers gives the CI key only the manifest namespace: its sign-off does not count."""
    bundle = copy(lab, tmp_path)
    assert signoff(capsys, bundle, lab["scanner"])[0] == 0
    code, out, _ = run(capsys, "verify", bundle, "--allowed-signers", lab["allowed"])
    assert code == 1 and f"FAIL {bundle.name}/{SIGNOFF_SIG}" in out
    # and a sign-off signature is no manifest signature: the namespaces keep them apart
    shutil.copy(bundle / SIGNOFF_SIG, bundle / "x.sig")
    proc = subprocess.run(["ssh-keygen", "-Y", "check-novalidate", "-n", "hardencheck-manifest", "-s",
                           str(bundle / "x.sig")], input=(bundle / SIGNOFF).read_bytes(), capture_output=True)
    assert proc.returncode != 0


def test_signoff_refuses_a_tampered_an_incomplete_or_a_signed_off_bundle(lab, tmp_path, capsys):
    bundle = copy(lab, tmp_path)
    (bundle / "results.json").write_bytes((bundle / "results.json").read_bytes() + b" ")
    code, _, err = signoff(capsys, bundle, lab["reviewer"])
    assert code == 3 and "does not verify, so it cannot be signed off" in err and "results.json: modified" in err
    assert not (bundle / SIGNOFF).exists() and not (bundle / SIGNOFF_SIG).exists()

    partial = tmp_path / "partial"
    shutil.copytree(lab["bundle"], partial)
    m = json.loads((partial / MANIFEST).read_text())
    m["run"]["state"] = "interrupted"
    (partial / MANIFEST).write_bytes(document_bytes(m))
    (partial / SIGNATURE).unlink()                      # an unsigned, interrupted run
    code, _, err = signoff(capsys, partial, None, "rejected")
    assert code == 3 and "--allow-incomplete" in err and not (partial / SIGNOFF).exists()
    code, out, _ = signoff(capsys, partial, None, "rejected", "Partial run.", "--allow-incomplete")
    assert code == 0 and json.loads((partial / SIGNOFF).read_text())["run_state"] == "interrupted"
    assert run(capsys, "verify", partial)[0] == 2           # still incomplete, not bad

    code, _, err = signoff(capsys, partial, None, "accepted", "again", "--allow-incomplete")
    assert code == 3 and "has a sign-off already: rejected by Jana Beispiel (CISO)" in err
    code, _, err = signoff(capsys, partial, None, "accepted", "bad \udcff bytes", "--allow-incomplete")
    assert code == 3 and "not valid UTF-8" in err
    with pytest.raises(SystemExit) as exc:
        main(["signoff", str(partial), "--reviewer", "J", "--decision", "maybe", "--comment", "x"])
    assert exc.value.code == 3 and "invalid choice: 'maybe'" in capsys.readouterr().err


def test_the_readme_commands_check_a_signoff_without_hardencheck(lab, tmp_path, capsys):
    if shutil.which("jq") is None:
        pytest.skip("jq is installed by .ci/run")
    text = README.read_text()
    section = text[text.index("**Checking a sign-off without hardencheck**"):]
    block = section[section.index("```sh\n") + 6:section.index("\n```", section.index("```sh\n"))]
    bundle = copy(lab, tmp_path)
    assert signoff(capsys, bundle, lab["reviewer"], "accepted", "All clear.")[0] == 0
    shutil.copy(lab["allowed"], bundle / "allowed_signers")          # the README's relative path
    proc = subprocess.run(["sh", "-e", "-c", block], cwd=bundle, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "Good" in proc.stdout + proc.stderr and "manifest.json: OK" in proc.stdout
    assert "Jana Beispiel (CISO)\naccepted\n" in proc.stdout
    # the same commands refuse an edited sign-off, and one that names another manifest
    original = (bundle / SIGNOFF).read_text()
    (bundle / SIGNOFF).write_text(original.replace("All clear.", "All clear!"))
    assert subprocess.run(["sh", "-e", "-c", block], cwd=bundle, capture_output=True).returncode != 0
    (bundle / SIGNOFF).write_text(original)
    (bundle / MANIFEST).write_bytes((bundle / MANIFEST).read_bytes() + b"\n")
    proc = subprocess.run(["sh", "-e", "-c", block], cwd=bundle, capture_output=True, text=True)
    assert proc.returncode != 0 and "manifest.json: FAILED" in proc.stdout


def test_html_shows_the_signoff_or_an_empty_form(lab, tmp_path, capsys):
    bundle = copy(lab, tmp_path)
    form = (bundle / "report.html").read_text()          # written by the scan: nobody signed off yet
    assert 'id="signoff-form"' in form and "Review and sign-off" in form and 'id="signoff-record"' not in form
    assert signoff(capsys, bundle, lab["reviewer"], "accepted_with_findings", "SSH-002 accepted.")[0] == 0
    sha = json.loads((bundle / SIGNOFF).read_text())["manifest_sha256"]
    for lang, words in (("en", ("Review and sign-off", "accepted with findings", "Reviewer")),
                        ("de", ("Prüfung und Freigabe", "abgenommen mit Feststellungen", "Prüfende Person"))):
        out = tmp_path / f"r-{lang}"
        assert run(capsys, "report", bundle, "--lang", lang, "--out", out)[0] == 0
        html = (out / "report.html").read_text()
        block = html[html.index('id="signoff-record"'):]
        assert all(w in html for w in words), lang
        assert "Jana Beispiel (CISO)" in block and "SSH-002 accepted." in block and sha in block
        assert 'id="signoff-form"' not in html and 'href="#signoff"' in html
    assert run(capsys, "verify", bundle, "--allowed-signers", lab["allowed"])[0] == 0   # the bundle stays sealed


def test_hostile_comment_is_inert_in_html_and_terminal(lab, tmp_path, capsys):
    bundle = copy(lab, tmp_path)
    code, out, err = run(capsys, "signoff", bundle, "--reviewer", HOSTILE, "--decision", "rejected",
                         "--comment", HOSTILE, "--sign-key", lab["reviewer"])
    assert code == 0, err
    code, vout, _ = run(capsys, "verify", bundle)
    for text in (out, vout):
        assert "\x1b" not in text and "\u202e" not in text
        assert "[bold red]RED[/]" in text and "\\x1b[31mansi" in text
    assert json.loads((bundle / SIGNOFF).read_text())["comment"] == HOSTILE      # recorded as given
    assert run(capsys, "report", bundle, "--out", tmp_path / "r")[0] == 0
    html = (tmp_path / "r" / "report.html").read_text()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "\x1b" not in html and "\u202e" not in html and '<span class="esc">' in html


def test_management_responses_are_listed_in_the_signoff_section(lab):
    from hardencheck.report.rendering import render
    doc = json.loads((lab["bundle"] / "results.json").read_text())
    doc["results"][0]["status"] = "fail"
    doc["results"][0]["responses"] = [{"id": "EXC-2026-020", "action": "remediation_planned", "state": "overdue",
                                       "owner": "<b>Ops</b>", "due": "2026-11-30",
                                       "justification": "Rebuild the array in Q1."},
                                      {"id": "EXC-2026-014", "action": "risk_accepted", "state": "active"}]
    doc["results"][1]["status"] = "pass"
    doc["results"][1]["responses"] = [{"id": "EXC-2026-021", "action": "remediation_planned", "state": "active"}]
    html = render("html", doc, "en").decode()
    block = html[html.index('id="signoff"'):]
    assert "Management response" in block and "EXC-2026-020" in block and "OVERDUE" in block
    assert "Rebuild the array in Q1." in block and "2026-11-30" in block
    assert "&lt;b&gt;Ops&lt;/b&gt;" in block and "EXC-2026-014" not in block and "EXC-2026-021" not in block
    de = render("html", doc, "de").decode()
    assert "ÜBERFÄLLIG" in de[de.index('id="signoff"'):] and "Stellungnahme: geplante Behebung" in de


def test_html_warns_when_the_signoff_names_another_manifest(lab, tmp_path, capsys):
    bundle = copy(lab, tmp_path)
    assert signoff(capsys, bundle, lab["reviewer"])[0] == 0
    doc = json.loads((bundle / SIGNOFF).read_text())
    doc["manifest_sha256"] = "0" * 64
    (bundle / SIGNOFF).write_bytes(document_bytes(doc))
    (bundle / SIGNOFF_SIG).unlink()
    assert run(capsys, "report", bundle, "--out", tmp_path / "r")[0] == 0
    html = (tmp_path / "r" / "report.html").read_text()
    assert "it does NOT sign off this run" in html and "UNSIGNED" in html
    code, out, _ = run(capsys, "verify", "--chain", bundle.parent)
    assert code == 1 and "names another manifest" in out
