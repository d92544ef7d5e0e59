"""The vocabulary of every report: status, severity, reason, TOM roll-up, annual outcome and
category words in English and German, in one table shape.

Every table is ``{key: {"en": word, "de": word}}`` and read through ``word(TABLE, key, lang)``.
HTML, Markdown, the terminal summary and the annual report take these words from here, so one
verdict has one word in every format (tests/report/test_vocabulary.py renders them all from one
lab scan and compares). Per-format prose (headings, sentences) stays with its format
(``i18n_html.T``, ``markdown.LABELS``, ``audit_html.A``) and quotes these words where it names
a status.

German follows the audit language of a German data protection officer: a result is
*bestanden* / *nicht bestanden* / *Fehler* / *nicht anwendbar* / *übersprungen*; a TOM measure
is *erfüllt* / *nicht erfüllt* / *nicht nachgewiesen* / *organisatorisch* / *nicht bewertet* /
*nicht anwendbar*; the annual report's outcomes of a measure or control in a run are the
roll-up words (held = *erfüllt*). A scanned machine is a *Server* (never "Host") in German.

English reason texts have one home, ``hardencheck.errors.REASONS`` (the codes are part of the
results.json schema); their German wording is here.
"""

from __future__ import annotations

import datetime as _dt

from hardencheck.errors import REASONS as _REASONS_EN
from hardencheck.judge.tom import ART32, CATEGORIES

LANGS = ("en", "de")

Table = dict[str, dict[str, str]]

#: The result of one control on one host.
STATUS: Table = {
    "pass": {"en": "pass", "de": "bestanden"},
    "fail": {"en": "fail", "de": "nicht bestanden"},
    "error": {"en": "error", "de": "Fehler"},
    "not_applicable": {"en": "not applicable", "de": "nicht anwendbar"},
    "skipped": {"en": "skipped", "de": "übersprungen"},
    "waived": {"en": "waived", "de": "ausgenommen"},
}
STATUS_DEF: Table = {
    "pass": {"en": "the control's expectation holds on the host",
             "de": "die Erwartung der Kontrolle ist auf dem Server erfüllt"},
    "fail": {"en": "the host was checked and the expectation does not hold",
             "de": "der Server wurde geprüft und die Erwartung ist nicht erfüllt"},
    "error": {"en": "could not be determined (see the reason code); never counted as pass",
              "de": "konnte nicht festgestellt werden (siehe Grund-Code); zählt nie als bestanden"},
    "not_applicable": {"en": "the control does not apply to this host (its OS or tags, or a precondition such as "
                             "“no software RAID”)",
                       "de": "die Kontrolle trifft auf diesen Server nicht zu (Betriebssystem, Tags oder eine "
                             "Vorbedingung wie „kein Software-RAID“)"},
    "skipped": {"en": "deselected for this run (--tags or --control)",
                "de": "für diesen Lauf abgewählt (--tags oder --control)"},
    "waived": {"en": "failed, but an approved exception of the response register covers it (risk accepted or "
                     "false positive, not expired); the failure's facts and evidence are kept",
               "de": "nicht bestanden, aber eine genehmigte Ausnahme des Ausnahmeregisters deckt es ab (Risiko "
                     "akzeptiert oder Fehlalarm, nicht abgelaufen); Fakten und Nachweise der Abweichung bleiben "
                     "erhalten"},
}

