"""Markdown summary for a CI job summary or a merge-request comment.

Short at any fleet size: totals per status, failures by severity with the top failing controls
and their hosts, the hosts that could not be scanned and why, checks that could not be completed,
and the TOM measures not met or not verified. Every list is cut at a fixed length and every host
name list at a few names, so 500 hosts give a few KB. The figures are the report view's
(``report.view``), the same as the terminal summary's and the HTML report's; status, severity
and roll-up words are ``report.i18n``'s.

Everything from the results document is treated as hostile: control and bidi characters are made
visible, the text is bounded, Markdown and HTML syntax (pipes, backticks, brackets, emphasis,
``<tags>``, entities, ``$`` maths) is escaped, and no line starts with ``::`` (a GitHub Actions
workflow command when the file is printed to a job log).
"""

from __future__ import annotations

import json
import re

from hardencheck.report import i18n, scope_view
from hardencheck.report.i18n import word
from hardencheck.report.view import SEVERITIES, ReportView, no_surrogates
from hardencheck.results import STATUSES

TOP_FAILING = 15        # (control, hosts) lines
TOP_ERROR_HOSTS = 10
TOP_ERROR_GROUPS = 10
TOP_TOM = 25
HOSTS_PER_LINE = 5
TOP_CHANGES = 15        # entries per list in "Changes since the previous run"
TEXT_LIMIT = 120
NAME_LIMIT = 48

LABELS = {
    "en": {
        "title": "hardencheck", "clear": "all clear", "failures": "{n} failure(s)",
        "errors": "{n} check(s) not completed", "incomplete": "scan interrupted",
        "run": "Run", "hosts": "hosts", "host_one": "host", "exit": "exit code", "tool": "hardencheck",
        "not_scanned": "**Scan interrupted**: {n} planned host(s) not scanned: {hosts}",
        "totals": "Results", "status": "status", "count": "count",
        "by_severity": "Failures by severity", "severity": "severity", "controls": "controls",
        "top_failing": "Top failing controls", "control": "control", "title_col": "title",
        "hosts_col": "hosts", "more": "… and {n} more",
        "host_errors": "Hosts that could not be scanned", "host": "host", "address": "address",
        "reason": "reason", "message": "message",
        "check_errors": "Checks that could not be completed (hosts that answered)",
        "tom": "TOM measures not met or not verified", "tom_counts": "TOM measures",
        "item": "item", "category": "category", "measure": "measure",
        "none_failed": "No control failed.",
        "footer": "Rendered from results.json of run {run}; evidence and every result are in the full report.",
        "changes": "Changes since the previous run",
        "compared": "Compared with run {run} ({started}, {state}).",
        "other_inventory": "The previous run scanned another inventory ({inv}).",
        "new_failures": "new failures", "new_errors": "new errors", "fixed": "fixed",
        "still_failing": "still failing", "failures_not_rechecked": "failing before, not rechecked",
        "before": "before", "hosts_added": "Hosts added", "hosts_gone": "Hosts gone",
        "hosts_unreachable": "Hosts not reachable now", "controls_added": "Controls added",
        "controls_removed": "Controls removed", "controls_changed": "Controls changed (new definition)",
        "no_changes": "No result changed.", "state_complete": "complete", "state_interrupted": "interrupted",
        "state_running": "running",
    },
    "de": {
        "title": "hardencheck", "clear": "alles in Ordnung", "failures": "{n} Abweichung(en)",
        "errors": "{n} Prüfung(en) nicht abgeschlossen", "incomplete": "Scan abgebrochen",
        "run": "Lauf", "hosts": "Server", "host_one": "Server", "exit": "Exit-Code", "tool": "hardencheck",
        "not_scanned": "**Scan abgebrochen**: {n} geplante(r) Server nicht geprüft: {hosts}",
        "totals": "Ergebnisse", "status": "Status", "count": "Anzahl",
        "by_severity": "Abweichungen nach Schweregrad", "severity": "Schweregrad", "controls": "Kontrollen",
        "top_failing": "Häufigste Abweichungen", "control": "Kontrolle", "title_col": "Titel",
        "hosts_col": "Server", "more": "… und {n} weitere",
        "host_errors": "Server, die nicht geprüft werden konnten", "host": "Server", "address": "Adresse",
        "reason": "Grund", "message": "Meldung",
        "check_errors": "Nicht abgeschlossene Prüfungen (erreichbare Server)",
        "tom": f"TOM-Maßnahmen {i18n.ROLLUP['not_met']['de']} oder {i18n.ROLLUP['not_verified']['de']}",
        "tom_counts": "TOM-Maßnahmen",
        "item": "Nr.", "category": "Kategorie", "measure": "Maßnahme",
        "none_failed": "Keine Kontrolle wurde als „nicht bestanden“ bewertet.",
        "footer": "Erstellt aus results.json von Lauf {run}; Nachweise und alle Ergebnisse enthält der "
                  "vollständige Bericht.",
        "changes": "Änderungen seit dem vorigen Lauf",
        "compared": "Verglichen mit Lauf {run} ({started}, {state}).",
        "other_inventory": "Der vorige Lauf prüfte ein anderes Inventar ({inv}).",
        "new_failures": "neue Abweichungen", "new_errors": "neue Fehler", "fixed": "behoben",
        "still_failing": "weiterhin abweichend", "failures_not_rechecked": "zuvor abweichend, nicht erneut geprüft",
        "before": "vorher", "hosts_added": "Neue Server", "hosts_gone": "Entfallene Server",
        "hosts_unreachable": "Jetzt nicht erreichbare Server", "controls_added": "Neue Kontrollen",
        "controls_removed": "Entfernte Kontrollen", "controls_changed": "Geänderte Kontrollen (neue Definition)",
        "no_changes": "Kein Ergebnis hat sich geändert.", "state_complete": "vollständig",
        "state_interrupted": "abgebrochen", "state_running": "laufend",
    },
}
# C0/C1 controls (tab and newlines are folded to spaces first), DEL, bidi overrides/isolates,
# line/paragraph separators, zero-width and BOM characters.
_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
# "@" and "#" too: a host must not be able to @mention people or link issues in an MR comment.
_MD_PUNCT = re.compile(r"([\\`*_\[\]{}|~$!#^@])")


