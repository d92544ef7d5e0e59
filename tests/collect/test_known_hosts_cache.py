"""known_hosts is parsed once per process, again only when it changes, and a key one connection
trusts on first use is not handed to the others."""

from hardencheck._paramiko import paramiko
from hardencheck.collect.transports import ssh_connect
from hardencheck.collect.transports.ssh_connect import load_known_hosts


def _line(name: str, key) -> str:
    return f"{name} {key.get_name()} {key.get_base64()}\n"


def test_known_hosts_is_parsed_once_and_again_after_a_change(tmp_path, monkeypatch):
    a = paramiko.ECDSAKey.generate()
    b = paramiko.ECDSAKey.generate()
    kh = tmp_path / "known_hosts"
    kh.write_text(_line("alpha", a))
    loads = []
    real = paramiko.HostKeys.load
    monkeypatch.setattr(paramiko.HostKeys, "load", lambda self, f: (loads.append(f), real(self, f))[1])

    c1, c2 = paramiko.SSHClient(), paramiko.SSHClient()
    load_known_hosts(c1, [str(kh), str(tmp_path / "absent")])
    load_known_hosts(c2, [str(kh)])
    assert loads == [str(kh)]                              # parsed once for both clients
    assert c1.get_host_keys().lookup("alpha")["ecdsa-sha2-nistp256"] == a
    assert c2.get_host_keys().lookup("beta") is None

    c1.get_host_keys().add("beta", b.get_name(), b)        # trust on first use in one client only
    assert c2.get_host_keys().lookup("beta") is None

    with kh.open("a") as f:                                # ... which appends to the file
        f.write(_line("beta", b))
    c3 = paramiko.SSHClient()
    load_known_hosts(c3, [str(kh)])
    assert loads == [str(kh), str(kh)]                     # the change is seen
    assert c3.get_host_keys().lookup("beta")["ecdsa-sha2-nistp256"] == b
    ssh_connect._KNOWN.clear()
