"""Fixed strings (prose) of the HTML reports in English and German, and ``Lang``, the language
helper the templates call.

``T[key][lang]``; every key exists in both languages (tests/report/test_report_html.py checks it).
Status, severity, reason, roll-up, outcome and category words come from ``report.i18n`` (one
vocabulary for every format); the prose here names a status only with those words.
"""

from __future__ import annotations

from typing import Any

from hardencheck.report import i18n
from hardencheck.report.i18n import word

T: dict[str, dict[str, str]] = {
    # cover
    "report_title": {"en": "Audit report: technical and organisational measures",
                     "de": "Prüfbericht: technische und organisatorische Maßnahmen"},
    "html_lang": {"en": "en", "de": "de"},
    "contents": {"en": "Contents", "de": "Inhalt"},
    "cover": {"en": "Scope and run", "de": "Umfang und Prüflauf"},
    "organisation": {"en": "Organisation", "de": "Organisation"},
    "catalog": {"en": "TOM catalog", "de": "TOM-Katalog"},
    "overall_result": {"en": "Overall result", "de": "Gesamtergebnis"},
    "overall_not_met": {"en": "Not met: {n} measure(s) fail on at least one host",
                        "de": "Nicht erfüllt: {n} Maßnahme(n) auf mindestens einem Server nicht erfüllt"},
    "overall_not_verified": {"en": "Not verified: {n} measure(s) could not be checked everywhere",
                             "de": "Nicht nachgewiesen: {n} Maßnahme(n) konnten nicht überall geprüft werden"},
    "overall_met": {"en": "Every technically checked measure is met",
                    "de": "Alle technisch geprüften Maßnahmen sind erfüllt"},
    "overall_none": {"en": "No technical measure was assessed", "de": "Keine technische Maßnahme wurde geprüft"},
    "run_incomplete": {"en": "The scan was interrupted: the results are incomplete.",
                       "de": "Der Prüflauf wurde abgebrochen: die Ergebnisse sind unvollständig."},
    "hosts_unreached": {"en": "{n} host(s) could not be checked at all (see the host view).",
                        "de": "{n} Server konnten gar nicht geprüft werden (siehe Serveransicht)."},
    "run_id": {"en": "Run", "de": "Prüflauf"},
    "time_of_run": {"en": "Time of run (UTC)", "de": "Zeitpunkt (UTC)"},
    "started": {"en": "started", "de": "Beginn"},
    "ended": {"en": "ended", "de": "Ende"},
    "tool": {"en": "Tool", "de": "Werkzeug"},
    "scanner": {"en": "Run by (scanner host, user)", "de": "Ausgeführt von (Rechner, Benutzer)"},
    "inventory": {"en": "Inventory (scope)", "de": "Inventar (Prüfumfang)"},
    "hosts_planned": {"en": "Hosts planned", "de": "Geplante Server"},
    "environments": {"en": "Environments (inventory groups, hosts)", "de": "Umgebungen (Inventargruppen, Server)"},
    "hosts_checked": {"en": "Hosts checked", "de": "Geprüfte Server"},
    "hosts_failed_connect": {"en": "Hosts reached but not checkable / not reached",
                             "de": "Server nicht erreichbar oder nicht prüfbar"},
    "hosts_not_scanned": {"en": "Hosts not scanned (run interrupted)",
                          "de": "Nicht geprüfte Server (Lauf abgebrochen)"},
    "control_catalogue": {"en": "Control catalogue", "de": "Kontrollkatalog"},
    "controls_used": {"en": "{n} controls", "de": "{n} Kontrollen"},
    "options": {"en": "Selection", "de": "Auswahl"},
    "opt_limit": {"en": "hosts", "de": "Server"},
    "opt_tags": {"en": "tags", "de": "Tags"},
    "opt_controls": {"en": "controls", "de": "Kontrollen"},
    "opt_all": {"en": "all hosts and all controls of the catalogue", "de": "alle Server und alle Kontrollen des Katalogs"},
    "exit_code": {"en": "Exit code", "de": "Exit-Code"},
    "exit_0": {"en": "all clear", "de": "keine Beanstandung"},
    "exit_1": {"en": "failures at or above '{x}'", "de": "Abweichungen ab Schweregrad '{x}'"},
    "exit_2": {"en": "scan incomplete (errors)", "de": "Prüfung unvollständig (Fehler)"},
    "exit_2_interrupted": {"en": "scan interrupted: the hosts not finished were not checked",
                           "de": "Prüfung abgebrochen: nicht fertig gewordene Server wurden nicht geprüft"},
    "exit_3": {"en": "configuration error", "de": "Konfigurationsfehler"},
    "results_sha": {"en": "SHA-256 of results.json", "de": "SHA-256 von results.json"},
    "version": {"en": "version", "de": "Version"},
    "date": {"en": "date", "de": "Stand"},
    "none": {"en": "none", "de": "keine"},
    # executive summary
    "summary": {"en": "Executive summary", "de": "Zusammenfassung"},
    "per_category": {"en": "By TOM category", "de": "Nach TOM-Kategorie"},
    "per_item": {"en": "By measure", "de": "Nach Maßnahme"},
    "category": {"en": "Category", "de": "Kategorie"},
    "measures": {"en": "Measures", "de": "Maßnahmen"},
    "measure": {"en": "Measure", "de": "Maßnahme"},
    "compliance": {"en": "Compliance", "de": "Erfüllungsgrad"},
    "host_compliance": {"en": "Host checks met", "de": "Erfüllte Serverprüfungen"},
    "compliance_def": {
        "en": "Compliance = measures met ÷ (met + not met + not verified), counting only measures that "
              "have technical controls and were assessed in this run. A measure is met only when every "
              "control passes on every host where it applies. Organisational measures (no technical "
              "control), measures not assessed (controls deselected) and measures not applicable are left "
              "out. “Host checks met” counts the same per (host, measure) pair instead of per measure.",
        "de": "Erfüllungsgrad = erfüllte Maßnahmen ÷ (erfüllt + nicht erfüllt + nicht nachgewiesen), "
              "gezählt werden nur Maßnahmen mit technischen Kontrollen, die in diesem Lauf geprüft wurden. "
              "Eine Maßnahme ist nur erfüllt, wenn jede Kontrolle auf jedem Server besteht, auf den sie "
              "zutrifft. Organisatorische Maßnahmen (ohne technische Kontrolle), nicht geprüfte "
              "(abgewählte Kontrollen) und nicht anwendbare Maßnahmen zählen nicht mit. „Erfüllte "
              "Serverprüfungen“ zählt dasselbe je Paar (Server, Maßnahme) statt je Maßnahme."},
    "total": {"en": "Total", "de": "Gesamt"},
    "chart_title": {"en": "Measures per TOM category", "de": "Maßnahmen je TOM-Kategorie"},
    # the grey bar segments: measures not assessed (controls deselected) or not applicable
    "chart_other": {"en": "not assessed / not applicable", "de": "nicht bewertet / nicht anwendbar"},
    "failures_by_severity": {"en": "Failures by severity", "de": "Abweichungen nach Schweregrad"},
    "no_failures": {"en": "No control failed.",
                    "de": "Keine Kontrolle wurde als „nicht bestanden“ bewertet."},
    "incomplete": {"en": "Not verified: what could not be checked", "de": "Nicht nachgewiesen: was nicht geprüft werden konnte"},
    "no_errors": {"en": "Every selected control could be checked on every host.",
                  "de": "Jede ausgewählte Kontrolle konnte auf jedem Server geprüft werden."},
    "reason": {"en": "Reason", "de": "Grund"},
    "count": {"en": "Count", "de": "Anzahl"},
    "severity": {"en": "Severity", "de": "Schweregrad"},
    "control": {"en": "Control", "de": "Kontrolle"},
    "controls": {"en": "Controls", "de": "Kontrollen"},
    "hosts": {"en": "Hosts", "de": "Server"},
    "host": {"en": "Host", "de": "Server"},
    "status": {"en": "Status", "de": "Status"},
    "expected": {"en": "Expected", "de": "Erwartet"},
    "actual": {"en": "Found", "de": "Vorgefunden"},
    "message": {"en": "Finding", "de": "Befund"},
    "evidence": {"en": "Evidence", "de": "Nachweis"},
    "art32": {"en": "GDPR Art. 32(1)", "de": "Art. 32 Abs. 1 DSGVO"},
    # findings
    "findings": {"en": "Findings", "de": "Befunde"},
    "findings_intro": {"en": "Every failing control with its rationale, remediation and the hosts where it fails, then "
                             "every error; each row shows an excerpt of the raw evidence, named by its key in "
                             "results.json and the SHA-256 of the whole output, and links to the host view.",
                       "de": "Jede nicht bestandene Kontrolle mit Begründung, Abhilfe und den betroffenen Servern, danach "
                             "jeder Fehler; jede Zeile zeigt einen Auszug der Rohdaten, benannt mit ihrem Schlüssel in "
                             "results.json und dem SHA-256 der ganzen Ausgabe, und verweist auf die Serveransicht."},
    "errors_title": {"en": "Not verified: errors", "de": "Nicht nachgewiesen: Fehler"},
    "errors_intro": {"en": "Every control that could not be judged on a host that was reached, with the reason and "
                           "an excerpt of what the host answered; below them, the hosts that could not be checked at all.",
                     "de": "Jede Kontrolle, die auf einem erreichten Server nicht bewertet werden konnte, mit dem Grund "
                           "und einem Auszug der Antwort des Servers; davor die Server, die gar nicht geprüft werden konnten."},
    "unreached_title": {"en": "Hosts not checked at all", "de": "Gar nicht geprüfte Server"},
    "errors_on": {"en": "not verified on {n} host(s)", "de": "nicht nachgewiesen auf {n} Server(n)"},
    "excerpt_stdout": {"en": "Output of", "de": "Ausgabe von"},
    "excerpt_stderr": {"en": "Error output of", "de": "Fehlerausgabe von"},
    "in_findings": {"en": "→ in the findings", "de": "→ unter den Befunden"},
    "excerpt_same": {"en": "the same output as on", "de": "dieselbe Ausgabe wie auf"},
    "excerpt_more": {"en": "… {n} more bytes in results.json", "de": "… {n} weitere Bytes in results.json"},
    "annex": {"en": "Annex", "de": "Anlage"},
    "annex_evidence": {"en": "Not printed: the raw evidence of this host ({n} records: commands, output, exit codes). "
                             "It is in the bundle's results.json under `evidence`, each record's key being",
                       "de": "Nicht gedruckt: die Rohdaten dieses Servers ({n} Datensätze: Befehle, Ausgaben, "
                             "Exit-Codes). Sie stehen in der results.json des Bundles unter `evidence`, Schlüssel jeweils"},
    "annex_fleet": {"en": "Printed for a fleet: the results that did not pass (the full table is in the HTML report and "
                          "results.json).",
                    "de": "Gedruckt für viele Server: die nicht bestandenen Ergebnisse (die ganze Tabelle steht im "
                          "HTML-Bericht und in results.json)."},
    "annex_key": {"en": "probe/command, as in the Evidence column", "de": "Probe/Befehl, wie in der Spalte Nachweis"},
    "rationale": {"en": "Rationale", "de": "Begründung"},
    "remediation": {"en": "Remediation", "de": "Abhilfe"},
    "description": {"en": "What is checked", "de": "Was geprüft wird"},
    "fails_on": {"en": "fails on {n} host(s)", "de": "nicht bestanden auf {n} Server(n)"},
    # TOM view
    "tom_view": {"en": "Measures (TOM view)", "de": "Maßnahmen (TOM-Sicht)"},
    "organisational_note": {"en": "No technical control proves this measure: it needs a person's attestation.",
                            "de": "Keine technische Kontrolle weist diese Maßnahme nach: sie braucht eine Bestätigung durch eine verantwortliche Person."},
    "per_host": {"en": "Per host", "de": "Je Server"},
    "passing_hosts": {"en": "passes on {n} host(s)", "de": "besteht auf {n} Server(n)"},
    "na_hosts": {"en": "not applicable / not selected on {n} host(s)", "de": "nicht anwendbar / nicht ausgewählt auf {n} Server(n)"},
    "not_passing": {"en": "Hosts where it does not pass", "de": "Server, auf denen sie nicht besteht"},
    "hosts_in_status": {"en": "Hosts by status", "de": "Server nach Status"},
    # host view
    "host_view": {"en": "Hosts", "de": "Server"},
    "identity": {"en": "Identity (who answered)", "de": "Identität (wer geantwortet hat)"},
    "address": {"en": "Address", "de": "Adresse"},
    "user": {"en": "User", "de": "Benutzer"},
    "transport": {"en": "Transport", "de": "Transport"},
    "via": {"en": "Jump hosts", "de": "Sprungserver"},
    "sudo": {"en": "sudo", "de": "sudo"},
    "host_key": {"en": "SSH host key", "de": "SSH-Host-Schlüssel"},
    "tofu": {"en": "trusted on first use (not verified against known_hosts before this run)",
             "de": "beim ersten Kontakt vertraut (vorher nicht in known_hosts)"},
    "os": {"en": "Operating system", "de": "Betriebssystem"},
    "machine_id": {"en": "machine-id", "de": "machine-id"},
    "exec": {"en": "Command run (one per host)", "de": "Ausgeführter Befehl (einer je Server)"},
    "script": {"en": "probe script", "de": "Prüfskript"},
    "bytes": {"en": "bytes", "de": "Bytes"},
    "timed_out": {"en": "timed out", "de": "Zeitüberschreitung"},
    "not_completed": {"en": "did not complete", "de": "nicht vollständig"},
    "host_error": {"en": "No facts could be collected from this host", "de": "Von diesem Server konnten keine Fakten erhoben werden"},
    "all_controls_error": {"en": "Every control is “error” on this host: {ids}",
                           "de": "Jede Kontrolle ist auf diesem Server „Fehler“: {ids}"},
    "noise": {"en": "Login noise: printed outside the probe sections (banners, shell start-up files), never parsed",
              "de": "Anmelde-Ausgaben: außerhalb der Prüfabschnitte ausgegeben (Banner, Shell-Startdateien), nie ausgewertet"},
    "noise_truncated": {"en": "CUT at collection: {n} bytes were printed outside the probe sections; only the first "
                              "4,096 bytes of stdout and of stderr were kept",
                        "de": "BEI DER ERHEBUNG GEKÜRZT: {n} Bytes wurden außerhalb der Prüfabschnitte ausgegeben; nur "
                              "die ersten 4.096 Bytes von stdout und von stderr wurden behalten"},
    "results": {"en": "Results", "de": "Ergebnisse"},
    "evidence_records": {"en": "Raw evidence ({n} commands)", "de": "Rohdaten ({n} Befehle)"},
    "command": {"en": "Command (probe snippet)", "de": "Befehl (Prüf-Schnipsel)"},
    "args": {"en": "Arguments ($1 …)", "de": "Argumente ($1 …)"},
    "tools": {"en": "Programs", "de": "Programme"},
    "tool_missing": {"en": "not installed", "de": "nicht installiert"},
    "tool_untrusted": {"en": "NOT TRUSTED, not run", "de": "NICHT VERTRAUENSWÜRDIG, nicht ausgeführt"},
    "tool_outside": {"en": "(outside the system directories)", "de": "(außerhalb der Systemverzeichnisse)"},
    "exit": {"en": "exit code", "de": "Exit-Code"},
    "collected": {"en": "collected (UTC)", "de": "erhoben (UTC)"},
    "stdout": {"en": "stdout", "de": "stdout"},
    "stderr": {"en": "stderr", "de": "stderr"},
    "empty": {"en": "(empty)", "de": "(leer)"},
    "truncated": {"en": "TRUNCATED at collection: the host sent {sent} bytes of stdout and {sent_err} of stderr; "
                        "only the first 64 KiB per stream were kept",
                  "de": "BEI DER ERHEBUNG GEKÜRZT: der Server sandte {sent} Bytes stdout und {sent_err} stderr; "
                        "nur die ersten 64 KiB je Datenstrom wurden behalten"},
    "section_incomplete": {"en": "section incomplete (output ended early)", "de": "Abschnitt unvollständig (Ausgabe brach ab)"},
    "more_bytes": {"en": "… {n} more bytes", "de": "… {n} weitere Bytes"},
    "cut_bytes": {"en": "… {n} more bytes not shown (beyond the 64 KiB evidence limit)",
                  "de": "… {n} weitere Bytes nicht gezeigt (jenseits der 64-KiB-Grenze)"},
    "params": {"en": "Parameters", "de": "Parameter"},
    "probe": {"en": "Probe", "de": "Prüfung"},
    "connection_error": {"en": "Connection", "de": "Verbindung"},
    "back_to_top": {"en": "top", "de": "Anfang"},
    "control_chars_note": {"en": "Control, invisible and direction-changing characters in host output are shown as "
                                  "highlighted escapes (\\x1b, \\u202e); invalid UTF-8 appears as a highlighted �.",
                           "de": "Steuer-, unsichtbare und richtungsändernde Zeichen aus Server-Ausgaben erscheinen als "
                                 "hervorgehobene Escapes (\\x1b, \\u202e); ungültiges UTF-8 als hervorgehobenes �."},
    # review and sign-off (report.html_signoff, templates/signoff.html.j2)
    "signoff": {"en": "Review and sign-off", "de": "Prüfung und Freigabe"},
    "signoff_cover": {"en": "Sign-off", "de": "Freigabe"},
    "signoff_none": {"en": "not signed off (form at the end of the report)",
                     "de": "nicht freigegeben (Formular am Ende des Berichts)"},
    "signoff_empty": {"en": "Not signed off yet. To be completed by the reviewer; `hardencheck signoff` records the "
                            "decision, signed, beside the run bundle.",
                      "de": "Noch nicht freigegeben. Von der prüfenden Person auszufüllen; `hardencheck signoff` "
                            "hält die Entscheidung signiert neben dem Prüflauf-Bündel fest."},
    "signoff_reviewer": {"en": "Reviewer", "de": "Prüfende Person"},
    "signoff_date": {"en": "Date (UTC)", "de": "Datum (UTC)"},
    "signoff_decision": {"en": "Decision", "de": "Entscheidung"},
    "signoff_comment": {"en": "Comment", "de": "Kommentar"},
    "signoff_manifest": {"en": "Signs off manifest.json (SHA-256)", "de": "Freigegebenes manifest.json (SHA-256)"},
    "signoff_signature": {"en": "Signature", "de": "Unterschrift"},
    "decision_accepted": {"en": "accepted", "de": "abgenommen"},
    "decision_accepted_with_findings": {"en": "accepted with findings", "de": "abgenommen mit Feststellungen"},
    "decision_rejected": {"en": "rejected", "de": "abgelehnt"},
    "signoff_signed": {"en": "Signed with the reviewer's SSH key (OpenSSH signature, namespace hardencheck-signoff, "
                             "in signoff.json.sig): `hardencheck verify` checks the signature and that it names this "
                             "bundle's manifest.",
                       "de": "Mit dem SSH-Schlüssel der prüfenden Person signiert (OpenSSH-Signatur, Namensraum "
                             "hardencheck-signoff, in signoff.json.sig): `hardencheck verify` prüft die Signatur und "
                             "dass sie das manifest.json dieses Bündels nennt."},
    "signoff_check": {"en": "`hardencheck verify` checks that this sign-off names this bundle's manifest.",
                      "de": "`hardencheck verify` prüft, dass diese Freigabe das manifest.json dieses Bündels nennt."},
    "signoff_unsigned": {"en": "UNSIGNED: who made this sign-off is not proven.",
                         "de": "NICHT SIGNIERT: wer diese Freigabe erteilt hat, ist nicht belegt."},
    "signoff_other_manifest": {"en": "This sign-off names another manifest than this bundle's: it does NOT sign off "
                                     "this run.",
                               "de": "Diese Freigabe nennt ein anderes manifest.json als das dieses Bündels: sie gilt "
                                     "NICHT für diesen Prüflauf."},
    "responses": {"en": "Management response: remediation planned", "de": "Stellungnahme: geplante Behebung"},
    "response_id": {"en": "Entry", "de": "Eintrag"},
    "response_text": {"en": "Response", "de": "Stellungnahme"},
    "response_owner": {"en": "Owner", "de": "Verantwortlich"},
    "response_due": {"en": "Due", "de": "Fällig"},
    "response_state": {"en": "State", "de": "Stand"},
    # appendix
    "appendix": {"en": "Appendix", "de": "Anhang"},
    "method": {"en": "Method", "de": "Methode"},
    "method_text": {
        "en": ["hardencheck installs nothing on the servers. For each host it opens one SSH connection, checks the "
               "host key against known_hosts before sending anything, and runs one generated POSIX sh script "
               "(one exec; with sudo -n when configured). The script runs fixed, read-only probe snippets; "
               "values from the inventory or a control reach them only as quoted positional arguments ($1 …).",
               "Each snippet's output is framed by markers carrying a random per-run nonce, so output of one "
               "probe cannot pass itself off as another's. Output is bounded to 64 KiB per command and stream; "
               "anything beyond is counted and the record marked truncated. What a login shell prints outside "
               "the frames (banners) is kept as “login noise” and never parsed.",
               "The output is parsed and judged on the scanner, never on the host: each control compares the "
               "facts of its probe with its expectation (with the parameters shown) and yields exactly one "
               "status per host. Anything that could not be determined is “error” with a reason code, never a "
               "pass. The verdicts, the raw output and the identity of the answering host are stored in "
               "results.json; this report is rendered from that file alone.",
               "Limits: a host whose root account is compromised can lie about its own state; the evidence "
               "proves what the host answered at the time shown, authenticated by its SSH host key."],
        "de": ["hardencheck installiert nichts auf den Servern. Je Server wird eine SSH-Verbindung geöffnet, der "
               "Host-Schlüssel vor dem ersten gesendeten Byte gegen known_hosts geprüft und ein erzeugtes "
               "POSIX-sh-Skript ausgeführt (ein exec; mit sudo -n, wenn so konfiguriert). Das Skript führt feste, "
               "nur lesende Prüf-Schnipsel aus; Werte aus Inventar oder Kontrolle erreichen sie nur als "
               "gequotete Positionsparameter ($1 …).",
               "Die Ausgabe jedes Schnipsels ist von Markierungen mit einer zufälligen Nonce je Lauf eingerahmt, "
               "so dass die Ausgabe einer Prüfung sich nicht als die einer anderen ausgeben kann. Je Befehl und "
               "Datenstrom werden höchstens 64 KiB behalten; der Rest wird gezählt und der Datensatz als gekürzt "
               "markiert. Was eine Login-Shell außerhalb der Rahmen ausgibt (Banner), bleibt als "
               "„Anmelde-Ausgabe“ erhalten und wird nie ausgewertet.",
               "Ausgewertet wird auf dem prüfenden Rechner, nie auf dem Server: jede Kontrolle vergleicht die "
               "Fakten ihrer Prüfung mit ihrer Erwartung (mit den gezeigten Parametern) und ergibt genau einen "
               "Status je Server. Was nicht festgestellt werden konnte, ist „Fehler“ mit einem Grund-Code, nie "
               "ein Bestehen. Urteile, Rohdaten und die Identität des antwortenden Servers stehen in "
               "results.json; dieser Bericht ist allein aus dieser Datei erzeugt.",
               "Grenzen: ein Server mit kompromittiertem root-Konto kann über seinen eigenen Zustand lügen; der "
               "Nachweis belegt, was der Server zum gezeigten Zeitpunkt geantwortet hat, authentisiert durch "
               "seinen SSH-Host-Schlüssel."]},
    "glossary": {"en": "Glossary of statuses", "de": "Glossar der Status"},
    "result_statuses": {"en": "Result of one control on one host", "de": "Ergebnis einer Kontrolle auf einem Server"},
    "rollup_statuses": {"en": "Status of a TOM measure", "de": "Status einer TOM-Maßnahme"},
    "reason_codes": {"en": "Reason codes of “error”", "de": "Grund-Codes von „Fehler“"},
    "definitions": {"en": "Control definitions used", "de": "Verwendete Kontrolldefinitionen"},
    "references": {"en": "References", "de": "Referenzen"},
    "tags": {"en": "Tags", "de": "Tags"},
    "file": {"en": "File", "de": "Datei"},
    "snippets": {"en": "Probe snippets", "de": "Prüf-Schnipsel"},
    "snippets_note": {"en": "Each distinct shell snippet run on the hosts, once; the evidence records refer to "
                            "them by number and sha256. Arguments ($1 …) are given in each record.",
                      "de": "Jeder auf den Servern ausgeführte Shell-Schnipsel, einmal; die Nachweise verweisen "
                            "mit Nummer und sha256 darauf. Argumente ($1 …) stehen in jedem Nachweis."},
    "integrity": {"en": "Integrity", "de": "Integrität"},
    "integrity_text": {
        "en": "This report was rendered from a results.json whose SHA-256 is given below (computed over the "
              "file's canonical bytes: UTF-8 JSON with one-space indentation and a final newline, exactly as "
              "hardencheck writes it). Check it with `sha256sum results.json`.",
        "de": "Dieser Bericht wurde aus einer results.json erzeugt, deren SHA-256 unten steht (berechnet über "
              "die kanonischen Bytes der Datei: UTF-8-JSON mit einem Leerzeichen Einrückung und abschließendem "
              "Zeilenumbruch, genau wie hardencheck sie schreibt). Prüfen mit `sha256sum results.json`."},
    "generated_by": {"en": "Rendered by hardencheck {v} from results.json schema {s}.",
                     "de": "Erzeugt von hardencheck {v} aus results.json, Schema {s}."},
}


