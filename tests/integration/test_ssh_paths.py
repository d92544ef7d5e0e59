"""SSH paths beyond the plain connection, against the lab: jump hosts (inventory and ssh_config),
host-key checks on every hop, and the command timeout."""

import json
import time

import pytest

from hardencheck.cli import main
from hardencheck.collect.probes import get_probe

pytestmark = pytest.mark.lab


def scan(lab, tmp_path, inventory: str, *extra, ssh_config="/dev/null"):
    tmp_path.mkdir(parents=True, exist_ok=True)
    inv = tmp_path / "inv.yml"
    inv.write_text(inventory)
    out = tmp_path / "out"
    code = main(["scan", "-i", str(inv), "--ssh-config", ssh_config, "--out", str(out), "--quiet",
                 "--control", "SSH-001,FW-001", *extra])
    (doc,) = out.glob("*/results.json")
    return code, json.loads(doc.read_text())


def defaults(lab):
    return (f"defaults: {{user: root, identity_file: {lab.client_key_path}, "
            f"known_hosts_file: {lab.known_hosts_path}, connect_timeout: 3}}\n")


def behind_weak(lab, tmp_path):
    """known_hosts for a target that exists only behind the weak host: its own loopback sshd."""
    kh = tmp_path / "known_hosts"
    kh.write_text(lab.known_hosts_path.read_text()
                  + "".join(f"127.0.0.1 {k}\n" for k in lab.hosts["weak"].host_keys.values()))
    return (f"defaults: {{user: root, identity_file: {lab.client_key_path}, "
            f"known_hosts_file: {kh}, connect_timeout: 3}}\n")


def test_scan_through_a_jump_host(lab, tmp_path):
    # 127.0.0.1:22 answers only inside the weak host's network namespace: reaching it proves
    # the second hop went through the bastion (this machine runs no sshd of its own).
    weak = lab.hosts["weak"].address
    code, doc = scan(lab, tmp_path, behind_weak(lab, tmp_path)
                     + f"hosts:\n  behind: {{address: 127.0.0.1, jump: root@{weak}}}\n")
    host = doc["hosts"][0]
    assert host["status"] == "ok", host["error"]
    assert host["identity"]["via"] == [f"root@{weak}:22"]
    assert host["identity"]["host_key_fingerprint"] == lab.fingerprint("weak")
    assert host["os"]["hostname"] == "weak"
    assert {r["control"]: r["status"] for r in doc["results"]}["SSH-001"] == "fail"


def test_jump_host_from_ssh_config(lab, tmp_path):
    weak = lab.hosts["weak"].address
    cfg = tmp_path / "ssh_config"
    cfg.write_text(f"Host behind-alias\n  HostName 127.0.0.1\n  ProxyJump root@{weak}\n")
    code, doc = scan(lab, tmp_path, behind_weak(lab, tmp_path) + "hosts:\n  behind: {address: behind-alias}\n",
                     ssh_config=str(cfg))
    host = doc["hosts"][0]
    assert host["status"] == "ok", host["error"]
    assert host["identity"]["address"] == "127.0.0.1" and host["identity"]["via"] == [f"root@{weak}:22"]
    assert host["os"]["hostname"] == "weak"


def test_a_jump_host_with_a_wrong_key_stops_the_connection(lab, tmp_path):
    wrong, weak = lab.hosts["wrongkey"].address, lab.hosts["weak"].address
    code, doc = scan(lab, tmp_path, defaults(lab) + f"hosts:\n  behind: {{address: {weak}, jump: root@{wrong}}}\n")
    err = doc["hosts"][0]["error"]
    assert code == 2
    assert err["reason"] == "hostkey_mismatch" and f"jump host {wrong}" in err["message"]


def test_command_timeout_ends_the_host_with_timeout_errors(lab, tmp_path, monkeypatch):
    # make one probe hang on the real host; the rest of the script never runs
    probe = get_probe("sshd.config")
    monkeypatch.setattr(probe, "commands", {"effective": "sleep 30"})
    hardened = lab.hosts["hardened"].address
    code, doc = scan(lab, tmp_path, defaults(lab) + f"hosts:\n  slow: {{address: {hardened}}}\n",
                     "--command-timeout", "2")
    assert code == 2
    host = doc["hosts"][0]
    assert host["error"]["reason"] == "timeout" and host["exec"]["timed_out"] is True
    by = {r["control"]: r for r in doc["results"]}
    assert by["SSH-001"]["status"] == "error" and by["SSH-001"]["reason"] == "timeout"