def md(text: object, limit: int = TEXT_LIMIT) -> str:
    """Untrusted text -> one inert, bounded line of Markdown text (also safe in a table cell)."""
    s = no_surrogates("" if text is None else str(text))
    s = re.sub(r"[\t\r\n]+", " ", s)
    s = _INVISIBLE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                       else f"\\u{ord(m.group()):04x}", s)
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    s = _MD_PUNCT.sub(r"\\\1", s)
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if s.startswith(":"):
        s = "\\" + s
    return s


def _hosts(names: list[str], lang: str) -> str:
    shown = ", ".join(md(n, NAME_LIMIT) for n in names[:HOSTS_PER_LINE])
    if len(names) > HOSTS_PER_LINE:
        shown += " " + LABELS[lang]["more"].format(n=len(names) - HOSTS_PER_LINE)
    return shown


def _row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _table(header: list[str], align: list[str]) -> list[str]:
    return [_row(*header), "|" + "|".join(" ---: " if a == "r" else " --- " for a in align) + "|"]


def _names(names: list[str], lang: str) -> str:
    shown = ", ".join(md(n, NAME_LIMIT) for n in names[:TOP_CHANGES])
    if len(names) > TOP_CHANGES:
        shown += " " + LABELS[lang]["more"].format(n=len(names) - TOP_CHANGES)
    return shown


def render_comparison(cmp: dict, lang: str = "en", view: ReportView | None = None) -> list[str]:
    """"Changes since the previous run" from ``drift.compare``'s dict (``doc["comparison"]``);
    with the run's ``view``, an entry of this run says its message in ``lang``."""
    lang = lang if lang in LABELS else "en"
    L = LABELS[lang]
    now = {(r.get("host"), r.get("control")): r for r in (view.doc.get("results") or [])} if view else {}

    def message(e: dict) -> str:
        r = now.get((e.get("host"), e.get("control")))
        if r is not None and view is not None and r.get("message") == e.get("message"):
            return view.message(r, lang)
        return e.get("message") or e.get("reason") or ""
    old, new = cmp.get("old") or {}, cmp.get("new") or {}
    counts = cmp.get("counts") or {}
    state = L.get(f"state_{old.get('state')}", md(old.get("state"), 16))
    out = ["", f"### {L['changes']}", "",
           L["compared"].format(run=md(old.get("run_id") or "-", 64),
                                started=md(i18n.timestamp(old.get("started_at"), lang) if old.get("started_at") else "?",
                                           32), state=state)]
    if not cmp.get("same_inventory", True):
        out += ["", L["other_inventory"].format(inv=md(old.get("inventory_key"), 80))]
    keys = ("new_failures", "new_errors", "fixed", "still_failing", "failures_not_rechecked")
    out.append("")
    out += _table([L[k] for k in keys], ["r"] * len(keys))
    out.append(_row(*[i18n.num(counts.get(k, len(cmp.get(k) or [])), lang) for k in keys]))
    for k in ("new_failures", "fixed", "new_errors", "failures_not_rechecked"):
        entries = cmp.get(k) or []
        if not entries:
            continue
        out += ["", f"#### {L[k]} ({len(entries)})", ""]
        out += _table([L["severity"], L["control"], L["host"], L["before"], L["status"], L["message"]], ["l"] * 6)
        for e in entries[:TOP_CHANGES]:
            out.append(_row(_sev(e.get("severity"), lang), md(e.get("control"), 32),
                            md(e.get("host"), NAME_LIMIT),
                            word(i18n.STATUS, e.get("before"), lang, "–") if e.get("before") else "–",
                            word(i18n.STATUS, e.get("after"), lang, "–") if e.get("after") else "–",
                            md(message(e))))
        if len(entries) > TOP_CHANGES:
            out += ["", L["more"].format(n=len(entries) - TOP_CHANGES)]
    lines = []
    for k in ("hosts_added", "hosts_gone", "hosts_unreachable"):
        if cmp.get(k):
            lines.append(f"{L[k]}: {_names([h.get('host') for h in cmp[k]], lang)}")
    for k in ("controls_added", "controls_removed", "controls_changed"):
        if cmp.get(k):
            lines.append(f"{L[k]}: {_names([c.get('control') for c in cmp[k]], lang)}")
    if lines:
        out += [""] + [line + "  " for line in lines[:-1]] + lines[-1:]
    if not any(cmp.get(k) for k in keys[:3] + ("failures_not_rechecked",)) and not lines:
        out += ["", L["no_changes"]]
    return out


