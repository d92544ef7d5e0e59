"""The annual effectiveness report: one self-contained HTML file from the audit document.

``render(doc, lang)`` takes the document of ``hardencheck.records.audit_document.audit`` (the same figures as
audit.json) and renders ``templates/audit.html.j2`` with the run report's stylesheet, macros, jinja2
environment (autoescaping, strict undefined, the ``seg`` filter that shows control/bidi characters
as visible escapes) and Content-Security-Policy (no script, no fetch). Trend charts are inline SVG
built from numbers only; every string from the history (host names, run ids, titles, the inventory
key, paths) goes through the template's escaping macro.
"""

from __future__ import annotations

import gc
from datetime import date
from typing import Any

from hardencheck import __version__
from hardencheck.judge.tom import CATEGORIES
from hardencheck.report.html import jinja_environment
from hardencheck.report.i18n import OUTCOME, RESPONSE_ACTION, RESPONSE_STATE, word
from hardencheck.report.i18n_html import Lang


def _cap(word: str) -> str:
    """A vocabulary word as a column heading."""
    return word[:1].upper() + word[1:]


#: Fixed strings (prose) of this report; the run report's shared ones come from i18n_html.T via
#: L.t, the outcome words (held, failed, not verified …) from report.i18n.OUTCOME via L.outcome:
#: in German they are the TOM roll-up's words (erfüllt, nicht erfüllt, nicht nachgewiesen …).
A: dict[str, dict[str, Any]] = {
    "title": {"en": "Effectiveness report: technical and organisational measures over time",
              "de": "Wirksamkeitsbericht: technische und organisatorische Maßnahmen im Zeitverlauf"},
    "scope": {"en": "Scope and sources", "de": "Umfang und Quellen"},
    "period": {"en": "Period (UTC days)", "de": "Zeitraum (UTC-Tage)"},
    "evaluated_to": {"en": "evaluated up to", "de": "ausgewertet bis"},
    "all_inventories": {"en": "all inventories in the history", "de": "alle Inventare der Historie"},
    "runs": {"en": "Runs", "de": "Prüfläufe"},
    "runs_line": {"en": "{total} in the period: {complete} complete, {interrupted} interrupted, {running} still "
                        "running; {successful} successful scans; {unchecked} with hosts not checked",
                  "de": "{total} im Zeitraum: {complete} vollständig, {interrupted} abgebrochen, {running} laufend; "
                        "{successful} erfolgreiche Prüfungen; {unchecked} mit nicht geprüften Servern"},
    "first_last": {"en": "first {a}, last {b}", "de": "erster {a}, letzter {b}"},
    "history_db": {"en": "Run history (SQLite)", "de": "Prüfhistorie (SQLite)"},
    "snapshot_sha": {"en": "SHA-256 of the database file when read", "de": "SHA-256 der Datenbankdatei beim Lesen"},
    "runs_digest": {"en": "SHA-256 of the runs summarised", "de": "SHA-256 der ausgewerteten Prüfläufe"},
    "produced": {"en": "Produced", "de": "Erstellt"},
    "produced_line": {"en": "{at} by {user} on {host} with hardencheck {v}",
                      "de": "{at} von {user} auf {host} mit hardencheck {v}"},
    "source_catalog": {"en": "structure from", "de": "Struktur aus"},
    "headline_all": {"en": "{held} of {n} technical measures held in every run of the period",
                     "de": "{held} von {n} technischen Maßnahmen in jedem Prüflauf des Zeitraums erfüllt"},
    "headline_open": {"en": "{n} measure(s) still failing at the end of the period",
                      "de": "{n} Maßnahme(n) am Ende des Zeitraums weiterhin nicht erfüllt"},
    "headline_gaps": {"en": "{n} day(s) without a successful scan (longest gap {m} day(s))",
                      "de": "{n} Tag(e) ohne erfolgreiche Prüfung (längste Lücke {m} Tag(e))"},
    "headline_noruns": {"en": "No run in the period: nothing was tested.",
                        "de": "Kein Prüflauf im Zeitraum: nichts wurde geprüft."},
    "trend": {"en": "Trend", "de": "Verlauf"},
    "chart_daily": {"en": "Measures per day: held, failed, not verified (share of the day's item outcomes); "
                          "marked below: days without a successful scan",
                    "de": "Maßnahmen je Tag: erfüllt, nicht erfüllt, nicht nachgewiesen (Anteil der "
                          "Ergebnisse des Tages); darunter markiert: Tage ohne erfolgreiche Prüfung"},
    "chart_failing": {"en": "Controls failing per day", "de": "Kontrollen „nicht erfüllt“ je Tag"},
    "gap_day": {"en": "no successful scan", "de": "keine erfolgreiche Prüfung"},
    "measures_table": {"en": "Per measure", "de": "Je Maßnahme"},
    "controls_table": {"en": "Per control", "de": "Je Kontrolle"},
    "share_held": {"en": "Held", "de": _cap(OUTCOME["held"]["de"])},
    "judged": {"en": "Runs judged", "de": "Bewertete Läufe"},
    "failed_runs": {"en": "Failed", "de": _cap(OUTCOME["failed"]["de"])},
    "nv_runs": {"en": "Not verified", "de": _cap(OUTCOME["not_verified"]["de"])},
    "streak": {"en": "Longest failing streak", "de": "Längste Serie „nicht erfüllt“"},
    "run_n": {"en": ("{n} run", "{n} runs"), "de": ("{n} Lauf", "{n} Läufe")},
    "day_n": {"en": ("{n} day", "{n} days"), "de": ("{n} Tag", "{n} Tage")},
    "ttf": {"en": "Time to fix (mean / worst)", "de": "Zeit bis zur Behebung (Mittel / schlechteste)"},
    "open": {"en": "Open at period end", "de": "Offen am Ende des Zeitraums"},
    "open_v": {"en": "since {since} ({age})", "de": "seit {since} ({age})"},
    "weekly": {"en": "Weeks", "de": "Wochen"},
    "weekly_note": {"en": "The strip under each title has one cell per week of the period, coloured by the worst "
                          "outcome of that week's runs: red failed, purple not verified, brown held with exceptions, "
                          "green held, grey no judged run.",
                    "de": "Der Streifen unter jedem Titel hat ein Feld je Woche des Zeitraums, gefärbt nach dem "
                          "schlechtesten Ergebnis der Läufe dieser Woche: rot nicht erfüllt, violett nicht "
                          "nachgewiesen, braun erfüllt mit Ausnahmen, grün erfüllt, grau kein bewerteter Lauf."},
    "organisational": {"en": "organisational (no technical control)", "de": "organisatorisch (keine technische Kontrolle)"},
    "not_judged": {"en": "never judged in the period", "de": "im Zeitraum nie bewertet"},
    "measures_detail": {"en": "Measures in detail", "de": "Maßnahmen im Einzelnen"},
    "episodes": {"en": "Failures in the period", "de": "Abweichungen im Zeitraum"},
    "no_episodes": {"en": "No failure in the period.", "de": "Keine Abweichung im Zeitraum."},
    "ep_since": {"en": "First failing run", "de": "Erster Lauf „nicht erfüllt“"},
    "ep_fixed": {"en": "Fixed in run", "de": "Behoben im Lauf"},
    "ep_duration": {"en": "Duration", "de": "Dauer"},
    "ep_runs": {"en": "Runs (failed)", "de": "Läufe (nicht erfüllt)"},
    "ep_days": {"en": "Days", "de": "Tage"},
    "ep_hosts": {"en": "Hosts failing in the last failing run",
                 "de": "Server mit „nicht bestanden“ im letzten Lauf „nicht erfüllt“"},
    "still_open": {"en": "still open", "de": "noch offen"},
    "from_start": {"en": "already failing in the first run of the period: may have begun earlier",
                   "de": "schon im ersten Lauf des Zeitraums nicht erfüllt: kann früher begonnen haben"},
    "first_run": {"en": "First run with it", "de": "Erster Lauf damit"},
    "unmapped": {"en": "proves no measure of the catalog", "de": "weist keine Maßnahme des Katalogs nach"},
    "process": {"en": "The testing process", "de": "Der Prüfprozess"},
    "gaps": {"en": "Days without a successful scan", "de": "Tage ohne erfolgreiche Prüfung"},
    "no_gaps": {"en": "A successful scan on every day of the period.",
                "de": "An jedem Tag des Zeitraums eine erfolgreiche Prüfung."},
    "from": {"en": "From", "de": "Von"},
    "to": {"en": "To", "de": "Bis"},
    "days": {"en": "Days", "de": "Tage"},
    "n_days": {"en": "{n} days", "de": "{n} Tage"},
    "hosts_seen": {"en": "Hosts in the runs", "de": "Server in den Prüfläufen"},
    "first_seen": {"en": "First run", "de": "Erster Lauf"},
    "last_seen": {"en": "Last run", "de": "Letzter Lauf"},
    "in_runs": {"en": "Planned in runs", "de": "Geplant in Läufen"},
    "checked_runs": {"en": "Checked in runs", "de": "Geprüft in Läufen"},
    "runs_list": {"en": "Runs summarised", "de": "Ausgewertete Prüfläufe"},
    "state": {"en": "State", "de": "Zustand"},
    "started": {"en": "Started (UTC)", "de": "Beginn (UTC)"},
    "hosts_pc": {"en": "Hosts planned / checked", "de": "Server geplant / geprüft"},
    "manifest": {"en": "manifest.json SHA-256", "de": "SHA-256 der manifest.json"},
    "successful": {"en": "successful", "de": "erfolgreich"},
    "legend_none": {"en": "no judged run", "de": "kein bewerteter Lauf"},
    "headline_hwe": {"en": "{n} technical measures held only with exceptions in some runs ({e} register entries "
                           "in the period, {x} of them expired)",
                     "de": "{n} technische Maßnahmen in manchen Läufen nur mit Ausnahmen erfüllt ({e} Einträge im "
                           "Register der Reaktionen im Zeitraum, {x} davon abgelaufen)"},
    "headline_org": {"en": "{n} organisational measures judged by attestations; {m} attested in every run with an "
                           "attestation file",
                     "de": "{n} organisatorische Maßnahmen anhand von Bestätigungen bewertet; {m} in jedem Lauf mit "
                           "Bestätigungsdatei bestätigt"},
    "hwe_runs": {"en": "Held with exceptions", "de": _cap(OUTCOME["held_with_exceptions"]["de"])},
    "register": {"en": "Exceptions, attestations and deviations over the period",
                 "de": "Ausnahmen, Bestätigungen und Abweichungen von der Vorgabe im Zeitraum"},
    "exc_life": {"en": "Exceptions (response register): their life in the period",
                 "de": "Ausnahmen (Register der Reaktionen): ihr Verlauf im Zeitraum"},
    "no_exceptions": {"en": "No run of the period used a response register.",
                      "de": "Kein Lauf des Zeitraums verwendete ein Register der Reaktionen."},
    "exc_scope": {"en": "Controls / hosts or groups", "de": "Kontrollen / Server oder Gruppen"},
    "exc_granted": {"en": "Approved by, granted, expires", "de": "Genehmigt von, erteilt, gültig bis"},
    "exc_states": {"en": "States seen (first run)", "de": "Zustände (erster Lauf)"},
    "exc_waived": {"en": "Runs / results waived", "de": "Läufe / Ergebnisse ausgenommen"},
    "exc_renewal": {"en": "Renewal", "de": "Verlängerung"},
    "renewed_by": {"en": "renewed by {ids}", "de": "verlängert durch {ids}"},
    "renews": {"en": "renews {ids}", "de": "verlängert {ids}"},
    "justification": {"en": "Justification", "de": "Begründung"},
    "att_validity": {"en": "Attestations of measures: validity in the period",
                     "de": "Bestätigungen von Maßnahmen: Gültigkeit im Zeitraum"},
    "no_attestations": {"en": "No run of the period used an attestation file.",
                        "de": "Kein Lauf des Zeitraums verwendete eine Bestätigungsdatei."},
    "att_runs": {"en": "Runs: attested / expired / not attested / documents not verified",
                 "de": "Läufe: bestätigt / abgelaufen / nicht bestätigt / Dokumente nicht nachgewiesen"},
    "att_first_last": {"en": "First / last attested", "de": "Zuerst / zuletzt bestätigt"},
    "att_lapsed": {"en": "Lapsed in run", "de": "Entfallen im Lauf"},
    "att_entries": {"en": "Attested by, date, valid until", "de": "Bestätigt von, Datum, gültig bis"},
    "deviations": {"en": "Deviations from the baseline", "de": "Abweichungen von der Vorgabe"},
    "no_deviations": {"en": "No deviation from the baseline in the period.",
                      "de": "Keine Abweichung von der Vorgabe im Zeitraum."},
    "dev_value": {"en": "Default → value", "de": "Vorgabe → Wert"},
    "dev_why": {"en": "Less strict because", "de": "Weniger streng, weil"},
    "method_title": {"en": "Method and definitions", "de": "Methode und Definitionen"},
    "method": {
        "en": [
            "Source: every run of the run history that started on a day of the period (UTC), of the inventory "
            "shown. Nothing was rescanned; the figures are computed from the results recorded by each scan. The "
            "same history, period, inventory and catalog give the same figures (audit.json holds them).",
            "A control held in a run when it passed on at least one host and passed or was not applicable on "
            "every other host the run planned to check. It failed when it failed on any host. It was not "
            "verified when, without a failure, any planned host gave an error (including hosts that were "
            "unreachable or refused), gave no result (the run was interrupted or is still running), or had the "
            "control deselected. A measure never counts as held where it was not verified. Runs where the "
            "control was deselected on every host, or not applicable everywhere, are left out.",
            "A measure (TOM item) held in a run when none of its controls failed, every one of them was "
            "checked, and at least one held. Controls added to the library later count from their first run.",
            "Held share = runs held ÷ (held + held with exceptions + failed + not verified).",
            "A failure lasts from the first run in which it failed until the first later run in which it held; "
            "runs in between that could not verify it do not end it. Its streak counts those runs and the UTC "
            "days from the first to the last of them. Time to fix = start of the fixing run − start of the first "
            "failing run; mean and worst are over the failures fixed within the period. A failure not fixed by "
            "the end of the period is shown as open, aged up to the end of the evaluated period. A host taken "
            "out of the inventory ends its own failures.",
            "A successful scan is a run that finished (not interrupted, not still running) and checked at least "
            "one host. A day on which no successful scan started is a gap in the testing process.",
            "Weekly cells show the worst outcome of the week's runs: failed, then not verified, then held; "
            "weeks are 7-day blocks from the first day of the period.",
            "Held with exceptions (letter W in audit.json): the control was verified on every planned host and "
            "each of its failures was waived by an entry of the response register in force on the run's date; it "
            "is counted apart and never as held, and it neither starts nor ends a failure. An organisational "
            "measure is judged in each run with an attestation file: held when a valid attestation with intact "
            "documents covers it, otherwise not verified. The exceptions table shows each register entry from "
            "its first to its last run, the states it went through, and which later entry renewed it after it "
            "expired."],
        "de": [
            "Quelle: jeder Prüflauf der Prüfhistorie, der an einem Tag des Zeitraums (UTC) begann, für das "
            "gezeigte Inventar. Es wurde nichts neu geprüft; die Zahlen werden aus den Ergebnissen berechnet, die "
            "jeder Lauf festgehalten hat. Dieselbe Historie, derselbe Zeitraum, dasselbe Inventar und derselbe "
            "Katalog ergeben dieselben Zahlen (audit.json enthält sie).",
            "Eine Kontrolle war in einem Lauf erfüllt, wenn sie auf mindestens einem Server bestanden und auf "
            "jedem anderen geplanten Server bestanden oder nicht anwendbar war. Sie war nicht erfüllt, wenn sie auf "
            "irgendeinem Server nicht bestanden war. Sie war nicht nachgewiesen, wenn ohne „nicht bestanden“ ein "
            "geplanter Server "
            "einen Fehler ergab (auch nicht erreichbare oder abweisende Server), kein Ergebnis lieferte (Lauf "
            "abgebrochen oder noch laufend) oder die Kontrolle abgewählt war. Eine Maßnahme zählt nie als "
            "erfüllt, wo sie nicht nachgewiesen wurde. Läufe, in denen die Kontrolle überall abgewählt oder "
            "überall nicht anwendbar war, zählen nicht mit.",
            "Eine Maßnahme (TOM-Punkt) war in einem Lauf erfüllt, wenn keine ihrer Kontrollen nicht erfüllt war, "
            "jede geprüft wurde und mindestens eine erfüllt war. Später hinzugekommene Kontrollen zählen ab ihrem "
            "ersten Lauf.",
            "Anteil erfüllt = erfüllte Läufe ÷ (erfüllt + erfüllt mit Ausnahmen + nicht erfüllt + nicht "
            "nachgewiesen).",
            "Eine Abweichung dauert vom ersten Lauf, in dem sie auftrat, bis zum ersten späteren Lauf, in dem die "
            "Kontrolle erfüllt war; Läufe dazwischen, die sie nicht nachweisen konnten, beenden sie nicht. "
            "Ihre Serie zählt diese Läufe und die UTC-Tage vom ersten bis zum letzten. Zeit bis zur Behebung = "
            "Beginn des behebenden Laufs − Beginn des ersten Laufs „nicht erfüllt“; Mittel und schlechtester Wert "
            "über die im Zeitraum behobenen Abweichungen. Eine bis zum Ende nicht behobene Abweichung steht als "
            "offen da, mit ihrem Alter bis zum Ende des ausgewerteten Zeitraums. Ein aus dem Inventar genommener "
            "Server beendet seine eigenen Abweichungen.",
            "Eine erfolgreiche Prüfung ist ein Lauf, der zu Ende kam (nicht abgebrochen, nicht mehr laufend) und "
            "mindestens einen Server geprüft hat. Ein Tag, an dem keine erfolgreiche Prüfung begann, ist eine "
            "Lücke im Prüfprozess.",
            "Die Wochenfelder zeigen das schlechteste Ergebnis der Läufe der Woche: nicht erfüllt, dann nicht "
            "nachgewiesen, dann erfüllt; Wochen sind 7-Tage-Blöcke ab dem ersten Tag des Zeitraums.",
            "Erfüllt mit Ausnahmen (Buchstabe W in audit.json): die Kontrolle wurde auf jedem geplanten Server "
            "geprüft, und jede Abweichung war durch einen am Tag des Laufs gültigen Eintrag des Registers der "
            "Reaktionen ausgenommen; das wird getrennt gezählt, nie als erfüllt, und beginnt oder beendet keine "
            "Abweichung. Eine organisatorische Maßnahme wird in jedem Lauf mit Bestätigungsdatei bewertet: "
            "erfüllt bei einer gültigen Bestätigung mit unveränderten Dokumenten, sonst nicht nachgewiesen. Die "
            "Tabelle der Ausnahmen zeigt jeden Eintrag vom ersten bis zum letzten Lauf, seine Zustände und "
            "welcher spätere Eintrag ihn nach dem Ablauf verlängerte."]},
    "integrity_text": {
        "en": "The runs summarised are listed above with the SHA-256 of each run bundle's manifest.json. The "
              "digest of the runs is the SHA-256 over one line per run in order: run id, start, state and "
              "manifest SHA-256 (“-” when none), tab-separated, each line ending in a newline. audit.json "
              "beside this file holds every figure of this report.",
        "de": "Die ausgewerteten Prüfläufe stehen oben mit dem SHA-256 der manifest.json ihres Prüfpakets. Der "
              "Digest der Läufe ist der SHA-256 über eine Zeile je Lauf in Reihenfolge: Lauf-ID, Beginn, Zustand "
              "und SHA-256 des Manifests („-“ wenn keins), durch Tabulatoren getrennt, jede Zeile mit "
              "Zeilenumbruch. audit.json neben dieser Datei enthält jede Zahl dieses Berichts."},
    "run_state": {
        "complete": {"en": "complete", "de": "vollständig"},
        "interrupted": {"en": "interrupted", "de": "abgebrochen"},
        "running": {"en": "running", "de": "laufend"},
    },
}

