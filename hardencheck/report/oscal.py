"""OSCAL assessment results (``oscal-assessment-results.json``): one run in NIST OSCAL's
assessment-results model (``OSCAL_VERSION``), for GRC tools and auditors that read OSCAL.

The document: ``metadata`` (title, the run's end as last-modified, the run id as version, the
account that ran the scan as assessor, attestors and approvers as parties), ``import-ap``,
``results[0]`` (the run: start/end, the reviewed controls and the TOM measures as control
objectives with the catalog's identity, the hosts as inventory items, observations, findings,
risks, attestations; ``report.oscal_parts`` says what maps to what) and ``back-matter`` (the
host files with their SHA-256, the TOM catalog, the run plan, attestation documents).

``import-ap``: hardencheck has no OSCAL assessment plan. What planned the run is the bundle's
``run.json`` (inventory, selected controls, TOM catalog), so ``import-ap`` points at a
back-matter resource that names it and says it is not an OSCAL assessment plan.

Bytes are deterministic: UUIDs are uuid5 of the run id and what they stand for, times come from
the document, nothing is added at render time. Paths (``hosts/...``, ``run.json``) are relative to
the run folder.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from hardencheck.report import oscal_parts as parts
from hardencheck.report.oscal_parts import Context, rlink
from hardencheck.report.oscal_text import Ids, host_file, host_file_sha256, line, md, props, token, when
from hardencheck.report.view import ReportView

OSCAL_VERSION = "1.2.3"
EPOCH = "1970-01-01T00:00:00Z"


def render(view: ReportView, lang: str) -> bytes:
    doc = view.doc
    run = doc.get("run") or {}
    run_id = line(run.get("id"), "")
    start = when(view.started_at) or when(view.ended_at) or EPOCH
    ctx = Context(ids=Ids(run_id or view.sha256), lang=lang, start=start, tool_uuid="")
    ctx.tool_uuid = ctx.ids("tool")
    results = doc.get("results") or []
    titles = {str(c.get("id")): str(c.get("title") or "") for c in doc.get("controls") or []}

    inventory = _inventory(ctx, view, results, doc.get("evidence") or {})
    observations, obs_of = parts.observations(ctx, results, titles, doc.get("deviations"))
    risks, risk_of = parts.risks(ctx, results, obs_of)
    tom = doc.get("tom") or {}
    items = [m for m in tom.get("items") or [] if isinstance(m, dict)]
    findings = parts.findings(ctx, items, obs_of, risk_of)
    attestations = parts.attestations(ctx, doc.get("attestations"))

    result: dict[str, Any] = {
        "uuid": ctx.ids("result"),
        "title": line(f"hardencheck scan {run_id or '(no run id)'}"),
        "description": md(_summary(view)),
        "start": start,
    }
    if when(view.ended_at):
        result["end"] = view.ended_at
    result["props"] = props(("run-id", run_id), ("complete", "yes" if view.complete else "no"),
                            ("exit-code", view.exit_code), ("results-sha256", view.sha256),
                            ("schema-version", doc.get("schema_version")),
                            ("not-scanned", list(view.not_scanned)))
    result["local-definitions"] = {
        **({"inventory-items": inventory} if inventory else {}),
        "assessment-assets": _assets(ctx, run),
    }
    result["reviewed-controls"] = _reviewed(ctx, results, items, tom.get("catalog") or {}, run)
    for key, value in (("attestations", attestations), ("observations", observations), ("risks", risks),
                       ("findings", findings)):
        if value:
            result[key] = value

    ar = {
        "uuid": ctx.ids("assessment-results"),
        "metadata": _metadata(ctx, view, run, run_id),
        "import-ap": {"href": _plan(ctx), "remarks": md(
            "No OSCAL assessment plan exists for this run: hardencheck plans a scan in the run "
            "bundle's run.json (inventory, selected controls, TOM catalog). This reference names "
            "that file; it is not an OSCAL assessment plan.")},
        "results": [result],
    }
    if ctx.resources:
        ar["back-matter"] = {"resources": ctx.resources}
    return (json.dumps({"assessment-results": ar}, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def _summary(view: ReportView) -> str:
    totals = ", ".join(f"{n} {s}" for s, n in view.totals.items() if n) or "no results"
    tom = ", ".join(f"{n} {s}" for s, n in view.tom_counts.items()) or "no TOM roll-up"
    return (f"{len(view.hosts)} host(s) scanned by hardencheck {view.tool_version or ''}: {totals}. "
            f"TOM measures: {tom}." + ("" if view.complete else " The scan was interrupted: incomplete."))


def _metadata(ctx: Context, view: ReportView, run: dict, run_id: str) -> dict:
    scanner = run.get("scanner") if isinstance(run.get("scanner"), dict) else {}
    who = f"{scanner.get('user') or 'unknown'}@{scanner.get('host') or 'unknown'}"
    assessor = ctx.party(who, remarks="the account that ran the scan (results.json run.scanner)")
    roles = [{"id": "assessor", "title": "Assessor (ran the scan)"},
             {"id": "attestor", "title": "Attestor of an organisational measure"},
             {"id": "approver", "title": "Approver of a deviation"}]
    meta: dict[str, Any] = {
        "title": line(f"hardencheck assessment results, run {run_id or '(no run id)'}"),
        "last-modified": when(view.ended_at) or ctx.start,
        "version": run_id or view.sha256[:16],
        "oscal-version": OSCAL_VERSION,
        "props": props(("tool", "hardencheck"), ("tool-version", view.tool_version),
                       ("results-sha256", view.sha256)),
        "roles": roles,
    }
    meta["parties"] = list(ctx.parties.values())
    meta["responsible-parties"] = [{"role-id": "assessor", "party-uuids": [assessor]}]
    return meta


def _assets(ctx: Context, run: dict) -> dict:
    tool = run.get("tool") if isinstance(run.get("tool"), dict) else {}
    component = {
        "uuid": ctx.tool_uuid, "type": "software", "title": line(f"hardencheck {tool.get('version') or ''}"),
        "description": md("Agentless SSH compliance scanner: one probe script per host, every verdict "
                          "with the command output it was judged on."),
        "props": props(("version", tool.get("version")), ("python", run.get("python"))),
        "status": {"state": "operational"},
    }
    if not component["props"]:
        del component["props"]
    return {"components": [component], "assessment-platforms": [{
        "uuid": ctx.ids("platform"), "title": "hardencheck",
        "uses-components": [{"component-uuid": ctx.tool_uuid}]}]}


def _inventory(ctx: Context, view: ReportView, results: list[dict], evidence: dict) -> list[dict]:
    """One inventory item per host; also fills ``ctx.host_uuid`` and ``ctx.host_files``."""
    by_host: dict[str, list[dict]] = {}
    for r in results:
        by_host.setdefault(str(r.get("host")), []).append(r)
    # a scan's evidence is read back from the host files, whose hashes the manifest has
    # (records.host_files): nothing to read or encode again
    file_sha256 = getattr(evidence, "file_sha256", None)
    ev_by_host: dict[str, dict] = {}
    for k, v in (evidence.items() if file_sha256 is None else ()):
        if isinstance(v, dict):
            ev_by_host.setdefault(str(v.get("host")), {})[k] = v
    items = []
    for h in view.hosts:
        uid = ctx.ids("host", h.name)
        ctx.host_uuid[h.name] = uid
        path = host_file(h.name)
        digest = ((file_sha256(h.name) if file_sha256 is not None else
                   host_file_sha256(h.record, by_host.get(h.name, []), ev_by_host.get(h.name, {})))
                  if h.record is not None and path else None)
        ctx.host_files[h.name] = (path, digest)
        ident = (h.record or {}).get("identity") or {}
        os_ = (h.record or {}).get("os") or {}
        pairs: list[tuple[str, Any]] = [("host-name", h.name), ("address", h.address or None),
                                        ("port", ident.get("port")), ("user", ident.get("user")),
                                        ("transport", ident.get("transport")),
                                        ("host-key-type", ident.get("host_key_type")),
                                        ("host-key-fingerprint", h.fingerprint), ("scan-status", h.status),
                                        ("error-reason", h.reason), ("host-file", path),
                                        ("host-file-sha256", digest),
                                        ("group", list((h.record or {}).get("groups") or []))]
        item: dict[str, Any] = {"uuid": uid, "description": md(f"Host {h.name} ({h.address or 'no address'})"),
                                "props": _standard_props(h, os_) + props(*pairs)}
        if h.message:
            item["remarks"] = md(h.message)
        items.append(item)
    return items


def _standard_props(h, os_: dict) -> list[dict]:
    """OSCAL's own inventory-item properties where hardencheck knows the value."""
    out = [{"name": "asset-id", "value": line(h.name)}]
    try:
        ip = ipaddress.ip_address(h.address)
        out.append({"name": "ipv4-address" if ip.version == 4 else "ipv6-address", "value": str(ip)})
    except ValueError:
        pass
    if isinstance(os_, dict) and os_.get("pretty_name"):
        out.append({"name": "os-name", "value": line(os_.get("pretty_name"))})
    if isinstance(os_, dict) and os_.get("version_id"):
        out.append({"name": "os-version", "value": line(os_.get("version_id"))})
    return out


