"""JUnit XML for CI test reports (GitLab, Jenkins, GitHub): a <testsuite> per host, a <testcase>
per control, and one per control judged with a TOM measure's own parameters (``tom.results``).
The test case's name is the control's id and title with the TOM measures it proves, ``SSH-001
Root login … [TOM 1.2.1, A.2]``; a measure's own parameters follow the ids:
``[TOM C.3.1; max_age=1h]``.

Mapping: ``fail`` -> ``<failure type=severity>`` (expected and actual in the body), ``error`` ->
``<error type=reason>``, ``skipped`` and ``not_applicable`` -> ``<skipped>`` with the reason, ``waived``
(a failure an approved exception covers) -> ``<skipped>`` whose message names the waiver's id, action,
expiry and justification, with the failure kept in the body (``waived_message``). Each
suite carries the host's identity as properties (address, user, host-key fingerprint …) and the
suite counts. The layout follows the Apache Ant JUnit schema (windyroad ``JUnit.xsd``), which the
tests validate against: ``<testsuites>`` without attributes, every suite with ``package`` and
``id``, ``<properties>``, ``<system-out>`` and ``<system-err>``, timestamps without a time zone
(they are UTC).

The document is built with ElementTree (which escapes markup). Host output is data: characters
that XML 1.0 forbids (most C0 controls, lone surrogates, U+FFFE/U+FFFF) would make the file
unreadable for every CI parser, so they are replaced by a visible ``\\xNN`` / ``\\uNNNN``
notation, as are bidi overrides; messages and bodies are bounded.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

from hardencheck.report.view import ReportView, no_surrogates

MESSAGE_LIMIT = 1000          # characters in a message attribute
BODY_LIMIT = 16 * 1024        # characters in a failure/error body
PROPERTY_LIMIT = 1000

# Not allowed in XML 1.0 (tab, LF and CR are), plus DEL/C1 and bidi/isolate controls, which XML
# allows but which would reorder or hide text in a CI viewer.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufffe\uffff]")


def clean(text: Any, limit: int | None = None) -> str:
    """Any value -> text that XML 1.0 can carry and a person can read; bounded to ``limit``."""
    s = no_surrogates("" if text is None else str(text))
    s = _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                    else f"\\u{ord(m.group()):04x}", s)
    if limit is not None and len(s) > limit:
        s = s[: limit - 1] + f"… [{len(s) - limit + 1} more characters in results.json]"
    return s


def _token(text: Any, fallback: str) -> str:
    """An xs:token (no leading/trailing/double spaces, no newlines, not empty)."""
    s = " ".join(clean(text, 300).split())
    return s or fallback


def _timestamp(*candidates: str | None) -> str:
    """ISO 8601 UTC -> ``YYYY-MM-DDTHH:MM:SS`` (the schema's pattern; no zone)."""
    for c in candidates:
        if c:
            try:
                dt = datetime.fromisoformat(c.replace("Z", "+00:00"))
                return dt.strftime("%Y-%m-%dT%H:%M:%S")
            except ValueError:
                continue
    return "1970-01-01T00:00:00"


def _seconds(start: str | None, end: str | None) -> str:
    try:
        a = datetime.fromisoformat(start.replace("Z", "+00:00"))   # type: ignore[union-attr]
        b = datetime.fromisoformat(end.replace("Z", "+00:00"))     # type: ignore[union-attr]
        return f"{max((b - a).total_seconds(), 0.0):.3f}"
    except (AttributeError, ValueError):
        return "0"


def classname(host: str) -> str:
    """A stable dotted class name: ``hardencheck.<host>`` with the host's dots and other
    characters outside [A-Za-z0-9_-] as ``_`` (a dot would make CI viewers split the host into
    packages)."""
    return "hardencheck." + (re.sub(r"[^A-Za-z0-9_-]", "_", host) or "_")


def _body(r: dict) -> str:
    lines = [f"expected: {r.get('expected') or ''}"]
    actual = r.get("actual")
    lines.append("actual: " + (json.dumps(actual, ensure_ascii=False, sort_keys=True)
                               if actual is not None else "(nothing judged)"))
    lines.append(f"message: {r.get('message') or ''}")
    if r.get("reason"):
        lines.append(f"reason: {r['reason']}")
    lines.append(f"severity: {r.get('severity')}")
    if r.get("tom"):
        lines.append("TOM: " + ", ".join(map(str, r["tom"])))
    ev = r.get("evidence") or {}
    if ev.get("probe"):
        lines.append(f"probe: {ev['probe']}")
    if ev.get("sections"):
        lines.append("evidence: " + ", ".join(map(str, ev["sections"])))
    if ev.get("collected_at"):
        lines.append(f"collected at: {ev['collected_at']} (UTC)")
    h = ev.get("host") or {}
    if h.get("host_key_fingerprint"):
        lines.append(f"host key: {h.get('host_key_type') or ''} {h['host_key_fingerprint']}".replace("  ", " "))
    return clean("\n".join(lines), BODY_LIMIT)


def waived_message(r: dict) -> str:
    """``waived by EXC-1 (risk_accepted, expires 2027-03-31): <justification>`` for each waiver that
    covers the result (CI viewers show a skipped case's message)."""
    parts = [f"waived by {p.get('id')} ({p.get('action')}, {p.get('state')}"
             + (f", expires {p['expires']}" if p.get("expires") else "") + f"): {p.get('justification') or ''}"
             for p in r.get("responses") or [] if p.get("action") in ("risk_accepted", "false_positive")
             and p.get("state") in ("active", "expiring")]
    return "; ".join(parts) or "waived"


def case_name(r: dict) -> str:
    """``<control> <title> [TOM <measure ids>[; <measure params>]]``."""
    cid = str(r.get("control") or "")
    name = f"{cid} {r.get('_title') or ''}".strip()
    ids = [str(t) for t in (r.get("measures") if "measures" in r else r.get("tom")) or []]
    params = r.get("measure_params") or {}
    if ids or params:
        name += " [TOM " + ", ".join(ids) + ("; " if ids and params else "") + \
            ", ".join(f"{k}={v}" for k, v in params.items()) + "]"
    return name


def _with_measure_results(counts: dict[str, int], extra: list[dict]) -> dict[str, int]:
    out = dict(counts)
    for r in extra:
        out[r.get("status")] = out.get(r.get("status"), 0) + 1
    return out


def _suite(root: ET.Element, index: int, host: dict, counts: dict[str, int], results: list[dict],
           run: dict) -> None:
    name = str(host.get("name") or "")
    ident = host.get("identity") or {}
    suite = ET.SubElement(root, "testsuite", {
        "name": _token(name, "unnamed-host"),
        "package": "hardencheck",
        "id": str(index),
        "timestamp": _timestamp(host.get("started_at"), run.get("started_at")),
        "hostname": _token(ident.get("address") or name, "localhost"),
        "tests": str(len(results)),
        "failures": str(counts["fail"]),
        "errors": str(counts["error"]),
        "skipped": str(counts.get("skipped", 0) + counts.get("not_applicable", 0) + counts.get("waived", 0)),
        "time": _seconds(host.get("started_at"), host.get("ended_at")),
    })
    props = ET.SubElement(suite, "properties")
    err = host.get("error") or {}
    pairs = [("run_id", run.get("id")), ("host", name), ("address", ident.get("address")),
             ("port", ident.get("port")), ("user", ident.get("user")), ("transport", ident.get("transport")),
             ("host_key_type", ident.get("host_key_type")),
             ("host_key_fingerprint", ident.get("host_key_fingerprint")),
             ("sudo", ident.get("sudo")), ("host_status", host.get("status")),
             ("host_error_reason", err.get("reason")), ("started_at", host.get("started_at")),
             ("ended_at", host.get("ended_at")),
             ("tool_version", (run.get("tool") or {}).get("version")),
             ("controls_sha256", (run.get("controls") or {}).get("sha256"))]
    for key, value in pairs:
        if value is not None and value != "":
            if isinstance(value, bool):
                value = "true" if value else "false"
            ET.SubElement(props, "property", {"name": key, "value": clean(value, PROPERTY_LIMIT)})
    cls = classname(name)
    for r in results:
        cid = str(r.get("control") or "")
        case = ET.SubElement(suite, "testcase", {
            "name": _token(case_name(r), cid or "control"),
            "classname": cls, "time": "0"})
        status = r.get("status")
        if status == "fail":
            el = ET.SubElement(case, "failure", {"message": clean(r.get("message"), MESSAGE_LIMIT),
                                                 "type": clean(r.get("severity") or "fail", 40)})
            el.text = _body(r)
        elif status == "error":
            el = ET.SubElement(case, "error", {"message": clean(r.get("message"), MESSAGE_LIMIT),
                                               "type": clean(r.get("reason") or "error", 80)})
            el.text = _body(r)
        elif status == "waived":
            el = ET.SubElement(case, "skipped", {"message": clean(waived_message(r), MESSAGE_LIMIT)})
            el.text = _body(r)
        elif status in ("skipped", "not_applicable"):
            why = f"{status}: {r.get('reason') or ''}: {r.get('message') or ''}".replace(": : ", ": ")
            ET.SubElement(case, "skipped", {"message": clean(why, MESSAGE_LIMIT)})
    out = ET.SubElement(suite, "system-out")
    lines = [f"host {name}: {ident.get('user') or ''}@{ident.get('address') or ''}:{ident.get('port') or ''}",
             f"host key: {ident.get('host_key_type') or '-'} {ident.get('host_key_fingerprint') or '-'}",
             "results: " + ", ".join(f"{n} {s}" for s, n in counts.items())]
    out.text = clean("\n".join(lines), BODY_LIMIT)
    errel = ET.SubElement(suite, "system-err")
    if host.get("status") not in (None, "ok") or err:
        errel.text = clean(f"{err.get('reason') or 'error'}: {err.get('message') or ''}", BODY_LIMIT)


def render(view: ReportView, lang: str = "en") -> bytes:
    """The suite counts are the view's host counts; the test cases are the document's results."""
    doc = view.doc
    run = doc.get("run") or {}
    titles = {c.get("id"): c.get("title") for c in doc.get("controls") or []}
    by_host: dict[str, list[dict]] = {}
    for r in doc.get("results") or []:
        by_host.setdefault(str(r.get("host") or ""), []).append(dict(r, _title=titles.get(r.get("control"))))
    extra: dict[str, list[dict]] = {}
    for r in (doc.get("tom") or {}).get("results") or []:
        if isinstance(r, dict):
            extra.setdefault(str(r.get("host") or ""), []).append(dict(r, _title=titles.get(r.get("control"))))

    root = ET.Element("testsuites")
    for hr in view.hosts:
        h = hr.record if hr.record is not None else {"name": hr.name, "identity": {}, "status": hr.status,
                                                     "error": None}
        more = extra.get(hr.name, [])
        _suite(root, hr.index, h, _with_measure_results(hr.counts, more), by_host.get(hr.name, []) + more, run)
    ET.indent(root, space=" ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