COLORS = {"held": "#1a7f37", "held_with_exceptions": "#7a5c00", "failed": "#c62828", "not_verified": "#8e24aa",
          None: "#e3e6ea"}
#: badge classes of the shared stylesheet per outcome
BADGE = {"held": "s-met", "held_with_exceptions": "s-met_with_exceptions", "failed": "s-not_met", "not_verified": "s-not_verified", "not_applicable": "s-other",
         "not_assessed": "s-other"}


class _AL(Lang):
    """The run report's language helper plus this report's strings and number formats."""

    def a(self, key: str, **kw: Any) -> Any:
        s = A[key][self.lang]
        return s.format(**kw) if kw else s

    def outcome(self, o: str | None) -> str:
        return super().outcome(o) if o else A["legend_none"][self.lang]

    def action(self, a: str | None) -> str:
        return word(RESPONSE_ACTION, a, self.lang) if a else "—"

    def rstate(self, s: str | None) -> str:
        return word(RESPONSE_STATE, s, self.lang) if s else "—"

    def state(self, s: str) -> str:
        return A["run_state"].get(s, {}).get(self.lang, s)

    def plural(self, key: str, n: int) -> str:
        return A[key][self.lang][0 if n == 1 else 1].format(n=n)

    def streak(self, runs: int, days: int) -> str:
        return f"{self.plural('run_n', runs)} / {self.plural('day_n', days)}"

    def num(self, x: float, digits: int = 1) -> str:
        s = f"{x:.{digits}f}"
        return s.replace(".", ",") if self.lang == "de" else s

    def pct(self, share: float | None) -> str:
        return "—" if share is None else self.num(100 * share) + " %"

    def dur(self, seconds: int | None) -> str:
        """A duration: days with one decimal from a day on, else hours."""
        if seconds is None:
            return "—"
        if seconds >= 86400:
            return self.num(seconds / 86400) + (" d" if self.lang == "en" else " Tg.")
        return self.num(seconds / 3600) + " h"