def lab_host(lab, name, known_hosts, extra=""):
    return (f"hosts:\n  {name}: {{address: {lab.hosts[name].address}, user: root, identity_file: "
            f"{lab.client_key_path}, known_hosts_file: {known_hosts}, connect_timeout: 3{extra}}}\n")


def test_unknown_host_key_is_refused_and_named(lab, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    code, doc = scan(lab, tmp_path, lab_host(lab, "hardened", empty))
    err = doc["hosts"][0]["error"]
    assert code == 2 and err["reason"] == "hostkey_unknown"
    assert err["presented_key"] == lab.fingerprint("hardened") and "--trust-on-first-use" in err["message"]
    assert empty.read_text() == ""


def test_trust_on_first_use_records_the_key_and_marks_the_evidence(lab, tmp_path):
    kh = tmp_path / "known_hosts"
    kh.write_text("")
    code, doc = scan(lab, tmp_path / "1", lab_host(lab, "hardened", kh), "--trust-on-first-use")
    ident = doc["hosts"][0]["identity"]
    assert doc["hosts"][0]["status"] == "ok"
    assert ident["host_key_trusted_on_first_use"] is True
    assert ident["host_key_fingerprint"] == lab.fingerprint("hardened")
    r = next(r for r in doc["results"] if r["control"] == "SSH-001")
    assert r["evidence"]["host"]["host_key_trusted_on_first_use"] is True
    assert lab.hosts["hardened"].address in kh.read_text()
    # the recorded key is now simply known
    code, doc = scan(lab, tmp_path / "2", lab_host(lab, "hardened", kh))
    assert doc["hosts"][0]["status"] == "ok"
    assert doc["hosts"][0]["identity"]["host_key_trusted_on_first_use"] is False


def test_trust_on_first_use_never_accepts_a_changed_key(lab, tmp_path):
    code, doc = scan(lab, tmp_path, lab_host(lab, "wrongkey", lab.known_hosts_path), "--trust-on-first-use")
    assert doc["hosts"][0]["error"]["reason"] == "hostkey_mismatch"


def test_identity_files_are_offered_in_their_order_whatever_can_be_loaded_beforehand(lab, tmp_path):
    """The first identity file is loaded by hardencheck (once per process, by its own type) and
    offered first; the others follow through paramiko in their order. A key the server refuses,
    one that needs a passphrase and a file that is no key come before the authorized key: the host
    logs in with it. Only keys the server refuses: auth_failed."""
    import subprocess

    def keygen(name, passphrase=""):
        path = tmp_path / name
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-f", str(path)], check=True)
        return path

    stranger, locked = keygen("stranger"), keygen("locked", "a passphrase")
    garbage = tmp_path / "garbage"
    garbage.write_text("not a key\n")
    garbage.chmod(0o600)

    def inv(*keys):
        return (f"hosts:\n  hardened: {{address: {lab.hosts['hardened'].address}, user: root, "
                f"identity_file: [{', '.join(str(k) for k in keys)}], identities_only: true, "
                f"known_hosts_file: {lab.known_hosts_path}, connect_timeout: 3}}\n")

    for i, first in enumerate((stranger, locked, garbage)):
        code, doc = scan(lab, tmp_path / f"ok{i}", inv(first, lab.client_key_path))
        assert doc["hosts"][0]["status"] == "ok", (first.name, doc["hosts"][0]["error"])
    code, doc = scan(lab, tmp_path / "refused", inv(stranger, locked))
    assert doc["hosts"][0]["error"]["reason"] == "auth_failed"


def test_ssh_agent_authentication(lab, tmp_path, monkeypatch):
    import subprocess

    sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if sock.exists():
                break
            import time
            time.sleep(0.05)
        env = {"SSH_AUTH_SOCK": str(sock)}
        subprocess.run(["ssh-add", str(lab.client_key_path)], env=env, check=True, capture_output=True)
        monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))
        monkeypatch.setenv("HOME", str(tmp_path))          # no default key files to fall back on
        inv = (f"hosts:\n  hardened: {{address: {lab.hosts['hardened'].address}, user: root, "
               f"known_hosts_file: {lab.known_hosts_path}, connect_timeout: 3}}\n")
        code, doc = scan(lab, tmp_path, inv)
        assert doc["hosts"][0]["status"] == "ok", doc["hosts"][0]["error"]
        # without the agent the same inventory cannot log in
        monkeypatch.delenv("SSH_AUTH_SOCK")
        code, doc = scan(lab, tmp_path / "noagent", inv)
        assert doc["hosts"][0]["error"]["reason"] == "auth_failed"
    finally:
        agent.terminate()
        agent.wait()


