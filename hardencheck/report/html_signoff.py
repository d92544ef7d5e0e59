"""The "Review and sign-off" section of the HTML report (``templates/signoff.html.j2``).

Rendered from a bundle that has a sign-off (``hardencheck report RUN``: ``view.signoff``, read by
``records.signoff.read_signoff``), it shows who decided what, when, with which comment, for which
manifest, and whether the sign-off is signed; without one (the report a scan writes into its own
bundle, before anybody reviewed it), an empty form to fill in on paper. Either way, the
management responses of the results (the exception register's ``remediation_planned``
entries: owner, due date, state) are listed with the finding they answer.

Every string here (reviewer, comment, response fields) is hostile: the template prints it with
the ``t`` macro (autoescaped, control and bidi characters as visible escapes).
"""

from __future__ import annotations

from typing import Any

from hardencheck.report import i18n
from hardencheck.report.i18n_html import Lang
from hardencheck.report.view import ReportView

DECISIONS = ("accepted", "accepted_with_findings", "rejected")
#: results that are no finding: a remediation planned for them is not listed
NOT_FINDINGS = ("pass", "not_applicable", "skipped")


def _text(v: Any) -> str:
    return "—" if v is None or v == "" else str(v)


def signoff_context(view: ReportView, L: Lang) -> dict[str, Any]:
    s = view.signoff
    ctx: dict[str, Any] = {"present": s is not None, "responses": _responses(view.doc, L),
                           "decisions": [L.t(f"decision_{d}") for d in DECISIONS]}
    if s is not None:
        decision = s.get("decision")
        ctx.update({
            "decision": L.t(f"decision_{decision}") if decision in DECISIONS else _text(decision),
            "decision_key": decision if decision in DECISIONS else "unknown",
            "reviewer": _text(s.get("reviewer")), "date": _text(s.get("date")),
            "comment": _text(s.get("comment")), "manifest": _text(s.get("manifest_sha256")),
            "run_id": _text(s.get("run_id")), "run_state": _text(s.get("run_state")),
            "signed": bool(s.get("signed")), "names_manifest": bool(s.get("names_manifest")),
        })
    return ctx


def _responses(doc: dict, L: Lang) -> list[dict[str, str]]:
    """Every management response (``remediation_planned``) to a finding (a result that is not a
    pass, not applicable or skipped), with the finding."""
    out = []
    for r in doc.get("results") or []:
        if r.get("status") in NOT_FINDINGS:
            continue
        st = r.get("status")
        for resp in r.get("responses") or []:
            if not isinstance(resp, dict) or resp.get("action", "remediation_planned") != "remediation_planned":
                continue
            out.append({"host": _text(r.get("host")), "control": _text(r.get("control")),
                        "status": L.status(st) if st in i18n.STATUS else _text(st), "id": _text(resp.get("id")),
                        "text": _text(resp.get("justification")),
                        "owner": _text(resp.get("owner")), "due": _text(resp.get("due")),
                        "state": i18n.word(i18n.RESPONSE_STATE, resp.get("state"), L.lang, _text(resp.get("state")))})
    return out
