"""OSCAL assessment results (report.oscal), validated against an OSCAL model library.

The validator is ``oscal-bindings`` (a test extra): Pydantic models generated from NIST's
published OSCAL JSON Schema, validating a dict (alias keys, unknown keys rejected). It is used
instead of compliance-trestle, which pins paramiko and jinja2 to exact versions. The bindings
leave out the JSON Schema's pattern for OSCAL ``string`` (one line, no blanks at either end) and
``token``; ``oscal_datatypes`` checks those on top.
"""

import copy
import json
import re
import sys

import pytest

if sys.version_info < (3, 11):
    pytest.skip("the OSCAL models (oscal-bindings) need Python 3.11", allow_module_level=True)

from oscal_bindings import AssessmentResultsDocument, __oscal_schema_version__  # noqa: E402

from hardencheck.cli import main  # noqa: E402
from hardencheck.records.bundle import host_file_name, read_manifest  # noqa: E402
from hardencheck.report import FORMATS  # noqa: E402
from hardencheck.report.rendering import render  # noqa: E402
from hardencheck.report.oscal import OSCAL_VERSION  # noqa: E402

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
STRING = re.compile(r"^\S(.*\S)?$")            # OSCAL string (ECMA '.': no line breaks)
TOKEN = re.compile(r"^[A-Za-z_][A-Za-z0-9._-]*$")
HOSTILE = ("<script>alert(1)</script> [click](https://evil.example) **x** `rm -rf /` a|b\n# head\r\n"
           "nul\x00 esc\x1b[2J bad\ud800 \u2028line \"quote\" ../../etc/passwd")


def validate(data: bytes) -> dict:
    doc = json.loads(data.decode("utf-8"))
    AssessmentResultsDocument.model_validate(doc)
    oscal_datatypes(doc)
    return doc["assessment-results"]


def oscal_datatypes(node, key=None):
    """The JSON Schema's string/token/uuid patterns the bindings do not check."""
    if isinstance(node, dict):
        for k, v in node.items():
            oscal_datatypes(v, k)
        if "name" in node and "value" in node:               # a property
            assert TOKEN.match(node["name"]) and STRING.match(node["value"]), node
    elif isinstance(node, list):
        for v in node:
            oscal_datatypes(v, key)
    elif isinstance(node, str):
        if key in ("title", "version", "oscal-version", "last-modified", "name", "value"):
            assert STRING.match(node), (key, node)
        if key in ("uuid", "actor-uuid", "subject-uuid", "observation-uuid", "risk-uuid", "party-uuids",
                   "component-uuid", "party-uuid"):
            assert UUID.match(node), (key, node)
        if key in ("target-id", "control-id", "objective-id", "role-id"):
            assert TOKEN.match(node), (key, node)


def test_registered():
    assert FORMATS["oscal"] == ("hardencheck.report.oscal", "oscal-assessment-results.json")
    # the document declares the OSCAL release it is validated against (within 1.x, a patch
    # release of the models changes nothing the document uses)
    assert OSCAL_VERSION.split(".")[:2] == __oscal_schema_version__.split(".")[:2]


