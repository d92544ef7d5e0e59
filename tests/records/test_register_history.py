"""The response register and attestations in the annual report (issue 12, part 5): held with
exceptions, each exception's life, attestation validity -- asserted exactly on a small hand-built
history written through the real recorder (HistoryRecorder) and read back by ``audit_document.audit``.

Five daily runs of March 2026, hosts a and b, controls SSH-001 and FW-001, the catalog of
test_effectiveness (1.1 = SSH-001, 1.2 = FW-001 + PATCH-001, 1.3 organisational):
  r1  SSH-001 fails on a, waived by EXC-1 (active);          1.3 attested
  r2  the same, EXC-1 expiring;                              1.3 attested
  r3  EXC-1 expired: SSH-001 fails on a;                     1.3's attestation expired
  r4  EXC-2 (new id, same host and control) waives it again; the attestation file has no entry for 1.3
  r5  SSH-001 passes (EXC-2 still matches, waives nothing);  1.3 attested again (a new entry)
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from hardencheck.records import audit_document
from hardencheck.records.effectiveness import (FAILED, HELD, HELD_WITH_EXCEPTIONS, NOT_VERIFIED, Counts,
                                               control_outcome, item_outcome)
from hardencheck.records.history import HistoryRecorder
from tests.records.test_effectiveness import CATALOG_YML

CONTROLS = ["SSH-001", "FW-001"]


def entry(eid, state, expires):
    return {"id": eid, "action": "risk_accepted", "controls": ["SSH-001"], "hosts": ["a"], "groups": [],
            "justification": f"accepted <i>{eid}</i>", "approved_by": "Jana Beispiel (CISO)", "granted": "2026-02-01",
            "expires": expires, "ticket": "SEC-1", "owner": None, "due": None, "state": state, "file": "reg.yml",
            "line": 2}


def attestation(state, status_doc="ok", date_="2026-01-01", valid_until="2026-03-02"):
    return {"measure": "1.3", "groups": None, "statement": "training", "owner": "HR", "attested_by": "CISO",
            "date": date_, "valid_until": valid_until, "state": state,
            "evidence": [{"path": "t.pdf", "sha256": "d" * 64, "status": status_doc, "checked": True}]}


def record(db, run_id, day, ssh_a, entries, attestations, deviations=()):
    """One run through the recorder: SSH-001 on host a has status ``ssh_a`` ('pass', 'fail' or 'waived');
    every register entry matches (a, SSH-001); the waiving one is the first active/expiring one."""
    started = f"2026-03-{day:02d}T02:00:00Z"
    run = {"id": run_id, "started_at": started, "complete": False, "tool": {"name": "hardencheck", "version": "1"},
           "inventory": {"path": "inv.yml", "key": "inv.yml", "sha256": "0" * 64, "hosts": ["a", "b"]},
           "controls": {"path": "controls", "sha256": "1" * 64, "ids": CONTROLS}}
    responses = [{"id": e["id"], "action": e["action"], "state": e["state"]} for e in entries]
    rec = HistoryRecorder(db)
    try:
        rec.begin(run, [{"id": c, "title": c, "severity": "high"} for c in CONTROLS], {}, None, None)
        hosts, results = [], []
        for name in ("a", "b"):
            host = {"name": name, "status": "ok", "error": None}
            res = [{"host": name, "control": c, "status": ssh_a if (name, c) == ("a", "SSH-001") else "pass",
                    "severity": "high", **({"responses": responses} if (name, c) == ("a", "SSH-001") and responses
                                           else {})} for c in CONTROLS]
            rec.host_done({"host": host, "results": res, "evidence": {}}, f"hosts/{name}.json", "2" * 64)
            hosts.append(host)
            results += res
        doc = {"run": {**run, "complete": True, "ended_at": started[:11] + "03:00:00Z", "exit_code": 0},
               "hosts": hosts, "results": results, "tom": {}, "deviations": list(deviations),
               "exceptions": {"files": ["reg.yml"], "sha256": "e" * 64, "date": started[:10], "entries": entries},
               "attestations": {"file": {"path": "att.yml", "sha256": "a" * 64}, "date": started[:10],
                                "entries": attestations}}
        rec.end(doc, f"m-{run_id}")
    finally:
        rec.close()


def build(tmp_path):
    db = tmp_path / "history.db"
    dev = {"host": "b", "control": "FW-001", "param": "allowed_ports", "default": [22], "value": [22, 8080],
           "why": "also allows 8080"}
    record(db, "r1", 1, "waived", [entry("EXC-1", "active", "2026-03-02")], [attestation("valid")], [dev])
    record(db, "r2", 2, "waived", [entry("EXC-1", "expiring", "2026-03-02")], [attestation("valid")], [dev])
    record(db, "r3", 3, "fail", [entry("EXC-1", "expired", "2026-03-02")], [attestation("expired")])
    record(db, "r4", 4, "waived", [entry("EXC-1", "expired", "2026-03-02"), entry("EXC-2", "active", "2026-06-30")],
           [])
    record(db, "r5", 5, "pass", [entry("EXC-2", "active", "2026-06-30")],
           [attestation("valid", date_="2026-03-05", valid_until="2027-03-04")])
    cat = tmp_path / "tom.yml"
    cat.write_text(CATALOG_YML)
    return audit_document.audit(db, date(2026, 3, 1), date(2026, 3, 5), tom=cat, inventory="inv.yml",
                                as_of=datetime(2027, 1, 1, tzinfo=timezone.utc), bundle_check=False)


def test_outcome_rules_for_waived_results():
    assert control_outcome(Counts(passed=1, waived=1), 2) == HELD_WITH_EXCEPTIONS
    assert control_outcome(Counts(waived=2), 2) == HELD_WITH_EXCEPTIONS
    assert control_outcome(Counts(waived=1, fail=1), 2) == FAILED
    assert control_outcome(Counts(waived=1, error=1), 2) == NOT_VERIFIED     # an error proves nothing
    assert control_outcome(Counts(waived=1), 2) == NOT_VERIFIED              # a host without a result
    assert item_outcome([HELD, HELD_WITH_EXCEPTIONS]) == HELD_WITH_EXCEPTIONS
    assert item_outcome([HELD_WITH_EXCEPTIONS, NOT_VERIFIED]) == NOT_VERIFIED
    assert item_outcome([HELD_WITH_EXCEPTIONS, FAILED]) == FAILED


def test_held_with_exceptions_is_counted_apart_and_never_fixes_a_failure(tmp_path):
    doc = build(tmp_path)
    ctl = {c["id"]: c for c in doc["controls"]}
    ssh = ctl["SSH-001"]
    assert ssh["outcomes"] == "WWFWH" and ctl["FW-001"]["outcomes"] == "HHHHH"
    f = ssh["figures"]
    assert (f["held"], f["held_with_exceptions"], f["failed"], f["not_verified"], f["judged"]) == (1, 3, 1, 0, 5)
    assert (f["share_held"], f["share_held_or_excepted"]) == (0.2, 0.8)
    (ep,) = f["episodes"]      # starts at r3, r4 (waived again) does not end it, r5 does
    assert (ep["since_run"], ep["last_run"], ep["fixed_run"], ep["runs"], ep["failed_runs"], ep["seconds"]) == (
        "r3", "r4", "r5", 2, 1, 2 * 86400)
    assert ssh["weekly"] == [FAILED]
    items = {x["id"]: x for x in doc["items"]}
    assert items["1.1"]["outcomes"] == "WWFWH" and items["1.2"]["outcomes"] == "HHHHH"
    o = doc["overall"]
    assert (o["controls_held_with_exceptions"], o["items_held_with_exceptions"]) == (1, 1)
    assert o["outcomes"]["controls"] == {HELD: 6, HELD_WITH_EXCEPTIONS: 3, FAILED: 1, NOT_VERIFIED: 0}
    assert o["outcomes"]["items"] == {HELD: 9, HELD_WITH_EXCEPTIONS: 3, FAILED: 1, NOT_VERIFIED: 2}
    day1 = doc["series"]["days"][0]
    assert day1["controls"] == {HELD: 1, HELD_WITH_EXCEPTIONS: 1, FAILED: 0, NOT_VERIFIED: 0}


def test_an_organisational_measure_counts_its_attestation_per_run(tmp_path):
    doc = build(tmp_path)
    it = {x["id"]: x for x in doc["items"]}["1.3"]
    assert it["organisational"] is True and it["outcomes"] == "HHVVH"
    f = it["figures"]
    assert (f["held"], f["not_verified"], f["failed"], f["judged"], f["share_held"]) == (3, 2, 0, 5, 0.6)
    o = doc["overall"]        # the headline's items are the technical measures; organisational apart
    assert (o["items_judged"], o["organisational_judged"], o["organisational_attested_every_run"]) == (2, 1, 0)
    (a,) = doc["attestations"]
    assert a["measure"] == "1.3" and a["outcomes"] == "TTXNT" and a["runs"] == 5
    assert (a["attested"], a["attestation_expired"], a["not_attested"], a["not_verified"]) == (3, 1, 1, 0)
    assert (a["first_attested"], a["last_attested"], a["last_status"]) == (
        "2026-03-01T02:00:00Z", "2026-03-05T02:00:00Z", "attested")
    assert a["lapsed"] == [{"at": "2026-03-03T02:00:00Z", "run": "r3", "status": "attestation_expired"}]
    assert [(e["date"], e["valid_until"]) for e in a["entries"]] == [("2026-01-01", "2026-03-02"),
                                                                      ("2026-03-05", "2027-03-04")]


def test_each_exceptions_life_over_the_period(tmp_path):
    doc = build(tmp_path)
    life = {x["id"]: x for x in doc["exceptions"]}
    assert list(life) == ["EXC-1", "EXC-2"]
    e1, e2 = life["EXC-1"], life["EXC-2"]
    assert (e1["first_run"], e1["last_run"], e1["runs"], e1["states"]) == ("r1", "r4", 4,
                                                                           ["active", "expiring", "expired"])
    assert e1["changes"] == [{"state": "active", "at": "2026-03-01T02:00:00Z", "run": "r1"},
                             {"state": "expiring", "at": "2026-03-02T02:00:00Z", "run": "r2"},
                             {"state": "expired", "at": "2026-03-03T02:00:00Z", "run": "r3"}]
    assert (e1["expired_at"], e1["runs_waived"], e1["results_waived"]) == ("2026-03-03T02:00:00Z", 2, 2)
    assert (e1["renewed_by"], e1["renews"], e1["last_state"]) == (["EXC-2"], [], "expired")
    assert (e1["justification"], e1["approved_by"], e1["expires"]) == ("accepted <i>EXC-1</i>",
                                                                      "Jana Beispiel (CISO)", "2026-03-02")
    assert (e2["first_run"], e2["last_run"], e2["states"], e2["expired_at"]) == ("r4", "r5", ["active"], None)
    assert (e2["runs_waived"], e2["renews"], e2["renewed_by"], e2["covered"]) == (1, ["EXC-1"], [], [["a", "SSH-001"]])
    o = doc["overall"]
    assert (o["exceptions"], o["exceptions_expired"], o["exceptions_renewed"]) == (2, 1, 1)
    assert doc["deviations"] == [{"host": "b", "control": "FW-001", "param": "allowed_ports", "default": [22],
                                  "value": [22, 8080], "why": "also allows 8080", "first_seen": "2026-03-01T02:00:00Z",
                                  "last_seen": "2026-03-02T02:00:00Z", "runs": 2}]