def test_the_session_is_encrypted_with_aes_gcm_on_an_openssh_server(lab):
    """hardencheck's paramiko transport prefers AES-GCM (AEAD: no MAC computed in Python per packet);
    a stock OpenSSH server offers it, so that is what the lab's hardened host negotiates."""
    from hardencheck.collect.transports.ssh import SshTransport
    from hardencheck.inventory import load_inventory

    (host,) = [h for h in load_inventory(lab.inventory_path).hosts if h.name == "hardened"]
    t = SshTransport(host, known_hosts=[str(lab.known_hosts_path)])
    try:
        t.connect()
        tr = t.client.get_transport()
        assert tr.remote_cipher == tr.local_cipher == "aes128-gcm@openssh.com"
        out = []
        assert t.run_script("echo ok\n", out.append, lambda b: None, timeout=30).exit_code == 0
        assert b"".join(out) == b"ok\n"
    finally:
        t.close()


def _hardened(lab):
    from hardencheck.collect.transports.ssh import SshTransport
    from hardencheck.inventory import load_inventory

    (host,) = [h for h in load_inventory(lab.inventory_path).hosts if h.name == "hardened"]
    return SshTransport(host, known_hosts=[str(lab.known_hosts_path)])


def test_output_beyond_the_flow_control_window_arrives_whole_on_both_streams(lab):
    """The exec's output reaches the callbacks in paramiko's reader thread (ssh_output): the
    host may send only a window's worth (2 MiB) before the scanner acknowledges, so 12 MiB on
    stdout and 3 MiB on stderr arrive only if the acknowledgements go out; every byte, in order."""
    import hashlib
    import threading

    t = _hardened(lab)
    out, err, threads = hashlib.sha256(), hashlib.sha256(), set()
    sizes = [0, 0]

    def on_out(b):
        threads.add(threading.current_thread().name)
        out.update(b)
        sizes[0] += len(b)

    def on_err(b):
        err.update(b)
        sizes[1] += len(b)

    script = "seq 1 1500000; seq 1 400000 >&2; exit 7\n"
    try:
        t.connect()
        r = t.run_script(script, on_out, on_err, timeout=20)
    finally:
        t.close()
    want_out = "".join(f"{i}\n" for i in range(1, 1500001)).encode()
    want_err = "".join(f"{i}\n" for i in range(1, 400001)).encode()
    assert (r.exit_code, r.timed_out) == (7, False)
    assert sizes == [len(want_out), len(want_err)] and len(want_out) > 5 * 2 ** 21
    assert out.hexdigest() == hashlib.sha256(want_out).hexdigest()
    assert err.hexdigest() == hashlib.sha256(want_err).hexdigest()
    assert threads and threading.current_thread().name not in threads     # paramiko's reader thread


def test_a_failing_output_callback_ends_the_exec_with_its_error_and_no_later_call(lab):
    """An exception in a callback is not lost in paramiko's thread: run_script raises it, and no
    callback runs after run_script returned."""
    t = _hardened(lab)
    calls = []

    def on_out(b):
        calls.append(b)
        raise ValueError("splitter broke")

    try:
        t.connect()
        with pytest.raises(ValueError, match="splitter broke"):
            t.run_script("echo one; sleep 0.3; echo two; sleep 0.3; echo three\n", on_out, lambda b: None,
                         timeout=30)
        n = len(calls)
        time.sleep(1)
    finally:
        t.close()
    assert n == len(calls) == 1


def test_what_an_exec_was_given_is_freed_when_it_returns_without_the_cycle_collector(lab):
    """The output callbacks (the engine's splitter, which holds the host's whole output) and the
    idle limit (whose closure knows the splitter too) are let go when run_script returns: nothing
    of the exec keeps them in a reference cycle, which only Python's cycle collector would free,
    and a scan makes it run seldom (scan.gc_settings)."""
    import gc
    import weakref

    class Sink:
        def __call__(self, data: bytes) -> None:
            pass

    class Limit:
        def __call__(self) -> float:
            return 30.0

    t = _hardened(lab)
    gc.collect()
    gc.disable()
    try:
        t.connect()
        on_out, on_err, limit = Sink(), Sink(), Limit()
        refs = [weakref.ref(o) for o in (on_out, on_err, limit)]
        r = t.run_script("echo one; echo two >&2\n", on_out, on_err, timeout=30, idle_timeout=limit)
        del on_out, on_err, limit
        assert r.exit_code == 0
        assert [ref() for ref in refs] == [None, None, None]
    finally:
        t.close()
        gc.enable()
