"""The parts of the OSCAL result (``report.oscal``): observations, findings, risks, attestations,
and the context they share (UUIDs, back-matter resources, parties).

What maps to what:

- each (host, control) result that was judged (every status but ``skipped``) -> an observation,
  method ``TEST``, subject the host's inventory item, ``relevant-evidence`` the host's file in
  the run bundle (``hosts/<name>-<hash>.json``, relative to the run folder) with its SHA-256 as
  property and as hash of the back-matter resource it links to;
- each TOM measure with a roll-up status (all but ``not_assessed``/``not_applicable``) -> a
  finding whose target is the measure's control objective (``objective-id`` ``tom-<id>``):
  ``met`` satisfied (pass), ``attested`` satisfied (other: a person's attestation, not a test),
  ``not_met`` and ``met_with_exceptions`` not-satisfied (fail: the controls failed, the waivers
  are the finding's risks), everything else not-satisfied (other: nothing was proven);
- each deviation from the baseline (a parameter a host's inventory loosens) -> a property and a
  remark of that host's observation of the control;
- each entry of the response register that covers a failed or waived result -> a risk:
  ``deviation-approved`` when it waived a result, ``remediating`` for ``remediation_planned``,
  ``open`` otherwise (an expired waiver: the result is a fail again);
- each attestation -> an attestation of the result (statement as prose, attestor as responsible
  party), its documents as back-matter resources with their SHA-256.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from hardencheck.report.oscal_text import NS, Ids, day_start, host_file, href, line, md, props, token, when

WAIVING = ("risk_accepted", "false_positive")
#: roll-up status -> (finding target state, reason); any other status: not-satisfied, other
FINDING_STATE = {
    "met": ("satisfied", "pass"),
    "attested": ("satisfied", "other"),
    "not_met": ("not-satisfied", "fail"),
    "met_with_exceptions": ("not-satisfied", "fail"),
}
NO_FINDING = ("not_assessed", "not_applicable")


@dataclass
class Context:
    ids: Ids
    lang: str
    start: str                                   # a valid dateTime for anything without its own
    tool_uuid: str
    host_uuid: dict[str, str] = field(default_factory=dict)
    host_files: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # host -> (href, sha256)
    resources: list[dict] = field(default_factory=list)
    parties: dict[tuple[str, str], dict] = field(default_factory=dict)
    _resource_uuids: set[str] = field(default_factory=set)

    def party(self, name: Any, kind: str = "person", remarks: str | None = None) -> str:
        """The UUID of a party of the metadata (one per name and kind)."""
        key = (line(name), kind)
        if key not in self.parties:
            p = {"uuid": self.ids("party", kind, key[0]), "type": kind, "name": key[0]}
            if remarks:
                p["remarks"] = remarks
            self.parties[key] = p
        return self.parties[key]["uuid"]

    def resource(self, key: tuple, title: Any, rlinks: list[dict], description: str | None = None,
                 extra: list | None = None) -> str:
        """A back-matter resource (once per key); returns the ``#uuid`` that links to it."""
        uid = self.ids("resource", *key)
        if uid not in self._resource_uuids:
            self._resource_uuids.add(uid)
            r: dict[str, Any] = {"uuid": uid, "title": line(title)}
            if description:
                r["description"] = description
            if extra:
                r["props"] = extra
            if rlinks:
                r["rlinks"] = rlinks
            self.resources.append(r)
        return "#" + uid

    @property
    def origins(self) -> list[dict]:
        return [{"actors": [{"type": "tool", "actor-uuid": self.tool_uuid}]}]


def rlink(target: Any, sha256: Any = None, media_type: str | None = None) -> dict:
    out: dict[str, Any] = {"href": href(target)}
    if media_type:
        out["media-type"] = media_type
    if isinstance(sha256, str) and sha256:
        out["hashes"] = [{"algorithm": "SHA-256", "value": line(sha256)}]
    return out


