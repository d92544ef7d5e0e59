"""Expectation and finding sentences per language (report/sentences.py) from results.json's parts.

The strongest check: for every recorded case of every shipped control, the structured parts the
judge stores (results[].checks, controls[].expect) rebuild the English message and expected text
word for word, so the German sentence built from the same parts says everything the English does.
"""

import json
import re
from datetime import datetime, timezone

import pytest

from hardencheck.judge.controls import Control
from hardencheck.judge.verdict import judge_facts
from hardencheck.results import result_to_json
from hardencheck.scan.metadata import control_json
from hardencheck.report import sentences
from tests.judge.test_control_cases import BY_ID, _cases, _facts


def _judge(cid, case):
    c = BY_ID[cid].control
    params = c.effective_params(case.get("params"))
    now = datetime.fromisoformat(case.get("now", "2026-11-23T12:00:00+00:00").replace("Z", "+00:00"))
    r = judge_facts(c, _facts(c, case, params), params, now.astimezone(timezone.utc))
    # through JSON, as a report reads it from results.json
    return json.loads(json.dumps(result_to_json(r), default=str)), json.loads(json.dumps(control_json(BY_ID[cid])))


@pytest.mark.parametrize("cid,case", list(_cases()))
def test_parts_rebuild_the_english_message_and_german_differs(cid, case):
    r, ctl = _judge(cid, case)
    composed = sentences.compose(r, "en")
    if r["status"] in ("fail", "error", "not_applicable") and r.get("checks"):
        assert composed == r["message"]
    elif r["status"] == "pass":
        assert composed == r["message"] == "all expectations hold"
    de = sentences.message_text(r, "de")
    assert de and (de != r["message"] or not r.get("checks") and r["status"] != "pass")
    if r.get("checks") or r["status"] == "pass":
        ours = re.sub(r'"(?:[^"\\]|\\.)*"', '""', de)       # values from the host are quoted as they are
        for english in ("expected:", " is ", "does not", "could not", "all expectations"):
            assert english not in ours, de
    # the expected sentence: the control's structured expectations with the result's params
    assert sentences.expected_text(r, ctl, "en") == r["expected"]
    exp_de = sentences.expected_text(r, ctl, "de")
    assert exp_de != r["expected"] and exp_de.count("`") == r["expected"].count("`")


def test_every_finding_kind_and_stage_is_covered_by_the_cases():
    kinds, stages = set(), set()
    for p in _cases():
        r, _ = _judge(*p.values)
        for c in r.get("checks") or []:
            kinds.add(c["kind"])
            stages.add((c["stage"], c["ok"]))
    assert {"value", "absent", "missing"} <= kinds
    assert {("expect", False), ("expect", None), ("applies_if", False)} <= stages


def _control(**over):
    base = dict(id="TST-001", title="A test control", description="For the sentence tests.", severity="low",
                probe="sshd.config", expect=[{"fact": "a", "op": "equals", "value": "no"}], remediation="Nothing here.")
    base.update(over)
    return Control.model_validate(base)


