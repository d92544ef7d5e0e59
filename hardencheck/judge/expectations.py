"""Typed expectation operators: one fact, one operator, one expected value -> a verdict and a sentence.

Every operator is strict about types. A fact of the wrong type (a string where a number is
needed, a YAML ``no`` that became ``False`` compared with the string ``"no"``) is an *error*, never
a silent pass or fail. Each outcome carries the expectation as a sentence for the report
("`passwordauthentication` equals \"no\"") and the actual value that was found.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

_MISSING = MISSING = object()   # a fact path that is not in the facts


class ExpectationTypeError(Exception):
    """The fact or the expected value does not have the type the operator needs."""


@dataclass
class Outcome:
    ok: bool | None           # None: could not be decided (see error)
    expected: str             # the expectation as a sentence
    actual: Any               # the value found (JSON-able), or None when the fact is absent
    message: str = ""         # for a failure or an error: what was found, in words
    error: str | None = None  # why it could not be decided
    # ``message`` in structured parts, so a report can say it in another language
    # (report/sentences.py): kind of finding (FOUND_KINDS), the age in days of a timestamp fact
    # (age operators), and the English detail of a type or pattern problem.
    kind: str | None = None
    age_days: float | None = None
    detail: str | None = None


#: What an outcome that does not hold found: a value, an absent or present fact (``exists``), a
#: fact missing from the probe's facts, a fact or value of the wrong type, a bad pattern.
FOUND_KINDS = ("value", "absent", "present", "missing", "type", "regex")


_LITERALS = {None: "null", True: "true", False: "false"}


def show(value: Any) -> str:
    """A value as the report prints it: JSON, bounded."""
    t = type(value)
    if t is str:
        text = _json_string(value)        # what json.dumps(value, ensure_ascii=False) writes
    elif t is bool or value is None:
        text = _LITERALS[value]
    elif t is int:
        text = int.__repr__(value)
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 300 else text[:297] + "..."


_json_string = json.encoder.encode_basestring


def lookup(facts: Any, path: str) -> Any:
    """``a.b.0.c`` into nested dicts/lists; ``_MISSING`` when absent."""
    node = facts
    if path in ("", "."):
        return node
    for step in path.split("."):
        if isinstance(node, dict) and step in node:
            node = node[step]
        elif isinstance(node, list) and step.isdigit() and int(step) < len(node):
            node = node[int(step)]
        else:
            return _MISSING
    return node


# -- value coercions ---------------------------------------------------------------------------

def _number(v: Any, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ExpectationTypeError(f"{what} must be a number, got {show(v)}")
    return v


def _scalar(v: Any, what: str) -> Any:
    if isinstance(v, (dict, list)):
        raise ExpectationTypeError(f"{what} must be a single value, got {show(v)}")
    return v


def _same_type(fact: Any, expected: Any) -> None:
    if fact is None or expected is None:   # null compares with anything: equal only to null
        return
    kinds = (bool, str)
    for k in kinds:
        if isinstance(fact, k) != isinstance(expected, k):
            raise ExpectationTypeError(
                f"cannot compare {type(fact).__name__} {show(fact)} with {type(expected).__name__} "
                f"{show(expected)} (quote YAML values such as \"no\" and \"yes\")")


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "": 86400}


def parse_duration(v: Any) -> timedelta:
    """A number is days; a string may carry a unit: ``36h``, ``7d``, ``2w``, ``90m``."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return timedelta(days=v)
    if isinstance(v, str):
        m = _DURATION.match(v)
        if m:
            return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])
    raise ExpectationTypeError(f"a duration must be a number of days or like '36h', '7d', got {show(v)}")


def parse_time(v: Any) -> datetime:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return datetime.fromtimestamp(v, tz=timezone.utc)
    if isinstance(v, datetime):
        return v if v.tzinfo else v.replace(tzinfo=timezone.utc)
    if isinstance(v, str):
        try:
            t = datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return t if t.tzinfo else t.replace(tzinfo=timezone.utc)
    raise ExpectationTypeError(f"expected a timestamp, got {show(v)}")