def observations(ctx: Context, results: list[dict], titles: dict[str, str], deviations: Any = None
                 ) -> tuple[list[dict], dict]:
    """One observation per judged result; returns them and {(host, control): observation uuid}.
    ``deviations`` (results.json 1.3): parameters a host's inventory makes less strict than the
    library's default; each is a ``baseline-deviation`` property and a remark of its result's
    observation (a pass under a loosened parameter says so)."""
    loosened: dict[tuple[str, str], list[dict]] = {}
    for d in deviations if isinstance(deviations, list) else []:
        if isinstance(d, dict):
            loosened.setdefault((str(d.get("host")), str(d.get("control"))), []).append(d)
    out, by_pair = [], {}
    for i, r in enumerate(results):
        status = r.get("status")
        if status == "skipped":
            continue
        host, control = str(r.get("host")), str(r.get("control"))
        uid = ctx.ids("observation", i, host, control)
        by_pair.setdefault((host, control), []).append(uid)
        ev = r.get("evidence") if isinstance(r.get("evidence"), dict) else {}
        text = [f"{control} ({titles.get(control, '')}) on {host}: {status}.",
                f"Expected: {r.get('expected') or '-'}", f"Found: {r.get('message') or '-'}"]
        obs: dict[str, Any] = {
            "uuid": uid, "title": line(f"{control} on {host}: {status}"),
            "description": md("\n\n".join(text)),
            "props": props(("control-id", control), ("status", status), ("severity", r.get("severity")),
                           ("reason", r.get("reason")), ("tom-measure", r.get("tom") or []),
                           ("response-id", [x.get("id") for x in r.get("responses") or [] if isinstance(x, dict)])),
            "methods": ["TEST"], "origins": ctx.origins,
            "subjects": [{"subject-uuid": ctx.host_uuid[host], "type": "inventory-item"}],
            "collected": when(ev.get("collected_at")) or ctx.start,
        }
        path, digest = ctx.host_files.get(host, (host_file(host), None))
        evidence: dict[str, Any] = {
            "description": md(f"The host's record, results and raw command output in the run bundle "
                              f"({path or 'no file'}, relative to the run folder); sections: "
                              f"{', '.join(str(s) for s in ev.get('sections') or []) or 'none'}."),
            "props": props(("sha256", digest), ("evidence-section", list(ev.get("sections") or []))),
        }
        if path:
            evidence = {"href": path, **evidence}
        if path and digest:
            evidence["links"] = [{"href": ctx.resource(("host-file", host), f"Host file of {host}",
                                                       [rlink(path, digest, "application/json")]),
                                  "rel": "reference"}]
        if not evidence["props"]:
            del evidence["props"]
        obs["relevant-evidence"] = [evidence]
        devs = loosened.get((host, control), [])
        if devs:
            obs["props"] += props(("baseline-deviation", [
                f"{d.get('param')}: {_json(d.get('default'))} -> {_json(d.get('value'))}" for d in devs]))
            obs["remarks"] = md("\n\n".join(
                f"Deviation from the baseline: {d.get('param')} is {_json(d.get('value'))} on this host "
                f"(library default {_json(d.get('default'))}): {d.get('why') or ''}" for d in devs))
        if not obs["props"]:
            del obs["props"]
        out.append(obs)
    return out, by_pair


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def risks(ctx: Context, results: list[dict], obs_of: dict) -> tuple[list[dict], dict]:
    """One risk per register entry that covers a failed or waived result; returns them and
    {(host, control): [risk uuid]}."""
    entries: dict[str, dict] = {}
    for r in results:
        if r.get("status") not in ("fail", "waived"):
            continue
        for resp in r.get("responses") or []:
            if not isinstance(resp, dict) or not resp.get("id"):
                continue
            e = entries.setdefault(str(resp["id"]), {"resp": resp, "pairs": [], "waived": False})
            e["pairs"].append((str(r.get("host")), str(r.get("control"))))
            e["waived"] = e["waived"] or (r.get("status") == "waived" and resp.get("action") in WAIVING)
    out, by_pair = [], {}
    for rid, e in entries.items():
        resp, pairs = e["resp"], e["pairs"]
        uid = ctx.ids("risk", rid)
        for p in pairs:
            by_pair.setdefault(p, []).append(uid)
        action = resp.get("action")
        status = ("deviation-approved" if e["waived"] else "remediating" if action == "remediation_planned"
                  else "open")
        controls = sorted({c for _, c in pairs})
        hosts = sorted({h for h, _ in pairs})
        risk: dict[str, Any] = {
            "uuid": uid, "title": line(f"{rid}: {action} for {', '.join(controls)} on {len(hosts)} host(s)"),
            "description": md(resp.get("justification")),
            "statement": md(f"{', '.join(controls)} failed on {', '.join(hosts)}. Response {rid}: {action}, "
                            f"{resp.get('state') or 'state unknown'}."),
            "props": props(("response-id", rid), ("action", action), ("state", resp.get("state")),
                           ("approved-by", resp.get("approved_by")), ("granted", resp.get("granted")),
                           ("expires", resp.get("expires")), ("ticket", resp.get("ticket")),
                           ("owner", resp.get("owner")), ("due", resp.get("due"))),
            "status": status, "origins": ctx.origins,
        }
        related = [{"observation-uuid": o} for p in pairs for o in obs_of.get(p, [])]
        if related:
            risk["related-observations"] = related
        granted = day_start(resp.get("granted"))
        if status == "deviation-approved" and granted and resp.get("approved_by"):
            approver = ctx.party(resp.get("approved_by"), remarks="approved a deviation (response register)")
            risk["risk-log"] = {"entries": [{
                "uuid": ctx.ids("risk-log", rid), "title": "Deviation approved", "start": granted,
                "logged-by": [{"party-uuid": approver, "role-id": "approver"}],
                "status-change": "deviation-approved"}]}
        out.append(risk)
    return out, by_pair


