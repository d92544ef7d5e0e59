"""The "Exceptions and deviations" section of the HTML report (``templates/exceptions.html.j2``).

From the report view: the response register's entries as the scan used them (each with its
state on the scan's date: active, expiring soon, EXPIRED, OVERDUE), the waived results (the
failure kept beside the waiver's id and justification), warnings for entries that expired or
expire within 14 days, and the deviations from the baseline (per-host parameter overrides that
loosen a control, judge.deviations) next to them.

Every string here (justification, approver, ticket, owner, host names, parameter values) is hostile:
the template prints it with the ``t`` macro (autoescaped, control and bidi characters as visible
escapes). No HTML is built here.
"""

from __future__ import annotations

import json
from typing import Any

from hardencheck.report import i18n
from hardencheck.report.i18n import word
from hardencheck.report.view import ReportView

#: this section's own words (statuses, actions and states are report.i18n's)
T: dict[str, dict[str, str]] = {
    "title": {"en": "Exceptions and deviations from the baseline", "de": "Ausnahmen und Abweichungen von der Vorgabe"},
    "intro": {"en": "The response register of the run: how the organisation responds to known findings. A waived "
                    "result failed; an approved, unexpired exception covers it, and its facts and evidence are "
                    "kept. Dates are UTC; the expiry date itself is still covered.",
              "de": "Das Ausnahmeregister des Laufs: wie die Organisation auf bekannte Befunde reagiert. Ein "
                    "ausgenommenes Ergebnis ist nicht bestanden; eine genehmigte, nicht abgelaufene Ausnahme deckt "
                    "es ab, Fakten und Nachweise bleiben erhalten. Daten in UTC; das Ablaufdatum selbst ist noch "
                    "abgedeckt."},
    "none": {"en": "No response register was used in this run.",
             "de": "In diesem Lauf wurde kein Ausnahmeregister verwendet."},
    "register": {"en": "Register files", "de": "Registerdateien"},
    "entries": {"en": "Register entries", "de": "Einträge des Registers"},
    "waived": {"en": "Waived results", "de": "Ausgenommene Ergebnisse"},
    "no_waived": {"en": "No result was waived.", "de": "Kein Ergebnis wurde ausgenommen."},
    "expired_warn": {"en": "{n} exception(s) EXPIRED: the results they covered count as failures again: {ids}",
                     "de": "{n} Ausnahme(n) ABGELAUFEN: die abgedeckten Ergebnisse zählen wieder als Abweichung: "
                           "{ids}"},
    "expiring_warn": {"en": "{n} exception(s) expire within 14 days: {ids}",
                      "de": "{n} Ausnahme(n) laufen innerhalb von 14 Tagen ab: {ids}"},
    "overdue_warn": {"en": "{n} planned remediation(s) OVERDUE: {ids}",
                     "de": "{n} geplante Behebung(en) ÜBERFÄLLIG: {ids}"},
    "deviations": {"en": "Deviations from the baseline", "de": "Abweichungen von der Vorgabe"},
    "deviations_intro": {"en": "Inventory parameters that make a control less strict than the library's default on "
                               "a host (or whose strictness cannot be compared). Results judged with them may pass "
                               "only because of them.",
                         "de": "Inventar-Parameter, die eine Kontrolle auf einem Server weniger streng machen als die "
                               "Vorgabe der Bibliothek (oder deren Strenge nicht vergleichbar ist). Damit bewertete "
                               "Ergebnisse bestehen womöglich nur deshalb."},
    "no_deviations": {"en": "No parameter override loosens a control.",
                      "de": "Kein Parameter lockert eine Kontrolle."},
    "id": {"en": "id", "de": "Kennung"}, "action": {"en": "action", "de": "Maßnahme"},
    "state": {"en": "state", "de": "Zustand"}, "scope": {"en": "scope", "de": "Geltungsbereich"},
    "justification": {"en": "justification", "de": "Begründung"},
    "approved_by": {"en": "approved by", "de": "genehmigt von"}, "granted": {"en": "granted", "de": "erteilt"},
    "expires": {"en": "expires", "de": "läuft ab"}, "ticket": {"en": "ticket", "de": "Ticket"},
    "owner": {"en": "owner", "de": "verantwortlich"}, "due": {"en": "due", "de": "fällig"},
    "host": {"en": "host", "de": "Server"}, "control": {"en": "control", "de": "Kontrolle"},
    "finding": {"en": "finding (kept)", "de": "Befund (erhalten)"}, "param": {"en": "parameter", "de": "Parameter"},
    "default": {"en": "default", "de": "Vorgabe"}, "value": {"en": "value", "de": "Wert"},
    "why": {"en": "why less strict", "de": "warum weniger streng"},
    "file": {"en": "file", "de": "Datei"},
}


def _text(v: Any) -> str:
    return "—" if v is None or v == "" else str(v)


def _json(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False, default=str)


def exceptions_context(view: ReportView, lang: str) -> dict[str, Any]:
    def w(key: str, **kw: Any) -> str:
        s = T[key][lang]
        return s.format(**kw) if kw else s

    doc_register = view.doc.get("exceptions")
    entries = [{
        "id": _text(e.get("id")), "state_key": _text(e.get("state")),
        "action": word(i18n.RESPONSE_ACTION, e.get("action"), lang),
        "state": word(i18n.RESPONSE_STATE, e.get("state"), lang),
        "scope": ", ".join(map(str, (e.get("controls") or []))) + " · " + ", ".join(
            [str(h) for h in e.get("hosts") or []] + [f"@{g}" for g in e.get("groups") or []]),
        "justification": _text(e.get("justification")), "approved_by": _text(e.get("approved_by")),
        "granted": _date(e.get("granted"), lang), "expires": _date(e.get("expires"), lang),
        "ticket": _text(e.get("ticket")), "owner": _text(e.get("owner")), "due": _date(e.get("due"), lang),
    } for e in view.exceptions]
    waived = []
    for f in view.waived:
        resp = next((r for r in f.responses if r.get("state") in ("active", "expiring")), f.responses[0]
                    if f.responses else {})
        waived.append({"host": f.host, "control": f.control, "severity": f.severity,
                       "message": view.message(view.doc["results"][f.index], lang),
                       "id": _text(resp.get("id")), "action": word(i18n.RESPONSE_ACTION, resp.get("action"), lang),
                       "expires": _text(i18n.date(resp["expires"], lang) if resp.get("expires") else None),
                       "justification": _text(resp.get("justification")),
                       "state_key": _text(resp.get("state"))})
    warnings = []
    for key, states in (("expired_warn", ("expired",)), ("expiring_warn", ("expiring",)),
                        ("overdue_warn", ("overdue",))):
        hit = view.exceptions_in(*states)
        if hit:
            warnings.append(w(key, n=len(hit), ids=", ".join(_text(e.get("id")) for e in hit)))
    deviations = [{"host": _text(d.get("host")), "control": _text(d.get("control")), "param": _text(d.get("param")),
                   "default": _json(d.get("default")), "value": _json(d.get("value")), "why": _text(d.get("why"))}
                  for d in view.deviations]
    return {"T": {k: v[lang] for k, v in T.items()}, "present": doc_register is not None,
            "files": [(_text(f.get("path")), _text(f.get("sha256"))) for f in (doc_register or {}).get("files") or []],
            "entries": entries, "waived": waived, "warnings": warnings, "deviations": deviations}


def _date(value: Any, lang: str) -> Any:
    """A register date in the report's language (06.12.2026 / 2026-12-06); absent stays absent."""
    return _text(i18n.date(value, lang) if value else value)
