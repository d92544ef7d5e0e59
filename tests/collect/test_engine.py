"""Engine: error containment and judging.

Most tests replay recorded output (the probe fixtures in tests/probes) through the replay
transport: the whole pipeline runs (plan, one script, framing, splitting, parsing, judging) with
no shell on this machine, and the verdicts do not depend on what this machine has installed. A
few tests use the real local transport on purpose: it must really scan this machine, and a replay
of what it collected must judge the same.

The wrappers below only *damage* what a transport does (cut the stream, refuse to connect) to
prove that nothing a host does turns into a pass or stops the other hosts.
"""

from pathlib import Path

import pytest
import yaml

from hardencheck.collect import engine, fanout
from hardencheck.judge.controls import ControlSet, load_controls
from hardencheck.errors import HostError
from hardencheck.inventory import Host
from hardencheck.collect.probes import get_probe
from hardencheck.results import Result, exit_code
from hardencheck.collect.transports import make_transport
from hardencheck.collect.transports.base import ExecResult
from hardencheck.collect.transports.replay import ReplayTransport, recording_from_evidence

# Containment is about the engine, not the library: the seven design controls are enough (the
# whole library walks this machine's filesystems and takes seconds per scan).
_LIBRARY = load_controls()
DESIGN = {"SSH-001", "FW-001", "DISK-001", "PATCH-001", "RAID-001", "SCAN-001", "SCAN-002"}
CONTROLS = ControlSet(_LIBRARY.root, [lc for lc in _LIBRARY.controls if lc.id in DESIGN], _LIBRARY.sha256)

FIXTURES = Path(__file__).parents[1] / "probes"
# A Debian 12 container as the probe fixtures recorded it: one fixture per probe the design
# controls need.
DEBIAN = {"host.os": "debian12_docker", "sshd.config": "debian12_default",
          "firewall.status": "debian12_nft_stock_accept", "disk.encryption": "debian12_luks_lvm",
          "patches.status": "debian12_up_to_date", "raid.md": "no_arrays",
          "rkhunter.log": "clean_daily_run", "openvas.report": "folder_three_reports"}


def recording(**cases) -> dict:
    """The DEBIAN recording, with other fixtures for the probes named (``host_os="rhel9_kvm"``)."""
    chosen = {**DEBIAN, **{k.replace("_", "."): v for k, v in cases.items()}}
    return {probe: yaml.safe_load((FIXTURES / probe / f"{case}.yml").read_text(encoding="utf-8"))
            for probe, case in chosen.items()}


def replayed(name="here", rec=None, **kw):
    return Host(name=name, address="192.0.2.10", transport="replay", command_timeout=60,
                vars={"replay": recording() if rec is None else rec}, **kw)


def local(name="here", **kw):
    return Host(name=name, address="localhost", transport="local", command_timeout=60, **kw)


def scan(hosts, factory=make_transport, controls=CONTROLS, **opts):
    return fanout.scan(hosts, controls, engine.ScanOptions(**opts), lambda h, **kw: factory(h))


class Refusing(ReplayTransport):
    def connect(self):
        raise HostError("hostkey_mismatch", "presented another key")


class CutOff(ReplayTransport):
    """Delivers only the first sections, as if the channel broke mid-script."""

    def run_script(self, script, on_stdout, on_stderr, **kw):
        seen = bytearray()
        res = super().run_script(script, seen.extend, on_stderr, **kw)
        cut = seen.find(b"B firewall.status/")
        on_stdout(bytes(seen[:cut]))
        res.exit_code = None
        return res


class Sudoless(ReplayTransport):
    def run_script(self, script, on_stdout, on_stderr, **kw):
        on_stderr(b"sudo: a password is required\n")
        return ExecResult(exit_code=1)


def by_control(outcome):
    return {r.control: r for r in outcome.results}


