"""sudo with a password, for real: the lab's sudo host has an account whose sudo asks for one.

The password comes from an environment variable only, is written after sudo's random prompt,
and must not appear anywhere in the run folder or the terminal output.
"""

import json

import pytest

from hardencheck.cli import main

pytestmark = pytest.mark.lab

ENV = "HC_TEST_SUDO_PASSWORD"


def scan(lab, tmp_path, capsys, env_name=ENV):
    inv = tmp_path / "inv.yml"
    inv.write_text(
        "hosts:\n"
        f"  sudopw: {{address: {lab.hosts['sudo'].address}, user: auditpw, become: true,\n"
        f"           sudo_password_env: {env_name}, identity_file: {lab.client_key_path},\n"
        f"           known_hosts_file: {lab.known_hosts_path}, connect_timeout: 3}}\n")
    out = tmp_path / "out"
    code = main(["scan", "-i", str(inv), "--ssh-config", "/dev/null", "--out", str(out),
                 "--control", "SSH-001,FW-001"])
    captured = capsys.readouterr()
    (doc_path,) = out.glob("*/results.json")
    files = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    return code, json.loads(doc_path.read_text()), files, captured.out + captured.err


def test_sudo_password_from_the_environment(lab, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(ENV, lab.sudo_password)
    code, doc, files, console = scan(lab, tmp_path, capsys)
    host = doc["hosts"][0]
    assert host["status"] == "ok", host["error"]
    assert host["os"]["uid"] == 0 and host["identity"]["user"] == "auditpw"
    assert host["exec"]["command"].startswith("sudo -S -p ")
    statuses = {r["control"]: r["status"] for r in doc["results"]}
    assert statuses["SSH-001"] == "pass" and statuses["FW-001"] == "pass"
    # auditpw's ~/.bashrc prints on both streams, including a line shaped like a marker
    assert "printed by ~/.bashrc" in host["noise"] and "rc-file warning on stderr" in host["noise"]
    secret = lab.sudo_password.encode()
    assert all(secret not in data for data in files.values())
    assert lab.sudo_password not in console


def test_wrong_sudo_password_is_a_named_error(lab, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(ENV, "not-the-password")
    code, doc, files, console = scan(lab, tmp_path, capsys)
    assert code == 2
    assert doc["hosts"][0]["error"]["reason"] == "sudo_failed"
    assert "rejected the password" in doc["hosts"][0]["error"]["message"]
    assert all(b"not-the-password" not in data for data in files.values())


def test_missing_password_means_sudo_n_refuses(lab, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    code, doc, files, console = scan(lab, tmp_path, capsys)
    assert code == 2
    err = doc["hosts"][0]["error"]
    assert err["reason"] == "sudo_failed" and "password" in err["message"]
    assert {r["reason"] for r in doc["results"] if r["status"] == "error"} == {"sudo_failed"}