#: The status of a TOM measure (hardencheck.judge.tom.ROLLUP).
ROLLUP: Table = {
    "met": {"en": "met", "de": "erfüllt"},
    "met_with_exceptions": {"en": "met with exceptions", "de": "erfüllt mit Ausnahmen"},
    "not_met": {"en": "not met", "de": "nicht erfüllt"},
    "not_verified": {"en": "not verified", "de": "nicht nachgewiesen"},
    "organisational": {"en": "organisational", "de": "organisatorisch"},
    "attested": {"en": "attested", "de": "bestätigt"},
    "attestation_expired": {"en": "attestation expired", "de": "Bestätigung abgelaufen"},
    "not_attested": {"en": "not attested", "de": "nicht bestätigt"},
    "not_checked": {"en": "not checked", "de": "nicht geprüft"},
    "partly_verified": {"en": "partly verified", "de": "teilweise nachgewiesen"},
    "not_assessed": {"en": "not assessed", "de": "nicht bewertet"},
    "not_applicable": {"en": "not applicable", "de": "nicht anwendbar"},
}
ROLLUP_DEF: Table = {
    "met": {"en": "every control of the measure passes on every host where it applies",
            "de": "jede Kontrolle der Maßnahme ist auf jedem Server bestanden, auf den sie zutrifft"},
    "met_with_exceptions": {"en": "no failure except ones waived by an approved exception; never plain met",
                            "de": "keine Abweichung außer solchen, die eine genehmigte Ausnahme abdeckt; nie einfach "
                                  "erfüllt"},
    "not_met": {"en": "at least one control fails on at least one host",
                "de": "mindestens eine Kontrolle ist auf mindestens einem Server nicht bestanden"},
    "not_verified": {"en": "no failure, but some control could not be checked (error), or an attested document "
                           "is missing or changed",
                     "de": "keine Abweichung, aber eine Kontrolle konnte nicht geprüft werden (Fehler), oder ein "
                           "bestätigtes Dokument fehlt oder wurde geändert"},
    "organisational": {"en": "no technical control proves the measure; a person attests it",
                       "de": "keine technische Kontrolle weist die Maßnahme nach; eine Person bestätigt sie"},
    "attested": {"en": "organisational: a valid attestation with every document present and unchanged",
                 "de": "organisatorisch: eine gültige Bestätigung, jedes Dokument vorhanden und unverändert"},
    "attestation_expired": {"en": "its attestation expired: not verified, never met",
                            "de": "ihre Bestätigung ist abgelaufen: nicht nachgewiesen, nie erfüllt"},
    "not_attested": {"en": "organisational, and no valid attestation covers it: not verified",
                     "de": "organisatorisch, und keine gültige Bestätigung deckt sie ab: nicht nachgewiesen"},
    "not_checked": {"en": "a technical measure that no control proves yet: a coverage gap, never met",
                    "de": "eine technische Maßnahme, die noch keine Kontrolle nachweist: eine Lücke, nie erfüllt"},
    "partly_verified": {"en": "its controls prove only part of it and hold; the rest needs a valid attestation: "
                              "never met without one",
                        "de": "ihre Kontrollen weisen nur einen Teil nach und sind erfüllt; der Rest braucht eine "
                              "gültige Bestätigung: ohne sie nie erfüllt"},
    "not_assessed": {"en": "its controls were deselected in this run",
                     "de": "ihre Kontrollen waren in diesem Lauf abgewählt"},
    "not_applicable": {"en": "none of its controls applies to the hosts",
                       "de": "keine ihrer Kontrollen trifft auf die Server zu"},
}

#: An attestation's validity on the scan's date, and the status of each of its documents
#: (hardencheck.judge.attestations.STATES, DOCUMENT_STATUSES).
ATTESTATION_STATE: Table = {
    "valid": {"en": "valid", "de": "gültig"},
    "expired": {"en": "expired", "de": "abgelaufen"},
    "not_yet_valid": {"en": "not yet valid", "de": "noch nicht gültig"},
}
DOCUMENT_STATUS: Table = {
    "ok": {"en": "ok", "de": "in Ordnung"},
    "missing": {"en": "MISSING", "de": "FEHLT"},
    "mismatch": {"en": "CHANGED (SHA-256 differs)", "de": "GEÄNDERT (SHA-256 weicht ab)"},
}

#: The response register (hardencheck.judge.exceptions): an entry's action and its state on the scan's date.
RESPONSE_ACTION: Table = {
    "risk_accepted": {"en": "risk accepted", "de": "Risiko akzeptiert"},
    "false_positive": {"en": "false positive", "de": "Fehlalarm"},
    "remediation_planned": {"en": "remediation planned", "de": "Behebung geplant"},
}
RESPONSE_STATE: Table = {
    "active": {"en": "active", "de": "gültig"},
    "expiring": {"en": "expiring soon", "de": "läuft bald ab"},
    "expired": {"en": "EXPIRED", "de": "ABGELAUFEN"},
    "overdue": {"en": "OVERDUE", "de": "ÜBERFÄLLIG"},
}