def test_every_control_gets_exactly_one_result_per_host():
    (o,) = scan([replayed()])
    assert sorted(r.control for r in o.results) == sorted(lc.id for lc in CONTROLS.controls)
    assert o.host.status == "ok" and o.host.os["family"] == "debian"
    assert o.host.identity["transport"] == "replay" and o.host.exec["completed"] is True
    r = by_control(o)
    # verdicts from the recording, whatever this machine has installed
    assert r["SSH-001"].status == "fail" and "`passwordauthentication` is \"yes\"" in r["SSH-001"].message
    assert r["FW-001"].status == "fail" and r["DISK-001"].status == "pass"
    assert r["RAID-001"].status == "not_applicable" and r["RAID-001"].reason == "precondition"
    for r in o.results:
        assert r.status in ("pass", "fail", "error", "not_applicable")
        assert r.evidence["host"]["transport"] == "replay"
        if r.status in ("pass", "fail"):
            assert r.evidence["sections"], r.control
            for eid in r.evidence["sections"]:
                assert eid in o.evidence and o.evidence[eid]["code"]


def test_this_machine_through_the_real_local_transport():
    """On purpose on this machine: the local transport runs the real script with /bin/sh."""
    (o,) = scan([local()])
    assert sorted(r.control for r in o.results) == sorted(lc.id for lc in CONTROLS.controls)
    assert o.host.status == "ok" and o.host.os["family"] == "debian"
    assert o.host.identity["transport"] == "local" and o.host.exec["completed"] is True
    for r in o.results:
        assert r.status in ("pass", "fail", "error", "not_applicable")
        if r.status in ("pass", "fail"):
            assert r.evidence["sections"], r.control
            for eid in r.evidence["sections"]:
                assert eid in o.evidence and o.evidence[eid]["code"]


def test_a_replay_of_what_the_local_transport_collected_judges_the_same():
    """Offline re-judging: the evidence a real scan kept, replayed, gives the same verdicts."""
    (live,) = scan([local()])
    (again,) = scan([replayed(rec=recording_from_evidence(live.evidence))])
    key = lambda o: [(r.control, r.status, r.reason, r.message, r.expected, r.actual) for r in o.results]
    assert key(again) == key(live)
    assert {k: {f: v for f, v in e.items() if not f.endswith("_at")} for k, e in again.evidence.items()} == \
           {k: {f: v for f, v in e.items() if not f.endswith("_at")} for k, e in live.evidence.items()}


def test_a_refused_host_is_error_everywhere_and_does_not_stop_others():
    good, bad = replayed("good"), replayed("bad")
    outcomes = fanout.scan([bad, good], CONTROLS, engine.ScanOptions(forks=2),
                           lambda h, **kw: (Refusing if h.name == "bad" else ReplayTransport)(h))
    assert [o.host.name for o in outcomes] == ["bad", "good"]
    bad_o, good_o = outcomes
    assert bad_o.host.status == "error" and bad_o.host.error["reason"] == "hostkey_mismatch"
    assert {r.status for r in bad_o.results} == {"error"}
    assert {r.reason for r in bad_o.results} == {"hostkey_mismatch"}
    assert any(r.status in ("pass", "fail") for r in good_o.results)


def test_output_cut_off_mid_script_is_error_for_the_missing_probes_only():
    (o,) = scan([replayed()], factory=CutOff)
    r = by_control(o)
    assert r["FW-001"].status == "error" and r["FW-001"].reason == "incomplete_output"
    # sections before the cut were judged normally (disk.encryption runs before firewall.status)
    assert r["DISK-001"].status == "pass"
    assert o.host.exec["completed"] is False


def test_a_recorded_section_that_was_killed_is_incomplete_not_judged():
    (o,) = scan([replayed(rec=recording(sshd_config="killed_mid_output"))])
    r = by_control(o)
    assert r["SSH-001"].status == "error" and r["SSH-001"].reason == "incomplete_output"
    assert r["DISK-001"].status == "pass"


def test_a_probe_missing_from_the_recording_is_an_error_not_a_fact():
    rec = recording()
    del rec["firewall.status"]
    (o,) = scan([replayed(rec=rec)])
    r = by_control(o)
    assert r["FW-001"].status == "error" and r["FW-001"].reason == "incomplete_output"
    assert "nothing recorded for firewall.status/" in o.host.noise


