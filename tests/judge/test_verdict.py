"""judge/verdict: selection and applicability without a host, a transport or a probe run."""

from types import SimpleNamespace

import pytest

from hardencheck.errors import ProbeError
from hardencheck.judge.controls import load_controls
from hardencheck.judge.verdict import NotJudged, os_applicability, selected, static_applicability

BY_ID = load_controls().by_id()


def control(cid="SSH-001", **applies_to):
    c = BY_ID[cid].control
    return c.model_copy(update={"applies_to": c.applies_to.model_copy(update=applies_to)})


def test_selected_by_id_and_by_tag():
    c = control()
    assert selected(c, tags=None, control_ids=None) is None
    assert selected(c, tags=None, control_ids={"FW-001"}) == "not among the selected controls"
    assert selected(c, tags={"zz", "aa"}, control_ids=None) == "not selected by --tags aa,zz"
    assert selected(c, tags=set(c.tags), control_ids={c.id}) is None


def test_static_applicability_by_host_tags():
    host = SimpleNamespace(tags=["web", "dmz"])
    assert static_applicability(control(), host) is None
    assert static_applicability(control(host_tags=["db"]), host) == "host has none of the tags db"
    assert static_applicability(control(not_host_tags=["dmz", "x"]), host) == "host is tagged dmz"


@pytest.mark.parametrize("applies,os_fact,expected", [
    ({}, None, None),
    ({"os_family": ["rhel"]}, {"family": "rhel"}, None),
    ({"os_family": ["rhel"]}, {"family": "debian"},
     NotJudged("not_applicable", "applies_to", "OS family 'debian' is not one of rhel", False)),
    ({"virtualization": "physical"}, {"virtualization": "kvm"},
     NotJudged("not_applicable", "applies_to", "applies to physical hosts; this one is virtual (kvm)", False)),
    ({"virtualization": "virtual"}, {"virtualization": "none"},
     NotJudged("not_applicable", "applies_to", "applies to virtual hosts; this one is physical (none)", False)),
    ({"virtualization": "physical"}, {"virtualization": None},
     NotJudged("error", "command_missing",
               "cannot tell whether the host is virtualised (systemd-detect-virt is missing)", True)),
    ({"os_family": ["debian"]}, None,
     NotJudged("error", "unparsable", "the host's OS could not be determined: no host.os facts", True)),
])
def test_os_applicability(applies, os_fact, expected):
    assert os_applicability(control(**applies), os_fact, None) == expected


def test_os_applicability_names_why_the_os_is_unknown():
    err = ProbeError("permission_denied", "/etc/os-release: denied")
    assert os_applicability(control(os_family=["debian"]), None, err) == NotJudged(
        "error", "permission_denied", "the host's OS could not be determined: /etc/os-release: denied", True)


@pytest.mark.parametrize("value", [None, True, 0, -3, 2.5, "x", "", [], {}, [1, [2, {"a": None}]], (1, "b"),
                                   {"a": (1, 2), "b": {"c": [True, 1.5]}}, {1: "int key"}, {"d": b"bytes"},
                                   {"when": __import__("datetime").date(2026, 1, 1)}, {"s": {1, 2}} and [{"p": "q"}]])
def test_jsonable_is_what_a_json_round_trip_gives_and_a_copy(value):
    import json

    from hardencheck.judge.verdict import jsonable
    got = jsonable(value)
    assert got == json.loads(json.dumps(value, default=str))
    assert type(got) is type(json.loads(json.dumps(value, default=str)))
    if isinstance(value, (dict, list)) and value:
        assert got is not value
        if isinstance(value, list) and isinstance(value[-1], (dict, list)):
            assert got[-1] is not value[-1]