def test_real_scan_validates_and_points_at_the_host_files(tmp_path):
    out = tmp_path / "runs"
    # a register entry and an attestation: results carry ``responses`` into the host files, and
    # the attestation's document is copied into the bundle
    (tmp_path / "exceptions.yml").write_text(
        "exceptions:\n  - id: REM-1\n    action: remediation_planned\n    controls: [SSH-001]\n"
        "    hosts: ['*']\n    justification: move to keys\n    owner: Ops\n    due: 2099-01-01\n")
    (tmp_path / "zutritt.txt").write_text("badge access\n")
    (tmp_path / "attestations.yml").write_text(
        "attestations:\n  - measure: '1.1'\n    statement: Badge access.\n    owner: FM\n"
        "    attested_by: Jana Beispiel\n    date: 2020-01-01\n    valid_until: 2099-12-31\n"
        "    evidence:\n      - path: zutritt.txt\n")
    main(["scan", "--out", str(out), "--control", "RAID-001,SSH-001", "--quiet", "--no-history",
          "--exceptions", str(tmp_path / "exceptions.yml"), "--attestations", str(tmp_path / "attestations.yml"),
          "--format", "json,oscal"])
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    data = (run_dir / "oscal-assessment-results.json").read_bytes()
    ar = validate(data)
    res = json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    manifest = {e["path"]: e["sha256"] for e in read_manifest(run_dir)["files"]}
    assert "oscal-assessment-results.json" in manifest
    (result,) = ar["results"]
    assert result["start"] == res["run"]["started_at"] and result["end"] == res["run"]["ended_at"]
    assert ar["metadata"]["version"] == res["run"]["id"]
    judged = [r for r in res["results"] if r["status"] != "skipped"]
    assert len(result["observations"]) == len(judged) == 2
    resources = {r["uuid"]: r for r in ar["back-matter"]["resources"]}
    for obs in result["observations"]:
        assert obs["methods"] == ["TEST"]
        (ev,) = obs["relevant-evidence"]
        host = res["hosts"][0]["name"]
        assert ev["href"] == f"hosts/{host_file_name(host)}"
        digest = next(p["value"] for p in ev["props"] if p["name"] == "sha256")
        assert digest == manifest[ev["href"]]          # the file the manifest lists, byte for byte
        (link,) = ev["links"]
        rl = resources[link["href"][1:]]["rlinks"][0]
        assert rl["href"] == ev["href"] and rl["hashes"] == [{"algorithm": "SHA-256", "value": digest}]
    (item,) = result["local-definitions"]["inventory-items"]
    assert {"transport", "address", "host-file-sha256"} <= {p["name"] for p in item["props"]}
    assert result["observations"][0]["subjects"] == [{"subject-uuid": item["uuid"], "type": "inventory-item"}]
    # the TOM measures as control objectives, the roll-up as findings
    objectives = [o["objective-id"] for o in
                  result["reviewed-controls"]["control-objective-selections"][0]["include-objectives"]]
    assert "tom-1.2.1" in objectives
    assert {c["control-id"] for c in result["reviewed-controls"]["control-selections"][0]["include-controls"]} \
        == {"RAID-001", "SSH-001"}
    finding = next(f for f in result["findings"] if f["target"]["target-id"] == "tom-1.2.1")
    assert finding["target"]["type"] == "objective-id"
    status = next(m["status"] for m in res["tom"]["items"] if m["id"] == "1.2.1")
    assert finding["target"]["status"]["state"] == ("satisfied" if status == "met" else "not-satisfied")
    assert ar["import-ap"]["href"][1:] in resources
    assert any(r.get("responses") for r in res["results"])        # the host file's hash covers them
    (att,) = result["attestations"]
    (doc_link,) = [link for link in att["parts"][0]["links"] if link["rel"] == "evidence"]
    copy_rlink = resources[doc_link["href"][1:]]["rlinks"][0]
    assert copy_rlink["hashes"][0]["value"] == manifest[copy_rlink["href"]]
    # `report RUN --format oscal` renders the same bytes from the saved run
    assert main(["report", str(run_dir), "--format", "oscal", "--out", str(tmp_path / "again")]) == 0
    assert (tmp_path / "again" / "oscal-assessment-results.json").read_bytes() == data


def _result(host, control, status, **extra):
    return {"host": host, "control": control, "status": status, "severity": "high",
            "expected": "`x` equals 1", "actual": {"x": 2}, "message": "x is 2", "reason": None,
            "tom": ["2.1"], "params": {}, "evidence": {"probe": "p", "args": {}, "sections": [f"{host}/p/s"],
                                                       "collected_at": "2026-11-20T10:00:01.000Z"}, **extra}


def _host(name, fingerprint="SHA256:abc"):
    return {"name": name, "identity": {"name": name, "address": "192.0.2.7", "port": 22, "user": "audit",
                                       "transport": "ssh", "host_key_type": "ssh-ed25519",
                                       "host_key_fingerprint": fingerprint},
            "status": "ok", "error": None, "started_at": "2026-11-20T10:00:00.000Z",
            "ended_at": "2026-11-20T10:00:02.000Z", "os": None, "exec": None, "groups": ["prod"]}


