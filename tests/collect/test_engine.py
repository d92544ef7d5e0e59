"""Engine: error containment and judging, on this machine through the real local transport.

The wrappers below only *damage* what the real transport does (cut the stream, refuse to connect)
to prove that nothing a host does turns into a pass or stops the other hosts.
"""

import pytest

from hardencheck.collect import engine
from hardencheck.judge.controls import ControlSet, load_controls
from hardencheck.errors import HostError
from hardencheck.inventory import Host
from hardencheck.collect.probes import get_probe
from hardencheck.results import Result, exit_code
from hardencheck.collect.transports.local import LocalTransport

# Containment is about the engine, not the library: the seven design controls are enough (the
# whole library walks this machine's filesystems and takes seconds per scan).
_LIBRARY = load_controls()
DESIGN = {"SSH-001", "FW-001", "DISK-001", "PATCH-001", "RAID-001", "SCAN-001", "SCAN-002"}
CONTROLS = ControlSet(_LIBRARY.root, [lc for lc in _LIBRARY.controls if lc.id in DESIGN], _LIBRARY.sha256)


def local(name="here", **kw):
    return Host(name=name, address="localhost", transport="local", command_timeout=60, **kw)


def scan(hosts, factory=LocalTransport, **opts):
    return engine.scan(hosts, CONTROLS, engine.ScanOptions(**opts), lambda h, **kw: factory(h))


class Refusing(LocalTransport):
    def connect(self):
        raise HostError("hostkey_mismatch", "presented another key")


class CutOff(LocalTransport):
    """Delivers only the first sections, as if the channel broke mid-script."""

    def run_script(self, script, on_stdout, on_stderr, **kw):
        seen = bytearray()
        res = super().run_script(script, seen.extend, on_stderr, **kw)
        cut = seen.find(b"B firewall.status/")
        on_stdout(bytes(seen[:cut]))
        res.exit_code = None
        return res


class Sudoless(LocalTransport):
    def run_script(self, script, on_stdout, on_stderr, **kw):
        on_stderr(b"sudo: a password is required\n")
        from hardencheck.collect.transports.base import ExecResult
        return ExecResult(exit_code=1)


def by_control(outcome):
    return {r.control: r for r in outcome.results}


def test_every_control_gets_exactly_one_result_per_host():
    (o,) = scan([local()])
    assert sorted(r.control for r in o.results) == sorted(lc.id for lc in CONTROLS.controls)
    assert o.host.status == "ok" and o.host.os["family"] == "debian"
    for r in o.results:
        assert r.status in ("pass", "fail", "error", "not_applicable")
        if r.status in ("pass", "fail"):
            assert r.evidence["sections"], r.control
            for eid in r.evidence["sections"]:
                assert eid in o.evidence and o.evidence[eid]["code"]


def test_a_refused_host_is_error_everywhere_and_does_not_stop_others():
    good, bad = local("good"), local("bad")
    outcomes = engine.scan([bad, good], CONTROLS, engine.ScanOptions(forks=2),
                           lambda h, **kw: (Refusing if h.name == "bad" else LocalTransport)(h))
    assert [o.host.name for o in outcomes] == ["bad", "good"]
    bad_o, good_o = outcomes
    assert bad_o.host.status == "error" and bad_o.host.error["reason"] == "hostkey_mismatch"
    assert {r.status for r in bad_o.results} == {"error"}
    assert {r.reason for r in bad_o.results} == {"hostkey_mismatch"}
    assert any(r.status in ("pass", "fail") for r in good_o.results)


def test_output_cut_off_mid_script_is_error_for_the_missing_probes_only():
    (o,) = scan([local()], factory=CutOff)
    r = by_control(o)
    assert r["FW-001"].status == "error" and r["FW-001"].reason == "incomplete_output"
    # sections before the cut were judged normally (disk.encryption runs before firewall.status)
    assert r["DISK-001"].status in ("pass", "fail")


def test_sudo_refusal_is_named():
    (o,) = scan([local(become=True)], factory=Sudoless)
    assert o.host.error["reason"] == "sudo_failed"
    assert {r.reason for r in o.results} == {"sudo_failed"}


def test_a_parser_crash_is_an_error_not_a_pass(monkeypatch):
    probe = get_probe("sshd.config")
    monkeypatch.setattr(probe, "parse", lambda self, out, args: 1 / 0)
    (o,) = scan([local()])
    r = by_control(o)["SSH-001"]
    assert r.status == "error" and r.reason == "unparsable" and "ZeroDivisionError" in r.message


def test_tags_skip_and_host_tags_make_not_applicable():
    (o,) = scan([local()], tags={"ssh"})
    statuses = {r.control: r.status for r in o.results}
    assert statuses["FW-001"] == "skipped"
    assert statuses["SSH-001"] != "skipped"


def test_one_probe_runs_once_per_host_whatever_the_number_of_controls():
    hs = engine.HostScan(local(), CONTROLS, engine.ScanOptions(), LocalTransport, lambda *a: None)
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


def test_os_family_applicability(tmp_path):
    from hardencheck.judge.controls import load_controls as load

    src = (CONTROLS.by_id()["SSH-001"].file)
    text = open(src).read().replace("id: SSH-001", "id: RH-001").replace(
        "probe: sshd.config", "applies_to: {os_family: [rhel]}\nprobe: sshd.config")
    (tmp_path / "RH-001.yml").write_text(text)
    cs = load(tmp_path)
    (o,) = engine.scan([local()], cs, engine.ScanOptions(), lambda h, **kw: LocalTransport(h))
    (r,) = o.results
    assert r.status == "not_applicable" and r.reason == "applies_to" and "'debian'" in r.message


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


def test_virtualization_applicability(tmp_path):
    from hardencheck.judge.controls import load_controls as load

    src = CONTROLS.by_id()["RAID-001"].file
    text = open(src).read().replace("id: RAID-001", "id: PHY-001").replace(
        "probe: raid.md", "applies_to: {virtualization: physical}\nprobe: raid.md")
    (tmp_path / "PHY-001.yml").write_text(text)
    (o,) = engine.scan([local()], load(tmp_path), engine.ScanOptions(), lambda h, **kw: LocalTransport(h))
    (r,) = o.results
    virt = o.host.os["virtualization"]
    if virt is None:
        assert r.status == "error" and r.reason == "command_missing"
    elif virt == "none":
        assert r.status != "not_applicable" or r.reason == "precondition"
    else:
        assert r.status == "not_applicable" and r.reason == "applies_to" and virt in r.message
