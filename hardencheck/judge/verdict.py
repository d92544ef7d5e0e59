"""The verdict: a control against what a host is and what its probe reported. Pure, no I/O.

The engine (``collect/engine.py``) collects the facts and asks here, in order: is the control
selected for this scan (``selected``), does it apply to the host by its inventory tags
(``static_applicability``), by its operating system (``os_applicability``), and finally what do
the facts say (``judge_facts``). ``expected_sentence`` is the "expected" text of every result.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, NamedTuple

from hardencheck.errors import ProbeError
from hardencheck.judge.controls import Control, Expectation
from hardencheck.judge.expectations import MISSING, Outcome, evaluate, lookup, sentence
from hardencheck.results import Result


def selected(c: Control, *, tags: set[str] | None, control_ids: set[str] | None) -> str | None:
    """None when the control runs in this scan, else why it is skipped."""
    if control_ids is not None and c.id not in control_ids:
        return "not among the selected controls"
    if tags is not None and not (set(c.tags) & tags):
        return f"not selected by --tags {','.join(sorted(tags))}"
    return None


def static_applicability(c: Control, host) -> str | None:
    """None when the control applies to the host by its tags, else the reason it does not."""
    at = c.applies_to
    tags = set(host.tags)
    if at.host_tags is not None and not (tags & set(at.host_tags)):
        return f"host has none of the tags {', '.join(at.host_tags)}"
    if at.not_host_tags is not None and (tags & set(at.not_host_tags)):
        return f"host is tagged {', '.join(sorted(tags & set(at.not_host_tags)))}"
    return None


class NotJudged(NamedTuple):
    """Why a control gets no verdict from its facts: its status, reason and message, and whether
    the host's OS facts (``host.os``) are the evidence rather than the control's own probe."""

    status: str
    reason: str
    message: str
    os_evidence: bool


def os_applicability(c: Control, os_fact: dict | None, os_error: ProbeError | None) -> NotJudged | None:
    """None when the control applies to the host's OS family and virtualisation (or does not
    ask), else the ``not_applicable`` or ``error`` it ends in."""
    at = c.applies_to
    if at.os_family is None and at.virtualization is None:
        return None
    if os_fact is None:
        return NotJudged("error", os_error.reason if os_error else "unparsable",
                         f"the host's OS could not be determined: "
                         f"{os_error.message if os_error else 'no host.os facts'}", True)
    if at.os_family is not None and os_fact.get("family") not in at.os_family:
        return NotJudged("not_applicable", "applies_to", f"OS family {os_fact.get('family')!r} is not one of "
                                                         f"{', '.join(at.os_family)}", False)
    if at.virtualization is not None:
        virt = os_fact.get("virtualization")
        if virt is None:
            return NotJudged("error", "command_missing", "cannot tell whether the host is virtualised "
                                                         "(systemd-detect-virt is missing)", True)
        kind = "physical" if virt == "none" else "virtual"
        if kind != at.virtualization:
            return NotJudged("not_applicable", "applies_to", f"applies to {at.virtualization} hosts; "
                                                             f"this one is {kind} ({virt})", False)
    return None


def expected_sentence(c: Control, params: dict[str, Any]) -> str:
    return "; ".join(sentence(e.fact, e.op, c.expectation_value(e, params)) for e in c.expect)


def check_part(stage: str, e: Expectation, value: Any, o: Outcome) -> dict[str, Any]:
    """One expectation that did not hold (or could not be decided) as results.json records it
    beside the English message (``results[].checks``): enough for a report to say the message
    in another language (report/sentences.py) without the control file."""
    part = {"stage": stage, "fact": e.fact, "op": e.op, "value": jsonable(value), "ok": o.ok, "kind": o.kind}
    if o.age_days is not None:
        part["age_days"] = round(o.age_days, 6)
    if o.detail is not None:
        part["detail"] = o.detail
    return part


def judge_facts(c: Control, facts: Any, params: dict[str, Any], now: datetime, *,
                host: str = "", evidence: dict | None = None) -> Result:
    """The pure verdict: a control's expectations against a probe's facts. No I/O."""
    def result(status, message, actual, reason=None, checks=()):
        return Result(host=host, control=c.id, status=status, severity=c.severity,
                      expected=expected_sentence(c, params), actual=actual, message=message,
                      reason=reason, params=jsonable(params), evidence=evidence or {}, checks=list(checks))

    for e in c.applies_if:
        v = c.expectation_value(e, params)
        o = evaluate(facts, e.fact, e.op, v, now)
        if o.ok is None:
            return result("error", o.message, {e.fact: o.actual}, reason=o.error,
                          checks=[check_part("applies_if", e, v, o)])
        if not o.ok:
            return result("not_applicable", f"does not apply: {o.expected} does not hold ({o.message})",
                          {e.fact: o.actual}, reason="precondition", checks=[check_part("applies_if", e, v, o)])
    for e in c.valid_if:
        v = c.expectation_value(e, params)
        o = evaluate(facts, e.fact, e.op, v, now)
        if not o.ok:
            why = o.message or "not satisfied"
            return result("error", f"the evidence cannot be trusted: {o.expected} does not hold ({why})",
                          {e.fact: o.actual}, reason="stale_evidence" if o.ok is False else o.error,
                          checks=[check_part("valid_if", e, v, o)])
    actual: dict[str, Any] = {}
    failed, errors = [], []
    for e in c.expect:
        v = c.expectation_value(e, params)
        o = evaluate(facts, e.fact, e.op, v, now)
        actual[e.fact] = o.actual
        if o.ok is False:
            failed.append((f"{o.message} (expected: {o.expected.split(' ', 1)[1]})", check_part("expect", e, v, o)))
        elif o.ok is None:
            errors.append((o.message, o.actual, check_part("expect", e, v, o)))
    for path in c.show:
        value = lookup(facts, path)
        actual.setdefault(path, None if value is MISSING else value)
    if failed:
        # A fact that is null because of an absence already reported (no log file -> no
        # timestamp) adds nothing; other undecidable expectations are named.
        extra = [(m, p) for m, a, p in errors if a is not None]
        msg = "; ".join(m for m, _ in failed) + ("; could not check: " + "; ".join(m for m, _ in extra) if extra else "")
        return result("fail", msg, actual, checks=[p for _, p in failed] + [p for _, p in extra])
    if errors:
        return result("error", "; ".join(m for m, _, _ in errors), actual, reason="invalid_value",
                      checks=[p for _, _, p in errors])
    return result("pass", PASS_MESSAGE, actual)


#: The message of a pass (report/sentences.py says it in other languages).
PASS_MESSAGE = "all expectations hold"


def jsonable(v: Any) -> Any:
    """``v`` as plain JSON data (what results.json will hold): non-JSON values become strings.
    Always a copy; plain data (most parameters and arguments) is copied without a JSON round trip."""
    copy = _plain_copy(v)
    return copy if copy is not _NOT_PLAIN else json.loads(json.dumps(v, default=str))


_NOT_PLAIN = object()
_SCALARS = (str, int, float, bool, type(None))


def _plain_copy(v: Any) -> Any:
    """What ``json.loads(json.dumps(v))`` returns, for JSON data (tuples become lists); else
    ``_NOT_PLAIN``."""
    t = type(v)
    if t in _SCALARS:
        return v
    if t is dict:
        out = {}
        for k, x in v.items():
            if type(k) is not str:
                return _NOT_PLAIN
            c = out[k] = _plain_copy(x)
            if c is _NOT_PLAIN:
                return _NOT_PLAIN
        return out
    if t is list or t is tuple:
        out_list = []
        for x in v:
            c = _plain_copy(x)
            if c is _NOT_PLAIN:
                return _NOT_PLAIN
            out_list.append(c)
        return out_list
    return _NOT_PLAIN