def _daily_chart(days: list[dict]) -> dict[str, Any]:
    """Geometry of the daily stacked bars (held / not verified / failed share of the day's item outcomes),
    a strip of gap days below, and the controls-failing polyline."""
    width, left, right, top, h = 860, 44, 10, 10, 150
    n = max(len(days), 1)
    plot_w = width - left - right
    bw = plot_w / n
    bars, gaps = [], []
    max_fail = max([d["controls"]["failed"] for d in days] + [1])
    points = []
    for k, d in enumerate(days):
        x = left + k * bw
        it = d["items"]
        total = it["held"] + it.get("held_with_exceptions", 0) + it["failed"] + it["not_verified"]
        if total:
            y = top + h
            for o in ("held", "held_with_exceptions", "not_verified", "failed"):
                if it.get(o):
                    seg = h * it[o] / total
                    y -= seg
                    bars.append({"x": round(x, 2), "y": round(y, 2), "w": round(max(bw - (0.4 if bw > 2 else 0), 0.6), 2),
                                 "h": round(seg, 2), "o": o, "date": d["date"], "n": it[o], "total": total})
        if d["successful"] == 0:
            gaps.append({"x": round(x, 2), "w": round(max(bw, 0.8), 2), "date": d["date"]})
        points.append((round(x + bw / 2, 2), d["controls"]["failed"]))
    # ticks: the first of each month for long periods, else each 7-day block start
    ticks = []
    for k, d in enumerate(days):
        day = date.fromisoformat(d["date"])
        if (n > 62 and day.day == 1) or (n <= 62 and k % 7 == 0):
            ticks.append({"x": round(left + k * bw, 2), "label": d["date"][5:] if n <= 62 else d["date"][:7]})
    fh = 70
    ftop = top + h + 40
    # the polyline is broken at days without a run (no run: no figure, not zero failures)
    lines, cur = [], []
    for (x, v), d in zip(points, days):
        if d["runs"]:
            cur.append(f"{x},{round(ftop + fh - fh * v / max_fail, 2)}")
        elif cur:
            lines.append(" ".join(cur))
            cur = []
    if cur:
        lines.append(" ".join(cur))
    return {"width": width, "height": ftop + fh + 24, "left": left, "top": top, "h": h, "plot_w": plot_w,
            "bars": bars, "gaps": gaps, "gap_y": top + h + 4, "ticks": ticks, "tick_y": top + h + 26,
            "ftop": ftop, "fh": fh, "lines": lines, "max_fail": max_fail,
            "grid": [{"y": round(top + h - h * p / 100, 2), "p": p} for p in (0, 50, 100)]}