def _mode(v: Any, what: str) -> int:
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if isinstance(v, str) and re.fullmatch(r"0?[0-7]{3,4}", v.strip()):
        return int(v.strip(), 8)
    raise ExpectationTypeError(f"{what} must be an octal file mode like '0640', got {show(v)}")


def describe_age(t: datetime, days: float) -> str:
    """A timestamp fact that failed an age operator, with its age: the English finding."""
    if days < 0:
        return f"{show(t.strftime('%Y-%m-%dT%H:%M:%SZ'))}, in the future"
    return f"{show(t.strftime('%Y-%m-%dT%H:%M:%SZ'))}, {days:.1f} days old"


def _len(v: Any, what: str) -> int:
    if isinstance(v, (list, dict, str)):
        return len(v)
    raise ExpectationTypeError(f"{what} must be a list, mapping or string, got {show(v)}")


# -- operators ---------------------------------------------------------------------------------
# name -> (needs_value, sentence template, check(fact, value, now) -> bool)

Check = Callable[[Any, Any, datetime], bool]


def _equals(f, v, now):
    _scalar(f, "the fact")
    _same_type(f, v)
    return f == v


def _one_of(f, v, now):
    if not isinstance(v, list):
        raise ExpectationTypeError("one_of needs a list of values")
    _scalar(f, "the fact")
    for item in v:
        _same_type(f, item)
    return f in v


def _matches(f, v, now):
    if not isinstance(f, str):
        raise ExpectationTypeError(f"matches needs a string fact, got {show(f)}")
    return re.search(v, f) is not None


def _contains(f, v, now):
    if isinstance(f, list):
        return v in f
    if isinstance(f, str) and isinstance(v, str):
        return v in f
    raise ExpectationTypeError(f"contains needs a list or string fact, got {show(f)}")


def _subset_of(f, v, now):
    if not isinstance(f, list) or not isinstance(v, list):
        raise ExpectationTypeError("subset_of needs a list fact and a list value")
    return all(item in v for item in f)


def _age_at_most(f, v, now):
    return now - parse_time(f) <= parse_duration(v)


def _age_at_least(f, v, now):
    return now - parse_time(f) >= parse_duration(v)


def _mode_at_most(f, v, now):
    return (_mode(f, "the fact") & ~_mode(v, "the value")) == 0


OPERATORS: dict[str, tuple[bool, str, Check]] = {
    "equals": (True, "equals {v}", _equals),
    "not_equals": (True, "does not equal {v}", lambda f, v, n: not _equals(f, v, n)),
    "one_of": (True, "is one of {v}", _one_of),
    "none_of": (True, "is none of {v}", lambda f, v, n: not _one_of(f, v, n)),
    "matches": (True, "matches the pattern {v}", _matches),
    "not_matches": (True, "does not match the pattern {v}", lambda f, v, n: not _matches(f, v, n)),
    "at_most": (True, "is at most {v}", lambda f, v, n: _number(f, "the fact") <= _number(v, "the value")),
    "at_least": (True, "is at least {v}", lambda f, v, n: _number(f, "the fact") >= _number(v, "the value")),
    "age_at_most": (True, "is at most {d} old", _age_at_most),
    "age_at_least": (True, "is at least {d} old", _age_at_least),
    "mode_at_most": (True, "is mode {v} or stricter", _mode_at_most),
    "contains": (True, "contains {v}", _contains),
    "not_contains": (True, "does not contain {v}", lambda f, v, n: not _contains(f, v, n)),
    "subset_of": (True, "contains nothing but {v}", _subset_of),
    "is_empty": (False, "is empty", lambda f, v, n: _len(f, "the fact") == 0),
    "not_empty": (False, "is not empty", lambda f, v, n: _len(f, "the fact") > 0),
    "exists": (False, "is present", lambda f, v, n: True),
}