WAIVER = {"id": "EXC-2026-014", "action": "risk_accepted", "state": "active",
          "justification": "Vendor appliance; root login needed until Q2.", "approved_by": "Jana Beispiel (CISO)",
          "granted": "2026-11-02", "expires": "2027-03-31", "ticket": "SEC-1234", "owner": None, "due": None}


def synthetic(host_a="legacy-db-1", host_b="web-1", *, justification=WAIVER["justification"],
              statement="Server rooms use badge access with a visitor log.") -> dict:
    waiver = dict(WAIVER, justification=justification)
    expired = dict(WAIVER, id="EXC-2025-003", state="expired", expires="2026-01-31")
    plan = {"id": "REM-7", "action": "remediation_planned", "state": "active", "justification": "Ticket open",
            "approved_by": None, "granted": None, "expires": None, "ticket": "SEC-9", "owner": "Ops", "due": "2027-01-15"}
    results = [_result(host_a, "SSH-002", "waived", responses=[waiver]),
               _result(host_b, "SSH-002", "fail", responses=[expired]),
               _result(host_a, "SSH-001", "pass"), _result(host_b, "SSH-001", "error", reason="timeout"),
               _result(host_b, "FW-001", "fail", responses=[plan]), _result(host_a, "FW-001", "skipped")]
    evidence = {f"{h}/p/s": {"host": h, "probe": "p", "command": "c"} for h in (host_a, host_b)}
    items = [
        {"id": "2", "title": {"en": "Access", "de": "Zugang"}, "status": "not_met", "group": True},
        {"id": "2.1", "title": {"en": "Root login", "de": "Root"}, "group": False, "status": "met_with_exceptions",
         "controls": ["SSH-002"], "hosts": {host_a: "met_with_exceptions", host_b: "not_met"},
         "text": {"en": "No root login.", "de": "Kein Root."}, "category": "zugangskontrolle", "art32": "b"},
        {"id": "2.2", "title": {"en": "Firewall", "de": "Firewall"}, "group": False, "status": "not_met",
         "controls": ["FW-001", "SSH-001"], "hosts": {host_a: "met", host_b: "not_met"}},
        {"id": "1.1", "title": {"en": "Physical access", "de": "Zutritt"}, "group": False, "status": "attested",
         "controls": [], "hosts": {host_a: "attested", host_b: "attested"}},
        {"id": "1.2", "title": {"en": "Visitors", "de": "Besucher"}, "group": False,
         "status": "attestation_expired", "controls": [], "hosts": {}},
        {"id": "9.9", "title": {"en": "Unused", "de": "Ungenutzt"}, "group": False, "status": "not_assessed",
         "controls": ["KERN-001"], "hosts": {}},
    ]
    attestations = {"file": {"path": "attestations.yml", "sha256": "a" * 64, "copy": "attestations/attestations.yml"},
                    "date": "2026-11-20", "entries": [
        {"measure": "1.1", "groups": None, "statement": statement, "owner": "Facility Management",
         "attested_by": "Jana Beispiel (CISO)", "date": "2026-11-20", "valid_until": "2027-11-19", "state": "valid",
         "evidence": [{"path": "docs/zutritt.pdf", "sha256": "b" * 64, "size": 10, "status": "ok", "checked": True,
                       "copy": "attestations/documents/1-1-zutritt.pdf"},
                      {"url": "https://intranet.example/access.pdf", "sha256": "c" * 64, "status": "ok",
                       "checked": False}]},
        {"measure": "1.2", "groups": ["prod"], "statement": "Visitor log.", "owner": "FM", "attested_by": "Max",
         "date": "2025-01-01", "valid_until": "2025-12-31", "state": "expired", "evidence": []}]}
    return {"schema_version": "1.3",
            "run": {"id": "20261120T100000Z-abcdef", "started_at": "2026-11-20T10:00:00.000Z",
                    "ended_at": "2026-11-20T10:00:03.000Z", "complete": True,
                    "tool": {"name": "hardencheck", "version": "0.1.0"}, "scanner": {"host": "ci", "user": "audit"},
                    "inventory": {"path": "inv.yml", "sha256": None, "hosts": [host_a, host_b], "not_scanned": []},
                    "controls": {"path": "controls", "sha256": "d" * 64, "ids": ["SSH-001", "SSH-002", "FW-001"]},
                    "options": {}, "exit_code": 1},
            "summary": {"hosts": 2, "status_counts": {}},
            "controls": [{"id": c, "title": f"{c} title", "severity": "high", "probe": "p", "sha256": "e" * 64}
                         for c in ("SSH-001", "SSH-002", "FW-001")],
            "hosts": [_host(host_a), _host(host_b, fingerprint=None)], "results": results, "evidence": evidence,
            "tom": {"catalog": {"id": "acme-tom", "version": "3.2", "sha256": "f" * 64, "path": "tom.yml",
                                "title": {"en": "ACME TOM", "de": "ACME TOM"}}, "items": items},
            "attestations": attestations, "exceptions": {"file": {"path": "exc.yml"}, "entries": [waiver]},
            "deviations": [{"host": host_a, "control": "SSH-001", "param": "root_login_allowed", "default": ["no"],
                            "value": ["no", "yes"], "why": "accepts values the default does not"}]}


