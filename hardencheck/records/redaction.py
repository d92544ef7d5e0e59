"""Redaction: the second line of defence against secrets in evidence.

Probes are written to compute on the host and return minimal facts (hash *schemes*, modes,
counts), never secret content. Still, a host may hold a private key in a file a probe prints, a
login script may echo a shadow line, a config value may carry a password. Everything a host
produced passes through a ``Redactor`` before any of it is written, printed or handed to a report
(the engine applies it to each host's outcome before the outcome leaves the scan thread).

A match is replaced by ``[REDACTED:<rule>]``; only (rule, count) is recorded, never the value.
Redaction never changes a verdict: parsing and judging ran on the host's output before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

MARK = "[REDACTED:{}]"
_SCALARS = frozenset({int, float, bool, type(None)})
_MARK_RE = re.compile(r"\[REDACTED:[a-z0-9-]+\]")

# Values that are settings, not secrets ("PasswordAuthentication=no"): left alone.
_PLAIN_VALUES = frozenset({"yes", "no", "true", "false", "on", "off", "none", "null", "0", "1", "",
                           "required", "optional", "prohibit-password", "without-password"})


@dataclass(frozen=True)
class Rule:
    """``pattern`` matches a secret; with a group named ``secret`` only that group is replaced.

    ``needs``: a cheap test that is true of every text the pattern can match in (a literal the
    pattern requires, a count of its separators); a text it is false for is not searched. It must
    never be false where the pattern could match: it decides only whether the search runs.
    """

    name: str
    pattern: re.Pattern
    needs: Callable[[str], bool] | None = None

    def sub(self, text: str) -> tuple[str, int]:
        count = 0
        mark = MARK.format(self.name)

        def repl(m: re.Match) -> str:
            nonlocal count
            if "secret" in m.re.groupindex:
                value = m.group("secret")
                if value is None or value.strip("\"'").lower() in _PLAIN_VALUES or _MARK_RE.fullmatch(value):
                    return m.group(0)
                count += 1
                s, e = m.start("secret") - m.start(), m.end("secret") - m.start()
                return m.group(0)[:s] + mark + m.group(0)[e:]
            if _MARK_RE.fullmatch(m.group(0)):
                return m.group(0)
            count += 1
            return mark

        return self.pattern.sub(repl, text), count


_KEY_NAMES = (r"(?:password|passwd|passphrase|secret|token|api[_-]?key|access[_-]?key|secret[_-]?key|"
              r"private[_-]?key|client[_-]?secret|credentials?)")

# Substrings one of which every match of the secret-value rule contains, after str.casefold():
# password/passwd/passphrase, secret (also secret_key, client_secret), token, api/access/private key,
# credential(s). They hold no "i": re's IGNORECASE also matches "i" with the dotless "ı", which
# casefold() keeps; every other letter here that IGNORECASE matches ("ſ" for s, the Kelvin sign
# for k) casefold() turns into the ASCII letter (tests/records/test_redaction.py checks it).
_KEY_HINTS = ("pass", "secret", "token", "key", "credent")


def _names_a_secret(s: str) -> bool:
    if ":" not in s and "=" not in s:
        return False
    folded = s.casefold()
    return any(k in folded for k in _KEY_HINTS)


#: The built-in rules, applied in this order.
BUILTIN_RULES: tuple[Rule, ...] = (
    # PEM and OpenSSH private keys; a block cut off by truncation is redacted to the end of the text.
    Rule("private-key", re.compile(
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----.*?"
        r"(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\Z)", re.DOTALL),
        lambda s: "PRIVATE KEY" in s),
    # /etc/shadow lines: the second field, when it holds a hash (not '*', '!', 'x' or empty);
    # catches the old 13-character DES hashes the crypt rule below cannot recognise.
    Rule("shadow-hash", re.compile(
        r"(?m)^[ \t#]*[a-z_][a-z0-9_.-]*\$?:(?P<secret>[!]?[^:!*\s][^:\s]{11,}):"
        r"\d*:\d*:\d*:\d*:\d*:\d*:\d*$"),
        lambda s: s.count(":") >= 8),
    # crypt(3) hashes wherever they appear: MD5, bcrypt, SHA-256/512, yescrypt, gost-yescrypt, scrypt.
    Rule("password-hash", re.compile(
        r"\$(?:1|2[abxy]|5|6|7|y|gy|sha1|md5)\$[./A-Za-z0-9$=,+-]{8,}"),
        lambda s: s.count("$") >= 2),
    # URLs with a password in their user info: scheme://user:secret@host
    Rule("url-credentials", re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s/:@]+:(?P<secret>[^\s/@]+)@"),
         lambda s: "://" in s and "@" in s),
    # key=value and key: value pairs whose key names a secret (quotes around the key allowed).
    Rule("secret-value", re.compile(
        r"(?i)(?<![A-Za-z0-9/._-])[\"']?[A-Za-z0-9_.-]*" + _KEY_NAMES + r"[A-Za-z0-9_.-]*[\"']?[ \t]*[:=][ \t]*"
        r"(?P<secret>\"[^\"\n]*\"|'[^'\n]*'|[^\s,;'\"]+)"),
        _names_a_secret),
    # HTTP authorization headers
    Rule("auth-header", re.compile(r"(?i)\bauthorization:[ \t]*(?:bearer|basic|token)[ \t]+(?P<secret>\S+)"),
         lambda s: ":" in s and "author" in s.casefold()),
)


def literal_rule(name: str, value: str) -> Rule:
    """A rule for one known secret string (the sudo password of this run)."""
    return Rule(name, re.compile(re.escape(value)), lambda s: value in s)


class _Memo:
    """Texts redacted before, shared by the host threads: across a fleet most of what the hosts
    send recurs (the probes' own code in every evidence record, the tool records, the same config
    files on hosts built from one image), and each is searched once. Bounded: emptied whenever it
    holds more than ``MAX_CHARS`` characters of text. Only the dict's own atomic get and set are
    used, so the threads need no lock (a race costs one search twice, never a wrong answer: an
    entry is only ever the redaction of its key by the same rules)."""

    MAX_CHARS = 2_000_000

    def __init__(self):
        self.texts: dict[str, tuple[str, dict[str, int]]] = {}
        self.chars = 0

    def put(self, s: str, done: tuple[str, dict[str, int]]) -> None:
        self.chars += len(s)
        if self.chars > self.MAX_CHARS:
            self.texts = {}
            self.chars = len(s)
        self.texts[s] = done


@dataclass(frozen=True)
class Redactor:
    """Immutable in its rules: one redactor serves all host threads (``_memo`` only remembers
    what its rules made of a text)."""

    rules: tuple[Rule, ...] = BUILTIN_RULES
    _memo: _Memo = field(default_factory=_Memo, compare=False, repr=False)

    def with_literals(self, literals: Iterable[tuple[str, str]]) -> "Redactor":
        """This redactor with extra literal secrets, applied first."""
        extra = tuple(literal_rule(n, v) for n, v in literals if v)
        return Redactor(extra + self.rules) if extra else self

    def text(self, s: str) -> tuple[str, dict[str, int]]:
        """(the text redacted, {rule: count}); the dict must not be changed by the caller."""
        if not s:
            return s, {}
        if self.rules is BUILTIN_RULES and ":" not in s and "=" not in s and "$" not in s \
                and "PRIVATE KEY" not in s:
            return s, {}        # what every built-in rule's ``needs`` requires is absent: nothing to do
        done = self._memo.texts.get(s)
        if done is not None:
            return done
        text, found = s, {}
        for rule in self.rules:
            if rule.needs is not None and not rule.needs(text):
                continue        # the pattern cannot match here: not searched
            text, n = rule.sub(text)
            if n:
                found[rule.name] = found.get(rule.name, 0) + n
        done = (text, found)
        self._memo.put(s, done)
        return done

    def value(self, v: Any, seen: dict | None = None) -> tuple[Any, dict[str, int]]:
        """Redact every string in a JSON-like value (dict keys are ids and stay as they are).
        ``seen``: the redacted texts of strings met before (shared by the calls for one host), so a
        string that recurs (a fact in the results and in the evidence) is searched once. A dict or
        list without anything to redact comes back as it is, not copied; one with something comes
        back as a new container (the value passed in is never changed). Tuples come back as lists."""
        total: dict[str, int] = {}
        seen = {} if seen is None else seen
        text = self.text

        def walk(x):
            t = type(x)
            if t is str:
                done = seen.get(x)
                if done is None:
                    done = seen[x] = text(x)
                if not done[1]:
                    return x
                for k, n in done[1].items():
                    total[k] = total.get(k, 0) + n
                return done[0]
            if t is dict:
                out = None
                for k, v in x.items():
                    nv = walk(v)
                    if nv is v:
                        continue
                    if out is None:
                        out = dict(x)
                    out[k] = nv
                return x if out is None else out
            if t is list or t is tuple:
                items = [walk(v) for v in x]
                if t is list:
                    for a, b in zip(items, x):
                        if a is not b:
                            return items
                    return x
                return items
            if t in _SCALARS:
                return x
            if isinstance(x, str):                # a str subclass: as a plain string
                return walk(str(x))
            if isinstance(x, dict):
                return walk(dict(x))
            if isinstance(x, (list, tuple)):
                return walk(list(x))
            return x

        try:
            return walk(v), total
        finally:
            walk = None     # noqa: F841 - walk's closure holds walk itself: a cycle only the cyclic GC frees


def user_rule(name: str, pattern: str) -> Rule:
    """A rule from configuration; raises ``re.error`` for a bad pattern."""
    return Rule(name, re.compile(pattern))


def redact_outcome(outcome, redactor: Redactor) -> dict[str, int]:
    """Redact a ``HostOutcome`` in place: host record, results and evidence records.

    Each evidence record that lost something gets ``redactions: {rule: count}``; the host record
    gets the host's totals. Returns the totals.
    """
    total: dict[str, int] = {}
    seen: dict = {}
    for eid, rec in list(outcome.evidence.items()):
        new, found = redactor.value(rec, seen)
        if found:
            new["redactions"] = found
            _add(total, found)
        outcome.evidence[eid] = new
    h = outcome.host
    for attr in ("identity", "error", "os", "exec", "noise"):
        new, found = redactor.value(getattr(h, attr), seen)
        setattr(h, attr, new)
        _add(total, found)
    for r in outcome.results:
        for attr in ("expected", "actual", "message", "params", "evidence"):
            new, found = redactor.value(getattr(r, attr), seen)
            setattr(r, attr, new)
            _add(total, found)
    h.redactions = total
    return total


def _add(total: dict[str, int], found: dict[str, int]) -> None:
    for k, n in found.items():
        total[k] = total.get(k, 0) + n
