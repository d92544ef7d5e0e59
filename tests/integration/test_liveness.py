"""Liveness and hard edges of the connection, against real servers (a lab of its own, no mocks):

* a host whose login works but whose command never answers (sshd ``ForceCommand sleep 3600``)
  costs the idle limit, not the command timeout, and is ``timeout`` with "no output for N s";
* a host whose filesystem walk is genuinely slow (ext4 on a loop device read at a few dozen
  operations per second) is not cut by the idle limit: the walks have their own budget;
* a port that answers with HTTP is ``not_ssh``, with what it sent; connection failures are said
  in words (refused, no route, name not found), not as library internals;
* each probe section is reported as it starts (the terminal's progress line shows it);
* an identity file readable by others is refused before anything connects (exit 3).

The liveness kinds (tests/lab LIVENESS_KINDS) are not in the standard lab: this module starts
its own lab, with the prefix ``$HC_LAB_PREFIX`` + ``lv``, so it runs beside the standard one.
Time bounds here are liveness bounds several times the expected value, not benchmarks.
"""

import io
import json
import os
import shutil
import time

import pytest
from rich.console import Console

from hardencheck.cli import main
from hardencheck.collect import engine, fanout
from hardencheck.collect.transports import make_transport
from hardencheck.judge.controls import ControlSet
from hardencheck.report.terminal import Progress
from hardencheck.scan.plan import ScanRequest, prepare
from tests.conftest import lab_unavailable_or_skip, lab_prefix

pytestmark = pytest.mark.lab

KINDS = ["hardened", "stalled", "notssh", "slowwalk", "unreachable"]
WALKS = "FILE-001,FILE-002,FILE-003,FILE-006"       # the controls that walk the filesystems


@pytest.fixture(scope="module")
def live_lab(tmp_path_factory):
    lab_unavailable_or_skip()
    from tests.lab import Lab
    from tests.lab.lab import remove_slow_cgroups

    prefix = lab_prefix("lv")
    with Lab(tmp_path_factory.mktemp("livelab"), prefix=prefix) as lab:
        lab.start(KINDS)
        yield lab
    remove_slow_cgroups(prefix)


def inventory(lab, tmp_path, hosts: dict[str, str], key=None) -> str:
    tmp_path.mkdir(parents=True, exist_ok=True)
    inv = tmp_path / "inv.yml"
    inv.write_text(f"defaults: {{user: root, identity_file: {key or lab.client_key_path}, "
                   f"known_hosts_file: {lab.known_hosts_path}, connect_timeout: 3}}\nhosts:\n"
                   + "".join(f"  {name}: {{address: {address}}}\n" for name, address in hosts.items()))
    return str(inv)


def scan(lab, tmp_path, hosts: dict[str, str], *extra, key=None):
    out = tmp_path / "out"
    started = time.monotonic()
    code = main(["scan", "-i", inventory(lab, tmp_path, hosts, key), "--ssh-config", "/dev/null",
                 "--out", str(out), "--quiet", "--no-history", *extra])
    took = time.monotonic() - started
    (doc,) = out.glob("*/results.json")
    return code, json.loads(doc.read_text()), took


def host(doc, name):
    return next(h for h in doc["hosts"] if h["name"] == name)


def results(doc, name):
    """The host's results of the selected controls (the others are 'skipped')."""
    return {r["control"]: r for r in doc["results"] if r["host"] == name and r["status"] != "skipped"}


def test_a_stalled_host_costs_the_idle_limit_not_the_command_timeout(live_lab, tmp_path):
    lab = live_lab
    code, doc, took = scan(lab, tmp_path, {"healthy": lab.hosts["hardened"].address,
                                           "stalled": lab.hosts["stalled"].address},
                           "--idle-timeout", "10", "--control", "SSH-001,FW-001")
    # the command timeout is 300 s; the idle limit 10 s: a liveness bound, generously above it
    assert took < 60, took
    assert code == 2
    h = host(doc, "stalled")
    assert h["status"] == "error" and h["error"]["reason"] == "timeout"
    assert h["error"]["message"].startswith("no output for 10 s (idle timeout)"), h["error"]["message"]
    assert h["exec"]["stalled_for"] == 10 and h["exec"]["command"] == "/bin/sh -s"
    assert h["identity"]["host_key_fingerprint"] == lab.fingerprint("stalled")   # the login worked
    r = results(doc, "stalled")
    assert {x["status"] for x in r.values()} == {"error"} and {x["reason"] for x in r.values()} == {"timeout"}
    assert all("no output for 10 s" in x["message"] for x in r.values())
    healthy = results(doc, "healthy")
    assert host(doc, "healthy")["status"] == "ok" and host(doc, "healthy")["error"] is None
    assert healthy["SSH-001"]["status"] == "pass" and healthy["FW-001"]["status"] == "pass"


