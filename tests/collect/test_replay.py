"""The replay transport: recorded sections go back framed exactly as the real probe script prints
them, so the Splitter and every probe parser see what they would have seen on the host."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hardencheck.errors import HostError, ProbeError
from hardencheck.collect.probe_script import SectionSpec, Splitter, build_script, new_nonce
from hardencheck.collect.probes import registry
from hardencheck.collect.transports import TRANSPORT_NAMES, TRANSPORTS, make_transport
from hardencheck.collect.transports.replay import ReplayTransport, load_recording, recording_from_evidence
from hardencheck.inventory import Host

FIXTURES = Path(__file__).parents[1] / "probes"
PROBES = registry()


def replay_host(recording, name="rec") -> Host:
    return Host(name=name, address="192.0.2.7", transport="replay", vars={"replay": recording})


def replay(cls, args, recording, base=None) -> tuple[Splitter, object, dict]:
    """Run the probe's script for ``cls`` through a ReplayTransport; the splitter and its sections."""
    base = base or cls.name
    nonce = new_nonce()
    specs = [SectionSpec(id=f"{base}/{c}", code=code, args=cls.remote_args(args), timeout=cls.timeout)
             for c, code in cls.commands.items()]
    t = make_transport(replay_host(recording))
    t.connect()
    sp = Splitter(nonce)
    res = t.run_script(build_script(specs, nonce), sp.feed_stdout, sp.feed_stderr, timeout=10)
    secs = sp.sections()
    return sp, res, {c: secs[f"{base}/{c}"] for c in cls.commands if f"{base}/{c}" in secs}


def _fixtures():
    for path in sorted(FIXTURES.glob("*/*.yml")):
        yield pytest.param(path, id=f"{path.parent.name}/{path.stem}")


@pytest.mark.parametrize("path", list(_fixtures()))
def test_every_probe_fixture_replays_to_the_same_sections_and_verdict(path):
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    cls = PROBES[path.parent.name]
    args = cls.resolve_args(case.get("args"))
    sp, res, got = replay(cls, args, {cls.name: case})
    recorded = case.get("sections") or {}
    whole = all(cmd in recorded and (recorded[cmd] or {}).get("exit_code", 0) is not None
                and (recorded[cmd] or {}).get("complete", True) and not (recorded[cmd] or {}).get("truncated")
                for cmd in cls.commands)
    assert sp.done is whole and (res.exit_code == 0) is whole
    assert set(got) == set(recorded) & set(cls.commands)
    for cmd, sec in got.items():
        rec = recorded[cmd] or {}
        cut = rec.get("exit_code", 0) is None or not rec.get("complete", True) or rec.get("truncated")
        assert sec.complete is not cut
        if not cut:
            assert (sec.exit_code, sec.stdout, sec.stderr) == \
                   (rec.get("exit_code", 0), rec.get("stdout") or "", rec.get("stderr") or "")
    if "error" in case:
        with pytest.raises(ProbeError) as exc:
            cls().parse(got, args)
        assert exc.value.reason == case["error"]
    else:
        assert cls().parse(got, args) == case["fact"]


def test_registry_names_the_three_transports():
    assert TRANSPORT_NAMES == ("ssh", "local", "replay") == tuple(TRANSPORTS)
    assert isinstance(make_transport(replay_host({})), ReplayTransport)


def test_identity_says_replay_and_command_names_the_recording(tmp_path):
    t = make_transport(replay_host(str(tmp_path)), known_hosts=["/nonexistent"], trust_on_first_use=True)
    assert t.identity.transport == "replay" and t.identity.address == "192.0.2.7"
    assert t.command == f"replay {tmp_path}"


def test_a_folder_recording_holds_one_probe_fixture_per_file(tmp_path):
    src = FIXTURES / "sshd.config" / "debian12_default.yml"
    (tmp_path / "sshd.config.yml").write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    cls = PROBES["sshd.config"]
    _, _, got = replay(cls, {}, str(tmp_path))
    case = yaml.safe_load(src.read_text(encoding="utf-8"))
    assert cls().parse(got, {}) == case["fact"]


def test_a_second_invocation_is_answered_only_by_its_own_recording():
    cls = PROBES["sshd.config"]
    case = yaml.safe_load((FIXTURES / "sshd.config" / "debian12_default.yml").read_text(encoding="utf-8"))
    sp, res, got = replay(cls, {}, {"sshd.config": case}, base="sshd.config-2")
    assert got == {} and not sp.done and res.exit_code is None
    assert "nothing recorded for sshd.config-2/" in sp.noise()
    with pytest.raises(ProbeError) as exc:
        cls().parse(got, {})
    assert exc.value.reason == "incomplete_output"


@pytest.mark.parametrize("source,reason", [
    (None, "transport"),
    ("/nonexistent/recording", "transport"),
    ({"sshd.config": {"fact": {}}}, "unparsable"),
])
def test_an_unusable_recording_is_a_host_error(source, reason):
    t = ReplayTransport(replay_host(source))
    with pytest.raises(HostError) as exc:
        t.connect()
    assert exc.value.reason == reason


def test_recording_from_evidence_keeps_each_invocation_apart():
    ev = {"h/sshd.config/effective": {"command": "effective", "exit_code": 0, "stdout": "a", "stderr": "",
                                      "complete": True, "truncated": False},
          "h/files.modes-2/stat": {"command": "stat", "exit_code": 1, "stdout": "", "stderr": "x",
                                   "complete": True, "truncated": False}}
    rec = load_recording(recording_from_evidence(ev))
    assert rec["sshd.config"]["effective"]["stdout"] == "a"
    assert rec["files.modes-2"]["stat"]["exit_code"] == 1


def test_the_replay_reads_every_section_id_of_a_script_with_every_probe():
    """Snippets span lines and hold quotes: the ids still come out in order, none invented."""
    from hardencheck.collect.transports.replay import script_sections

    specs = [SectionSpec(id=f"{name}/{c}", code=code, args=("a b", "'$1'\nhc_run x 1 y"), timeout=cls.timeout)
             for name, cls in sorted(PROBES.items()) for c, code in cls.commands.items()]
    nonce = new_nonce()
    assert script_sections(build_script(specs, nonce)) == (nonce, [s.id for s in specs])


def test_section_ids_are_read_once_per_script_shape_and_each_host_keeps_its_nonce():
    from hardencheck.collect.transports import replay

    specs = [SectionSpec("a/x", "echo 'hc_run fake/id 1 x y'\nhc_run fake/two"), SectionSpec("b/y", "true")]
    one, two = new_nonce(), new_nonce()
    replay._IDS.clear()
    assert replay.script_sections(build_script(specs, one)) == (one, ["a/x", "b/y"])
    assert replay.script_sections(build_script(specs, two)) == (two, ["a/x", "b/y"])
    assert len(replay._IDS) == 1
    assert replay.script_sections(build_script(specs[1:], one)) == (one, ["b/y"])