#: The outcome of a measure or control in one run of the annual report (records.effectiveness):
#: the roll-up's words in German, its own English words.
OUTCOME: Table = {
    "held": {"en": "held", "de": ROLLUP["met"]["de"]},
    "held_with_exceptions": {"en": "held with exceptions", "de": ROLLUP["met_with_exceptions"]["de"]},
    "failed": {"en": "failed", "de": ROLLUP["not_met"]["de"]},
    "not_verified": {"en": "not verified", "de": ROLLUP["not_verified"]["de"]},
    "not_applicable": {"en": "not applicable", "de": ROLLUP["not_applicable"]["de"]},
    "not_assessed": {"en": "not assessed", "de": ROLLUP["not_assessed"]["de"]},
}

SEVERITY: Table = {
    "critical": {"en": "critical", "de": "kritisch"},
    "high": {"en": "high", "de": "hoch"},
    "medium": {"en": "medium", "de": "mittel"},
    "low": {"en": "low", "de": "niedrig"},
    "info": {"en": "info", "de": "Info"},
}

#: German wording of the reason codes; English comes from hardencheck.errors.REASONS, plus the
#: two reasons of a not_applicable result.
_REASONS_DE: dict[str, str] = {
    "unreachable": "der Server war nicht erreichbar (DNS, abgewiesen, keine Route, Verbindungs-Timeout)",
    "hostkey_unknown": "der SSH-Schlüssel des Servers steht nicht in known_hosts",
    "hostkey_mismatch": "der Server zeigte einen anderen SSH-Schlüssel als in known_hosts verzeichnet",
    "hostkey_revoked": "der Server zeigte einen SSH-Schlüssel, den known_hosts als @revoked (widerrufen) führt",
    "auth_failed": "die SSH-Anmeldung wurde abgelehnt",
    "timeout": "der Server oder ein Befehl antwortete nicht rechtzeitig",
    "sudo_failed": "sudo -n konnte die Prüfungen nicht als root ausführen",
    "command_missing": "ein Befehl, den die Prüfung braucht, ist nicht installiert",
    "permission_denied": "die Prüfung durfte nicht lesen, was sie braucht",
    "unparsable": "die Ausgabe war nicht verständlich",
    "incomplete_output": "die Ausgabe endete, bevor der Abschnitt der Prüfung vollständig war",
    "probe_failed": "der Befehl der Prüfung endete mit einem Fehler",
    "stale_evidence": "die Daten, auf denen das Urteil beruht, sind zu alt (z. B. veralteter Paketindex)",
    "invalid_value": "ein Fakt oder Parameter hatte nicht den Typ, den die Erwartung braucht",
    "transport": "die Verbindung brach auf andere Weise ab",
    "untrusted_binary": "ein Programm, auf das sich die Prüfung stützt, gehört nicht root oder ist für "
                        "Gruppe oder andere beschreibbar (nicht ausgeführt; Pfad und Rechte im Nachweis)",
    "not_ssh": "der Port antwortete, aber nicht mit SSH (dort läuft ein anderer Dienst)",
    "internal": "hardencheck selbst stieß bei der Bewertung dieser Kontrolle auf einen Fehler "
                "(ein Programmfehler: bitte melden)",
    "test_error": "ein testinfra-Test brach mit einer anderen Ausnahme als einer nicht erfüllten Zusicherung ab "
                  "(sein Bericht steht im Nachweis)",
    "nmap_missing": "nmap ist auf dem Scanner nicht installiert (oder nicht im PATH): keine Sicht von außen",
    "port_not_scanned": "ein Port, auf dem der Server lauscht, war nicht unter den von außen geprüften Ports "
                        "(exposure.ports erweitern)",
    "ambiguous_address": "der Name des Servers löst auf mehrere Adressen auf; die Prüfung von außen "
                         "prüft genau eine Adresse je Server (Adresse im Inventar festlegen)",
    "precondition": "eine Vorbedingung der Kontrolle ist nicht gegeben",
    "applies_to": "die Kontrolle gilt nicht für Betriebssystem oder Tags dieses Servers",
}
_REASONS_EN_EXTRA: dict[str, str] = {
    "precondition": "a precondition of the control does not hold",
    "applies_to": "the control does not apply to this host's OS or tags",
}
#: Every reason code: the error reasons (hardencheck.errors.REASONS), then not_applicable's. A code
#: added to errors.REASONS without its German wording here fails at import (KeyError).
REASON: Table = {code: {"en": en, "de": _REASONS_DE[code]}
                 for code, en in {**_REASONS_EN, **_REASONS_EN_EXTRA}.items()}

