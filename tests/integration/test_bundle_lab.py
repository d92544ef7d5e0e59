"""Secrets planted on a real host reach no file, report or log of a scan.

The lab's sudo host carries a private key, a password and a site token pasted into
/etc/os-release (printed by the host.os probe on every scan) and prints a shadow line from the
scanner account's ~/.bashrc; the scan also uses a sudo password. After a signed scan with every
report format and the run history, the whole output folder and the terminal output are searched.
"""

import json
import subprocess
import sys

import pytest

from hardencheck.records.bundle import MANIFEST

pytestmark = pytest.mark.lab
ENV = "HC_TEST_SUDO_PASSWORD"


def test_planted_secrets_appear_nowhere(lab, tmp_path):
    key = tmp_path / "signer"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    allowed = tmp_path / "allowed_signers"
    allowed.write_text("ci " + " ".join((tmp_path / "signer.pub").read_text().split()[:2]) + "\n")
    cfg = tmp_path / "hardencheck.yml"
    cfg.write_text("sign_key: signer\nallowed_signers: allowed_signers\n"
                   "redact:\n  - name: acme-token\n    pattern: 'acme_[0-9a-f]{32}'\n")
    inv = tmp_path / "inv.yml"
    inv.write_text(
        "hosts:\n"
        f"  sudopw: {{address: {lab.hosts['sudo'].address}, user: auditpw, become: true,\n"
        f"           sudo_password_env: {ENV}, identity_file: {lab.client_key_path},\n"
        f"           known_hosts_file: {lab.known_hosts_path}, connect_timeout: 3}}\n")
    out = tmp_path / "out"
    env = {**__import__("os").environ, ENV: lab.sudo_password}
    proc = subprocess.run([sys.executable, "-m", "hardencheck", "scan", "-i", str(inv), "--ssh-config", "/dev/null",
                           "--out", str(out), "--config", str(cfg), "--control", "SSH-001,FW-001,ACCT-002",
                           "--format", "html,junit,json,md,csv"], capture_output=True, text=True, env=env)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    (bundle,) = [p for p in out.iterdir() if (p / MANIFEST).exists()]
    again = subprocess.run([sys.executable, "-m", "hardencheck", "report", str(bundle), "--format",
                            "html,md,csv,junit", "--lang", "de", "--out", str(tmp_path / "rerendered")],
                           capture_output=True, text=True)
    assert again.returncode == 0, again.stderr

    secrets = {**lab.planted_secrets, "sudo-password": lab.sudo_password}
    assert len(secrets) >= 6 and all(len(v) >= 20 for v in secrets.values())
    searched = {str(p): p.read_bytes() for p in tmp_path.rglob("*")
                if p.is_file() and p.name not in ("signer", "hardencheck.yml")}
    searched["scan stdout+stderr"] = (proc.stdout + proc.stderr + again.stdout + again.stderr).encode()
    assert any(p.endswith("history.db") for p in searched) and any(p.endswith("report.html") for p in searched)
    leaks = [(where, name) for where, data in searched.items() for name, s in secrets.items()
             if s.encode() in data]
    assert leaks == []

    # the secrets were there and were replaced, visibly and counted
    host = json.loads(next((bundle / "hosts").iterdir()).read_text())
    osr = next(e for e in host["evidence"].values() if e["command"] == "os_release")
    assert "[REDACTED:private-key]" in osr["stdout"] and "[REDACTED:acme-token]" in osr["stdout"]
    assert "db_password=[REDACTED:secret-value]" in osr["stdout"]
    assert osr["redactions"] == {"private-key": 1, "secret-value": 1, "acme-token": 1}
    assert "auditpw:[REDACTED:shadow-hash]:19000" in host["host"]["noise"]
    # a few lines of login noise: all kept, counted (before redaction), not marked as cut
    assert host["host"]["noise_truncated"] is False
    assert host["host"]["noise_bytes"] >= len(host["host"]["noise"].replace("[REDACTED:shadow-hash]", "").encode())
    m = json.loads((bundle / MANIFEST).read_text())
    assert m["redactions"]["by_rule"] == host["host"]["redactions"]
    assert {"private-key", "secret-value", "acme-token", "shadow-hash"} <= set(m["redactions"]["by_rule"])
    # the host's facts are intact: redaction never touched the verdicts
    assert host["host"]["status"] == "ok" and host["host"]["os"]["uid"] == 0
    verify = subprocess.run([sys.executable, "-m", "hardencheck", "verify", str(bundle), "--config", str(cfg)],
                            capture_output=True, text=True)
    assert verify.returncode == 0 and "good signature by ci" in verify.stdout, verify.stdout
