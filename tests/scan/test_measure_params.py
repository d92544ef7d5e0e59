"""scan.measure_params: a control judged with a TOM measure's own parameters from the evidence the
host already sent (a real capture of the backup.marker probe), and never a pass when that
evidence does not reproduce the host's own verdict."""

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from hardencheck.collect.probe_script import Section
from hardencheck.collect.probes.base import get_probe
from hardencheck.judge.controls import load_controls
from hardencheck.judge.verdict import judge_facts
from hardencheck.results import HostOutcome, HostRecord, Result
from hardencheck.scan.measure_params import judge_parameter_sets, to_json

FIXTURE = Path(__file__).resolve().parents[1] / "probes" / "backup.marker" / "folder_newest_real.yml"
HOURLY, DAILY = {"max_age": "1h"}, {"max_age": "26h"}
SETS = {"BACKUP-001": {'{"max_age": "1h"}': (HOURLY, ["3.1"]), '{"max_age": "26h"}': (DAILY, ["3.2"])}}


@pytest.fixture(scope="module")
def library():
    return load_controls()


def outcome(library, stdout=None, age_hours=5.0, status=None):
    """The host's outcome as the engine leaves it: BACKUP-001 judged with the host's parameters
    (defaults) from the captured listing, collected ``age_hours`` after the marker was written."""
    cap = yaml.safe_load(FIXTURE.read_text())
    sec = cap["sections"]["listing"]
    control = library.by_id()["BACKUP-001"].control
    probe = get_probe("backup.marker")
    params = control.effective_params({"marker_path": cap["args"]["path"]})   # the host's inventory
    args = probe.resolve_args(control.resolved_args(params))
    out = stdout if stdout is not None else sec["stdout"]
    facts = probe().parse({"listing": Section("backup.marker/listing", 0, sec["stdout"], "", len(sec["stdout"]), 0,
                                              complete=True)}, args)
    now = datetime(2026, 11, 23, 2, 11, tzinfo=timezone.utc) + timedelta(hours=age_hours)
    eid = "h/backup.marker/listing"
    ev = {"probe": "backup.marker", "args": args, "sections": [eid],
          "collected_at": now.strftime("%Y-%m-%dT%H:%M:%S.000Z")}
    r = judge_facts(control, facts, params, now, host="h", evidence=ev)
    if status:
        r = Result(host="h", control="BACKUP-001", status=status, severity="high", expected="", actual=None,
                   message="cannot connect", reason="unreachable", params=params, evidence={})
    evidence = {eid: {"host": "h", "probe": "backup.marker", "command": "listing", "code": "", "args": list(args),
                      "exit_code": 0, "stdout": out, "stderr": "", "stdout_bytes": len(out), "stderr_bytes": 0,
                      "truncated": False, "complete": True}}
    return HostOutcome(HostRecord(name="h", identity={}), [r], evidence)


def test_two_parameter_sets_from_one_collection(library):
    o = outcome(library)
    assert o.results[0].status == "pass"                     # the host's own 26 h
    got = {r.params["max_age"]: (r, p) for r, p in judge_parameter_sets(o, library, SETS)}
    hourly, daily = got["1h"][0], got["26h"][0]
    assert hourly.status == "fail" and "at most 1 hours old" in hourly.message
    assert daily.status == "pass"
    assert hourly.tom == ["3.1"] and daily.tom == ["3.2"]
    assert hourly.evidence == o.results[0].evidence          # the same sections, no new collection
    assert hourly.params["marker_path"] == "/tmp/hc-backup/markers"   # the host's own, beside the measure's
    doc = to_json(hourly, got["1h"][1])
    assert doc["measures"] == ["3.1"] and doc["measure_params"] == HOURLY and doc["key"] == '{"max_age": "1h"}'
    assert "tom" not in doc


def test_evidence_that_does_not_reproduce_the_verdict_is_an_error(library):
    # the recorded listing says the marker is 30 days older than what the host's verdict judged
    o = outcome(library, stdout="kind dir\n1792807860 3 /tmp/hc-backup/markers/2026-10-24.done\n")
    for r, _ in judge_parameter_sets(o, library, SETS):
        assert (r.status, r.reason) == ("error", "unparsable")
        assert "does not reproduce the verdict" in r.message
    o = outcome(library, stdout="garbage that no parser knows\n")
    assert {r.status for r, _ in judge_parameter_sets(o, library, SETS)} == {"error"}


def test_a_result_without_facts_keeps_its_status_for_every_set(library):
    o = outcome(library, status="error")
    for r, _ in judge_parameter_sets(o, library, SETS):
        assert (r.status, r.reason) == ("error", "unreachable")
    o = outcome(library)
    o.results[0].status, o.results[0].reason = "skipped", None
    assert {r.status for r, _ in judge_parameter_sets(o, library, SETS)} == {"skipped"}