def _sev(severity: object, lang: str) -> str:
    return word(i18n.SEVERITY, severity, lang) if severity in i18n.SEVERITY else md(severity, 16)


def _tom(status: str, lang: str) -> str:
    return word(i18n.ROLLUP, status, lang) if status in i18n.ROLLUP else md(status, 24)


def render_summary(s: ReportView, lang: str = "en", comparison: dict | None = None) -> str:
    lang = lang if lang in LABELS else "en"
    L = LABELS[lang]
    SL = {st: word(i18n.STATUS, st, lang) for st in STATUSES}
    out: list[str] = []

    n_fail, n_err = s.totals["fail"], s.totals["error"]
    verdict = []
    if n_fail:
        verdict.append(L["failures"].format(n=n_fail))
    if n_err:
        verdict.append(L["errors"].format(n=n_err))
    if not s.complete:
        verdict.append(L["incomplete"])
    mark = "✖" if n_fail else ("⚠" if verdict else "✔")
    out.append(f"## {L['title']}: {mark} " + (", ".join(verdict) if verdict else L["clear"]))
    out.append("")
    meta = [f"{L['run']} {md(s.run_id or '-', 64)}"]
    if s.started_at:
        ended = i18n.timestamp(s.ended_at, lang) if s.ended_at else "? UTC"
        meta.append(f"{md(i18n.timestamp(s.started_at, lang), 32)} – {md(ended, 32)}")
    meta.append(f"{len(s.hosts)} {L['host_one'] if len(s.hosts) == 1 else L['hosts']}")
    if s.tool_version:
        meta.append(f"{L['tool']} {md(s.tool_version, 32)}")
    if s.exit_code is not None:
        meta.append(f"{L['exit']} {s.exit_code}")
    out.append(" · ".join(meta))
    if s.not_scanned:
        out += ["", L["not_scanned"].format(n=len(s.not_scanned), hosts=_hosts(s.not_scanned, lang))]

    out += ["", f"### {L['totals']}", ""]
    out += _table([SL[st] for st in STATUSES], ["r"] * len(STATUSES))
    out.append(_row(*[i18n.num(s.totals[st], lang) for st in STATUSES]))
    if comparison:
        out += render_comparison(comparison, lang, s)

    out += ["", f"### {L['by_severity']}", ""]
    if s.failures:
        out += _table([L["severity"], SL["fail"], L["controls"]], ["l", "r", "r"])
        for sev in SEVERITIES:
            n = s.failures_by_severity.get(sev, 0)
            if n:
                controls = sum(1 for g in s.failure_groups if g.severity == sev)
                out.append(_row(_sev(sev, lang), i18n.num(n, lang), i18n.num(controls, lang)))
        out += ["", f"#### {L['top_failing']}", ""]
        out += _table([L["severity"], L["control"], L["title_col"], L["hosts_col"], L["count"]],
                      ["l", "l", "l", "l", "r"])
        for g in s.failure_groups[:TOP_FAILING]:
            out.append(_row(_sev(g.severity, lang), md(g.control, 32), md(s.title(g.control, lang), 100),
                            _hosts(g.hosts, lang), i18n.num(len(g.hosts), lang)))
        if len(s.failure_groups) > TOP_FAILING:
            out += ["", L["more"].format(n=len(s.failure_groups) - TOP_FAILING)]
    else:
        out.append(L["none_failed"])

    bad = s.hosts_with_errors
    if bad:
        out += ["", f"### {L['host_errors']} ({len(bad)})", ""]
        out.append(", ".join(f"{md(reason, 40)}: {n}" for reason, n in s.host_error_reasons.items()))
        out.append("")
        out += _table([L["host"], L["address"], L["reason"], L["message"]], ["l"] * 4)
        for h in bad[:TOP_ERROR_HOSTS]:
            out.append(_row(md(h.name, NAME_LIMIT), md(h.address, 64), md(h.reason, 40), md(h.message)))
        if len(bad) > TOP_ERROR_HOSTS:
            out += ["", L["more"].format(n=len(bad) - TOP_ERROR_HOSTS)]

    if s.error_groups:
        out += ["", f"### {L['check_errors']} ({len(s.check_errors)})", ""]
        out += _table([L["control"], L["reason"], L["hosts_col"], L["count"]], ["l", "l", "l", "r"])
        for g in s.error_groups[:TOP_ERROR_GROUPS]:
            out.append(_row(md(g.control, 32), md(g.reason, 40), _hosts(g.hosts, lang), i18n.num(len(g.hosts), lang)))
        if len(s.error_groups) > TOP_ERROR_GROUPS:
            out += ["", L["more"].format(n=len(s.error_groups) - TOP_ERROR_GROUPS)]

    if s.tom_counts:
        out += ["", f"### {L['tom']}", ""]
        out.append(f"{L['tom_counts']}: " + ", ".join(f"{i18n.num(n, lang)} {_tom(st, lang)}"
                                                       for st, n in s.tom_counts.items()))
        if s.tom_open:
            out.append("")
            out += _table([L["item"], L["category"], L["measure"], L["status"], L["hosts_col"]], ["l"] * 5)
            for m in s.tom_open[:TOP_TOM]:
                cat = word(i18n.CATEGORY, m.category or "", lang)
                title = m.title.get(lang) or m.title.get("en") or ""
                out.append(_row(md(m.id, 32), md(cat, 60), md(title, 80), _tom(m.status, lang),
                                _hosts(m.hosts, lang)))
            if len(s.tom_open) > TOP_TOM:
                out += ["", L["more"].format(n=len(s.tom_open) - TOP_TOM)]

    out += _scope(s, lang)
    out += _attestations(s, lang)
    out += _exceptions(s, lang)
    out += ["", f"<sub>{L['footer'].format(run=md(s.run_id or '-', 64))}</sub>", ""]
    return "\n".join(out)