def test_a_genuinely_slow_filesystem_walk_is_not_cut(live_lab, tmp_path):
    from tests.lab.lab import SLOW_MOUNT

    lab = live_lab
    code, doc, _ = scan(lab, tmp_path, {"slowwalk": lab.hosts["slowwalk"].address},
                        "--idle-timeout", "4", "--control", WALKS)
    h = host(doc, "slowwalk")
    assert h["status"] == "ok" and h["error"] is None, h["error"]
    assert h["exec"]["completed"] is True and h["exec"]["stalled_for"] is None
    walks = {eid: ev for eid, ev in doc["evidence"].items() if eid.endswith("/walk")}
    assert len(walks) == 2
    assert all(f"M\t{SLOW_MOUNT}" in ev["stdout"] and ev["complete"] for ev in walks.values())
    # the precondition of the test: a walk really was silent for longer than the idle limit
    longest = max(_seconds(ev["ended_at"]) - _seconds(ev["started_at"]) for ev in walks.values())
    assert longest > 4 * 1.5, f"the slow filesystem was not slow ({longest:.1f} s)"
    r = results(doc, "slowwalk")
    assert all(x["status"] in ("pass", "fail", "not_applicable") for x in r.values()), \
        {c: (x["status"], x["message"]) for c, x in r.items()}


def _seconds(stamp: str) -> float:
    from datetime import datetime
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def test_a_port_that_answers_http_is_not_ssh(live_lab, tmp_path):
    lab = live_lab
    code, doc, took = scan(lab, tmp_path, {"web": lab.hosts["notssh"].address}, "--control", "SSH-001")
    h = host(doc, "web")
    assert h["error"]["reason"] == "not_ssh", h["error"]
    msg = h["error"]["message"]
    assert "not with SSH" in msg and "HTML" in msg.upper()        # what it sent, escaped
    assert "\n" not in msg and "\\n" in msg and len(msg) < 400
    assert "timeout" not in msg and "banner in time" not in msg
    assert results(doc, "web")["SSH-001"]["reason"] == "not_ssh"
    assert took < 30


def test_connection_errors_are_said_in_words(live_lab, tmp_path):
    lab = live_lab
    used = {h.address for h in lab.hosts.values()}
    nowhere = next(f"198.19.255.{n}" for n in range(254, 1, -1) if f"198.19.255.{n}" not in used)
    code, doc, _ = scan(lab, tmp_path, {"refusing": lab.hosts["unreachable"].address, "noroute": nowhere,
                                        "noname": "no-such-host.invalid"}, "--control", "SSH-001")
    words = {"refusing": "connection refused: nothing listens on port 22",
             "noroute": "no route to host", "noname": "was not found"}
    for name, expected in words.items():
        err = host(doc, name)["error"]
        assert err["reason"] == "unreachable" and expected in err["message"], (name, err)
        assert "Errno" not in err["message"] and "Unable to connect" not in err["message"]


def test_the_terminal_shows_which_probe_a_host_is_in(live_lab, tmp_path):
    lab = live_lab
    inv = inventory(lab, tmp_path, {"healthy": lab.hosts["hardened"].address})
    plan = prepare(ScanRequest(inventory=inv, ssh_config="/dev/null", control_ids=["SSH-001", "FW-001"]))
    controls = ControlSet(plan.controls.root, [lc for lc in plan.controls.controls
                                               if lc.id in ("SSH-001", "FW-001")], plan.controls.sha256)
    for terminal in (True, False):
        buf = io.StringIO()
        console = Console(file=buf, force_terminal=terminal, width=200, highlight=False)
        seen = []
        with Progress(console, 1) as progress:
            def on_event(name, phase, payload):
                progress.event(name, phase, payload)
                if terminal and phase == "section":
                    seen.append(progress._status_line().plain)
            fanout.scan(plan.hosts, controls, engine.ScanOptions(), make_transport, on_event=on_event)
        out = buf.getvalue()
        assert "[1/1]" in out and "healthy" in out
        if terminal:
            assert "healthy (host.os 1/" in seen[0]
            assert any("healthy (sshd.config " in line for line in seen)
            assert any("healthy (firewall.status " in line for line in seen)
            assert "sshd.config" in out                  # the live line was drawn
        else:
            # a CI log: one line per finished host, nothing per section
            assert "sshd.config" not in out and out.count("\n") == 1, out


def test_an_identity_file_open_to_others_is_refused(live_lab, tmp_path, capsys):
    lab = live_lab
    key = tmp_path / "id_open"
    shutil.copy(lab.client_key_path, key)
    os.chmod(key, 0o644)
    out = tmp_path / "out"
    code = main(["scan", "-i", inventory(lab, tmp_path, {"healthy": lab.hosts["hardened"].address}, key=key),
                 "--ssh-config", "/dev/null", "--out", str(out), "--quiet", "--no-history",
                 "--control", "SSH-001"])
    err = capsys.readouterr()
    text = err.out + err.err
    assert code == 3
    assert str(key) in text and "0644" in text and "chmod 600" in text, text
    assert not out.exists() or not any(out.rglob("results.json"))    # nothing was scanned
    os.chmod(key, 0o600)
    code, doc, _ = scan(lab, tmp_path / "again", {"healthy": lab.hosts["hardened"].address}, "--control",
                        "SSH-001", key=key)
    assert host(doc, "healthy")["status"] == "ok"