class Lang:
    """What the templates call for words: ``t`` for this format's prose, the rest from
    ``report.i18n``."""

    def __init__(self, lang: str):
        self.lang = lang

    def t(self, key: str, **kw: Any) -> Any:
        s = T[key][self.lang]
        return s.format(**kw) if kw else s

    def status(self, s: str, rollup: bool = False) -> str:
        return word(i18n.ROLLUP if rollup else i18n.STATUS, s, self.lang)

    def status_def(self, s: str, rollup: bool = False) -> str:
        return word(i18n.ROLLUP_DEF if rollup else i18n.STATUS_DEF, s, self.lang)

    def sev(self, s: str) -> str:
        return word(i18n.SEVERITY, s, self.lang)

    def reason(self, code: str | None) -> str:
        return word(i18n.REASON, code, self.lang) if code else ""

    def outcome(self, o: str) -> str:
        return word(i18n.OUTCOME, o, self.lang)

    def category(self, key: str | None) -> str:
        return word(i18n.CATEGORY, key, self.lang) if key else "—"

    def art32(self, letter: str | None) -> str:
        return word(i18n.ARTICLE32, letter, self.lang) if letter else ""

    def text(self, d: Any) -> str:
        """A {de, en} text of the catalog in this language (or whatever exists)."""
        if isinstance(d, dict):
            return d.get(self.lang) or d.get("en") or d.get("de") or ""
        return "" if d is None else str(d)
