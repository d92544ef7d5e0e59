"""known_hosts is parsed once per process, again only when it changes; a connection gets the
entries for its own host, which paramiko judges exactly as it would the whole file; a key one
connection trusts on first use is not handed to the others."""

import random

import pytest

from hardencheck._paramiko import paramiko
from hardencheck.collect.transports import known_hosts
from hardencheck.collect.transports.known_hosts import KnownHosts, load_known_hosts
from hardencheck.errors import HostError


@pytest.fixture(autouse=True)
def _fresh():
    known_hosts._FILES.clear()
    yield
    known_hosts._FILES.clear()


def _line(name: str, key) -> str:
    return f"{name} {key.get_name()} {key.get_base64()}\n"


def test_known_hosts_is_parsed_once_and_again_after_a_change(tmp_path, monkeypatch):
    a = paramiko.ECDSAKey.generate()
    b = paramiko.ECDSAKey.generate()
    kh = tmp_path / "known_hosts"
    kh.write_text(_line("alpha", a))
    loads = []
    real = KnownHosts.parse
    monkeypatch.setattr(KnownHosts, "parse", classmethod(lambda cls, f: (loads.append(f), real(f))[1]))

    c1, c2 = paramiko.SSHClient(), paramiko.SSHClient()
    load_known_hosts(c1, [str(kh), str(tmp_path / "absent")], "alpha", 22)
    load_known_hosts(c2, [str(kh)], "beta", 22)
    assert loads == [str(kh)]                              # parsed once for both clients
    assert c1.get_host_keys().lookup("alpha")["ecdsa-sha2-nistp256"] == a
    assert c2.get_host_keys().lookup("beta") is None
    assert len(c2.get_host_keys()._entries) == 0           # only the entries for its own host

    c2.get_host_keys().add("beta", b.get_name(), b)        # trust on first use in one client only
    c3 = paramiko.SSHClient()
    load_known_hosts(c3, [str(kh)], "beta", 22)
    assert c3.get_host_keys().lookup("beta") is None

    with kh.open("a") as f:                                # ... which appends to the file
        f.write(_line("beta", b))
    c4 = paramiko.SSHClient()
    load_known_hosts(c4, [str(kh)], "beta", 22)
    assert loads == [str(kh), str(kh)]                     # the change is seen
    assert c4.get_host_keys().lookup("beta")["ecdsa-sha2-nistp256"] == b


def test_each_host_is_judged_as_paramiko_judges_it_with_the_whole_file(tmp_path):
    """Plain and hashed names, non-standard ports, several names and keys on one line, repeated
    and conflicting lines, comments, blank and broken lines: for every name, the client's lookup
    is paramiko's own lookup after loading the whole file."""
    rng = random.Random(7)
    keys = [paramiko.ECDSAKey.generate(), paramiko.Ed25519Key.generate() if hasattr(paramiko, "Ed25519Key")
            and hasattr(paramiko.Ed25519Key, "generate") else paramiko.RSAKey.generate(1024),
            paramiko.RSAKey.generate(1024)]
    names = [f"10.0.0.{i}" for i in range(12)] + ["[10.0.0.3]:2222", "[db.example]:22", "db.example", "ünï.example"]
    lines = ["# a comment", "", "   ", "garbage line", "10.0.0.1 ssh-unknown-type AAAA"]
    for _ in range(60):
        picked = rng.sample(names, rng.choice([1, 1, 2, 3]))
        shown = [paramiko.HostKeys.hash_host(n) if rng.random() < 0.5 else n for n in picked]
        lines.append(_line(",".join(shown), rng.choice(keys)).rstrip("\n"))
    kh = tmp_path / "known_hosts"
    kh.write_text("\n".join(lines) + "\n")
    whole = paramiko.HostKeys()
    whole.load(str(kh))
    for name in names + ["10.0.0.99", "[10.0.0.1]:2222"]:
        address, port = (name[1:].split("]:")[0], int(name.split("]:")[1])) if name.startswith("[") else (name, 22)
        client = paramiko.SSHClient()
        load_known_hosts(client, [str(kh)], address, port)
        lookup_name = name if port != 22 or not name.startswith("[") else address
        mine, theirs = client.get_host_keys().lookup(lookup_name), whole.lookup(lookup_name)
        if theirs is None:
            assert mine is None, name
        else:
            assert mine is not None and dict(mine.items()) == dict(theirs.items()), name