def test_waivers_become_risks_and_attestations_are_kept():
    ar = validate(render("oscal", synthetic()))
    (result,) = ar["results"]
    risks = {next(p["value"] for p in r["props"] if p["name"] == "response-id"): r for r in result["risks"]}
    assert risks["EXC-2026-014"]["status"] == "deviation-approved"
    assert risks["EXC-2025-003"]["status"] == "open"          # expired: the result is a fail again
    assert risks["REM-7"]["status"] == "remediating"
    waiver = risks["EXC-2026-014"]
    assert waiver["description"] == "Vendor appliance; root login needed until Q2."
    assert {("approved-by", "Jana Beispiel (CISO)"), ("expires", "2027-03-31"), ("ticket", "SEC-1234")} <= \
        {(p["name"], p["value"]) for p in waiver["props"]}
    (log,) = waiver["risk-log"]["entries"]
    parties = {p["uuid"]: p for p in ar["metadata"]["parties"]}
    assert parties[log["logged-by"][0]["party-uuid"]]["name"] == "Jana Beispiel (CISO)"
    waived_obs = next(o for o in result["observations"] if o["title"] == "SSH-002 on legacy-db-1: waived")
    assert waiver["related-observations"] == [{"observation-uuid": waived_obs["uuid"]}]
    findings = {f["target"]["target-id"]: f for f in result["findings"]}
    assert set(findings) == {"tom-2.1", "tom-2.2", "tom-1.1", "tom-1.2"}      # not_assessed and groups: none
    mwe = findings["tom-2.1"]
    assert mwe["target"]["status"] == {"state": "not-satisfied", "reason": "fail"}
    assert {r["risk-uuid"] for r in mwe["related-risks"]} == {waiver["uuid"], risks["EXC-2025-003"]["uuid"]}
    assert findings["tom-1.1"]["target"]["status"] == {"state": "satisfied", "reason": "other"}
    assert findings["tom-1.2"]["target"]["status"]["state"] == "not-satisfied"
    # attestations: statement as prose, attestor as responsible party, documents with their hashes
    first, second = result["attestations"]
    assert first["parts"][0]["prose"] == "Server rooms use badge access with a visitor log."
    assert parties[first["responsible-parties"][0]["party-uuids"][0]]["name"] == "Jana Beispiel (CISO)"
    resources = {r["uuid"]: r for r in ar["back-matter"]["resources"]}
    docs = [resources[link["href"][1:]] for link in first["parts"][0]["links"] if link["rel"] == "evidence"]
    hashes = [h["value"] for d in docs for rl in d["rlinks"] for h in rl.get("hashes", [])]
    assert hashes == ["b" * 64, "b" * 64, "c" * 64]
    assert ("state", "expired") in {(p["name"], p["value"]) for p in second["parts"][0]["props"]}
    # a pass under a loosened parameter says so
    passed = next(o for o in result["observations"] if o["title"] == "SSH-001 on legacy-db-1: pass")
    assert ("baseline-deviation", 'root_login_allowed: ["no"] -> ["no", "yes"]') in \
        {(p["name"], p["value"]) for p in passed["props"]}
    assert "accepts values the default does not" in passed["remarks"]
    # the host without a host key fingerprint has no such property (not an empty one)
    items = result["local-definitions"]["inventory-items"]
    assert [sum(p["name"] == "host-key-fingerprint" for p in i["props"]) for i in items] == [1, 0]
    assert ("ipv4-address", "192.0.2.7") in {(p["name"], p["value"]) for p in items[0]["props"]}


