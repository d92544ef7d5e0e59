"""Expectation and finding sentences in the reader's language.

results.json keeps every result's ``expected`` and ``message`` in English, as the judge wrote
them. Since schema 1.4 it also keeps what they are made of: the control's expectations
(``controls[].expect``, a parameter by name; the result's ``params`` give its value) and, for a
result judged from facts that did not pass, the expectations its message names in structured
parts (``results[].checks``: stage, fact, op, value, ok, kind, age_days, detail;
``judge.verdict.check_part``). From these this module says both in English or German:

    `passwordauthentication` ist "yes" (erwartet: "no")

English is never re-rendered for a report (the stored text is printed as it is); ``compose`` in
English exists so a test can prove that the parts rebuild the stored message word for word, i.e.
that nothing the English sentence says is missing from the German one. A result without parts
(written before 1.4, or not judged from facts: a connection error, a probe's own message) keeps
its English message in every language: it is host or tool output, not a sentence of ours.
Values found on a host are quoted as JSON, never translated or reformatted.
"""

from __future__ import annotations

import re
from typing import Any

from hardencheck.judge.expectations import (ExpectationTypeError, describe_age, parse_duration, parse_time,
                                            sentence, show)
from hardencheck.judge.verdict import PASS_MESSAGE
from hardencheck.report.i18n import days, num, timestamp

AGE_OPS = ("age_at_most", "age_at_least")

#: op -> (the phrase carries its own verb, German phrase of what is expected)
_DE_OPS: dict[str, tuple[bool, str]] = {
    "equals": (False, "{v}"),
    "not_equals": (False, "nicht {v}"),
    "one_of": (False, "eines von {v}"),
    "none_of": (False, "keines von {v}"),
    "matches": (True, "passt zum Muster {v}"),
    "not_matches": (True, "passt nicht zum Muster {v}"),
    "at_most": (False, "höchstens {v}"),
    "at_least": (False, "mindestens {v}"),
    "age_at_most": (False, "höchstens {d} alt"),
    "age_at_least": (False, "mindestens {d} alt"),
    "mode_at_most": (False, "Modus {v} oder strenger"),
    "contains": (True, "enthält {v}"),
    "not_contains": (True, "enthält nicht {v}"),
    "subset_of": (True, "enthält nichts außer {v}"),
    "is_empty": (False, "leer"),
    "not_empty": (False, "nicht leer"),
    "exists": (False, "vorhanden"),
}

_WORDS = {
    "en": {"pass": PASS_MESSAGE, "expected": "expected", "could_not": "could not check",
           "not_applies": "does not apply: {exp} does not hold ({found})",
           "untrusted": "the evidence cannot be trusted: {exp} does not hold ({found})",
           "not_satisfied": "not satisfied"},
    "de": {"pass": "alle Erwartungen erfüllt", "expected": "erwartet", "could_not": "nicht prüfbar",
           "not_applies": "trifft nicht zu: Vorbedingung „{exp}“ nicht erfüllt ({found})",
           "untrusted": "den Nachweisen ist nicht zu trauen: Bedingung „{exp}“ nicht erfüllt ({found})",
           "not_satisfied": "nicht erfüllt"},
}


