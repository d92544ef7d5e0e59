"""Every shipped control judged against recorded facts (tests/controls/<ID>.yml), found automatically.

A case gives the probe's facts (or ``probe_fixture: <probe fixture file>`` to run the real parser on
captured output first), optional parameter overrides and ``now``, and the expected status. The
meta-test requires a passing and a failing case for every control in the library.
"""

from datetime import datetime, timezone
from pathlib import Path

import pytest

from hardencheck.judge.controls import load_controls
from hardencheck.judge.verdict import judge_facts
from hardencheck.collect.probe_script import Section
from hardencheck.collect.probes import get_probe
from hardencheck.yaml_source import load_file

HERE = Path(__file__).parents[1]
CONTROLS = load_controls()
BY_ID = CONTROLS.by_id()


def _cases():
    for f in sorted((HERE / "controls").glob("*.yml")):
        for i, case in enumerate(load_file(f)):
            yield pytest.param(f.stem, case, id=f"{f.stem}:{case['name']}")


def _facts(control, case, params):
    if "probe_fixture" not in case:
        return case["facts"]
    fx = load_file(HERE / "probes" / control.probe / case["probe_fixture"])
    probe = get_probe(control.probe)
    secs = {k: Section(id=k, exit_code=v.get("exit_code", 0), stdout=v.get("stdout", ""),
                       stderr=v.get("stderr", ""), complete=v.get("complete", True))
            for k, v in fx["sections"].items()}
    # Arguments that reached the host are the fixture's (they shaped its output); those only the
    # parser sees come from the control and its parameters, as in a real scan.
    args = dict(fx.get("args") or {})
    control_args = control.resolved_args(params)
    for name, spec in probe.args.items():
        if not spec.remote and name in control_args:
            args[name] = control_args[name]
    return probe().parse(secs, probe.resolve_args(args))


@pytest.mark.parametrize("cid,case", list(_cases()))
def test_control_case(cid, case):
    assert cid in BY_ID, f"tests/controls/{cid}.yml has no control in the library"
    c = BY_ID[cid].control
    params = c.effective_params(case.get("params"))
    now = datetime.fromisoformat(case.get("now", "2026-11-23T12:00:00+00:00").replace("Z", "+00:00"))
    r = judge_facts(c, _facts(c, case, params), params, now.astimezone(timezone.utc))
    assert r.status == case["status"], r.message
    if "reason" in case:
        assert r.reason == case["reason"]
    for k, v in (case.get("actual") or {}).items():
        assert r.actual[k] == v
    for words in case.get("message_contains", []):
        assert words in r.message
    assert r.expected and r.message


def test_every_control_has_a_passing_and_a_failing_case():
    seen: dict[str, set[str]] = {}
    for p in _cases():
        cid, case = p.values
        seen.setdefault(cid, set()).add(case["status"])
    missing = [f"{cid}: {need}" for cid in BY_ID for need in ("pass", "fail") if need not in seen.get(cid, set())]
    assert not missing, "controls without a case: " + ", ".join(missing)
