"""Liveness: a host that sends nothing for its idle limit is cut, whatever the command budget.

The transports are run for real (the local transport starts /bin/sh on this machine); the
engine tests make one probe's snippet hang (as tests/integration/test_ssh_paths.py does) and
check what is kept and what is said. The SSH transport's idle path is tested against the lab
(tests/integration/test_liveness.py).
"""

import time

from hardencheck.collect import engine, fanout
from hardencheck.collect.probes import get_probe
from hardencheck.collect.transports.base import Liveness
from hardencheck.collect.transports.local import LocalTransport
from hardencheck.collect.transports.replay import ReplayTransport
from hardencheck.collect.transports.ssh import _is_ssh, escaped
from hardencheck.inventory import Host
from tests.collect.test_engine import CONTROLS, by_control, local, recording, scan

# controls whose sections answer within milliseconds here (PATCH-001's apt simulation may be
# silent for seconds on a busy machine): a short idle limit then cuts only what the test hangs
QUICK = {"SSH-001", "FW-001", "DISK-001"}


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_liveness_counts_silence_from_the_last_bytes():
    clock = Clock()
    live = Liveness(10, clock=clock)
    clock.now += 9.9
    assert live.stalled() is None and 0 < live.wait_at_most(1.0) <= 0.1 + 1e-9
    live.progress()
    clock.now += 9.9
    assert live.stalled() is None
    clock.now += 0.1
    assert live.stalled() == 10


def test_liveness_limit_may_change_while_waiting_and_zero_means_none():
    clock = Clock()
    limit = [5.0]
    live = Liveness(lambda: limit[0], clock=clock)
    clock.now += 6
    assert live.stalled() == 5
    limit[0] = 60                    # a quiet probe's section began
    assert live.stalled() is None and live.wait_at_most(0.2) == 0.2
    for off in (None, 0, -1):
        assert Liveness(off, clock=clock).stalled() is None


def run_local(script, **kw):
    out, err = bytearray(), bytearray()
    t = LocalTransport(Host(name="here", address="localhost", transport="local"))
    started = time.monotonic()
    res = t.run_script(script, out.extend, err.extend, **kw)
    return res, bytes(out), bytes(err), time.monotonic() - started


def test_local_transport_cuts_a_silent_command_after_the_idle_limit():
    res, out, _, took = run_local("echo first; sleep 30; echo never\n", timeout=60, idle_timeout=1)
    assert res.timed_out and res.exit_code is None and res.stalled_for == 1
    assert out == b"first\n"
    assert took < 15                 # well before the 30 s sleep and the 60 s budget


def test_local_transport_keeps_a_slow_but_talking_command():
    res, out, _, _ = run_local("for i in 1 2 3 4 5 6; do echo $i; sleep 0.4; done\n", timeout=60,
                               idle_timeout=1.5)
    assert res.exit_code == 0 and not res.timed_out and res.stalled_for is None
    assert out.split() == [b"1", b"2", b"3", b"4", b"5", b"6"]


def test_bytes_on_stderr_are_progress_too():
    res, _, err, _ = run_local("for i in 1 2 3 4; do echo $i >&2; sleep 0.5; done\n", timeout=60,
                               idle_timeout=1.5)
    assert res.exit_code == 0 and res.stalled_for is None and err.split() == [b"1", b"2", b"3", b"4"]


def test_the_command_budget_still_applies():
    res, _, _, _ = run_local("while :; do echo tick; sleep 0.2; done\n", timeout=1.5, idle_timeout=1)
    assert res.timed_out and res.stalled_for is None


def test_replay_answers_at_once_whatever_the_limits():
    from hardencheck.collect.probe_script import SectionSpec, Splitter, build_script, new_nonce
    host = Host(name="r", address="192.0.2.1", transport="replay", vars={"replay": recording()})
    t = ReplayTransport(host)
    t.connect()
    nonce = new_nonce()
    sp = Splitter(nonce)
    probe = get_probe("host.os")
    specs = [SectionSpec(f"host.os/{c}", code) for c, code in probe.commands.items()]
    res = t.run_script(build_script(specs, nonce), sp.feed_stdout, sp.feed_stderr, timeout=0.001,
                       idle_timeout=0.001)
    assert res.exit_code == 0 and not res.timed_out and sp.done