NOW = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("expect,facts,de", [
    ([{"fact": "a", "op": "equals", "value": "no"}], {"a": "yes"}, '`a` ist "yes" (erwartet: ist "no")'),
    ([{"fact": "n", "op": "at_most", "value": 4}], {"n": 6}, "`n` ist 6 (erwartet: ist höchstens 4)"),
    ([{"fact": "l", "op": "contains", "value": "x"}], {"l": ["y"]}, '`l` ist ["y"] (erwartet: enthält "x")'),
    ([{"fact": "t", "op": "age_at_most", "value": "36h"}], {"t": "2026-12-01T00:00:00Z"},
     "`t` ist 01.12.2026 00:00:00 UTC, 5,5 Tage alt (erwartet: ist höchstens 1,5 Tage alt)"),
    ([{"fact": "t", "op": "age_at_least", "value": 2}], {"t": "2026-12-07T00:00:00Z"},
     "`t` ist 07.12.2026 00:00:00 UTC, in der Zukunft (erwartet: ist mindestens 2 Tage alt)"),
    ([{"fact": "f", "op": "exists"}], {}, "`f` fehlt (erwartet: ist vorhanden)"),
    ([{"fact": "f", "op": "exists", "value": False}], {"f": 1}, "`f` ist vorhanden: 1 (erwartet: nicht vorhanden)"),
    ([{"fact": "a", "op": "equals", "value": "no"}, {"fact": "b", "op": "at_least", "value": 1}],
     {"a": "yes", "b": "x"},
     '`a` ist "yes" (erwartet: ist "no"); nicht prüfbar: `b`: der Typ passt nicht zur Erwartung '
     '(the fact must be a number, got "x")'),
    ([{"fact": "m", "op": "equals", "value": 1}], {}, "`m` fehlt in den Fakten der Prüfung"),
])
def test_german_finding_sentences(expect, facts, de):
    c = _control(expect=expect)
    r = json.loads(json.dumps(result_to_json(judge_facts(c, facts, {}, NOW))))
    assert sentences.compose(r, "en") == r["message"]
    assert sentences.message_text(r, "de") == de


def test_preconditions_and_untrusted_evidence_in_german():
    c = _control(applies_if=[{"fact": "raid", "op": "equals", "value": True}],
                 valid_if=[{"fact": "t", "op": "age_at_most", "value": 1}])
    r = result_to_json(judge_facts(c, {"raid": False}, {}, NOW))
    assert r["status"] == "not_applicable" and sentences.compose(r, "en") == r["message"]
    assert sentences.message_text(r, "de") == "trifft nicht zu: Vorbedingung „`raid` ist true“ nicht erfüllt (`raid` ist false)"
    r = result_to_json(judge_facts(c, {"raid": True, "t": "2026-12-01T12:00:00Z", "a": "no"}, {}, NOW))
    assert r["status"] == "error" and sentences.compose(r, "en") == r["message"]
    assert sentences.message_text(r, "de") == ("den Nachweisen ist nicht zu trauen: Bedingung „`t` ist höchstens "
                                              "1 Tag alt“ nicht erfüllt (`t` ist 01.12.2026 12:00:00 UTC, 5,0 Tage alt)")


def test_without_parts_the_stored_message_is_kept_in_every_language():
    r = {"status": "error", "message": "ssh: connect to host refused", "expected": "`a` equals \"no\"",
         "reason": "unreachable", "params": {}}
    assert sentences.message_text(r, "de") == r["message"] and sentences.compose(r, "en") is None
    # a document before 1.4: no controls[].expect -> the stored expected sentence
    assert sentences.expected_text(r, {"id": "X"}, "de") == r["expected"]


def test_german_expectations_with_parameters():
    c = _control(params={"allowed": ["no", "prohibit-password"]},
                 expect=[{"fact": "p", "op": "one_of", "param": "allowed"}, {"fact": "m", "op": "mode_at_most",
                                                                            "value": "0640"}])
    ctl = {"expect": [e.model_dump(exclude_none=True) for e in c.expect], "params": c.params}
    r = {"params": {"allowed": ["no"]}, "expected": "x"}
    assert sentences.expected_text(r, ctl, "de") == '`p` ist eines von "no"; `m` ist Modus "0640" oder strenger'


def test_durations_in_hours_and_days():
    assert sentences.phrase("age_at_most", "12h", "de") == "ist höchstens 12 Stunden alt"
    assert sentences.phrase("age_at_most", "1h", "de") == "ist höchstens 1 Stunde alt"
    assert sentences.phrase("age_at_least", "2w", "de") == "ist mindestens 14 Tage alt"
    assert sentences.phrase("age_at_most", 1, "de") == "ist höchstens 1 Tag alt"
    assert sentences.phrase("age_at_most", "12h", "en") == "is at most 12 hours old"


