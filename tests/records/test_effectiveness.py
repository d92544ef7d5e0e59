"""Effectiveness figures (hardencheck/records/effectiveness.py) and the audit document
(hardencheck/records/audit_document.py), asserted exactly on small hand-built histories written through
the real history recorder (hardencheck.records.history.HistoryRecorder) into a real SQLite file, then
read back by ``audit_document.audit``.

The main history (10 days of March 2026, hosts a, b, c; controls SSH-001, FW-001 and PATCH-001)
has: a failure fixed two runs later, a run where host b is unreachable, a control added mid-period
(PATCH-001 from day 4), three days without any run, an interrupted run (host b never finished), a
host gone (b, after day 8) and a host added (c, day 9), and a failure still open at period end.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from hardencheck.records import audit_document
from hardencheck.records import effectiveness as eff
from hardencheck.records.effectiveness import (FAILED, HELD, HELD_WITH_EXCEPTIONS, NOT_APPLICABLE, NOT_ASSESSED, NOT_VERIFIED, Counts,
                                       control_outcome, item_outcome, item_sequence)
from hardencheck.errors import ConfigError
from hardencheck.records.history import HistoryRecorder

CATALOG_YML = """\
catalog:
  id: test-tom
  title: {de: "TOM Test", en: "TOM test"}
  version: "1"
  date: 2026-01-01
items:
  - id: "1"
    title: {de: Zugang, en: Access}
    items:
      - id: "1.1"
        title: {de: "Nur Schlüssel", en: "Keys only"}
        text: {de: "SSH nur mit Schlüsseln", en: "SSH with keys only"}
        category: zugangskontrolle
        art32: b
        controls: [SSH-001]
      - id: "1.2"
        title: {de: "Firewall und Patches", en: "Firewall and patches"}
        text: {de: "Firewall, Patches", en: "Firewall, patches"}
        category: zugangskontrolle
        art32: b
        controls: [FW-001, PATCH-001]
      - id: "1.3"
        title: {de: "Schulung", en: "Training"}
        text: {de: "Schulung", en: "Training"}
        category: zugangskontrolle
        art32: b
        controls: []