def test_a_stalled_host_keeps_the_sections_that_completed(monkeypatch):
    # the real script on this machine; sshd.config's snippet (the script's last) hangs as on a
    # stuck host
    monkeypatch.setattr(get_probe("sshd.config"), "commands", {"effective": "sleep 60"})
    started = time.monotonic()
    (o,) = scan([local(idle_timeout=2)], control_ids=QUICK)
    assert time.monotonic() - started < 40          # not the 60 s of the sleep, nor the budget
    assert o.host.status == "ok"                    # the host answered: what it sent is judged
    assert o.host.error["reason"] == "timeout"
    assert "no output for 2 s in section sshd.config/effective" in o.host.error["message"]
    assert o.host.exec["stalled_for"] == 2 and o.host.exec["idle_timeout"] == 2
    assert o.host.os["family"]                      # host.os ran before the stall and was kept
    r = by_control(o)
    assert r["SSH-001"].status == "error" and r["SSH-001"].reason == "timeout"
    assert "no output for 2 s" in r["SSH-001"].message
    # the sections that completed before the stall are judged as usual
    assert r["FW-001"].status in ("pass", "fail") and r["DISK-001"].reason != "timeout"


def test_a_quiet_probe_gets_its_own_idle_budget(monkeypatch):
    probe = get_probe("sshd.config")
    monkeypatch.setattr(probe, "commands", {"effective": "sleep 4; true"})
    monkeypatch.setattr(probe, "idle_timeout", 60, raising=False)
    (o,) = scan([local(idle_timeout=2)], control_ids=QUICK)
    assert o.host.error is None, o.host.error
    assert o.host.exec["completed"] is True and o.host.exec["stalled_for"] is None


def test_idle_timeout_zero_means_only_the_command_budget(monkeypatch):
    monkeypatch.setattr(get_probe("sshd.config"), "commands", {"effective": "sleep 3; true"})
    (o,) = scan([local(idle_timeout=0)], control_ids=QUICK)
    assert o.host.exec["completed"] is True and o.host.exec["idle_timeout"] is None


def test_a_host_that_never_answers_is_a_timeout_with_the_silence_named(monkeypatch):
    class Silent(LocalTransport):
        def __init__(self, host, **kw):
            super().__init__(host, **kw)
            self._argv = ["/bin/sleep", "30"]          # the login works, the command never answers

    started = time.monotonic()
    (o,) = fanout.scan([local(idle_timeout=1)], CONTROLS, engine.ScanOptions(), lambda h, **kw: Silent(h))
    assert time.monotonic() - started < 20
    assert o.host.status == "error" and o.host.error["reason"] == "timeout"
    assert o.host.error["message"].startswith("no output for 1 s (idle timeout)")
    assert {r.reason for r in o.results if r.status == "error"} == {"timeout"}


def test_each_section_is_reported_as_it_starts():
    events = []
    (o,) = fanout.scan([local()], CONTROLS, engine.ScanOptions(control_ids=QUICK), lambda h, **kw: LocalTransport(h),
                       on_event=lambda host, phase, payload: events.append((host, phase, payload)))
    phases = [p for _, p, _ in events]
    assert phases[:2] == ["connecting", "collecting"] and phases[-1] == "done"
    sections = [payload for _, phase, payload in events if phase == "section"]
    total = sections[0].total
    assert [s.number for s in sections] == list(range(1, total + 1))
    assert sections[0].id.startswith("host.os/") and sections[0].probe == "host.os"
    assert {s.probe for s in sections} == {"host.os", "sshd.config", "firewall.status", "disk.encryption"}
    assert all(s.id in {e.split("/", 1)[1] for e in o.evidence} for s in sections)


def test_what_a_non_ssh_port_sent_is_shown_escaped_and_bounded():
    assert _is_ssh(b"SSH-2.0-OpenSSH_9.2\r\n") and _is_ssh(b"welcome\r\nSSH-2.0-x\r\n")
    assert not _is_ssh(b"HTTP/1.0 400 Bad request\r\n")
    text = escaped(b"HTTP/1.0 400 \"x\"\r\n\x1b[2J\xff" + b"A" * 500)
    assert text.startswith('HTTP/1.0 400 \\"x\\"\\r\\n\\x1b[2J\\xff') and text.endswith("...")
    assert len(text) <= 123 and text.isascii() and "\x1b" not in text


def test_progress_shows_the_probe_a_host_is_in_on_a_terminal_only():
    import io

    from rich.console import Console

    from hardencheck.report.terminal import Progress

    for terminal in (True, False):
        buf = io.StringIO()
        lines = []
        with Progress(Console(file=buf, force_terminal=terminal, width=200, highlight=False), 1) as p:
            def on_event(host, phase, payload):
                p.event(host, phase, payload)
                if phase == "section":
                    lines.append(p._status_line().plain)
            fanout.scan([local()], CONTROLS, engine.ScanOptions(control_ids=QUICK),
                        lambda h, **kw: LocalTransport(h), on_event=on_event)
        out = buf.getvalue()
        assert "[1/1]" in out
        if terminal:
            assert "here (host.os 1/" in lines[0] and any("here (sshd.config " in x for x in lines)
        else:   # a CI log: the finished host's line only
            assert out.count("\n") == 1 and "sshd.config" not in out
