"""Run bundles: every scan is a folder that `hardencheck verify` (and plain ssh-keygen) can check.

The scans here are real scans of this machine through the local transport; the signatures are
real OpenSSH signatures made and checked by ssh-keygen.
"""

import hashlib
import json
import shutil
import subprocess

import pytest

from hardencheck.records.bundle import MANIFEST, SIGNATURE, append_pruned, host_file_name
from hardencheck.cli import main

FAST = "RAID-001,SSH-001"


def keypair(tmp_path, name):
    key = tmp_path / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True)
    return key, (tmp_path / f"{name}.pub").read_text().split()


def allowed_signers(tmp_path, *pubs, name="allowed_signers"):
    path = tmp_path / name
    path.write_text("".join(f'{who}@example.org namespaces="hardencheck-manifest" {p[0]} {p[1]}\n'
                            for who, p in pubs))
    return path


def scan(out, *extra):
    before = set(out.iterdir()) if out.exists() else set()
    code = main(["scan", "--out", str(out), "--control", FAST, "--quiet", "--format", "html,junit,md,csv",
                 *extra])
    assert code in (0, 1, 2)
    (new,) = [p for p in set(out.iterdir()) - before if (p / MANIFEST).exists()]
    return new


def verify(capsys, *args):
    capsys.readouterr()
    code = main(["verify", *map(str, args)])
    return code, capsys.readouterr().out


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("signed")
    key, pub = keypair(tmp, "scanner")
    allowed = allowed_signers(tmp, ("scanner", pub))
    bundle = scan(tmp / "out", "--sign-key", str(key))
    return bundle, allowed, tmp


def fresh_copy(signed, tmp_path):
    bundle, allowed, _ = signed
    copy = tmp_path / bundle.name
    shutil.copytree(bundle, copy)
    return copy, allowed


def test_layout_and_manifest(signed):
    bundle, _, _ = signed
    m = json.loads((bundle / MANIFEST).read_text())
    listed = {f["path"]: f for f in m["files"]}
    on_disk = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()}
    assert on_disk == set(listed) | {MANIFEST, SIGNATURE}
    assert {"results.json", "run.json", "report.html", "junit.xml", "summary.md", "results.csv",
            f"hosts/{host_file_name('localhost')}"} <= set(listed)
    for path, entry in listed.items():
        data = (bundle / path).read_bytes()
        assert entry["size"] == len(data) and entry["sha256"] == hashlib.sha256(data).hexdigest()
    run = m["run"]
    assert run["state"] == "complete" and run["hosts_planned"] == run["hosts_finished"] == ["localhost"]
    assert run["inventory"]["key"] == "local" and len(run["controls"]["sha256"]) == 64
    assert run["scanner"]["user"] and run["tool"]["name"] == "hardencheck" and run["ended_at"]
    assert m["previous"] is None and m["redactions"]["total"] >= 0
    doc = json.loads((bundle / "results.json").read_text())
    assert doc["run"]["inventory"]["key"] == "local"
    # the host file holds the same host record, results and evidence as results.json
    host = json.loads((bundle / "hosts" / host_file_name("localhost")).read_text())
    assert host["results"] == doc["results"] and host["evidence"] == doc["evidence"]