#: TOM categories and the letters of GDPR Art. 32(1), as the catalog module defines them.
CATEGORY: Table = CATEGORIES
ARTICLE32: Table = ART32


#: Scope reconciliation (scan --expect-hosts; results.json ``scope``, audit.json ``scope``): every
#: format's words for it (HTML, Markdown, terminal, the annual report).
SCOPE: Table = {
    "title": {"en": "Were all servers tested?", "de": "Wurden alle Server geprüft?"},
    "intro": {"en": "The asset register compared with the inventory (names case-insensitive; a short name matches "
                    "an FQDN only when unambiguous), and the inventory's hosts without a successful scan in the "
                    "last {days} days, from the run history.",
              "de": "Das Asset-Register im Vergleich mit dem Inventar (Namen ohne Groß-/Kleinschreibung; ein "
                    "Kurzname passt nur eindeutig zu einem FQDN) und die Server des Inventars ohne erfolgreiche "
                    "Prüfung in den letzten {days} Tagen, aus der Laufhistorie."},
    "register": {"en": "Asset register", "de": "Asset-Register"},
    "entries": {"en": "entries", "de": "Einträge"},
    "matched": {"en": "in both", "de": "in beiden"},
    "missing": {"en": "In the register, missing from the inventory (never tested)",
                "de": "Im Asset-Register, fehlt im Inventar (nie geprüft)"},
    "unknown": {"en": "In the inventory, not in the register (unknown assets)",
                "de": "Im Inventar, fehlt im Asset-Register (unbekannte Systeme)"},
    "stale": {"en": "Not successfully scanned for more than {days} days", "de": "Seit mehr als {days} Tagen nicht "
                                                                                "erfolgreich geprüft"},
    "no_history": {"en": "No run history: only this run is counted.",
                   "de": "Keine Laufhistorie: nur dieser Lauf wird gezählt."},
    "flag": {"en": "--fail-on-missing-hosts: hosts missing from the inventory make the run incomplete (exit 2).",
             "de": "--fail-on-missing-hosts: im Inventar fehlende Server machen den Lauf unvollständig (Exit-Code 2)."},
    "none": {"en": "none", "de": "keine"},
    "never": {"en": "never", "de": "nie"},
    "name": {"en": "name", "de": "Name"}, "environment": {"en": "environment", "de": "Umgebung"},
    "line": {"en": "line", "de": "Zeile"}, "host": {"en": "host", "de": "Server"},
    "address": {"en": "address", "de": "Adresse"}, "note": {"en": "note", "de": "Hinweis"},
    "ambiguous": {"en": "ambiguous", "de": "mehrdeutig"},
    "last_ok": {"en": "last successful scan", "de": "letzte erfolgreiche Prüfung"},
    "last_attempt": {"en": "last attempt", "de": "letzter Versuch"},
    "reason": {"en": "reason", "de": "Grund"}, "this_run": {"en": "this run", "de": "dieser Lauf"},
    "ok": {"en": "scanned", "de": "geprüft"}, "error": {"en": "error", "de": "Fehler"},
    "not_scanned": {"en": "not scanned", "de": "nicht geprüft"},
    "summary": {"en": "scope: {m} host(s) of the register missing from the inventory, {u} not in the register, "
                      "{s} without a successful scan for more than {days} days",
                "de": "Umfang: {m} Server des Asset-Registers fehlen im Inventar, {u} fehlen im Asset-Register, "
                      "{s} seit mehr als {days} Tagen nicht erfolgreich geprüft"},
    # the annual report (audit --expect-hosts)
    "audit_intro": {"en": "The asset register compared with the hosts the period's runs planned: a register host "
                          "counts as tested when at least one run of the period scanned it successfully.",
                    "de": "Das Asset-Register im Vergleich mit den Servern, die die Läufe des Zeitraums vorsahen: ein "
                          "Server des Registers gilt als geprüft, wenn ihn mindestens ein Lauf des Zeitraums "
                          "erfolgreich geprüft hat."},
    "completeness": {"en": "register hosts tested in the period", "de": "im Zeitraum geprüfte Server des Registers"},
    "never_planned": {"en": "In the register, in no run of the period (never tested)",
                      "de": "Im Asset-Register, in keinem Lauf des Zeitraums (nie geprüft)"},
    "never_ok": {"en": "In the register and planned, never successfully scanned in the period",
                 "de": "Im Asset-Register und vorgesehen, im Zeitraum nie erfolgreich geprüft"},
    "unregistered": {"en": "Scanned in the period, not in the register", "de": "Im Zeitraum geprüft, fehlt im "
                                                                             "Asset-Register"},    "audit_summary": {"en": "{t} of {n} hosts of the register tested in the period ({p}); {o} planned but never "
                            "successfully scanned, {m} in no run, {u} scanned hosts not in the register",
                      "de": "{t} von {n} Servern des Asset-Registers im Zeitraum geprüft ({p}); {o} vorgesehen, aber "
                            "nie erfolgreich geprüft, {m} in keinem Lauf, {u} geprüfte Server fehlen im Asset-Register"},
    "runs": {"en": "runs planned", "de": "Läufe vorgesehen"}, "checked": {"en": "runs scanned", "de": "Läufe geprüft"},
    "last_seen": {"en": "last planned", "de": "zuletzt vorgesehen"},
}