def findings(ctx: Context, items: list[dict], obs_of: dict, risk_of: dict) -> list[dict]:
    """One finding per TOM measure with a roll-up status (see the module docstring)."""
    out = []
    for m in items:
        status = str(m.get("status"))
        if m.get("group") or status in NO_FINDING:
            continue
        mid = str(m.get("id"))
        title = (m.get("title") or {}).get(ctx.lang) or (m.get("title") or {}).get("en") or mid
        state, reason = FINDING_STATE.get(status, ("not-satisfied", "other"))
        hosts = m.get("hosts") or {}
        per_host = "; ".join(f"{h}: {s}" for h, s in hosts.items()) or "no host"
        text = ((m.get("text") or {}).get(ctx.lang) or "") + f"\n\nRoll-up: {status}. Per host: {per_host}."
        pairs = [(h, c) for h in hosts for c in m.get("controls") or []]
        f: dict[str, Any] = {
            "uuid": ctx.ids("finding", mid), "title": line(f"TOM {mid}: {title}"), "description": md(text),
            "props": props(("tom-measure", mid), ("tom-status", status), ("category", m.get("category")),
                           ("art32", m.get("art32"))),
            "origins": ctx.origins,
            "target": {"type": "objective-id", "target-id": token(mid, "tom-"), "title": line(title),
                       "props": props(("tom-status", status)),
                       "status": {"state": state, "reason": reason}},
        }
        related = [{"observation-uuid": o} for p in pairs for o in obs_of.get(p, [])]
        if related:
            f["related-observations"] = related
        rel_risks = list(dict.fromkeys(u for p in pairs for u in risk_of.get(p, [])))
        if rel_risks:
            f["related-risks"] = [{"risk-uuid": u} for u in rel_risks]
        out.append(f)
    return out


def attestations(ctx: Context, block: Any) -> list[dict]:
    """The result's attestations from results.json's ``attestations`` block (absent before 1.3)."""
    if not isinstance(block, dict):
        return []
    file = block.get("file") if isinstance(block.get("file"), dict) else {}
    out = []
    for i, e in enumerate(block.get("entries") or []):
        if not isinstance(e, dict):
            continue
        links = []
        if file.get("sha256"):
            links.append({"href": ctx.resource(("attestation-file",), f"Attestation file {file.get('path')}",
                                               [rlink(file.get("copy") or file.get("path"), file.get("sha256"))]),
                          "rel": "reference", "text": "attestation file"})
        for j, d in enumerate(e.get("evidence") or []):
            if not isinstance(d, dict):
                continue
            where = d.get("path") or d.get("url")
            rl = [rlink(d["copy"], d.get("sha256"))] if d.get("copy") else []
            rl.append(rlink(where, d.get("sha256")))
            links.append({"href": ctx.resource(("attestation-document", i, j), f"Evidence: {where}", rl,
                                               extra=props(("document-status", d.get("status")),
                                                           ("expected-sha256", d.get("expected_sha256")))),
                          "rel": "evidence"})
        part: dict[str, Any] = {
            "uuid": ctx.ids("attestation", i), "name": "attestation", "ns": NS,
            "title": line(f"TOM {e.get('measure')}: attestation {e.get('state') or ''}"),
            "props": props(("tom-measure", e.get("measure")), ("owner", e.get("owner")),
                           ("attested-by", e.get("attested_by")), ("date", e.get("date")),
                           ("valid-until", e.get("valid_until")), ("state", e.get("state")),
                           ("group", list(e.get("groups") or []))),
            "prose": md(e.get("statement")),
        }
        if links:
            part["links"] = links
        att: dict[str, Any] = {"parts": [part]}
        if e.get("attested_by"):
            att["responsible-parties"] = [{"role-id": "attestor", "party-uuids": [
                ctx.party(e["attested_by"], remarks="attested an organisational measure")]}]
        out.append(att)
    return out