def test_sudo_refusal_is_named():
    (o,) = scan([replayed(become=True)], factory=Sudoless)
    assert o.host.error["reason"] == "sudo_failed"
    assert {r.reason for r in o.results} == {"sudo_failed"}


def test_a_parser_crash_is_an_error_not_a_pass(monkeypatch):
    probe = get_probe("sshd.config")
    monkeypatch.setattr(probe, "parse", lambda self, out, args: 1 / 0)
    (o,) = scan([replayed()])
    r = by_control(o)["SSH-001"]
    assert r.status == "error" and r.reason == "unparsable" and "ZeroDivisionError" in r.message


def test_tags_skip_and_host_tags_make_not_applicable():
    (o,) = scan([replayed()], tags={"ssh"})
    statuses = {r.control: r.status for r in o.results}
    assert statuses["FW-001"] == "skipped"
    assert statuses["SSH-001"] != "skipped"


def test_one_probe_runs_once_per_host_whatever_the_number_of_controls():
    hs = engine.HostScan(replayed(), CONTROLS, engine.ScanOptions(), make_transport, lambda *a: None)
    specs = hs.plan(list(CONTROLS.controls))
    ids = [s.id for s in specs]
    assert len(ids) == len(set(ids))
    assert sum(1 for i in ids if i.startswith("sshd.config/")) == len(get_probe("sshd.config").commands)


def R(status, severity="low"):
    return Result(host="h", control="C-001", status=status, severity=severity, expected="", actual=None, message="")


@pytest.mark.parametrize("statuses,fail_on,code", [
    (["pass", "not_applicable", "skipped"], "info", 0),
    (["pass", "fail"], "info", 1),
    (["fail", "error"], "info", 1),
    (["pass", "error"], "info", 2),
    (["fail"], "high", 0),
    (["fail", "error"], "high", 2),
    (["fail"], "none", 0),
])
def test_exit_codes(statuses, fail_on, code):
    assert exit_code([R(s) for s in statuses], fail_on) == code


def test_exit_code_respects_severity_threshold():
    assert exit_code([R("fail", "high")], "high") == 1
    assert exit_code([R("fail", "critical")], "high") == 1
    assert exit_code([R("fail", "medium")], "high") == 0


def _variant(tmp_path, cid, new_id, probe_line, applies_to):
    from hardencheck.judge.controls import load_controls as load

    text = open(CONTROLS.by_id()[cid].file).read().replace(f"id: {cid}", f"id: {new_id}").replace(
        probe_line, f"applies_to: {applies_to}\n{probe_line}")
    (tmp_path / f"{new_id}.yml").write_text(text)
    return load(tmp_path)


@pytest.mark.parametrize("host_os,status", [("debian12_docker", "not_applicable"), ("rhel9_kvm", "fail")])
def test_os_family_applicability(tmp_path, host_os, status):
    cs = _variant(tmp_path, "SSH-001", "RH-001", "probe: sshd.config", "{os_family: [rhel]}")
    (o,) = scan([replayed(rec=recording(host_os=host_os))], controls=cs)
    (r,) = o.results
    assert r.status == status
    if status == "not_applicable":
        assert r.reason == "applies_to" and "'debian'" in r.message


@pytest.mark.parametrize("host_os,status,reason,words", [
    ("debian12_docker", "not_applicable", "applies_to", "virtual (docker)"),
    ("rhel9_kvm", "not_applicable", "applies_to", "virtual (kvm)"),
    ("ubuntu2204_bare_metal", "not_applicable", "precondition", "`present` is false"),
    ("alpine_no_systemd", "error", "command_missing", "systemd-detect-virt is missing"),
])
def test_virtualization_applicability(tmp_path, host_os, status, reason, words):
    cs = _variant(tmp_path, "RAID-001", "PHY-001", "probe: raid.md", "{virtualization: physical}")
    (o,) = scan([replayed(rec=recording(host_os=host_os))], controls=cs)
    (r,) = o.results
    assert (r.status, r.reason) == (status, reason) and words in r.message


