"""The asset register (CSV and JSON exports) and its reconciliation with the inventory: parsing,
errors naming file, line and column, the matching rules, hosts not successfully scanned for N days."""

from __future__ import annotations

import json

import pytest

from hardencheck.errors import ConfigError
from hardencheck.judge.asset_register import load_asset_register
from hardencheck.judge.scope import reconcile, stale


def _reg(tmp_path, text: str | bytes, name="assets.csv"):
    p = tmp_path / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return load_asset_register(p)


def _error(tmp_path, text, name="assets.csv") -> ConfigError:
    with pytest.raises(ConfigError) as e:
        _reg(tmp_path, text, name)
    return e.value


# -- parsing ---------------------------------------------------------------------------------------
def test_csv_with_bom_semicolons_and_the_preferred_name_column(tmp_path):
    r = _reg(tmp_path, "\ufeffName;FQDN;Umgebung;Stage\r\nWeb server;web1.example.org;x;prod\r\n\r\n"
                       "DB;db1.example.org;y;test\r\n")
    assert (r.format, r.name_column, r.environment_column) == ("csv", "FQDN", "Stage")
    assert [(a.name, a.environment, a.line) for a in r.assets] == [("web1.example.org", "prod", 2),
                                                                   ("db1.example.org", "test", 4)]
    assert len(r.sha256) == 64 and r.document()["entries"] == 2


def test_csv_quoted_field_over_two_lines_keeps_the_line_numbers(tmp_path):
    r = _reg(tmp_path, 'hostname,comment\nweb1,"two\nlines"\nweb2,x\n')
    assert [(a.name, a.line) for a in r.assets] == [("web1", 2), ("web2", 4)]


def test_csv_without_a_name_column_names_the_header_line(tmp_path):
    e = _error(tmp_path, "\n\nserial,owner\n1,me\n")
    assert e.file.endswith("assets.csv") and e.line == 3 and "no name column" in e.message


def test_csv_errors_name_line_and_column_all_at_once(tmp_path):
    e = _error(tmp_path, "id,host,env\n1,web1,prod\n2,,prod\n3,web 3,prod\n4,db1,pr\x01od\n")
    got = [(x.line, x.field) for x in e.errors]
    assert got == [(3, "column 2 'host'"), (4, "column 2 'host'"), (5, "column 3 'env'")]
    assert "empty name" in e.errors[0].message and "'web 3' is not a host name" in e.errors[1].message
    assert "assets.csv:4 [column 2 'host']" in str(e)


def test_not_utf8_names_line_and_column(tmp_path):
    e = _error(tmp_path, b"host\nweb1\nm\xfcller\n")
    assert (e.line, e.field) == (3, "column 2") and "not UTF-8" in e.message


def test_json_strings_and_objects(tmp_path):
    r = _reg(tmp_path, json.dumps(["web1", "10.0.0.5", "fe80::1"]), "a.json")
    assert r.format == "json" and r.name_column is None and [a.name for a in r.assets] == ["web1", "10.0.0.5",
                                                                                           "fe80::1"]
    r = _reg(tmp_path, '[\n {"Hostname": "web1", "env": "prod"},\n {"hostname": "db1"}\n]', "b.json")
    assert [(a.name, a.environment, a.line) for a in r.assets] == [("web1", "prod", 2), ("db1", None, 3)]
    assert (r.name_column, r.environment_column) == ("Hostname", "env")


def test_json_errors_name_the_element_line_and_column(tmp_path):
    e = _error(tmp_path, '[\n "web1",\n   {"owner": "me"},\n 7\n]', "a.json")
    assert [(x.line, x.field) for x in e.errors] == [(3, "column 4"), (4, "column 2")]
    assert "no name key" in e.errors[0].message and "not int" in e.errors[1].message
    e = _error(tmp_path, '[\n "web1"\n "web2"\n]', "b.json")
    assert (e.line, e.field) == (3, "column 2") and "expected ','" in e.message
    e = _error(tmp_path, '[{"host": "web1",}]', "c.json")
    assert e.line == 1 and "not valid JSON" in e.message