def _values(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(show(x) for x in value) if value else "[]"
    return show(value)


def _duration_de(value: Any) -> str:
    try:
        d = parse_duration(value)
    except ExpectationTypeError:
        return show(value)
    n = d.total_seconds() / 86400
    if n >= 1:
        return f"{num(n, 'de', 0) if n == int(n) else f'{n:g}'.replace('.', ',')} {'Tag' if n == 1 else 'Tage'}"
    hours = d.total_seconds() / 3600
    return f"{f'{hours:g}'.replace('.', ',')} {'Stunde' if hours == 1 else 'Stunden'}"


def phrase(op: str, value: Any, lang: str) -> str:
    """What an expectation asks of its fact, without the fact: ``höchstens 4`` / ``is at most 4``."""
    if lang != "de":
        return sentence("x", op, value).split(" ", 1)[1] if not (op == "exists" and value is False) else "is absent"
    if op == "exists" and value is False:
        return "nicht vorhanden"
    verb, template = _DE_OPS[op]
    text = template.format(v=_values(value), d=_duration_de(value) if op in AGE_OPS else "")
    return text if verb else f"ist {text}"


def expectation(fact: str, op: str, value: Any, lang: str) -> str:
    """One expectation as a sentence: `` `x` ist "no" `` / `` `x` equals "no" ``."""
    if lang != "de":
        return f"`{fact}` is absent" if op == "exists" and value is False else sentence(fact, op, value)
    return f"`{fact}` {phrase(op, value, lang)}"


def expected_text(result: dict, control: dict | None, lang: str) -> str:
    """A result's ``expected`` in ``lang``: built from the control's expectations and the result's
    parameters; the stored English text when the document has no expectations (before 1.4)."""
    if lang != "de" or not control or not control.get("expect"):
        return result.get("expected") or ""
    params = result.get("params") or control.get("params") or {}
    out = []
    for e in control["expect"]:
        if "param" in e and e["param"] not in params:
            return result.get("expected") or ""
        value = params[e["param"]] if "param" in e else e.get("value")
        out.append(expectation(e["fact"], e["op"], value, lang))
    return "; ".join(out)


def found(check: dict, actual: Any, lang: str) -> str:
    """What a check found, as a clause: `` `x` ist "yes" `` / `` `x` is "yes" ``."""
    fact, kind = check.get("fact"), check.get("kind")
    de = lang == "de"
    if kind == "absent":
        return f"`{fact}` fehlt" if de else f"`{fact}` is absent"
    if kind == "present":
        return f"`{fact}` ist vorhanden: {show(actual)}" if de else f"`{fact}` is present: {show(actual)}"
    if kind == "missing":
        return f"`{fact}` fehlt in den Fakten der Prüfung" if de else f"`{fact}` is not in the probe's facts"
    if kind == "type":
        return (f"`{fact}`: der Typ passt nicht zur Erwartung ({check.get('detail')})" if de
                else f"`{fact}`: {check.get('detail')}")
    if kind == "regex":
        return (f"ungültiger regulärer Ausdruck: {check.get('detail')}" if de
                else f"bad regular expression: {check.get('detail')}")
    age = check.get("age_days")
    if check.get("op") in AGE_OPS and age is not None:
        try:
            t = parse_time(actual)
        except ExpectationTypeError:
            t = None
        if t is not None:
            if not de:
                return f"`{fact}` is {describe_age(t, age)}"
            when = timestamp(t, "de")
            return f"`{fact}` ist {when}, in der Zukunft" if age < 0 else f"`{fact}` ist {when}, {days(age, 'de')} alt"
    return f"`{fact}` ist {show(actual)}" if de else f"`{fact}` is {show(actual)}"


def compose(result: dict, lang: str) -> str | None:
    """The result's message rebuilt from its parts in ``lang``; None when it has no parts."""
    W = _WORDS["de" if lang == "de" else "en"]
    checks = result.get("checks") or []
    if not checks:
        return W["pass"] if result.get("message") == PASS_MESSAGE and result.get("status") == "pass" else None
    actual = result.get("actual") if isinstance(result.get("actual"), dict) else {}

    def clause(c: dict) -> str:
        return found(c, actual.get(c.get("fact")), lang)

    first = checks[0]
    if first.get("stage") in ("applies_if", "valid_if"):
        if first.get("ok") is None and first.get("stage") == "applies_if":
            return clause(first)
        key = "not_applies" if first["stage"] == "applies_if" else "untrusted"
        return W[key].format(exp=expectation(first["fact"], first["op"], first.get("value"), lang),
                             found=clause(first))
    failed = [c for c in checks if c.get("ok") is False]
    undecided = [c for c in checks if c.get("ok") is None]
    if not failed:
        return "; ".join(clause(c) for c in undecided)
    text = "; ".join(f"{clause(c)} ({W['expected']}: {phrase(c['op'], c.get('value'), lang)})" for c in failed)
    if undecided:
        text += f"; {W['could_not']}: " + "; ".join(clause(c) for c in undecided)
    return text


#: The judge's fixed messages of results not judged from facts (judge.verdict: selected,
#: static_applicability, os_applicability), in German; the parts in braces are names and values
#: (tags, OS family, virtualisation, the host's own error text) and stay as they are.
_FIXED_DE: list[tuple[re.Pattern, str]] = [(re.compile(p), t) for p, t in (
    (r"^not among the selected controls$", "nicht unter den ausgewählten Kontrollen"),
    (r"^not selected by --tags (?P<a>.*)$", "nicht durch --tags {a} ausgewählt"),
    (r"^host has none of the tags (?P<a>.*)$", "der Server hat keines der Tags {a}"),
    (r"^host is tagged (?P<a>.*)$", "der Server hat das Tag {a}"),
    (r"^OS family (?P<a>.*) is not one of (?P<b>.*)$", "Betriebssystemfamilie {a} ist keine von {b}"),
    (r"^applies to (?P<a>physical|virtual) hosts; this one is (?P<b>physical|virtual) \((?P<c>.*)\)$",
     "gilt für {a} Server; dieser ist {b} ({c})"),
    (r"^cannot tell whether the host is virtualised \(systemd-detect-virt is missing\)$",
     "nicht feststellbar, ob der Server virtualisiert ist (systemd-detect-virt fehlt)"),
    (r"^the host's OS could not be determined: (?P<a>.*)$",
     "das Betriebssystem des Servers war nicht feststellbar: {a}"),
    (r"^needs the outside-in view: hardencheck scan --exposure$",
     "braucht die Sicht von außen: hardencheck scan --exposure"),
    (r"^systemd is not running on this host \(systemctl cannot answer\)$",
     "systemd läuft auf diesem Server nicht (systemctl kann nicht antworten)"),
)]
_KIND_DE = {"physical": "physische", "virtual": "virtuelle"}


def _fixed(message: str) -> str | None:
    for pattern, template in _FIXED_DE:
        m = pattern.match(message)
        if m:
            parts = m.groupdict()
            if "c" in parts:     # "applies to physical hosts; this one is virtual": adjective, then predicate
                return template.format(a=_KIND_DE[parts["a"]], b="physisch" if parts["b"] == "physical"
                                       else "virtuell", c=parts["c"])
            return template.format(**parts)
    return None


def message_text(result: dict, lang: str) -> str:
    """A result's ``message`` in ``lang``: the stored English one in English, or when it is not a
    sentence of ours (host and tool output)."""
    message = result.get("message") or ""
    if lang != "de":
        return message
    composed = compose(result, lang)
    if composed is None:
        composed = _fixed(message) if result.get("status") in ("skipped", "not_applicable", "error") else None
    return message if composed is None else composed