def test_a_hashed_name_that_does_not_decode_never_matches(tmp_path):
    """paramiko's own lookup fails on such a line (its salt is not 20 bytes); here the line names
    no host, and the other lines still do: an unknown host key is refused either way."""
    a = paramiko.ECDSAKey.generate()
    kh = tmp_path / "known_hosts"
    kh.write_text("|1|c2FsdA==|aGFzaA== " + _line("x", a).split(" ", 1)[1] + "|1|%%%|%%% " + _line("x", a).split(" ", 1)[1]
                  + _line(paramiko.HostKeys.hash_host("10.0.0.2"), a))
    for address, found in (("10.0.0.1", False), ("10.0.0.2", True)):
        client = paramiko.SSHClient()
        load_known_hosts(client, [str(kh)], address, 22)
        assert (client.get_host_keys().lookup(address) is not None) is found


def test_a_long_hashed_known_hosts_is_read_in_one_pass(tmp_path, monkeypatch):
    """A fleet's known_hosts: read once, each host found without paramiko's per-entry lookups."""
    key = paramiko.ECDSAKey.generate()
    kh = tmp_path / "known_hosts"
    kh.write_text("".join(_line(paramiko.HostKeys.hash_host(f"10.1.{i // 256}.{i % 256}"), key)
                          for i in range(3000)))
    calls = []
    monkeypatch.setattr(paramiko.HostKeys, "lookup", lambda self, h: calls.append(h))
    client = paramiko.SSHClient()
    load_known_hosts(client, [str(kh)], "10.1.11.7", 22)
    assert calls == []
    assert [e.hostnames for e in client.get_host_keys()._entries] == [
        [paramiko.hostkeys.HostKeys.hash_host("10.1.11.7", e.hostnames[0])] for e in client.get_host_keys()._entries]
    assert len(client.get_host_keys()._entries) == 1


def test_a_line_whose_key_cannot_be_read_is_an_error_for_the_hosts_it_names_only(tmp_path):
    """paramiko's own load raised on such a line (every SSH host then failed with an internal error)
    or skipped it (the host then looked unknown, and trust on first use would record a new key past
    it). Here the hosts the line names fail with the file and line; the others are unaffected."""
    from hardencheck.errors import HostError

    a = paramiko.ECDSAKey.generate()
    kh = tmp_path / "known_hosts"
    kh.write_text(_line("alpha", a) + "beta,10.0.0.2 ssh-ed25519 notbase64\n"
                  + f"{paramiko.HostKeys.hash_host('gamma')} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA\n")
    client = paramiko.SSHClient()
    load_known_hosts(client, [str(kh)], "alpha", 22)
    assert client.get_host_keys().lookup("alpha")["ecdsa-sha2-nistp256"] == a
    for name, line in (("beta", 2), ("10.0.0.2", 2), ("gamma", 3)):
        with pytest.raises(HostError, match=f"{kh} line {line} names this host, but its key cannot be read") as e:
            load_known_hosts(paramiko.SSHClient(), [str(kh)], name, 22)
        assert e.value.reason == "hostkey_unknown"
    load_known_hosts(paramiko.SSHClient(), [str(kh)], "delta", 22)      # not named: no error


def test_revoked_keys_are_collected_from_every_file_and_cert_authority_lines_skipped(tmp_path):
    a, b, c = (paramiko.ECDSAKey.generate() for _ in range(3))
    one, two = tmp_path / "one", tmp_path / "two"
    one.write_text(_line("alpha", a) + "@revoked * " + _line("", b).lstrip()
                   + "@cert-authority *.example.org " + _line("", c).lstrip())
    two.write_text("# comment\n@revoked\tbeta " + _line("", a).lstrip())           # a tab after the marker
    client = paramiko.SSHClient()
    revoked = load_known_hosts(client, [str(one), str(two)], "alpha", 22)
    assert revoked == {b.asbytes(): f"{one} line 2", a.asbytes(): f"{two} line 2"}
    # the @revoked and @cert-authority lines are no host entries; alpha's own line still is
    assert [e.key.asbytes() for e in client.get_host_keys()._entries] == [a.asbytes()]
    assert KnownHosts.parse(str(one)).broken == []


def test_a_revoked_line_whose_key_cannot_be_read_fails_the_hosts_it_names(tmp_path):
    kh = tmp_path / "known_hosts"
    kh.write_text("@revoked alpha ssh-ed25519 notbase64\n")
    with pytest.raises(HostError) as e:
        load_known_hosts(paramiko.SSHClient(), [str(kh)], "alpha", 22)
    assert e.value.reason == "hostkey_unknown" and f"{kh} line 1 names this host" in e.value.message
    assert load_known_hosts(paramiko.SSHClient(), [str(kh)], "beta", 22) == {}