def _strip(weekly: list[str | None] | None) -> dict[str, Any] | None:
    """A heat strip: one cell per week, coloured by its worst outcome."""
    if weekly is None:
        return None
    cw = 4 if len(weekly) > 20 else 12
    return {"w": cw * len(weekly), "cw": cw, "cells": [(k * cw, COLORS[o], o) for k, o in enumerate(weekly)]}


def build_context(doc: dict, lang: str) -> dict[str, Any]:
    L = _AL(lang)
    ctl_anchor = {c["id"]: f"c{k}" for k, c in enumerate(doc["controls"])}
    controls = []
    for c in doc["controls"]:
        controls.append({**c, "anchor": ctl_anchor[c["id"]], "strip": _strip(c["weekly"])})
    by_ctl = {c["id"]: c for c in controls}
    items = []
    for k, it in enumerate(doc["items"]):
        x = {**it, "anchor": f"m{k}", "title_l": L.text(it.get("title")),
             "text_l": L.text(it.get("text")) if it.get("text") else "",
             "strip": _strip(it.get("weekly")) if not it.get("group") else None,
             "ctls": [by_ctl[c] for c in (it.get("controls") or []) if c in by_ctl],
             "missing_ctls": [c for c in (it.get("controls") or []) if c not in by_ctl]}
        items.append(x)
    measures = [x for x in items if not x.get("group")]
    weeks = doc["series"]["weeks"]
    gen = doc.get("generated") or {}
    return {
        "L": L, "doc": doc, "version": __version__, "period": doc["period"], "runs": doc["runs"],
        "catalog": doc.get("catalog") or {}, "gaps": doc["gaps"], "overall": doc["overall"],
        "history": doc.get("history") or {}, "gen": gen, "inventory": doc.get("inventory"),
        "items": items, "measures": measures, "controls": controls,
        "unmapped": [c for c in controls if not c["items"]],
        "hosts": doc["hosts"], "chart": _daily_chart(doc["series"]["days"]), "weeks": weeks,
        "badge": BADGE, "colors": COLORS, "categories": CATEGORIES,
        "exceptions": doc.get("exceptions") or [], "attestations": doc.get("attestations") or [],
        "deviations": doc.get("deviations") or [],
    }


def render(doc: dict, lang: str = "en") -> bytes:
    if lang not in ("en", "de"):
        raise ValueError(f"unknown language {lang!r}")
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        ctx = build_context(doc, lang)
        return jinja_environment().get_template("audit.html.j2").render(**ctx).encode("utf-8", "replace")
    finally:
        if gc_was_enabled:
            gc.enable()
