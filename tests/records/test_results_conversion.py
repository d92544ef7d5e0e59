"""results.result_to_json / host_to_json / outcome_to_json: the same JSON ``dataclasses.asdict`` gave
(field order included, so the bytes of a host file and results.json do not change), for every
control of the library judged on recorded host output through the whole engine."""

from __future__ import annotations

import json

import pytest
from dataclasses import asdict
from pathlib import Path

import yaml

from hardencheck.collect import engine, fanout
from hardencheck.collect.transports import make_transport
from hardencheck.inventory import Host
from hardencheck.judge.controls import load_controls
from hardencheck.results import Result, host_to_json, outcome_to_json, result_to_json

FIXTURES = Path(__file__).parents[1] / "probes"


def _recording() -> dict:
    """One recorded answer per probe (its first fixture that parses), as the replay transport takes it."""
    rec = {}
    for folder in sorted(p for p in FIXTURES.iterdir() if p.is_dir()):
        for f in sorted(folder.glob("*.yml")):
            case = yaml.safe_load(f.read_text(encoding="utf-8"))
            if "error" not in case:
                rec[folder.name] = case
                break
    return rec


def _reference(r: Result) -> dict:
    """What result_to_json returned when it was built on asdict."""
    d = asdict(r)
    for key in ("responses", "checks"):
        if not d[key]:
            del d[key]
    return d


def _outcomes():
    host = Host(name="rec", address="192.0.2.7", transport="replay", command_timeout=60,
                vars={"replay": _recording()}, groups=["prod"])
    gone = Host(name="gone", address="192.0.2.8", transport="replay", command_timeout=60, vars={"replay": {}})
    return fanout.scan([host, gone], load_controls(), engine.ScanOptions(tags={"ssh", "firewall", "kernel",
                                                                               "accounts", "logging"}),
                       lambda h, **kw: make_transport(h))


def test_conversion_equals_asdict_for_the_whole_library():
    outcomes = _outcomes()
    statuses = {r.status for o in outcomes for r in o.results}
    assert {"pass", "fail", "error", "skipped"} <= statuses, statuses   # every kind of result is covered
    n = 0
    for o in outcomes:
        assert host_to_json(o.host) == asdict(o.host)
        assert list(host_to_json(o.host)) == list(asdict(o.host))
        for r in o.results:
            got, want = result_to_json(r), _reference(r)
            assert json.dumps(got) == json.dumps(want), r.control     # same keys, order and values
            n += 1
        doc = outcome_to_json(o)
        assert json.dumps(doc) == json.dumps({"host": asdict(o.host), "results": [_reference(r) for r in o.results],
                                              "evidence": o.evidence})
    assert n == 2 * len(load_controls().controls)


def test_responses_and_checks_are_kept_when_present_and_lists_are_copies():
    r = Result(host="h", control="C-1", status="fail", severity="low", expected="x", actual={"a": 1},
               message="m", tom=["1.2"], responses=[{"id": "E-1"}], checks=[{"path": "a"}])
    d = result_to_json(r)
    assert d == _reference(r) and list(d) == list(_reference(r))
    d["tom"].append("9.9")
    assert r.tom == ["1.2"]


def test_document_bytes_are_json_dumps_with_indent_one():
    """Built in batches, the bytes are exactly those of json.dumps (reports quote their SHA-256)."""
    from hardencheck.results import document_bytes

    outcomes = _outcomes()
    doc = {"hosts": [outcome_to_json(o) for o in outcomes] * 40, "empty": {"d": {}, "l": [], "t": ()},
           "odd": {"ü": "\u2028 \x00 \"q\" \\", 1: 1.5, "n": None, "f": float("inf"), "b": [True, False]}}
    want = (json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=False) + "\n").encode()
    assert len(want) > 1_000_000 and document_bytes(doc) == want     # many batches
    lone = {"x": "a\ud800b"}
    assert document_bytes(lone, errors="surrogatepass") == \
        (json.dumps(lone, ensure_ascii=False, indent=1) + "\n").encode("utf-8", "surrogatepass")
    import pytest
    with pytest.raises(UnicodeEncodeError):
        document_bytes(lone)


def test_document_bytes_agree_with_json_dumps_on_random_documents():
    """The hand-written indenting encoder against json.dumps on 300 random nested documents
    (every JSON type, non-string keys, tuples, NaN/infinities, escapes, int subclasses)."""
    import enum
    import random

    from hardencheck.results import document_bytes

    class Level(enum.IntEnum):
        HIGH = 3

    rng = random.Random(4711)
    scalars = [None, True, False, 0, -7, 10 ** 40, 1.5, -0.0, 1e-300, float("nan"), float("inf"),
               float("-inf"), "", "ä\u2028\x1f\"\\/", "x" * 50, Level.HIGH]

    def value(depth: int):
        kind = rng.random()
        if depth > 4 or kind < 0.4:
            return rng.choice(scalars)
        if kind < 0.7:
            return [value(depth + 1) for _ in range(rng.randrange(4))] if rng.random() < 0.8 else \
                tuple(value(depth + 1) for _ in range(rng.randrange(3)))
        keys = ["k", "ü", 1, 2.5, None, True, "", "a\nb"]
        return {rng.choice(keys): value(depth + 1) for _ in range(rng.randrange(5))}

    for _ in range(300):
        doc = value(0)
        assert document_bytes(doc) == (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode()
    with pytest.raises(TypeError):
        document_bytes({"s": {1, 2}})
    with pytest.raises(TypeError):
        document_bytes({(1, 2): "tuple key"})