def word(table: Table, key: str | None, lang: str, default: str | None = None) -> str:
    """``table[key][lang]``; an unknown key gives ``default`` (else the key itself)."""
    entry = table.get(key or "")
    if entry is None:
        return (key or "") if default is None else default
    return entry.get(lang) or entry["en"]


# -- numbers and dates ---------------------------------------------------------------------------
# One formatting rule for every format (HTML, Markdown, CSV, terminal, annual report): English
# 1,234.5 and 2026-12-06; German 1.234,5 and 06.12.2026. Values from a host (facts, messages) are
# never reformatted: only figures and dates hardencheck itself prints.

def num(x: float | int | None, lang: str, digits: int | None = None) -> str:
    """A number: thousands grouped, ``digits`` decimals (an int as it is when None)."""
    if x is None:
        return "—"
    text = f"{x:,}" if digits is None and isinstance(x, int) else f"{x:,.{1 if digits is None else digits}f}"
    if lang == "de":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def pct(share_percent: float | None, lang: str, digits: int = 1) -> str:
    """A percentage given in percent (12.5 -> "12.5 %" / "12,5 %"); None -> "—"."""
    return "—" if share_percent is None else f"{num(share_percent, lang, digits)} %"


def days(n: float | None, lang: str, digits: int = 1) -> str:
    """A number of days in words the reader's language uses ("3.5 days" / "3,5 Tage")."""
    if n is None:
        return "—"
    one = round(n, digits) == 1
    return f"{num(n, lang, digits)} " + ({"de": "Tag" if one else "Tage"}.get(lang) or ("day" if one else "days"))


def date(value, lang: str) -> str:
    """A date (``2026-12-06``, a datetime, or an ISO timestamp whose date part is taken)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, _dt.datetime):
        value = value.date()
    if not isinstance(value, _dt.date):
        try:
            value = _dt.date.fromisoformat(str(value)[:10])
        except ValueError:
            return str(value)          # not a date: shown as it is, never guessed
    return value.strftime("%d.%m.%Y") if lang == "de" else value.isoformat()


def timestamp(value, lang: str, seconds: bool = True) -> str:
    """A UTC timestamp (ISO text or datetime) as ``2026-12-06 14:03:05 UTC`` /
    ``06.12.2026 14:03:05 UTC``; text that is not a timestamp is shown as it is."""
    if value is None or value == "":
        return "—"
    if not isinstance(value, _dt.datetime):
        try:
            value = _dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return str(value)
    if value.tzinfo is not None:
        value = value.astimezone(_dt.timezone.utc)
    clock = value.strftime("%H:%M:%S" if seconds else "%H:%M")
    return f"{date(value, lang)} {clock} UTC"
