"""The annual effectiveness report's own strings (en/de): the prose of ``templates/audit.html.j2``.

The run report's shared strings come from ``i18n_html.T``, the outcome words (held, failed, not verified …)
from ``report.i18n.OUTCOME``: in German they are the TOM roll-up's words (erfüllt, nicht erfüllt, nicht
nachgewiesen …). ``report.audit_html`` renders with them.
"""

from __future__ import annotations

from typing import Any

from hardencheck.report.i18n import OUTCOME


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
    # -- the honest headline (issue 13): one class per technical measure, all of them in the denominator
    "hl_held_all_period": {"en": "held all period", "de": "im ganzen Zeitraum erfüllt"},
    "hl_held_with_exceptions": {"en": "held, some runs only with exceptions",
                                "de": "erfüllt, in manchen Läufen nur mit Ausnahmen"},
    "hl_fixed": {"en": "held with failures fixed", "de": "erfüllt nach behobenen Abweichungen"},
    "hl_failing": {"en": "failing at period end", "de": "am Ende des Zeitraums nicht erfüllt"},
    "hl_incomplete": {"en": "no failure, but evidence incomplete (not verified in some runs)",
                      "de": "keine Abweichung, aber Nachweis lückenhaft (in manchen Läufen nicht nachgewiesen)"},
    "hl_never_verified": {"en": "never verified in the period", "de": "im Zeitraum nie nachgewiesen"},
    "headline_n": {"en": "{held} of {n} technical measures held in every run of the period",
                   "de": "{held} von {n} technischen Maßnahmen in jedem Prüflauf des Zeitraums erfüllt"},
    "headline_split": {"en": "Not held all period: {f} because of failures, {i} for incomplete evidence",
                       "de": "Nicht im ganzen Zeitraum erfüllt: {f} wegen Abweichungen, {i} wegen lückenhafter "
                             "Nachweise"},
    "never_list": {"en": "Measures never verified in the period ({n}, counted in the {m} above)",
                   "de": "Im Zeitraum nie nachgewiesene Maßnahmen ({n}, in den {m} oben mitgezählt)"},
    "hl_class": {"en": "Over the period", "de": "Im Zeitraum"},
    # -- the period the runs cover
    "covered": {"en": "Period covered by the runs", "de": "Von den Prüfläufen abgedeckter Zeitraum"},
    "requested": {"en": "requested", "de": "angefordert"},
    "w_no_runs": {"en": "No run on any of the {n} requested days.", "de": "An keinem der {n} angeforderten Tage ein Prüflauf."},
    "w_before_first_run": {"en": "{n} requested day(s) before the first run ({a} – {b}): not covered.",
                           "de": "{n} angeforderte(r) Tag(e) vor dem ersten Prüflauf ({a} – {b}): nicht abgedeckt."},
    "w_after_last_run": {"en": "{n} requested day(s) after the last run ({a} – {b}): not covered.",
                         "de": "{n} angeforderte(r) Tag(e) nach dem letzten Prüflauf ({a} – {b}): nicht abgedeckt."},
    "w_not_evaluated": {"en": "{n} requested day(s) after the evaluation time ({a} – {b}): not evaluated.",
                        "de": "{n} angeforderte(r) Tag(e) nach dem Auswertungszeitpunkt ({a} – {b}): nicht ausgewertet."},
    "w_before_period": {"en": "{n} run(s) of the history before the period left out ({a} – {b}).",
                        "de": "{n} Prüflauf/-läufe der Historie vor dem Zeitraum nicht berücksichtigt ({a} – {b})."},
    "w_after_period": {"en": "{n} run(s) of the history after the period left out ({a} – {b}).",
                       "de": "{n} Prüflauf/-läufe der Historie nach dem Zeitraum nicht berücksichtigt ({a} – {b})."},
    "w_after_evaluated_end": {"en": "{n} run(s) dated after the evaluation time not counted ({a} – {b}).",
                              "de": "{n} Prüflauf/-läufe mit Datum nach dem Auswertungszeitpunkt nicht gezählt "
                                    "({a} – {b})."},
    # -- the evidence check: each run against its bundle
    "evidence": {"en": "Runs checked against their bundles", "de": "Prüfläufe gegen ihre Prüfpakete geprüft"},
    "ev_line": {"en": "{v} of {n} runs verified against their bundles; {u} unverifiable (counted as not verified)",
                "de": "{v} von {n} Prüfläufen gegen ihre Prüfpakete bestätigt; {u} nicht belegbar (als nicht "
                      "nachgewiesen gezählt)"},
    "ev_skipped": {"en": "NOT checked (--no-bundle-check): the figures are the run history's alone; nothing ties "
                         "them to the bundles",
                   "de": "NICHT geprüft (--no-bundle-check): die Zahlen stammen allein aus der Prüfhistorie; nichts "
                         "bindet sie an die Prüfpakete"},
    "ev_unverifiable": {"en": "Unverifiable runs: history and bundle disagree, or the bundle is missing or altered",
                        "de": "Nicht belegbare Prüfläufe: Historie und Prüfpaket weichen ab, oder das Prüfpaket fehlt "
                              "oder wurde verändert"},
    "ev_reason": {"en": "Why", "de": "Grund"},
    "unverifiable": {"en": "unverifiable", "de": "nicht belegbar"},
    "verified": {"en": "verified", "de": "bestätigt"},
    "signatures": {"en": "Signatures of the bundles", "de": "Signaturen der Prüfpakete"},
    "sig_line": {"en": "{good} signed by an allowed signer{by}; {unchecked} signed, not checked against any allowed "
                       "signers{keys}; {unsigned} unsigned; {bad} bad",
                 "de": "{good} von einem zugelassenen Unterzeichner signiert{by}; {unchecked} signiert, gegen keine "
                       "Liste zugelassener Unterzeichner geprüft{keys}; {unsigned} unsigniert; {bad} ungültig"},
    "sig_policy": {"en": "policy: allowed signers {p}", "de": "Vorgabe: zugelassene Unterzeichner {p}"},
    "sig_nopolicy": {"en": "no signer policy: signatures are reported, not required",
                     "de": "keine Vorgabe für Unterzeichner: Signaturen werden genannt, nicht verlangt"},
    "sig": {"good": {"en": "signed by {by}", "de": "signiert von {by}"},
            "unchecked": {"en": "signed by {by}, not checked", "de": "signiert von {by}, nicht geprüft"},
            "unsigned": {"en": "unsigned", "de": "unsigniert"},
            "bad": {"en": "bad signature", "de": "ungültige Signatur"},
            "unknown": {"en": "signature not examined", "de": "Signatur nicht untersucht"}},
    "bundle_col": {"en": "Bundle check", "de": "Prüfpaket"},
    "digest": {"en": "SHA-256 of this report's figures (quote this one)",
               "de": "SHA-256 der Zahlen dieses Berichts (diesen angeben)"},
    "none_recorded": {"en": "none recorded", "de": "nicht festgehalten"},
    # -- the daily chart: hosts x controls of the day's last run
    "chart_pairs": {"en": "Results per day in percent of hosts × controls (the day's last run; several runs a day "
                          "are not added up); marked below: days without a successful scan",
                    "de": "Ergebnisse je Tag in Prozent von Server × Kontrollen (der letzte Lauf des Tages; mehrere "
                          "Läufe eines Tages werden nicht addiert); darunter markiert: Tage ohne erfolgreiche "
                          "Prüfung"},
    "not_checked": {"en": "not checked", "de": "nicht geprüft"},
    "y_axis": {"en": "% of hosts × controls", "de": "% Server × Kontrollen"},
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
            "expired.",
            "Each run counted was checked against its run bundle: the bundle's manifest.json must have the SHA-256 "
            "the run history recorded, every file must be as the manifest lists it (and, with an allowed-signers "
            "policy, the manifest signed by an allowed signer), and the history's counts for the run (results per "
            "control and status, hosts checked) must equal those recomputed from the bundle's results.json. A run "
            "that fails any of this is unverifiable: every control counts as not verified in it and it is no "
            "successful scan.",
            "The headline puts each technical measure (every measure with a technical control, also those never "
            "checked) in one class: held all period; held with failures fixed (it failed, and every failure was "
            "followed by a run in which it held); failing at period end; no failure but evidence incomplete (held "
            "where checked, not verified in some runs); never verified (no run showed it held or failed). The trend "
            "chart shows, per day, the results of that day's last run in percent of its planned hosts × its "
            "controls."],
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
            "welcher spätere Eintrag ihn nach dem Ablauf verlängerte.",
            "Jeder gezählte Prüflauf wurde gegen sein Prüfpaket geprüft: die manifest.json des Pakets muss den in "
            "der Prüfhistorie festgehaltenen SHA-256 haben, jede Datei muss so sein, wie das Manifest sie aufführt "
            "(und bei einer Vorgabe zugelassener Unterzeichner das Manifest von einem davon signiert), und die "
            "Zahlen der Historie für den Lauf (Ergebnisse je Kontrolle und Status, geprüfte Server) müssen denen "
            "entsprechen, die aus der results.json des Pakets neu gezählt werden. Ein Lauf, bei dem etwas davon "
            "nicht zutrifft, ist nicht belegbar: jede Kontrolle zählt in ihm als nicht nachgewiesen, und er ist "
            "keine erfolgreiche Prüfung.",
            "Die Kopfzeile ordnet jede technische Maßnahme (jede mit einer technischen Kontrolle, auch nie geprüfte) "
            "genau einer Klasse zu: im ganzen Zeitraum erfüllt; erfüllt nach behobenen Abweichungen; am Ende des "
            "Zeitraums nicht erfüllt; keine Abweichung, aber Nachweis lückenhaft; im Zeitraum nie nachgewiesen. "
            "Das Verlaufsdiagramm zeigt je Tag die Ergebnisse des letzten Laufs dieses Tages in Prozent seiner "
            "geplanten Server × seiner Kontrollen."]},
    "integrity_text": {
        "en": "The runs summarised are listed above with the SHA-256 of each run bundle's manifest.json. The "
              "digest of the runs is the SHA-256 over one line per run in order: run id, start, state and "
              "manifest SHA-256 (“-” when none), tab-separated, each line ending in a newline. audit.json "
              "beside this file holds every figure of this report; the SHA-256 of the figures (digest_sha256 in "
              "audit.json, shown on the cover) covers all of it — every figure, every run with its manifest hash and "
              "bundle check, the period and the catalog — except when and where it was made and the database "
              "file's own hash: SHA-256 of the canonical JSON (keys sorted, no spaces, ASCII escapes) of audit.json "
              "without generated, history and digest_sha256.",
        "de": "Die ausgewerteten Prüfläufe stehen oben mit dem SHA-256 der manifest.json ihres Prüfpakets. Der "
              "Digest der Läufe ist der SHA-256 über eine Zeile je Lauf in Reihenfolge: Lauf-ID, Beginn, Zustand "
              "und SHA-256 des Manifests („-“ wenn keins), durch Tabulatoren getrennt, jede Zeile mit "
              "Zeilenumbruch. audit.json neben dieser Datei enthält jede Zahl dieses Berichts; der SHA-256 der Zahlen "
              "(digest_sha256 in audit.json, auf dem Deckblatt) deckt all das ab — jede Zahl, jeden Prüflauf mit "
              "Manifest-Hash und Paketprüfung, den Zeitraum und den Katalog — außer Zeitpunkt und Ort der Erstellung "
              "und dem Hash der Datenbankdatei: SHA-256 des kanonischen JSON (Schlüssel sortiert, ohne Leerzeichen, "
              "ASCII-Escapes) von audit.json ohne generated, history und digest_sha256."},
    "run_state": {
        "complete": {"en": "complete", "de": "vollständig"},
        "interrupted": {"en": "interrupted", "de": "abgebrochen"},
        "running": {"en": "running", "de": "laufend"},
    },
}