"""

CONTROLS = {"SSH-001": ("SSH accepts public-key authentication only", "high"),
            "FW-001": ("Host firewall active", "high"),
            "PATCH-001": ("No pending security updates", "high")}


def record(db: Path, run_id: str, started: str, hosts: dict[str, dict[str, str] | None], *,
           controls: list[str], planned: list[str] | None = None, state: str = "complete",
           inventory: str = "inv.yml", manifest: str | None = None, tom: dict | None = None,
           titles: dict[str, str] | None = None) -> None:
    """One run through HistoryRecorder. ``hosts``: name -> {control: status} for a checked host,
    None for an unreachable one (error results for every control); ``planned``: hosts the run set out
    to check (default: ``hosts``); planned hosts not in ``hosts`` never finished. ``state``: complete,
    interrupted, or running (end() never called)."""
    planned = list(planned if planned is not None else hosts)
    ended = started[:11] + "03:00:00Z"
    run = {"id": run_id, "started_at": started, "complete": False,
           "tool": {"name": "hardencheck", "version": "0.1.0"},
           "inventory": {"path": inventory, "key": inventory, "sha256": "0" * 64, "hosts": planned},
           "controls": {"path": "controls", "sha256": "1" * 64, "ids": controls}}
    titles = {**{c: t for c, (t, _) in CONTROLS.items()}, **(titles or {})}
    ctl_docs = [{"id": c, "title": titles.get(c, c), "severity": CONTROLS.get(c, (c, "medium"))[1]}
                for c in controls]
    rec = HistoryRecorder(db)
    try:
        rec.begin(run, ctl_docs, {}, (tom or {}).get("catalog"), None)
        all_hosts, all_results = [], []
        for name, res in hosts.items():
            if res is None:
                host = {"name": name, "status": "error", "error": {"reason": "unreachable", "message": "timed out"}}
                results = [{"host": name, "control": c, "status": "error", "severity": "high",
                            "reason": "unreachable"} for c in controls]
            else:
                host = {"name": name, "status": "ok", "error": None}
                results = [{"host": name, "control": c, "status": res.get(c, "pass"), "severity": "high"}
                           for c in controls]
            rec.host_done({"host": host, "results": results, "evidence": {}}, f"hosts/{name}.json", "2" * 64)
            all_hosts.append(host)
            all_results.extend(results)
        if state != "running":
            rec.end({"run": {**run, "complete": state == "complete", "ended_at": ended, "exit_code": 1},
                     "hosts": all_hosts, "results": all_results, "tom": tom or {}}, manifest)
    finally:
        rec.close()


P, F, E, NA = "pass", "fail", "error", "not_applicable"
V1 = ["SSH-001", "FW-001"]
V2 = ["SSH-001", "FW-001", "PATCH-001"]


@pytest.fixture()
def history(tmp_path):
    db = tmp_path / "history.db"
    record(db, "r1", "2026-03-01T02:00:00Z", {"a": {}, "b": {}}, controls=V1, manifest="m1")
    record(db, "r2", "2026-03-02T02:00:00Z", {"a": {"SSH-001": F}, "b": {}}, controls=V1, manifest="m2")
    record(db, "r3", "2026-03-03T02:00:00Z", {"a": {"SSH-001": F}, "b": None}, controls=V1, manifest="m3")
    record(db, "r4", "2026-03-04T02:00:00Z", {"a": {}, "b": {"PATCH-001": F}}, controls=V2, manifest="m4")
    # 03-05 .. 03-07: no run at all
    record(db, "r5", "2026-03-08T02:00:00Z", {"a": {}}, planned=["a", "b"], controls=V2, state="interrupted")
    record(db, "r6", "2026-03-09T02:00:00Z", {"a": {}, "c": {"FW-001": F, "PATCH-001": NA}}, controls=V2,
           manifest="m6")
    record(db, "r7", "2026-03-10T02:00:00Z", {"a": {}, "c": {"FW-001": F, "PATCH-001": NA}}, controls=V2,
           manifest="m7")
    # outside the period, and another inventory inside it: both left out
    record(db, "r0", "2026-02-28T23:59:59Z", {"a": {"SSH-001": F}}, controls=V1)
    record(db, "x1", "2026-03-05T02:00:00Z", {"z": {"SSH-001": F}}, controls=V1, inventory="other.yml")
    cat = tmp_path / "tom.yml"
    cat.write_text(CATALOG_YML)
    return db, cat


AS_OF = datetime(2027, 1, 1, tzinfo=timezone.utc)


def run_audit(history, **kw):
    db, cat = history
    kw.setdefault("inventory", "inv.yml")
    kw.setdefault("as_of", AS_OF)
    kw.setdefault("bundle_check", False)          # hand-built runs: no bundles (tests/records/test_bundle_check.py)
    return audit_document.audit(db, date(2026, 3, 1), date(2026, 3, 10), tom=cat, **kw)


def by_id(doc, section):
    return {x["id"]: x for x in doc[section]}


def test_control_outcome_table():
    assert control_outcome(Counts(passed=2), 2) == HELD
    assert control_outcome(Counts(passed=1, not_applicable=1), 2) == HELD
    assert control_outcome(Counts(not_applicable=2), 2) == NOT_APPLICABLE
    assert control_outcome(Counts(passed=1, fail=1), 2) == FAILED
    assert control_outcome(Counts(fail=1, error=1), 2) == FAILED            # a failure is a failure
    assert control_outcome(Counts(passed=1, error=1), 2) == NOT_VERIFIED
    assert control_outcome(Counts(passed=1), 2) == NOT_VERIFIED             # a host never finished
    assert control_outcome(Counts(not_applicable=1), 2) == NOT_VERIFIED
    assert control_outcome(Counts(), 2) == NOT_VERIFIED                     # interrupted before any host
    assert control_outcome(Counts(), 0) == NOT_VERIFIED                     # a run without hosts proves nothing
    assert control_outcome(Counts(skipped=2), 2) == NOT_ASSESSED            # deselected
    assert control_outcome(Counts(skipped=1), 2) == NOT_ASSESSED            # deselected, other host never finished
    assert control_outcome(Counts(passed=1, skipped=1), 2) == NOT_VERIFIED


def test_item_outcome_table():
    assert item_outcome([]) is None
    assert item_outcome([HELD, HELD]) == HELD
    assert item_outcome([HELD, NOT_APPLICABLE]) == HELD
    assert item_outcome([NOT_APPLICABLE]) == NOT_APPLICABLE
    assert item_outcome([HELD, FAILED, NOT_VERIFIED]) == FAILED
    assert item_outcome([HELD, NOT_VERIFIED]) == NOT_VERIFIED
    assert item_outcome([HELD, NOT_ASSESSED]) == NOT_VERIFIED              # stricter than the run report
    assert item_outcome([NOT_ASSESSED, NOT_ASSESSED]) == NOT_ASSESSED


def test_runs_gaps_hosts_and_digest(history):
    doc = run_audit(history)
    runs = doc["runs"]
    assert [r["run_id"] for r in runs["list"]] == ["r1", "r2", "r3", "r4", "r5", "r6", "r7"]
    assert (runs["total"], runs["complete"], runs["interrupted"], runs["running"], runs["successful"]) == (7, 6, 1, 0, 6)
    assert runs["with_unchecked_hosts"] == 2                                # r3 (b unreachable), r5 (b never finished)
    r5 = runs["list"][4]
    assert (r5["state"], r5["hosts_planned"], r5["hosts_checked"], r5["successful"]) == ("interrupted", 2, 1, False)
    lines = "".join(f"{r}\t2026-03-{d:02d}T02:00:00Z\t{s}\t{m}\n" for r, d, s, m in [
        ("r1", 1, "complete", "m1"), ("r2", 2, "complete", "m2"), ("r3", 3, "complete", "m3"),
        ("r4", 4, "complete", "m4"), ("r5", 8, "interrupted", "-"), ("r6", 9, "complete", "m6"),
        ("r7", 10, "complete", "m7")])
    assert runs["digest_sha256"] == hashlib.sha256(lines.encode()).hexdigest()
    # 03-05..03-07 without any run, 03-08 only the interrupted one: one gap of four days
    assert doc["gaps"] == {"days_without_successful_scan": 4, "longest_days": 4,
                           "list": [{"from": "2026-03-05", "to": "2026-03-08", "days": 4}]}
    assert doc["period"] == {"from": "2026-03-01", "to": "2026-03-10", "evaluated_to": "2026-03-11T00:00:00Z",
                             "days": 10, "covered": {"from": "2026-03-01T02:00:00Z", "to": "2026-03-10T02:00:00Z"},
                             "days_before_first_run": 0, "days_after_last_run": 0,
                             # r0 of the same inventory started before the period (x1 is another inventory's)
                             "warnings": [{"kind": "before_period", "n": 1, "first": "2026-02-28T23:59:59Z",
                                           "last": "2026-02-28T23:59:59Z"}]}
    hosts = {h["name"]: h for h in doc["hosts"]}
    assert hosts["a"] == {"name": "a", "first_seen": "2026-03-01T02:00:00Z", "last_seen": "2026-03-10T02:00:00Z",
                          "runs": 7, "checked": 7}
    assert hosts["b"] == {"name": "b", "first_seen": "2026-03-01T02:00:00Z", "last_seen": "2026-03-08T02:00:00Z",
                          "runs": 5, "checked": 3}
    assert (hosts["c"]["first_seen"], hosts["c"]["runs"], hosts["c"]["checked"]) == ("2026-03-09T02:00:00Z", 2, 2)
    assert set(hosts) == {"a", "b", "c"}                                    # z is another inventory's
    assert doc["history"]["snapshot_sha256"] == hashlib.sha256(history[0].read_bytes()).hexdigest()


def test_failure_fixed(history):
    ssh = by_id(run_audit(history), "controls")["SSH-001"]
    f = ssh["figures"]
    # r1 held, r2 failed, r3 failed (a fails; b unreachable), r4 held, r5 not verified (b never finished),
    # r6 held, r7 held
    assert (f["runs"], f["judged"], f["held"], f["failed"], f["not_verified"]) == (7, 7, 4, 2, 1)
    assert f["share_held"] == round(4 / 7, 6)
    assert f["longest_streak"] == {"runs": 2, "days": 2}
    assert f["time_to_fix"] == {"fixed": 1, "mean_seconds": 2 * 86400, "worst_seconds": 2 * 86400,
                                "mean_days": 2.0, "worst_days": 2.0}
    (e,) = f["episodes"]
    assert (e["since_run"], e["fixed_run"], e["open"], e["from_start"], e["failed_runs"]) == ("r2", "r4", False, False, 2)
    assert f["open"] == []
    assert (ssh["title"], ssh["severity"], ssh["items"]) == (CONTROLS["SSH-001"][0], "high", ["1.1"])
    assert ssh["weekly"] == [FAILED, NOT_VERIFIED]                          # 03-01..07, 03-08..10
    assert ssh["outcomes"] == "HFFHVHH"


def test_failure_open_at_period_end(history):
    fw = by_id(run_audit(history), "controls")["FW-001"]["figures"]
    # r1 held, r2 held, r3 not verified (b unreachable), r4 held, r5 not verified, r6 failed (c), r7 failed
    assert (fw["held"], fw["failed"], fw["not_verified"], fw["share_held"]) == (3, 2, 2, round(3 / 7, 6))
    (e,) = fw["open"]
    assert (e["since_run"], e["last_failed_run"], e["runs"], e["days"], e["hosts"]) == ("r6", "r7", 2, 2, ["c"])
    # age: from 03-09 02:00 to the end of the period (03-11 00:00)
    assert e["seconds"] == 86400 + 22 * 3600
    assert fw["time_to_fix"]["fixed"] == 0 and fw["time_to_fix"]["mean_seconds"] is None
    assert fw["longest_streak"] == {"runs": 2, "days": 2}
    assert fw["last_outcome"] == FAILED


def test_control_added_mid_period(history):
    patch = by_id(run_audit(history), "controls")["PATCH-001"]["figures"]
    # r4 failed (b), r5 not verified, r6 held (a pass, c not applicable), r7 held; absent before r4
    assert (patch["runs"], patch["held"], patch["failed"], patch["not_verified"]) == (4, 2, 1, 1)
    assert patch["first_run"] == "2026-03-04T02:00:00Z" and patch["share_held"] == 0.5
    (e,) = patch["episodes"]
    # the not-verified run 5 does not end the failure; the fix is r6, five days after r4
    assert (e["from_start"], e["runs"], e["failed_runs"], e["days"], e["fixed_run"]) == (True, 2, 1, 5, "r6")
    assert e["seconds"] == 5 * 86400
    assert by_id(run_audit(history), "controls")["PATCH-001"]["weekly"] == [FAILED, NOT_VERIFIED]
    assert by_id(run_audit(history), "controls")["PATCH-001"]["outcomes"] == "---FVHH"


def test_items_in_catalog_order(history):
    doc = run_audit(history)
    assert [x["id"] for x in doc["items"]] == ["1", "1.1", "1.2", "1.3"]
    items = by_id(doc, "items")
    assert items["1"]["group"] is True and "figures" not in items["1"]
    assert items["1.1"]["figures"]["share_held"] == round(4 / 7, 6)
    assert items["1.3"]["organisational"] is True and items["1.3"]["figures"] is None
    f = items["1.2"]["figures"]
    # FW+PATCH: r1 held, r2 held, r3 nv, r4 failed (PATCH on b), r5 nv, r6 failed, r7 failed
    assert (f["held"], f["failed"], f["not_verified"]) == (2, 3, 2)
    (e,) = f["episodes"]
    assert e["open"] and (e["since_run"], e["runs"], e["failed_runs"], e["days"]) == ("r4", 4, 3, 7)
    assert e["seconds"] == 6 * 86400 + 22 * 3600
    assert e["hosts"] == ["c"]                                              # FW-001 on c in r7
    assert items["1.2"]["weekly"] == [FAILED, FAILED]
    assert items["1.2"]["outcomes"] == "HHVFVFF" and items["1.3"]["outcomes"] is None
    o = doc["overall"]
    assert (o["items_judged"], o["items_held_every_run"], o["items_with_failures"], o["items_open"]) == (2, 0, 2, 1)
    assert (o["controls_judged"], o["controls_open"], o["episodes"]) == (3, 1, 3)


def test_daily_series(history):
    days = {d["date"]: d for d in run_audit(history)["series"]["days"]}
    assert len(days) == 10
    assert days["2026-03-01"] == {"date": "2026-03-01", "runs": 1, "successful": 1,
                                  "items": {HELD: 2, HELD_WITH_EXCEPTIONS: 0, FAILED: 0, NOT_VERIFIED: 0},
                                  "controls": {HELD: 2, HELD_WITH_EXCEPTIONS: 0, FAILED: 0, NOT_VERIFIED: 0},
                                  "pairs": {"pass": 4, "waived": 0, "fail": 0, "error": 0, "not_checked": 0,
                                            "not_applicable": 0, "skipped": 0, "unverifiable": 0, "total": 4}}
    assert days["2026-03-04"]["items"] == {HELD: 1, HELD_WITH_EXCEPTIONS: 0, FAILED: 1, NOT_VERIFIED: 0}
    assert days["2026-03-04"]["controls"] == {HELD: 2, HELD_WITH_EXCEPTIONS: 0, FAILED: 1, NOT_VERIFIED: 0}
    assert days["2026-03-06"]["runs"] == 0
    assert (days["2026-03-08"]["runs"], days["2026-03-08"]["successful"]) == (1, 0)
    assert days["2026-03-08"]["controls"] == {HELD: 0, HELD_WITH_EXCEPTIONS: 0, FAILED: 0, NOT_VERIFIED: 3}
    # hosts x controls of the day's run: r5 planned a and b with 3 controls; b never finished
    p = days["2026-03-08"]["pairs"]
    assert (p["pass"], p["not_checked"], p["total"]) == (3, 3, 6) and days["2026-03-06"]["pairs"] is None
    p = days["2026-03-03"]["pairs"]                                     # r3: b unreachable, SSH-001 failed on a
    assert (p["pass"], p["fail"], p["error"], p["total"]) == (1, 1, 2, 4)


def test_several_runs_a_day_the_last_one_counts(history):
    db, _ = history
    record(db, "r7b", "2026-03-10T09:00:00Z", {"a": {"SSH-001": F}, "c": {}}, controls=V2, manifest="m7b")
    day = run_audit(history)["series"]["days"][-1]
    assert day["runs"] == 2 and day["controls"][FAILED] == 2         # outcomes: both runs (r7 FW-001, r7b SSH-001)
    assert (day["pairs"]["pass"], day["pairs"]["fail"], day["pairs"]["total"]) == (5, 1, 6)   # pairs: r7b only


def test_as_of_cuts_the_period(history):
    """Evaluated up to 03-09 12:00: r7 is not counted, the open failure is aged to that instant, and
    days after it are no gaps."""
    doc = run_audit(history, as_of=datetime(2026, 3, 9, 12, tzinfo=timezone.utc))
    assert doc["period"]["evaluated_to"] == "2026-03-09T12:00:00Z" and doc["period"]["days"] == 9
    # the requested day after it, and r7 dated after it, are warnings (not dropped without a word)
    w = {x["kind"]: x for x in doc["period"]["warnings"]}
    assert w["not_evaluated"] == {"kind": "not_evaluated", "n": 1, "from": "2026-03-10", "to": "2026-03-10"}
    assert (w["after_evaluated_end"]["n"], w["after_evaluated_end"]["first"]) == (1, "2026-03-10T02:00:00Z")
    assert doc["period"]["covered"] == {"from": "2026-03-01T02:00:00Z", "to": "2026-03-09T02:00:00Z"}
    assert len(doc["series"]["days"]) == 9
    fw = by_id(doc, "controls")["FW-001"]["figures"]
    (e,) = fw["open"]
    assert e["seconds"] == 10 * 3600 and e["runs"] == 1


def test_all_inventories_and_running_run(tmp_path, history):
    db, _ = history
    record(db, "r8", "2026-03-10T05:00:00Z", {"a": {}}, planned=["a", "b"], controls=V1, state="running")
    doc = audit_document.audit(db, date(2026, 3, 1), date(2026, 3, 10), tom=history[1], as_of=AS_OF,
                                bundle_check=False)
    assert doc["inventory"] is None
    assert [r["run_id"] for r in doc["runs"]["list"]] == ["r1", "r2", "r3", "r4", "x1", "r5", "r6", "r7", "r8"]
    assert doc["runs"]["running"] == 1
    # x1 (another inventory, complete) fills 03-05: the gap is now 03-06..03-08
    assert doc["gaps"]["list"] == [{"from": "2026-03-06", "to": "2026-03-08", "days": 3}]
    ssh = by_id(doc, "controls")["SSH-001"]["figures"]
    # ... x1 failed on z, r5 nv, r6 held: x1 is a second episode (r4 had held in between)
    assert [(e["since_run"], e["fixed_run"]) for e in ssh["episodes"]] == [("r2", "r4"), ("x1", "r6")]
    assert ssh["last_outcome"] == NOT_VERIFIED                              # r8 still running, b missing


def test_unreachable_everywhere_is_no_successful_scan():
    runs = [eff.Run("u1", "2026-05-01T02:00:00Z", "complete", {"a": "error", "b": "error"},
                    {"SSH-001": Counts(error=2)}),
            eff.Run("u2", "2026-05-02T02:00:00Z", "complete", {"a": "ok", "b": "error"},
                    {"SSH-001": Counts(passed=1, error=1)})]
    cat = audit_document.TomOutline({"id": "x"}, [{"id": "1", "group": False, "controls": ["SSH-001"],
                                                    "title": {"en": "x"}}])
    doc = audit_document.compute(runs, cat, date(2026, 5, 1), date(2026, 5, 2))
    assert [r["successful"] for r in doc["runs"]["list"]] == [False, True]
    assert doc["gaps"]["list"] == [{"from": "2026-05-01", "to": "2026-05-01", "days": 1}]
    f = doc["controls"][0]["figures"]
    assert (f["held"], f["not_verified"], f["share_held"]) == (0, 2, 0.0)


def test_catalog_from_history(tmp_path):
    """Without --tom the catalog recorded with the latest run is the structure."""
    from hardencheck.judge import tom as tommod

    db = tmp_path / "h.db"
    path = tmp_path / "tom.yml"
    path.write_text(CATALOG_YML)
    cat = tommod.load_catalog(path)
    results = [{"host": "a", "control": "SSH-001", "status": "pass"}]
    items = tommod.rollup(cat, results, ["a"])
    record(db, "r1", "2026-03-01T02:00:00Z", {"a": {}}, controls=["SSH-001"],
           tom={"catalog": tommod.document(cat), "items": items})
    doc = audit_document.audit(db, date(2026, 3, 1), date(2026, 3, 1), as_of=AS_OF, bundle_check=False)
    assert doc["catalog"]["id"] == "test-tom" and doc["catalog"]["source"] == "history (run r1)"
    assert [x["id"] for x in doc["items"]] == ["1", "1.1", "1.2", "1.3"]
    assert by_id(doc, "items")["1.1"]["figures"]["held"] == 1


def test_empty_period_and_bad_input(history, tmp_path):
    db, cat = history
    doc = audit_document.audit(db, date(2025, 1, 1), date(2025, 1, 3), tom=cat, as_of=AS_OF, bundle_check=False)
    assert doc["runs"]["total"] == 0 and doc["gaps"]["days_without_successful_scan"] == 3
    assert by_id(doc, "items")["1.1"]["figures"]["share_held"] is None
    with pytest.raises(ConfigError):
        audit_document.audit(db, date(2026, 3, 2), date(2026, 3, 1), tom=cat)
    with pytest.raises(ConfigError):
        audit_document.audit(tmp_path / "nope.db", date(2026, 3, 1), date(2026, 3, 2))
    import sqlite3
    from hardencheck.records.history import SCHEMA_VERSION
    newer = tmp_path / "newer.db"
    newer.write_bytes(db.read_bytes())
    with sqlite3.connect(newer) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(ConfigError, match="schema version"):
        audit_document.audit(newer, date(2026, 3, 1), date(2026, 3, 2))
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(ConfigError):
        audit_document.audit(junk, date(2026, 3, 1), date(2026, 3, 2))


# -- real lab scans ------------------------------------------------------------------------------------

LAB_CONTROLS = "SSH-001,FILE-005"
REPO = Path(__file__).resolve().parents[2]


def _lab_inventory(lab, folder: Path, names: set[str]) -> Path:
    """The lab inventory with only ``names`` (always the same file: one inventory key)."""
    hosts = {"hardened", "weak", "wrongkey", "hanging", "unreachable", "sudo"}
    lines = lab.inventory_path.read_text().splitlines()
    keep = [line for line in lines if not line.startswith("  ") or line.strip().split(":")[0] not in hosts
            or line.strip().split(":")[0] in names]
    inv = folder / "inv.yml"
    inv.write_text("\n".join(keep) + "\n")
    key = folder / "id_ed25519"                   # the inventory names the client key beside it
    if not key.exists():
        key.write_bytes(lab.client_key_path.read_bytes())
        key.chmod(0o600)
    return inv


def _lab_scan(lab, folder: Path, names: set[str], db: Path) -> None:
    import subprocess
    import sys

    inv = _lab_inventory(lab, folder, names)
    p = subprocess.run([sys.executable, "-m", "hardencheck", "scan", "-i", str(inv), "--ssh-config", "/dev/null",
                        "--known-hosts", str(lab.known_hosts_path), "--control", LAB_CONTROLS,
                        "--out", str(folder / "out"), "--history", str(db), "--format", "json", "--quiet"],
                       capture_output=True, cwd=REPO, timeout=300)
    assert p.returncode in (0, 1, 2), p.stderr.decode() + p.stdout.decode()


@pytest.mark.lab
def test_effectiveness_of_a_changing_lab(tmp_path):
    """Five real scans: all well; hardened's sshd_config becomes world-readable (FILE-005 fails); fixed,
    but weak (failing both controls) joins; weak leaves again; sudo's sshd is killed."""
    import json
    import os
    import signal
    import time

    from tests.conftest import lab_unavailable_or_skip
    from tests.lab import Lab

    lab_unavailable_or_skip()
    db = tmp_path / "history.db"
    with Lab(tmp_path / "lab", prefix=os.environ.get("HC_EFF_LAB_PREFIX", "ha")) as lab:
        lab.start(names=["hardened", "weak", "sudo"])
        cfg = Path(lab.hosts_dir) / "hardened" / "upper" / "etc" / "ssh" / "sshd_config"
        assert cfg.stat().st_mode & 0o777 == 0o600
        _lab_scan(lab, tmp_path, {"hardened", "sudo"}, db)                    # s1
        cfg.chmod(0o644)
        _lab_scan(lab, tmp_path, {"hardened", "sudo"}, db)                    # s2
        cfg.chmod(0o600)
        _lab_scan(lab, tmp_path, {"hardened", "sudo", "weak"}, db)            # s3
        _lab_scan(lab, tmp_path, {"hardened", "sudo"}, db)                    # s4
        pid = lab.hosts["sudo"].pid
        os.kill(pid, signal.SIGKILL)
        for _ in range(100):
            if not Path(f"/proc/{pid}").exists() or \
                    Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                break
            time.sleep(0.05)
        _lab_scan(lab, tmp_path, {"hardened", "sudo"}, db)                    # s5

    key = os.path.normpath(str(tmp_path / "inv.yml"))
    import sqlite3
    with sqlite3.connect(db) as conn:
        days = [r[0] for r in conn.execute("SELECT substr(started_at, 1, 10) FROM runs ORDER BY started_at")]
    d0, d1 = date.fromisoformat(days[0]), date.fromisoformat(days[-1])
    doc = audit_document.audit(db, d0, d1, inventory=key, as_of=AS_OF)
    runs = doc["runs"]["list"]
    assert len(runs) == 5 and doc["runs"]["successful"] == 5
    assert [r["hosts_planned"] for r in runs] == [2, 2, 3, 2, 2]
    assert [r["hosts_checked"] for r in runs] == [2, 2, 3, 2, 1]
    ids = [r["run_id"] for r in runs]
    t = [eff.parse_iso_utc(r["started_at"]) for r in runs]
    assert doc["gaps"]["days_without_successful_scan"] == 0
    ctl = by_id(doc, "controls")
    # SSH-001: held, held, failed (weak), held, not verified (sudo down)
    f = ctl["SSH-001"]["figures"]
    assert (f["held"], f["failed"], f["not_verified"], f["last_outcome"]) == (3, 1, 1, NOT_VERIFIED)
    (e,) = f["episodes"]
    assert (e["since_run"], e["fixed_run"], e["runs"]) == (ids[2], ids[3], 1)
    assert f["time_to_fix"]["worst_seconds"] == int((t[3] - t[2]).total_seconds())
    # FILE-005: held, failed (hardened 0644), failed (weak), held, not verified
    f = ctl["FILE-005"]["figures"]
    assert (f["held"], f["failed"], f["not_verified"], f["share_held"]) == (2, 2, 1, 0.4)
    (e,) = f["episodes"]
    assert (e["since_run"], e["fixed_run"], e["runs"], e["failed_runs"]) == (ids[1], ids[3], 2, 2)
    assert e["days"] == (t[2].date() - t[1].date()).days + 1
    assert f["time_to_fix"]["mean_seconds"] == int((t[3] - t[1]).total_seconds())
    assert f["open"] == []
    # default catalog: 1.2.1 is SSH-001 + SSH-002; SSH-002 was deselected, so the measure was never
    # shown to hold (it failed in s3)
    items = by_id(doc, "items")
    f121 = items["1.2.1"]["figures"]
    assert (f121["held"], f121["failed"], f121["not_verified"]) == (0, 1, 4)
    # every run checked against its bundle (real SSH scans, unsigned: reported, no policy to require them)
    assert (doc["runs"]["verified"], doc["runs"]["unverifiable"]) == (5, 0)
    assert doc["runs"]["signatures"]["unsigned"] == 5 and doc["runs"]["signatures"]["policy"] is None
    # the headline: 1.2.1 failed in s3 and never held after (SSH-002 deselected): failing at the end;
    # every technical measure of the default catalog is in the denominator
    hl = doc["overall"]["headline"]
    assert "1.2.1" in hl["classes"]["failing"]
    assert hl["measures"] == sum(1 for it in doc["items"] if not it["group"] and it["controls"])
    assert sum(len(v) for v in hl["classes"].values()) == hl["measures"]
    hosts = {h["name"]: (h["runs"], h["checked"]) for h in doc["hosts"]}
    assert hosts == {"hardened": (5, 5), "sudo": (5, 4), "weak": (1, 1)}

    # the CLI over the same history: the same figures
    from hardencheck.cli import main
    assert main(["audit", "--from", str(d0), "--to", str(d1), "--inventory", key, "--history", str(db),
                 "--out", str(tmp_path / "audit")]) == 0
    cli = json.loads((tmp_path / "audit" / "audit.json").read_text())
    assert cli["controls"] == doc["controls"] and cli["runs"] == doc["runs"]


