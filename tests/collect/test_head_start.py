"""collect.head_start: the hand-over of connections opened ahead (with stand-in transports; the
lab test tests/integration/test_head_start_lab.py shows it against a real sshd)."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest

from hardencheck.collect.head_start import HeadStart
from hardencheck.errors import HostError


class FakeTransport:
    def __init__(self, host, gate: threading.Event, fail: bool = False, **options):
        self.host, self.options, self.gate, self.fail = host, options, gate, fail
        self.connected = self.closed = False
        self.identity = f"identity of {host.name}"

    def connect(self):
        assert self.gate.wait(5)
        if self.fail:
            raise HostError("unreachable", f"{self.host.name}: connection refused")
        self.connected = True

    def close(self):
        self.closed = True


def hosts(*names, transport="ssh"):
    return [SimpleNamespace(name=n, transport=transport) for n in names]


def factory(gate, made, fail=()):
    def make(host, **options):
        t = FakeTransport(host, gate, fail=host.name in fail, **options)
        made.append(t)
        return t
    return make


def test_only_the_first_round_of_ssh_hosts_connects_ahead():
    gate, made = threading.Event(), []
    gate.set()
    listed = hosts("a", "b") + hosts("here", transport="local") + hosts("c", "d")
    head = HeadStart.start(listed, 4, {"known_hosts": None}, factory(gate, made))
    assert head.hosts == ["a", "b", "c"]        # 4 forks: a, b, here (local: never ahead), c
    assert [t.options for t in made] == [{"known_hosts": None}] * 3
    head.close()


def test_the_host_thread_takes_its_connection_waits_for_it_and_sees_the_transport():
    gate, made = threading.Event(), []
    listed = hosts("a")
    head = HeadStart.start(listed, 5, {"x": 1}, factory(gate, made))
    t = head.transport_factory(listed[0], x=1)
    assert head.hosts == []                    # taken: close() leaves it to its host
    done = threading.Event()
    threading.Thread(target=lambda: (t.connect(), done.set()), daemon=True).start()
    assert not done.wait(0.2)                  # still connecting: the host thread waits
    gate.set()
    assert done.wait(5)
    assert made[0].connected and t.identity == "identity of a"
    head.close()
    assert not made[0].closed                  # the host's own to close, after its exec
    t.close()
    assert made[0].closed


def test_a_connection_that_failed_ahead_fails_in_the_host_thread_with_its_error():
    gate, made = threading.Event(), []
    gate.set()
    listed = hosts("a")
    head = HeadStart.start(listed, 5, {}, factory(gate, made, fail={"a"}))
    t = head.transport_factory(listed[0])
    with pytest.raises(HostError, match="a: connection refused"):
        t.connect()
    # the error is not kept (its traceback would keep the host's scan alive), and a second
    # connect can never look like a connection that worked
    assert t._pending.error is None
    with pytest.raises(RuntimeError, match="failed"):
        t.connect()


def test_another_host_object_or_other_options_get_a_new_transport():
    gate, made = threading.Event(), []
    gate.set()
    listed = hosts("a", "b")
    head = HeadStart.start(listed, 5, {"x": 1}, factory(gate, made))
    assert head.transport_factory(hosts("a")[0], x=1) is made[2]      # same name, another host
    assert head.transport_factory(listed[1], x=2) is made[3]          # other options
    assert head.hosts == ["a", "b"]
    head.close()
    assert all(t.closed for t in made[:2])


def test_close_closes_what_nobody_took_also_a_connection_still_being_made():
    gate, made = threading.Event(), []
    listed = hosts("a", "b")
    head = HeadStart.start(listed, 5, {}, factory(gate, made))
    head.close()                               # both still connecting
    assert not any(t.closed for t in made)
    gate.set()
    for _ in range(500):
        if all(t.closed for t in made):
            break
        threading.Event().wait(0.01)
    assert all(t.connected and t.closed for t in made)
    assert head.transport_factory(listed[0]) is made[2]     # after close: a new transport
