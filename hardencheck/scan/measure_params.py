"""Controls judged with a TOM measure's own parameters (catalog format 2: ``controls: [{id:
BACKUP-001, params: {max_age: 1h}}]``), from the facts the host already sent: no second SSH.

The engine judged every control once with the host's parameters (defaults and inventory
overrides). For each parameter set a measure gives a control, the control's probe parser is run
again on the recorded evidence of that result (the very sections, as kept after redaction) and
``judge.verdict.judge_facts`` judges the facts with the host's parameters updated by the
measure's. A measure may only change how facts are judged, never what a probe collects
(``judge.catalog_file`` refuses parameters that feed a probe's arguments), so the evidence is the
same.

Never a false pass: the recorded evidence must first reproduce the engine's own verdict with the
host's parameters (status and facts judged); if it does not (say, redaction changed what the
parser reads), the result is ``error`` (``unparsable``) with that reason. A control that did not
get as far as its facts (deselected, not applicable by OS or tags, a host or probe error) keeps
that status for every parameter set.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hardencheck.collect.probe_script import Section
from hardencheck.collect.probes.base import get_probe
from hardencheck.errors import ProbeError
from hardencheck.judge.catalog import ControlUse
from hardencheck.judge.controls import ControlSet
from hardencheck.judge.verdict import expected_sentence, jsonable, judge_facts
from hardencheck.results import HostOutcome, Result, result_to_json

#: statuses reached before the facts were judged: the same for every parameter set
_NOT_FROM_FACTS = ("skipped",)
_JUDGED_REASONS = (None, "precondition", "invalid_value", "stale_evidence")


def judge_parameter_sets(outcome: HostOutcome, controls: ControlSet,
                         sets: dict[str, dict[str, tuple[dict, list[str]]]]) -> list[tuple[Result, dict]]:
    """(result, the measure's params) per (control, parameter set) of ``sets``
    (``Catalog.parameter_sets()``) for the host of ``outcome``; ``tom`` holds the measures that
    use the set."""
    by_control = {r.control: r for r in outcome.results}
    by_id = controls.by_id()
    out = []
    for cid, variants in sets.items():
        base = by_control.get(cid)
        if base is None or cid not in by_id:
            continue
        for key, (params, measures) in variants.items():
            r = _judge(outcome, by_id[cid].control, base, params)
            r.tom = list(measures)
            out.append((r, dict(params)))
    return out


def _copy(base: Result, c, params: dict, status: str | None = None, reason: str | None = None,
          message: str | None = None) -> Result:
    return Result(host=base.host, control=base.control, status=status or base.status, severity=base.severity,
                  expected=expected_sentence(c, params), actual=None if status else base.actual,
                  message=message or base.message, reason=reason if status else base.reason,
                  params=jsonable(params), evidence=dict(base.evidence))


def _judge(outcome: HostOutcome, c, base: Result, measure_params: dict) -> Result:
    host_params = dict(base.params or c.params)
    params = {**host_params, **measure_params}
    base_status = "fail" if base.status == "waived" else base.status
    if base_status in _NOT_FROM_FACTS or base.reason not in _JUDGED_REASONS:
        return _copy(base, c, params)
    ev = base.evidence or {}
    try:
        facts = _facts(outcome, ev)
        now = datetime.fromisoformat(str(ev["collected_at"]).replace("Z", "+00:00"))
    except (ProbeError, KeyError, ValueError, TypeError) as e:
        return _copy(base, c, params, "error", "unparsable",
                     f"the recorded evidence could not be read again for this measure's parameters: {e}")
    again = judge_facts(c, facts, host_params, now, host=base.host, evidence=ev)
    if again.status != base_status or jsonable(again.actual) != jsonable(base.actual):
        return _copy(base, c, params, "error", "unparsable",
                     "the recorded evidence does not reproduce the verdict with the host's parameters "
                     f"({again.status}, not {base_status}); not judged with this measure's parameters")
    return judge_facts(c, facts, params, now, host=base.host, evidence=ev)


def _facts(outcome: HostOutcome, ev: dict) -> Any:
    probe = get_probe(ev["probe"])
    sections: dict[str, Section] = {}
    for eid in ev.get("sections") or []:
        rec = outcome.evidence[eid]
        sections[rec["command"]] = Section(
            id=eid, exit_code=rec.get("exit_code"), stdout=rec.get("stdout") or "", stderr=rec.get("stderr") or "",
            stdout_bytes=rec.get("stdout_bytes") or 0, stderr_bytes=rec.get("stderr_bytes") or 0,
            truncated=bool(rec.get("truncated")), complete=bool(rec.get("complete")), tools=rec.get("tools") or [])
    missing = [cmd for cmd in probe.commands if cmd not in sections]
    if missing:
        raise ProbeError("incomplete_output", f"no recorded output for {', '.join(missing)}")
    try:
        return probe().parse(sections, ev.get("args") or {})
    except ProbeError:
        raise
    except Exception as e:  # a parser bug must not become a pass
        raise ProbeError("unparsable", f"{probe.name}: parser failed ({type(e).__name__}: {e})") from e


def to_json(r: Result, params: dict) -> dict[str, Any]:
    """A result of ``judge_parameter_sets`` as results.json ``tom.results`` holds it: the result's
    fields, ``measures`` (the measures using the set), ``measure_params`` (the measure's own
    parameters) and ``key`` (their canonical JSON, as ``judge.catalog.ControlUse.key``)."""
    d = result_to_json(r)
    d["measures"] = d.pop("tom", [])
    d.update(measure_params=jsonable(params), key=ControlUse(r.control, params).key)
    return d