def test_duplicates_are_kept_once_and_listed(tmp_path):
    r = _reg(tmp_path, "host\nweb1\nWEB1.\ndb1\n")
    assert [a.name for a in r.assets] == ["web1", "db1"] and r.duplicates == [{"name": "web1", "lines": [2, 3]}]


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError) as e:
        load_asset_register(tmp_path / "nope.csv")
    assert e.value.field == "--expect-hosts"


# -- matching --------------------------------------------------------------------------------------
def _rec(tmp_path, names, hosts):
    r = _reg(tmp_path, "host\n" + "\n".join(names) + "\n")
    return reconcile(r, hosts)


def test_exact_by_name_and_address_case_insensitive(tmp_path):
    d = _rec(tmp_path, ["WEB1", "10.0.0.7", "db9"], [("web1", "10.0.0.5"), ("db1", "10.0.0.7"), ("mail", "m")])
    assert [(m["name"], m["host"], m["by"]) for m in d["matched"]] == [("WEB1", "web1", "name"),
                                                                      ("10.0.0.7", "db1", "address")]
    assert [m["name"] for m in d["missing_from_inventory"]] == ["db9"]
    assert d["not_in_register"] == [{"host": "mail", "address": "m"}]
    assert d["counts"] == {"register": 3, "inventory": 3, "matched": 2, "missing_from_inventory": 1,
                           "not_in_register": 1}


def test_short_name_matches_an_fqdn_only_when_unambiguous(tmp_path):
    d = _rec(tmp_path, ["web1", "db1.example.org", "app"],
             [("web1.example.org", "a"), ("db1", "b"), ("app.a.org", "c"), ("app.b.org", "d")])
    assert [(m["name"], m["host"], m["by"]) for m in d["matched"]] == [("web1", "web1.example.org", "short_name"),
                                                                      ("db1.example.org", "db1", "short_name")]
    (amb,) = d["missing_from_inventory"]
    assert amb["name"] == "app" and amb["ambiguous"] == ["app.a.org", "app.b.org"]
    assert sorted(h["host"] for h in d["not_in_register"]) == ["app.a.org", "app.b.org"]


def test_two_fqdns_with_one_first_label_never_match(tmp_path):
    d = _rec(tmp_path, ["web1.a.org"], [("web1.b.org", "x")])
    assert not d["matched"] and d["counts"]["missing_from_inventory"] == 1


def test_a_short_name_two_entries_share_matches_neither(tmp_path):
    d = _rec(tmp_path, ["web1.a.org", "web1.b.org"], [("web1", "x")])
    assert not d["matched"] and len(d["missing_from_inventory"]) == 2
    assert all("also another register entry" in m["note"] for m in d["missing_from_inventory"])


def test_ip_addresses_are_never_shortened(tmp_path):
    d = _rec(tmp_path, ["10"], [("10.0.0.1", "10.0.0.1")])
    assert not d["matched"]


def test_one_host_answers_for_one_entry(tmp_path):
    d = _rec(tmp_path, ["web1", "10.0.0.5"], [("web1", "10.0.0.5")])
    assert [m["name"] for m in d["matched"]] == ["web1"]
    (m,) = d["missing_from_inventory"]
    assert m["name"] == "10.0.0.5" and "already matched by line 2" in m["note"]


def test_an_address_shared_by_two_hosts_is_ambiguous(tmp_path):
    d = _rec(tmp_path, ["10.0.0.5"], [("a", "10.0.0.5"), ("b", "10.0.0.5")])
    assert d["missing_from_inventory"][0]["ambiguous"] == ["a", "b"]