def _reviewed(ctx: Context, results: list[dict], items: list[dict], catalog: dict, run: dict) -> dict:
    """The controls this run judged and the TOM measures (control objectives) they prove."""
    judged = list(dict.fromkeys(str(r.get("control")) for r in results if r.get("status") != "skipped"))
    measures = [m for m in items if not m.get("group") and m.get("status") != "not_assessed"]
    controls = run.get("controls") if isinstance(run.get("controls"), dict) else {}
    out: dict[str, Any] = {
        "description": md(f"The hardencheck controls judged in this run (control library SHA-256 "
                          f"{controls.get('sha256') or 'unknown'}) and the measures of the TOM catalog "
                          f"{catalog.get('id') or '(none)'} version {catalog.get('version') or '-'} they prove, "
                          f"each measure as the control objective tom-<measure id>."),
        "props": props(("controls-sha256", controls.get("sha256")), ("tom-catalog-id", catalog.get("id")),
                       ("tom-catalog-version", catalog.get("version")), ("tom-catalog-date", catalog.get("date")),
                       ("tom-catalog-sha256", catalog.get("sha256"))),
        "control-selections": [{"include-controls": [{"control-id": token(c)} for c in judged]}
                               if judged else {"include-all": {}}],
    }
    if catalog.get("id"):
        title = (catalog.get("title") or {}).get(ctx.lang) or catalog.get("id")
        out["links"] = [{"href": ctx.resource(("tom-catalog",), f"TOM catalog: {title}",
                                              [rlink(catalog.get("path") or "tom", catalog.get("sha256"))],
                                              extra=props(("tom-catalog-id", catalog.get("id")),
                                                          ("tom-catalog-version", catalog.get("version")))),
                         "rel": "reference", "text": "TOM catalog"}]
    if measures:
        out["control-objective-selections"] = [{"include-objectives": [
            {"objective-id": token(m.get("id"), "tom-")} for m in measures]}]
    if not out["props"]:
        del out["props"]
    return out


def _plan(ctx: Context) -> str:
    return ctx.resource(("run-plan",), "hardencheck run plan (run.json; not an OSCAL assessment plan)",
                        [rlink("run.json", None, "application/json")],
                        description=md("The run as planned, written first into the run bundle: run "
                                       "metadata, control definitions, TOM catalog identity."))