HEADLINE_CATALOG = """\
catalog: {id: hl, title: {de: "HL", en: "HL"}, version: "1", date: 2026-01-01}
items:
""" + "".join(f"""  - id: "{mid}"
    title: {{de: "T {mid}", en: "T {mid}"}}
    text: {{de: "x", en: "x"}}
    category: zugangskontrolle
    art32: b
    controls: [{ctl}]
""" for mid, ctl in [("1", "SSH-001"), ("2", "FW-001"), ("3", "PATCH-001"), ("4", "KERN-001"), ("5", "TIME-001"),
                     ("6", "LOG-001"), ("7", ""), ("8", "AVAIL-001")])


def test_headline_one_class_per_technical_measure(tmp_path):
    """Held all period (1), failures fixed (2), failing at the end (3), no failure but evidence incomplete
    (4), never verified: never in the library (5) or always an error (6), held with exceptions (8); the
    organisational measure (7) is not in the technical denominator; measure 5 is in it."""
    db, cat = tmp_path / "history.db", tmp_path / "tom.yml"
    cat.write_text(HEADLINE_CATALOG)
    lib = ["SSH-001", "FW-001", "PATCH-001", "KERN-001", "LOG-001", "AVAIL-001"]
    record(db, "r1", "2026-03-01T02:00:00Z", {"a": {"FW-001": F, "LOG-001": E}}, controls=lib, manifest="m1")
    record(db, "r2", "2026-03-02T02:00:00Z", {"a": {"PATCH-001": F, "KERN-001": E, "LOG-001": E,
                                                    "AVAIL-001": "waived"}}, controls=lib, manifest="m2")
    record(db, "r3", "2026-03-03T02:00:00Z", {"a": {"PATCH-001": F, "LOG-001": E}}, controls=lib, manifest="m3")
    doc = run_audit((db, cat))
    hl = doc["overall"]["headline"]
    assert hl["classes"] == {"held_all_period": ["1"], "held_with_exceptions": ["8"], "fixed": ["2"],
                             "failing": ["3"], "incomplete": ["4"], "never_verified": ["5", "6"]}
    assert (hl["measures"], hl["not_held_failed"], hl["not_held_incomplete"]) == (7, 2, 3)
    from hardencheck.report.audit_html import A, render
    for lang in ("en", "de"):
        page = render(doc, lang).decode()
        assert A["headline_n"][lang].format(held=1, n=7) in page
        assert A["headline_split"][lang].format(f=2, i=3) in page
        never = page[page.index('id="never-verified"'):]
        never = never[:never.index("</div>")]
        assert ">5</span> T 5" in never and ">6</span> T 6" in never and ">4<" not in never
    # the same runs without a bundle check by default: no bundle anywhere, every run unverifiable
    doc = run_audit((db, cat), bundle_check=True)
    assert doc["runs"]["unverifiable"] == 3 and doc["overall"]["headline"]["classes"]["never_verified"] == \
        ["1", "2", "3", "4", "5", "6", "8"]
    assert all(r["bundle_check"]["reason"].startswith("bundle not found") for r in doc["runs"]["list"])


def test_a_control_left_out_of_a_run_is_not_run_there_if_it_ran_in_the_period():
    """scan --skip-tags filesystem-walk nightly, the full library weekly: the nights without the walks
    judge the measure by its other controls; a control never run in the period leaves it unverified."""
    weekly = [{"F1": HELD, "F4": HELD}, {"F1": NOT_ASSESSED, "F4": HELD}, {"F1": NOT_ASSESSED, "F4": FAILED}]
    assert item_sequence(["F1", "F4"], weekly) == [(0, HELD), (1, HELD), (2, FAILED)]
    never = [{"F1": NOT_ASSESSED, "F4": HELD}] * 2
    assert item_sequence(["F1", "F4"], never) == [(0, NOT_VERIFIED), (1, NOT_VERIFIED)]
    alone = [{"F1": NOT_ASSESSED}, {"F1": HELD}]
    assert item_sequence(["F1"], alone) == [(0, NOT_ASSESSED), (1, HELD)]