def test_untouched_bundle_verifies_with_and_without_hardencheck(signed, capsys):
    bundle, allowed, _ = signed
    code, out = verify(capsys, bundle, "--allowed-signers", allowed)
    assert code == 0, out
    assert "good signature by scanner@example.org" in out and "verified" in out
    # the README's commands, without hardencheck: OpenSSH for the signature ...
    with open(bundle / MANIFEST, "rb") as manifest:
        proc = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(allowed), "-I", "scanner@example.org",
                               "-n", "hardencheck-manifest", "-s", str(bundle / SIGNATURE)],
                              stdin=manifest, capture_output=True, text=True)
    assert proc.returncode == 0 and "Good" in proc.stdout, proc.stderr
    # ... and sha256sum for the files the manifest lists
    listing = "".join(f"{f['sha256']}  {f['path']}\n"
                      for f in json.loads((bundle / MANIFEST).read_text())["files"])
    proc = subprocess.run(["sha256sum", "--strict", "-c", "-"], input=listing, cwd=bundle,
                          capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.count(": OK") == listing.count("\n")


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is installed by .ci/run")
def test_readme_jq_command_checks_the_hashes(signed):
    bundle, _, _ = signed
    cmd = "jq -r '.files[] | \"\\(.sha256)  \\(.path)\"' manifest.json | sha256sum --strict -c -"
    proc = subprocess.run(["sh", "-c", cmd], cwd=bundle, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    (bundle / "junit.xml").write_bytes((bundle / "junit.xml").read_bytes() + b" ")
    try:
        proc = subprocess.run(["sh", "-c", cmd], cwd=bundle, capture_output=True, text=True)
        assert proc.returncode != 0 and "junit.xml: FAILED" in proc.stdout
    finally:
        (bundle / "junit.xml").write_bytes((bundle / "junit.xml").read_bytes()[:-1])


def test_any_changed_byte_of_any_file_is_named(signed, tmp_path, capsys):
    bundle, allowed, _ = signed
    files = sorted(p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file())
    for rel in files:
        copy = tmp_path / f"t{files.index(rel)}"
        shutil.copytree(bundle, copy)
        target = copy / rel
        data = bytearray(target.read_bytes())
        data[len(data) // 2] ^= 0x01                     # one bit in the middle of the file
        target.write_bytes(bytes(data))
        code, out = verify(capsys, copy, "--allowed-signers", allowed)
        assert code == 1, (rel, out)
        if rel == SIGNATURE:
            assert "FAIL" in out and SIGNATURE in out, out
        elif rel == MANIFEST:
            # a flipped bit in the manifest breaks its JSON or its signature, never goes unnoticed
            assert "FAIL" in out, out
        else:
            assert f"{copy.name}/{rel}: modified" in out, (rel, out)


def test_deleted_and_added_files_are_named(signed, tmp_path, capsys):
    copy, allowed = fresh_copy(signed, tmp_path)
    (copy / "report.html").unlink()
    (copy / "hosts" / "extra.json").write_text("{}")
    (copy / "notes.txt").write_text("added later")
    code, out = verify(capsys, copy, "--allowed-signers", allowed)
    assert code == 1
    assert "report.html: missing" in out
    assert "hosts/extra.json: added" in out and "notes.txt: added" in out


def test_a_rewritten_manifest_needs_a_key_from_the_allowed_signers(signed, tmp_path, capsys):
    """The attacker edits a result, fixes the hashes in the manifest and re-signs with own key."""
    copy, allowed = fresh_copy(signed, tmp_path)
    doc_path = copy / "results.json"
    doc_path.write_text(doc_path.read_text().replace('"fail"', '"pass"'))
    m = json.loads((copy / MANIFEST).read_text())
    for f in m["files"]:
        if f["path"] == "results.json":
            data = doc_path.read_bytes()
            f.update(sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    (copy / MANIFEST).write_text(json.dumps(m, indent=1))
    code, out = verify(capsys, copy, "--allowed-signers", allowed)
    assert code == 1 and "the signature does not match the manifest" in out, out
    # re-signed with a key that is not in the allowed signers
    evil, _ = keypair(tmp_path, "mallory")
    (copy / SIGNATURE).unlink()
    subprocess.run(["ssh-keygen", "-Y", "sign", "-q", "-f", str(evil), "-n", "hardencheck-manifest",
                    str(copy / MANIFEST)], check=True)
    code, out = verify(capsys, copy, "--allowed-signers", allowed)
    assert code == 1 and "signed by a key that is not in the allowed signers" in out, out
    # an unsigned manifest when a signature is required
    (copy / SIGNATURE).unlink()
    code, out = verify(capsys, copy, "--allowed-signers", allowed)
    assert code == 1 and "the bundle is not signed" in out


def test_a_signature_for_another_purpose_does_not_count(signed, tmp_path, capsys):
    """Same key, but signed as a plain file (namespace 'file'), not as a hardencheck manifest."""
    bundle, allowed, tmp = signed
    copy, _ = fresh_copy(signed, tmp_path)
    (copy / SIGNATURE).unlink()
    subprocess.run(["ssh-keygen", "-Y", "sign", "-q", "-f", str(tmp / "scanner"), "-n", "file",
                    str(copy / MANIFEST)], check=True)
    code, out = verify(capsys, copy, "--allowed-signers", allowed)
    assert code == 1 and "FAIL" in out


def test_unsigned_bundle_verifies_its_hashes_and_says_so(tmp_path, capsys):
    bundle = scan(tmp_path / "out")
    code, out = verify(capsys, bundle)
    assert code == 0 and "verified" in out
    assert not (bundle / SIGNATURE).exists()


def test_allowed_signers_and_sign_key_from_hardencheck_yml(tmp_path, capsys, monkeypatch):
    key, pub = keypair(tmp_path, "ci")
    allowed = allowed_signers(tmp_path, ("ci", pub), name="signers")
    cfg = tmp_path / "hardencheck.yml"
    cfg.write_text("sign_key: ci\nallowed_signers: signers\n")      # relative to the file
    monkeypatch.setenv("HARDENCHECK_CONFIG", str(cfg))
    bundle = scan(tmp_path / "out")
    assert (bundle / SIGNATURE).exists()
    code, out = verify(capsys, bundle)
    assert code == 0 and "good signature by ci@example.org" in out
    assert allowed.exists()


def test_bad_configuration_is_refused_before_scanning(tmp_path, capsys):
    cfg = tmp_path / "hc.yml"
    cfg.write_text("sign_key: nokey\nredact:\n  - name: Bad Name\n    pattern: 'x'\n  - name: empty\n"
                   "    pattern: 'a*'\n  - name: broken\n    pattern: '('\ncolour: blue\n")
    out = tmp_path / "out"
    assert main(["scan", "--out", str(out), "--config", str(cfg), "--control", FAST]) == 3
    err = capsys.readouterr().err
    assert f"{cfg}:3 [redact[0].name]" in err
    assert f"{cfg}:6 [redact[1].pattern]: the pattern matches the empty string" in err
    assert f"{cfg}:8 [redact[2].pattern]: not a valid regular expression" in err
    assert f"{cfg}:9 [colour]: unknown field" in err
    assert not out.exists()
    key = tmp_path / "loose"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    key.chmod(0o644)
    assert main(["scan", "--out", str(out), "--sign-key", str(key), "--control", FAST]) == 3
    assert "readable by group or others" in capsys.readouterr().err
    assert not out.exists()


def test_chain_catches_a_removed_or_replaced_run(tmp_path, capsys):
    out = tmp_path / "out"
    runs = [scan(out) for _ in range(3)]
    first, middle, last = runs
    links = [json.loads((r / MANIFEST).read_text())["previous"] for r in runs]
    assert links[0] is None
    assert links[1]["run_id"] == first.name and links[2]["run_id"] == middle.name
    assert links[2]["manifest_sha256"] == hashlib.sha256((middle / MANIFEST).read_bytes()).hexdigest()
    code, text = verify(capsys, "--chain", out)
    assert code == 0, text
    # another inventory's runs in the same folder form their own chain
    other = tmp_path / "inv.yml"
    other.write_text("hosts:\n  here: {transport: local}\n")
    main(["scan", "-i", str(other), "--out", str(out), "--control", FAST, "--quiet", "--format", "json"])
    assert verify(capsys, "--chain", out)[0] == 0

    # the middle run is deleted: the last one still points at it
    moved = tmp_path / "moved"
    shutil.move(str(middle), moved)
    code, text = verify(capsys, "--chain", out)
    assert code == 1 and f"{middle.name}: missing: run {last.name}" in text, text
    # ... or replaced by a re-made bundle of the same name (every file of it self-consistent)
    shutil.move(str(moved), middle)
    m = json.loads((middle / MANIFEST).read_text())
    m["run"]["exit_code"] = 0
    (middle / MANIFEST).write_text(json.dumps(m, indent=1))
    code, text = verify(capsys, "--chain", out)
    assert code == 1 and "replaced or modified" in text, text


def test_a_run_removed_by_prune_is_a_note_not_a_gap(tmp_path, capsys):
    out = tmp_path / "out"
    first, middle, last = [scan(out) for _ in range(3)]
    sha = hashlib.sha256((middle / MANIFEST).read_bytes()).hexdigest()
    shutil.rmtree(middle)
    # what prune records for each run it removes (tested with the real command in test_history*)
    append_pruned(out, {"run_id": middle.name, "inventory_key": "local", "manifest_sha256": sha,
                        "started_at": "x", "pruned_at": "2026-11-23T00:00:00Z", "by": "test", "keep": "0d"})
    code, text = verify(capsys, "--chain", out)
    assert code == 0 and f"{middle.name}: removed by prune on 2026-11-23" in text, text
    # a prune record with another hash does not excuse a replaced run
    append_pruned(out, {"run_id": middle.name, "inventory_key": "local", "manifest_sha256": "0" * 64,
                        "started_at": "x", "pruned_at": "2026-11-24T00:00:00Z", "by": "test", "keep": "0d"})
    code, text = verify(capsys, "--chain", out)
    assert code == 1 and f"{middle.name}: missing" in text


def test_a_failing_history_costs_neither_the_scan_nor_the_bundle(tmp_path, capsys, monkeypatch):
    """Disk full or a locked database while recording: the bundle is complete, the gap is named."""
    import sqlite3

    from hardencheck.records import history

    def broken(self, *a, **kw):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(history.HistoryRecorder, "hosts_done", broken)
    out = tmp_path / "out"
    code = main(["scan", "--out", str(out), "--control", "RAID-001", "--quiet", "--format", "json"])
    err = capsys.readouterr().err
    assert f"the run history {out / 'history.db'} cannot be written: database or disk is full" in err
    assert code == 4    # never 1: CI must not read a broken history as findings
    (bundle,) = [p for p in out.iterdir() if p.is_dir()]
    assert main(["verify", str(bundle)]) == 0
    assert json.loads((bundle / MANIFEST).read_text())["run"]["state"] == "complete"


def test_real_prune_then_verify_chain(tmp_path, capsys):
    """prune removes the old runs from history and disk and records them; the chain still verifies,
    and for a run whose scanner was killed (no final manifest hash in the history) too."""
    import sqlite3
    from datetime import datetime

    from hardencheck.records.history import History

    out = tmp_path / "out"
    first, second, third = [scan(out) for _ in range(3)]
    db = out / "history.db"
    with sqlite3.connect(db) as c:     # as a SIGKILLed scan leaves it: end() never ran
        c.execute("UPDATE runs SET manifest_sha256 = NULL WHERE run_id = ?", (second.name,))
    started = json.loads((third / MANIFEST).read_text())["run"]["started_at"]
    now = datetime.strptime(started, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=__import__("datetime").timezone.utc)
    with History(db) as h:
        removed = h.prune(0, keep_text="0d", now=now.timestamp() - 0.0005, out=out)
    assert [r["run_id"] for r in removed] == [first.name, second.name]
    assert not first.exists() and not second.exists() and third.exists()
    code, text = verify(capsys, "--chain", out)
    assert code == 0, text
    assert f"{second.name}: removed by prune" in text


def test_the_manifest_that_lists_a_host_counts_its_redactions(tmp_path):
    """What a kill leaves: the manifest written right after a host lists the host file and its
    redaction counts (nothing waits for a later rewrite); the staging folder is gone."""
    from hardencheck.records.bundle import BundleWriter

    w = BundleWriter(tmp_path / "out" / "r1", {"id": "r1", "hosts_planned": ["a"]}, None, plan={"run": {}})
    (rel, digest), = w.add_hosts([{"host": {"name": "a", "redactions": {"private-key": 2}}, "results": [],
                                   "evidence": {}}])
    m = json.loads((tmp_path / "out" / "r1" / MANIFEST).read_text())
    assert m["redactions"] == {"total": 2, "by_rule": {"private-key": 2}} and "pending" not in m
    assert m["run"]["hosts_finished"] == ["a"] and {"path": rel, "sha256": digest,
                                                    "size": (tmp_path / "out" / "r1" / rel).stat().st_size} in m["files"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["r1"]


def test_hosts_written_together_share_two_manifest_writes(tmp_path, monkeypatch):
    """add_hosts: the files of a batch are announced in one manifest and listed in the next, not
    two manifests per host (at 100 hosts in flight that was 200 rewrites of a growing manifest)."""
    from hardencheck.records import bundle
    from hardencheck.records.bundle import BundleWriter

    w = BundleWriter(tmp_path / "r1", {"id": "r1", "hosts_planned": ["a", "b", "c"]}, None, plan={"run": {}})
    writes = []
    real = bundle.BundleWriter._write_manifest
    monkeypatch.setattr(bundle.BundleWriter, "_write_manifest", lambda self: (writes.append(1), real(self))[1])
    hosts = [{"host": {"name": n, "redactions": {"secret-value": 1}}, "results": [], "evidence": {}} for n in "abc"]
    written = w.add_hosts(hosts)
    assert len(writes) == 2 and [p for p, _ in written] == [f"hosts/{bundle.host_file_name(n)}" for n in "abc"]
    m = json.loads((tmp_path / "r1" / MANIFEST).read_text())
    assert m["run"]["hosts_finished"] == ["a", "b", "c"] and m["redactions"]["total"] == 3
    assert dict(written).items() <= {f["path"]: f["sha256"] for f in m["files"]}.items()