def validate_value(op: str, value: Any) -> None:
    """Raise ExpectationTypeError when ``value`` can never work with ``op`` (used by the linter)."""
    if op in ("one_of", "none_of", "subset_of") and not isinstance(value, list):
        raise ExpectationTypeError(f"{op} needs a list value")
    if op in ("at_most", "at_least"):
        _number(value, "the value")
    if op in ("age_at_most", "age_at_least"):
        parse_duration(value)
    if op == "mode_at_most":
        _mode(value, "the value")
    if op in ("matches", "not_matches"):
        if not isinstance(value, str):
            raise ExpectationTypeError(f"{op} needs a string pattern")
        try:
            re.compile(value)
        except re.error as e:
            raise ExpectationTypeError(f"bad regular expression: {e}") from None


def _key(value: Any) -> Any:
    """``value`` as a dict key that tells apart what ``show`` prints differently (1, 1.0 and True
    are equal keys in Python, not in JSON); None for a value that is not plain JSON."""
    t = type(value)
    if t is str or t is int or t is bool or t is float or value is None:
        return (t, value)
    if t is list:
        items = tuple(_key(v) for v in value)
        return None if None in items else ("list", items)
    return None


#: (fact, op, value key) -> the sentence: the same few expectations are judged on every host
_SENTENCES: dict[tuple, str] = {}


def sentence(fact: str, op: str, value: Any) -> str:
    """The expectation as the report says it ("`fact` is at most 5"); the same on every host."""
    vkey = _key(value)
    if vkey is None:
        return _sentence(fact, op, value)
    key = (fact, op, vkey)
    text = _SENTENCES.get(key)
    if text is None:
        if len(_SENTENCES) > 4096:
            _SENTENCES.clear()
        text = _SENTENCES[key] = _sentence(fact, op, value)
    return text


def _sentence(fact: str, op: str, value: Any) -> str:
    template = OPERATORS[op][1]
    if op in ("age_at_most", "age_at_least"):
        try:
            d = parse_duration(value)
            days = d.total_seconds() / 86400
            dtext = f"{days:g} days" if days >= 1 else f"{d.total_seconds() / 3600:g} hours"
        except ExpectationTypeError:
            dtext = show(value)
        return f"`{fact}` " + template.format(d=dtext)
    if isinstance(value, list):
        vtext = ", ".join(show(x) for x in value) if value else "[]"
    else:
        vtext = show(value)
    return f"`{fact}` " + template.format(v=vtext)


def evaluate(facts: Any, fact: str, op: str, value: Any, now: datetime) -> Outcome:
    """Judge one expectation against a probe's facts."""
    expected = sentence(fact, op, value)
    actual = lookup(facts, fact)
    if op == "exists":
        present = actual is not _MISSING and actual is not None
        want = True if value is None else bool(value)
        shown = None if actual is _MISSING else actual
        ok = present == want
        return Outcome(ok, expected if want else f"`{fact}` is absent", shown,
                       "" if ok else (f"`{fact}` is absent" if want else f"`{fact}` is present: {show(shown)}"),
                       kind=None if ok else ("absent" if want else "present"))
    if actual is _MISSING:
        return Outcome(None, expected, None, f"`{fact}` is not in the probe's facts",
                       error="invalid_value", kind="missing")
    try:
        ok = OPERATORS[op][2](actual, value, now)
    except ExpectationTypeError as e:
        return Outcome(None, expected, actual, f"`{fact}`: {e}", error="invalid_value", kind="type", detail=str(e))
    except re.error as e:
        return Outcome(None, expected, actual, f"bad regular expression: {e}", error="invalid_value",
                       kind="regex", detail=str(e))
    if ok:
        return Outcome(True, expected, actual)
    if op in ("age_at_most", "age_at_least"):
        t = parse_time(actual)
        days = (now - t).total_seconds() / 86400
        return Outcome(False, expected, actual, f"`{fact}` is {describe_age(t, days)}", kind="value",
                       age_days=days)
    return Outcome(False, expected, actual, f"`{fact}` is {show(actual)}", kind="value")