@pytest.mark.parametrize("strip", ["attestations", "responses", "tom", "everything"])
def test_older_documents_without_the_new_blocks(strip):
    doc = synthetic()
    doc["schema_version"] = "1.2"
    for k in ("attestations", "exceptions", "deviations"):
        doc.pop(k)
    if strip in ("responses", "everything"):
        for r in doc["results"]:
            r.pop("responses", None)
            r["status"] = "fail" if r["status"] == "waived" else r["status"]
    if strip in ("tom", "everything"):
        doc.pop("tom")
    if strip == "everything":
        doc.update(results=[], hosts=[], evidence={}, controls=[])
        doc["run"].pop("scanner")
    result = validate(render("oscal", doc))["results"][0]
    assert "attestations" not in result
    if strip in ("responses", "everything"):
        assert "risks" not in result


def test_hostile_strings_are_inert():
    doc = synthetic(host_a=HOSTILE, host_b="x\" , \"uuid\": \"evil", justification=HOSTILE, statement=HOSTILE)
    doc["controls"][0]["title"] = HOSTILE
    doc["tom"]["items"][1]["text"]["en"] = HOSTILE
    ar = validate(render("oscal", doc))
    result = ar["results"][0]
    markup = [result["risks"][0]["description"], result["attestations"][0]["parts"][0]["prose"]] + \
        [o["description"] for o in result["observations"]]
    for m in markup:
        assert "<script>" not in m and "[click](" not in m and "**x**" not in m and "\n# head" not in m
    escaped = "\\<script\\>alert(1)\\</script\\> \\[click\\](https://evil.example) \\*\\*x\\*\\*"
    assert sum(escaped in m for m in markup) >= 4
    # identifiers never carry a host's string
    for item in result["local-definitions"]["inventory-items"]:
        assert UUID.match(item["uuid"])
    hrefs = {ev.get("href") for o in result["observations"] for ev in o["relevant-evidence"]}
    # a name with a lone surrogate could not have a host file (the bundle cannot encode it): no href
    assert None in hrefs and len(hrefs) == 2
    assert all(re.fullmatch(r"hosts/[A-Za-z0-9_.-]+\.json", h) for h in hrefs - {None})
    names = {p["value"] for i in result["local-definitions"]["inventory-items"] for p in i["props"]
             if p["name"] == "host-name"}
    assert 'x" , "uuid": "evil' in names and len(names) == 2


def test_bytes_are_deterministic():
    doc = synthetic()
    first = render("oscal", doc)
    assert render("oscal", copy.deepcopy(doc)) == first
    assert render("oscal", json.loads(json.dumps(doc))) == first
    other = copy.deepcopy(doc)
    other["run"]["id"] = "20261121T100000Z-123456"
    a, b = json.loads(first), json.loads(render("oscal", other))
    assert a["assessment-results"]["uuid"] != b["assessment-results"]["uuid"]
    uuids = re.findall(r'"uuid": "([^"]+)"', first.decode())
    assert len(uuids) == len(set(uuids))


def test_the_validator_refuses_what_oscal_does_not_allow():
    ar = json.loads(render("oscal", synthetic()))
    AssessmentResultsDocument.model_validate(ar)
    for mutate in (lambda a: a["results"][0]["risks"][0].update(uuid="EXC-2026-014"),
                   lambda a: a["results"][0]["observations"][0].update(methods=[]),
                   lambda a: a["results"][0]["findings"][0]["target"].update(type="measure"),
                   lambda a: a["metadata"].update(last_modified="2026-11-20T10:00:00Z")):
        bad = copy.deepcopy(ar)
        mutate(bad["assessment-results"])
        with pytest.raises(ValueError):
            AssessmentResultsDocument.model_validate(bad)