def test_the_judges_fixed_messages_of_results_not_judged_from_facts_in_german():
    from types import SimpleNamespace

    from hardencheck.errors import ProbeError
    from hardencheck.judge import verdict

    c = _control(applies_to={"os_family": ["rhel"], "host_tags": ["web"], "not_host_tags": ["lab"]})
    v = _control(applies_to={"virtualization": "physical"})
    made = [
        ("skipped", verdict.selected(c, tags=None, control_ids={"X-001"})),
        ("skipped", verdict.selected(c, tags={"db", "app"}, control_ids=None)),
        ("not_applicable", verdict.static_applicability(c, SimpleNamespace(tags=["db"]))),
        ("not_applicable", verdict.static_applicability(c, SimpleNamespace(tags=["web", "lab"]))),
        ("not_applicable", verdict.os_applicability(c, {"family": "debian"}, None).message),
        ("not_applicable", verdict.os_applicability(v, {"family": "debian", "virtualization": "kvm"}, None).message),
        ("error", verdict.os_applicability(v, {"family": "debian", "virtualization": None}, None).message),
        ("error", verdict.os_applicability(c, None, ProbeError("unparsable", "no os-release")).message),
    ]
    german = [sentences.message_text({"status": st, "message": m}, "de") for st, m in made]
    assert german == [
        "nicht unter den ausgewählten Kontrollen",
        "nicht durch --tags app,db ausgewählt",
        "der Server hat keines der Tags web",
        "der Server hat das Tag lab",
        "Betriebssystemfamilie 'debian' ist keine von rhel",
        "gilt für physische Server; dieser ist virtuell (kvm)",
        "nicht feststellbar, ob der Server virtualisiert ist (systemd-detect-virt fehlt)",
        "das Betriebssystem des Servers war nicht feststellbar: no os-release",
    ]
    # a host's own error text is never matched as one of ours
    assert sentences.message_text({"status": "error", "message": "host is tagged x"}, "en") == "host is tagged x"
    assert sentences.message_text({"status": "fail", "message": "host is tagged x"}, "de") == "host is tagged x"


def test_annual_report_titles_in_german_only_while_the_control_is_unchanged():
    from hardencheck.report.view import library_title

    c = BY_ID["SSH-001"].control
    assert library_title("SSH-001", c.title, "de") == c.de.title != c.title
    assert library_title("SSH-001", c.title, "en") == c.title
    assert library_title("SSH-001", "An older title of SSH-001", "de") == "An older title of SSH-001"
    assert library_title("NOPE-001", "Somebody's own control", "de") == "Somebody's own control"


def test_terminal_and_markdown_say_the_finding_in_german():
    import io

    from rich.console import Console

    from hardencheck.report import markdown
    from hardencheck.report.terminal import summary_from_doc
    from hardencheck.report.view import build_view

    lc = BY_ID["SSH-001"]
    r = result_to_json(judge_facts(lc.control, {"passwordauthentication": "yes", "kbdinteractiveauthentication": "no",
                                                "pubkeyauthentication": "yes", "permitrootlogin": "no",
                                                "permitemptypasswords": "no"}, lc.control.params, NOW, host="web1"))
    doc = json.loads(json.dumps({"controls": [control_json(lc)], "results": [r],
                                 "hosts": [{"name": "web1", "identity": {"address": "198.18.0.9"}, "status": "ok"}],
                                 "run": {"id": "r1", "started_at": "2026-12-06T14:03:05.123Z"}}, default=str))
    buf = io.StringIO()
    summary_from_doc(Console(file=buf, width=250, color_system=None), doc, lang="de")
    out = buf.getvalue()
    assert '`passwordauthentication` ist "yes" (erwartet: ist "no")' in out and "expected" not in out
    md_de = markdown.render(build_view(doc), "de").decode()
    assert lc.control.de.title in md_de and "06.12.2026 14:03:05 UTC" in md_de
    md_en = markdown.render(build_view(doc), "en").decode()
    assert lc.control.title in md_en and "2026-12-06 14:03:05 UTC" in md_en