#: The attestation section's words (statuses and states come from report.i18n).
_ATT = {
    "en": {"title": "Attestations of organisational measures", "measure": "measure", "statement": "statement",
           "by": "attested by", "date": "date", "until": "valid until", "state": "state", "docs": "documents",
           "groups": "groups"},
    "de": {"title": "Bestätigungen organisatorischer Maßnahmen", "measure": "Maßnahme", "statement": "Aussage",
           "by": "bestätigt von", "date": "Datum", "until": "gültig bis", "state": "Gültigkeit",
           "docs": "Dokumente", "groups": "Gruppen"},
}


def _attestations(s: ReportView, lang: str) -> list[str]:
    """Every attestation (bounded): measure, statement, who, when, validity, its documents' status."""
    if not s.attestations:
        return []
    A = _ATT[lang]
    out = ["", f"### {A['title']}", ""]
    out += _table([A["measure"], A["statement"], A["by"], A["date"], A["until"], A["state"], A["docs"]], ["l"] * 7)
    for e in s.attestations[:TOP_TOM]:
        docs = [f"{md(d.get('path') or d.get('url'), 60)}: {md(word(i18n.DOCUMENT_STATUS, d.get('status'), lang), 40)}"
                for d in e.get("evidence") or []]
        measure = md(e.get("measure"), 32) + (f" ({A['groups']}: {md(', '.join(e['groups']), 60)})"
                                             if e.get("groups") else "")
        out.append(_row(measure, md(e.get("statement"), 120), md(e.get("attested_by"), 60),
                        md(i18n.date(e.get("date"), lang), 10), md(i18n.date(e.get("valid_until"), lang), 10), md(word(i18n.ATTESTATION_STATE, e.get("state"), lang), 40),
                        "; ".join(docs) or "-"))
    if len(s.attestations) > TOP_TOM:
        out += ["", LABELS[lang]["more"].format(n=len(s.attestations) - TOP_TOM)]
    return out