# -- not successfully scanned for N days -------------------------------------------------------------
def test_stale_from_history_and_this_run():
    history = {"old": {"last_ok": "2026-11-20T00:00:00.000Z", "last_attempt": "2026-12-06T00:00:00.000Z",
                       "last_status": "error", "last_reason": "unreachable"},
               "fresh": {"last_ok": "2026-12-05T00:00:00.000Z", "last_attempt": "2026-12-05T00:00:00.000Z",
                         "last_status": "ok", "last_reason": None},
               "fixed": {"last_ok": None, "last_attempt": "2026-12-06T00:00:00.000Z", "last_status": "error",
                         "last_reason": "auth_failed"}}
    this_run = {"fixed": {"status": "ok", "started_at": "2026-12-07T01:00:00.000Z", "reason": None},
                "down": {"status": "error", "started_at": "2026-12-07T01:00:00.000Z", "reason": "timeout"}}
    s = stale(["old", "fresh", "fixed", "down", "new"], history, this_run, days=7, as_of="2026-12-07T02:00:00.000Z")
    got = {h["host"]: h for h in s["hosts"]}
    assert sorted(got) == ["down", "new", "old"] and s["history"] is True and s["days"] == 7
    assert got["old"]["days_since_ok"] == 17.1 and got["old"]["last_reason"] == "unreachable"
    assert got["old"]["this_run"] == "not_scanned"
    assert got["down"] == {"host": "down", "last_ok": None, "days_since_ok": None,
                           "last_attempt": "2026-12-07T01:00:00.000Z", "last_status": "error",
                           "last_reason": "timeout", "this_run": "error"}
    assert got["new"]["last_attempt"] is None and got["new"]["last_ok"] is None
    # a shorter window makes "fresh" (2 days) stale too
    assert "fresh" in {h["host"] for h in stale(["fresh"], history, {}, days=1,
                                                 as_of="2026-12-07T02:00:00.000Z")["hosts"]}


def test_without_history_only_this_run_counts():
    this_run = {"a": {"status": "ok", "started_at": "2026-12-07T01:00:00.000Z", "reason": None}}
    s = stale(["a", "b"], None, this_run, days=7, as_of="2026-12-07T02:00:00.000Z")
    assert s["history"] is False and [h["host"] for h in s["hosts"]] == ["b"]


def test_period_completeness_of_the_register(tmp_path):
    from hardencheck.judge.scope import period
    r = _reg(tmp_path, "host,env\nweb1,prod\ndb1,prod\nmail,test\nlegacy,prod\n")
    seen = [{"name": "web1.example.org", "runs": 10, "checked": 9, "first_seen": "a", "last_seen": "b"},
            {"name": "db1", "runs": 10, "checked": 0, "first_seen": "a", "last_seen": "b"},
            {"name": "mail", "runs": 3, "checked": 1, "first_seen": "a", "last_seen": "b"},
            {"name": "shadow", "runs": 2, "checked": 2, "first_seen": "a", "last_seen": "b"}]
    p = period(r, seen)
    assert [(t["name"], t["host"]) for t in p["tested"]] == [("web1", "web1.example.org"), ("mail", "mail")]
    assert [t["name"] for t in p["never_ok"]] == ["db1"] and p["never_ok"][0]["runs"] == 10
    assert [m["name"] for m in p["never_planned"]] == ["legacy"]
    assert p["unregistered"] == [{"host": "shadow", "runs": 2, "checked": 2}]
    assert p["completeness"] == 0.5 and p["counts"] == {"register": 4, "tested": 2, "never_ok": 1,
                                                        "never_planned": 1, "unregistered": 1}


def test_names_that_are_not_host_names_or_addresses(tmp_path):
    bad = ["a" * 300 + "!", "a..b", "db1:22", "-web1", "web1-", "web1/24", "x" * 64]
    e = _error(tmp_path, "host\n" + "\n".join(bad) + "\n")
    assert [x.line for x in e.errors] == list(range(2, 2 + len(bad)))
    ok = _reg(tmp_path, "host\nfe80::1\n10.0.0.1\nweb_1.example.org.\n" + "a" * 63 + "\n", "ok.csv")
    assert len(ok.assets) == 4


def test_deeply_nested_json_is_an_error_not_a_crash(tmp_path):
    e = _error(tmp_path, "[\n" + "[" * 100_000 + "]" * 100_000 + "\n]", "deep.json")
    assert (e.line, e.field) == (2, "column 1") and "nested too deeply" in e.message