def test_cli_scans_this_machine_without_an_inventory(tmp_path):
    import json

    from hardencheck.cli import main
    from hardencheck.results import validate_document

    code = main(["scan", "--out", str(tmp_path), "--control", "RAID-001", "--quiet"])
    (p,) = tmp_path.glob("*/results.json")
    doc = json.loads(p.read_text())
    validate_document(doc)
    assert doc["hosts"][0]["identity"]["transport"] == "local"
    by = {r["control"]: r["status"] for r in doc["results"]}
    assert by["RAID-001"] in ("pass", "fail", "not_applicable") and by["SSH-001"] == "skipped"
    assert code == doc["run"]["exit_code"]
    assert not (p.parent / "hosts.partial.jsonl").exists()


def test_cli_scans_a_replayed_host_from_an_inventory(tmp_path, monkeypatch):
    """`transport: replay` and `vars.replay` in an inventory: no shell, the identity says replay."""
    import json

    from hardencheck.cli import main

    (tmp_path / "rec").mkdir()
    for probe, case in (("host.os", DEBIAN["host.os"]), ("sshd.config", DEBIAN["sshd.config"])):
        (tmp_path / "rec" / f"{probe}.yml").write_text(
            (FIXTURES / probe / f"{case}.yml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "inv.yml").write_text("hosts:\n  recorded:\n    address: 192.0.2.5\n"
                                      "    transport: replay\n    vars: {replay: rec}\n")
    monkeypatch.chdir(tmp_path)
    code = main(["scan", "-i", "inv.yml", "--control", "SSH-001", "--out", "out", "--quiet"])
    (p,) = (tmp_path / "out").glob("*/results.json")
    doc = json.loads(p.read_text())
    (host,) = doc["hosts"]
    assert host["identity"]["transport"] == "replay" and host["exec"]["command"] == "replay rec"
    by = {r["control"]: r for r in doc["results"]}
    assert by["SSH-001"]["status"] == "fail" and by["SSH-001"]["evidence"]["host"]["transport"] == "replay"
    assert code == doc["run"]["exit_code"] == 1


def test_finished_hosts_come_back_in_batches_each_host_once():
    """fanout.scan hands every host to on_hosts_done exactly once; a batch is every host that had
    finished meanwhile, in inventory order."""
    import threading

    hosts = [replayed(f"h{i}") for i in range(6)]
    gate = threading.Event()

    class Slow(ReplayTransport):
        def connect(self):
            gate.wait(5)        # all six finish at about the same moment
            super().connect()

    batches = []
    gate.set()
    outcomes = fanout.scan(hosts, CONTROLS, engine.ScanOptions(forks=6), lambda h, **kw: Slow(h),
                           on_hosts_done=lambda b: batches.append([o.host.name for o in b]))
    assert sorted(n for b in batches for n in b) == sorted(h.name for h in hosts)
    assert all(b == sorted(b, key=lambda n: int(n[1:])) for b in batches)
    assert [o.host.name for o in outcomes] == [h.name for h in hosts]


def test_the_fan_out_lets_a_thread_keep_the_gil_longer_while_hosts_are_in_flight():
    """Two threads per host in flight: at CPython's 5 ms switch interval, packets arriving while
    another thread computes forced costly switches. The fan-out raises it while hosts are in flight
    (never lowers one set higher by the caller) and puts the caller's back afterwards."""
    import sys

    seen = []

    class Noting(ReplayTransport):
        def connect(self):
            seen.append(sys.getswitchinterval())
            super().connect()

    before = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)
        outcomes = fanout.scan([replayed("a"), replayed("b")], CONTROLS, engine.ScanOptions(forks=2),
                               lambda h, **kw: Noting(h))
        assert [o.host.status for o in outcomes] == ["ok", "ok"]
        assert seen == pytest.approx([fanout.SWITCH_INTERVAL] * 2, abs=1e-5) and sys.getswitchinterval() == pytest.approx(0.005, abs=1e-5)
        sys.setswitchinterval(0.2)
        seen.clear()
        fanout.scan([replayed("c")], CONTROLS, engine.ScanOptions(forks=1), lambda h, **kw: Noting(h))
        assert seen == pytest.approx([0.2], abs=1e-5) and sys.getswitchinterval() == pytest.approx(0.2, abs=1e-5)
    finally:
        sys.setswitchinterval(before)