#: The response register's words (statuses, actions and states come from report.i18n).
_EXC = {
    "en": {"title": "Exceptions", "waived": "Waived results", "id": "waiver", "action": "action",
           "expires": "expires", "justification": "justification", "expired": "EXPIRED (counted as failures again)",
           "expiring": "expire within 14 days", "overdue": "remediation OVERDUE",
           "deviations": "Deviations from the baseline", "param": "parameter", "default": "default",
           "value": "value", "why": "why less strict"},
    "de": {"title": "Ausnahmen", "waived": "Ausgenommene Ergebnisse", "id": "Ausnahme", "action": "Maßnahme",
           "expires": "läuft ab", "justification": "Begründung",
           "expired": "ABGELAUFEN (zählen wieder als Abweichung)", "expiring": "laufen innerhalb von 14 Tagen ab",
           "overdue": "Behebung ÜBERFÄLLIG", "deviations": "Abweichungen von der Vorgabe", "param": "Parameter",
           "default": "Vorgabe", "value": "Wert", "why": "warum weniger streng"},
}


def _exceptions(s: ReportView, lang: str) -> list[str]:
    """Waived results with the waiver's id, action and expiry; expired, expiring and overdue
    entries; deviations from the baseline. Bounded like every list here."""
    E, L = _EXC[lang], LABELS[lang]
    out: list[str] = []
    warn = [(E[k], s.exceptions_in(k)) for k in ("expired", "expiring", "overdue")]
    if s.waived or any(hit for _, hit in warn):
        out += ["", f"### {E['title']}", ""]
        for label, hit in warn:
            if hit:
                out.append(f"⚠ {len(hit)} {label}: " + ", ".join(
                    f"{md(e.get('id'), 64)} ({md(i18n.date(e.get('expires') or e.get('due'), lang), 10)})"
                    for e in hit[:TOP_FAILING])
                    + "  ")
        if s.waived:
            out += ["", f"#### {E['waived']} ({len(s.waived)})", ""]
            out += _table([L["severity"], L["control"], L["host"], E["id"], E["action"], E["expires"],
                           E["justification"]], ["l"] * 7)
            for f in s.waived[:TOP_FAILING]:
                p = next((r for r in f.responses if r.get("state") in ("active", "expiring")), {})
                out.append(_row(_sev(f.severity, lang), md(f.control, 32), md(f.host, NAME_LIMIT), md(p.get("id"), 64),
                                md(word(i18n.RESPONSE_ACTION, p.get("action"), lang), 40),
                                md(i18n.date(p["expires"], lang) if p.get("expires") else "–", 10),
                                md(p.get("justification"))))
            if len(s.waived) > TOP_FAILING:
                out += ["", L["more"].format(n=len(s.waived) - TOP_FAILING)]
    if s.deviations:
        out += ["", f"### {E['deviations']} ({len(s.deviations)})", ""]
        out += _table([L["host"], L["control"], E["param"], E["default"], E["value"], E["why"]], ["l"] * 6)
        for d in s.deviations[:TOP_FAILING]:
            out.append(_row(md(d.get("host"), NAME_LIMIT), md(d.get("control"), 32), md(d.get("param"), 40),
                            md(json.dumps(d.get("default"), ensure_ascii=False, default=str), 60),
                            md(json.dumps(d.get("value"), ensure_ascii=False, default=str), 60), md(d.get("why"))))
        if len(s.deviations) > TOP_FAILING:
            out += ["", L["more"].format(n=len(s.deviations) - TOP_FAILING)]
    return out


def _scope(s: ReportView, lang: str) -> list[str]:
    """Were all servers tested? (report.scope_view): the counts, then each list, bounded."""
    if not s.scope:
        return []
    out = ["", f"### {scope_view.w('title', lang)}", "", md(scope_view.summary(s.scope, lang), 400) + "  ",
           f"{scope_view.w('register', lang)}: {md(scope_view.register_line(s.scope, lang), 400)}"]
    for _, title, header, rows in scope_view.tables(s.scope, lang):
        if rows:
            out += ["", f"#### {title} ({len(rows)})", ""] + _table(header, ["l"] * len(header))
            out += [_row(*(md(c, 120) for c in r)) for r in rows[:TOP_FAILING]]
            out += ["", LABELS[lang]["more"].format(n=len(rows) - TOP_FAILING)] if len(rows) > TOP_FAILING else []
    return out


def render(view: ReportView, lang: str = "en") -> bytes:
    return render_summary(view, lang, view.doc.get("comparison")).encode("utf-8")
