"""Operator truth tables: every operator passes, fails and refuses wrong types."""

import json
from datetime import datetime, timedelta, timezone

import pytest

from hardencheck.judge.expectations import OPERATORS, evaluate, parse_duration

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
DAY = 86400

CASES = [
    # op, fact, value, expected ok (None = error)
    ("equals", "no", "no", True), ("equals", "yes", "no", False), ("equals", False, "no", None),
    ("equals", 0, 0, True), ("equals", True, True, True), ("equals", [1], [1], None),
    ("not_equals", "yes", "no", True), ("not_equals", "no", "no", False),
    ("one_of", "prohibit-password", ["no", "prohibit-password"], True), ("one_of", "yes", ["no"], False),
    ("one_of", True, ["yes"], None),
    ("none_of", "yes", ["no"], True), ("none_of", "no", ["no"], False),
    ("matches", "aes256-ctr,aes128-cbc", r"-cbc\b", True), ("matches", "aes256-ctr", r"-cbc", False),
    ("matches", 5, "5", None),
    ("not_matches", "aes256-ctr", r"-cbc", True), ("not_matches", "x-cbc", r"-cbc", False),
    ("at_most", 0, 0, True), ("at_most", 2, 0, False), ("at_most", "2", 0, None), ("at_most", True, 1, None),
    ("at_least", 14, 12, True), ("at_least", 8, 12, False), ("at_least", None, 12, None),
    ("age_at_most", "2026-11-20T12:00:00Z", 7, True), ("age_at_most", "2026-10-01T00:00:00Z", 7, False),
    ("age_at_most", NOW.timestamp() - 3 * DAY, "2d", False), ("age_at_most", NOW.timestamp() - 3600, "2h", True),
    ("age_at_most", "yesterday", 7, None), ("age_at_most", None, 7, None),
    ("age_at_least", "2026-05-01T00:00:00Z", "90d", True), ("age_at_least", "2026-11-20T00:00:00Z", "90d", False),
    ("age_at_least", "soon", "90d", None),
    ("one_of", "no", ["no", None], True), ("one_of", None, ["no", None], True), ("one_of", "x", ["no", None], False),
    ("equals", None, "no", False),
    ("mode_at_most", "0640", "0644", True), ("mode_at_most", "0666", "0644", False),
    ("mode_at_most", "rw-r--r--", "0644", None),
    ("contains", ["sshd", "recidive"], "sshd", True), ("contains", ["recidive"], "sshd", False),
    ("contains", "a,b", "b", True), ("contains", 3, "b", None),
    ("not_contains", ["a"], "b", True), ("not_contains", ["b"], "b", False),
    ("subset_of", [22], [22, 443], True), ("subset_of", [22, 25], [22, 443], False), ("subset_of", 22, [22], None),
    ("is_empty", [], None, True), ("is_empty", ["/srv"], None, False), ("is_empty", 0, None, None),
    ("not_empty", ["md0"], None, True), ("not_empty", [], None, False),
]


@pytest.mark.parametrize("op,fact,value,ok", CASES)
def test_operator(op, fact, value, ok):
    o = evaluate({"f": fact}, "f", op, value, NOW)
    assert o.ok is ok, o
    assert o.expected.startswith("`f` ")
    if ok is None:
        assert o.error == "invalid_value" and o.message
    if ok is False:
        assert o.message.startswith("`f` is ")


def test_every_operator_is_covered_with_pass_and_fail():
    for op in OPERATORS:
        if op == "exists":
            continue
        outcomes = {ok for o, _, _, ok in CASES if o == op}
        assert {True, False} <= outcomes, op


def test_exists_and_missing_facts():
    assert evaluate({"a": 1}, "a", "exists", None, NOW).ok is True
    assert evaluate({"a": None}, "a", "exists", None, NOW).ok is False
    assert evaluate({}, "a", "exists", None, NOW).ok is False
    assert evaluate({}, "a", "exists", False, NOW).ok is True
    missing = evaluate({}, "a", "equals", "x", NOW)
    assert missing.ok is None and missing.error == "invalid_value"


def test_nested_paths_and_list_indexes():
    facts = {"arrays": [{"name": "md0", "degraded": True}]}
    assert evaluate(facts, "arrays.0.degraded", "equals", True, NOW).ok is True
    assert evaluate(facts, "arrays.1.degraded", "equals", True, NOW).ok is None


def test_sentences_read_well():
    o = evaluate({"modified_at": "2026-10-01T00:00:00Z"}, "modified_at", "age_at_most", 7, NOW)
    assert o.expected == "`modified_at` is at most 7 days old"
    assert "53.5 days old" in o.message
    assert evaluate({"p": "yes"}, "p", "one_of", ["no", "prohibit-password"], NOW).expected == \
        '`p` is one of "no", "prohibit-password"'


def test_durations():
    assert parse_duration(7) == timedelta(days=7)
    assert parse_duration("36h") == timedelta(hours=36)
    assert parse_duration("2w") == timedelta(days=14)


@pytest.mark.parametrize("value", ["a\"b\\c\n\u2028é\x00\ud800", "", "x" * 400, True, False, None, 0, -5, 10 ** 20,
                                   1.5, float("nan"), [1, "x"], {"a": [1]}, (1, 2), b"x"])
def test_show_prints_what_json_prints(value):
    """``show``'s short cuts for strings, ints, booleans and null write what json.dumps writes."""
    from hardencheck.judge.expectations import show
    text = json.dumps(value, ensure_ascii=False, default=str)
    assert show(value) == (text if len(text) <= 300 else text[:297] + "...")


def test_a_sentence_is_made_once_and_tells_equal_values_of_other_types_apart():
    from hardencheck.judge import expectations as ex
    values = [1, 1.0, True, "1", None, [1, True], [1.0], [], {"a": 1}]
    assert [ex.sentence("f", "equals", v) for v in values] == [ex._sentence("f", "equals", v) for v in values]
    assert len({ex.sentence("f", "equals", v) for v in (1, 1.0, True, "1")}) == 4
    ex._SENTENCES.clear()
    ex.sentence("f", "equals", [1, 2])
    assert list(ex._SENTENCES) == [("f", "equals", ("list", ((int, 1), (int, 2))))]
