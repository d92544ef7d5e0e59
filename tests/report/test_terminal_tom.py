"""The terminal summary's TOM parts (issue 17): measure titles in the language asked (a title given
only in the other language marked with it), the failing-controls table naming the measure ids and a
measure's own parameters, and catalog text printed as text, never as Rich markup."""

import io

from rich.console import Console

from hardencheck.report.terminal import summary_from_doc


def doc():
    fail = {"host": "web1", "control": "SSH-001", "status": "fail", "severity": "high", "expected": "",
            "actual": {}, "message": "password login allowed", "tom": ["§ 3.1"], "params": {}, "evidence": {}}
    ok = dict(fail, control="BACKUP-001", status="pass", message="ok", tom=[])
    hourly = dict(ok, status="fail", message="marker 5 h old", measures=["C.3 [b]"], key='{"max_age": "1h"}',
                  measure_params={"max_age": "1h"})
    items = [
        {"id": "§ 3.1", "group": False, "title": {"de": "Nur Schlüssel", "en": "Keys only"}, "status": "not_met",
         "hosts": {"web1": "not_met"}, "controls": ["SSH-001"]},
        {"id": "C.3 [b]", "group": False, "title": {"de": "Stündliche Sicherung [Admin] und [lit. b]"},
         "status": "not_met", "hosts": {"web1": "not_met"}, "controls": ["BACKUP-001"]},
        {"id": "V.1", "group": False, "title": {"en": "VPN for admins"}, "status": "not_checked",
         "hosts": {"web1": "not_checked"}, "controls": []},
    ]
    return {"run": {"id": "r", "complete": True}, "hosts": [{"name": "web1", "identity": {"address": "10.0.0.1"}}],
            "results": [fail, ok], "controls": [],
            "tom": {"catalog": {"id": "t"}, "items": items, "results": [hourly]}}


def text(lang):
    buf = io.StringIO()
    summary_from_doc(Console(file=buf, width=200, force_terminal=False), doc(), lang=lang)
    return buf.getvalue()


def test_measure_titles_in_the_language_asked_and_fallbacks_marked():
    de, en = text("de"), text("en")
    assert "Nur Schlüssel" in de and "Keys only" not in de
    assert "Keys only" in en and "Nur Schlüssel" not in en
    assert "VPN for admins (en)" in de and "nicht geprüft" in de
    assert "Stündliche Sicherung [Admin] und [lit. b] (de)" in en      # markup printed as text


def test_failing_controls_name_their_measures_and_parameters():
    en = text("en")
    row = next(line for line in en.splitlines() if "SSH-001" in line and "web1" in line)
    assert "§ 3.1" in row
    row = next(line for line in en.splitlines() if "BACKUP-001" in line)
    assert "C.3 [b] (max_age=1h)" in row and "marker 5 h old" in row


def test_a_fleet_s_failures_are_summarised_per_control_not_per_host():
    """Above MAX_ROWS failing results the terminal lists each failing control once, with how many
    hosts fail it and the first of them (rendering thousands of rows cost seconds and helps no log
    reader); below it, every host's finding has its row."""
    from hardencheck.report.terminal import MAX_ROWS

    base = doc()
    fail = base["results"][0]
    hosts = [f"web{i:03d}" for i in range(60)]
    controls = ["SSH-001", "SSH-002", "FW-001", "KERN-001"]
    base["hosts"] = [{"name": h, "identity": {"address": "10.0.0.1"}} for h in hosts]
    base["results"] = [dict(fail, host=h, control=c, message=f"{c} on {h}") for h in hosts for c in controls]
    assert len(base["results"]) > MAX_ROWS
    buf = io.StringIO()
    summary_from_doc(Console(file=buf, width=200, force_terminal=False), base)
    out = buf.getvalue()
    rows = [line for line in out.splitlines() if "60: web000, web001, web002 …" in line]
    assert sorted(next(c for c in controls if c in r) for r in rows) == sorted(controls)
    assert "SSH-001 on web059" not in out and "failing controls (240)" in out
    base["results"] = base["results"][:MAX_ROWS - 1]      # with the one measure failure: MAX_ROWS
    buf = io.StringIO()
    summary_from_doc(Console(file=buf, width=200, force_terminal=False), base)
    assert "SSH-001 on web000" in buf.getvalue()
