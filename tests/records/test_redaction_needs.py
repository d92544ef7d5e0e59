"""Redaction's cheap pre-tests (``Rule.needs``): a text a rule's pre-test rejects is not searched,
so each pre-test must be true of every text its pattern matches in. Checked on the texts of
tests/records/test_redaction.py, on hostile spellings (Unicode letters that re's IGNORECASE
matches with ASCII ones), on random texts built from the rules' own characters, and on real
evidence: redacting with the pre-tests gives exactly what redacting without them gives."""

from __future__ import annotations

import ast
import random
import re
from dataclasses import replace
from pathlib import Path

import yaml

from hardencheck.records.redaction import BUILTIN_RULES, _KEY_HINTS, Redactor, literal_rule

PLAIN = Redactor(tuple(replace(r, needs=None) for r in BUILTIN_RULES))   # every rule searched everywhere
FAST = Redactor()
HERE = Path(__file__).parent


def _strings_of_the_redaction_tests() -> list[str]:
    tree = ast.parse((HERE / "test_redaction.py").read_text(encoding="utf-8"))
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


HOSTILE = [
    "paſsword=hunter2", "PAſSWORD: x1", "api_Key=abc123", "api_\u212aey: abc", "ſecret = 'x y'",
    "\"client_secret\": \"s3cr3t\"", "Authorization: Bearer abc.def", "AUTHORIZATION:\tBasic Zm9v",
    "ftp://bob:pa55@example.org/", "x https://u:p@h", "root:$6$saltsalt$abcdefghijklmnop:19000:0:99999:7:::",
    "daemon:AbCdEfGhIjKlM:19000:0:99999:7:::", "hash $y$j9T$abcdefgh$ijklmnop", "x $1$abcdefghij", "$gy$ABCDEFGH", "$2b$12$abcdefghijklmnopqrstuv",
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA", "credentials=foo", "CREDENTIAL: bar",
    "token\t=\tabc", "PassPhrase=1", "x=private-key:zzz", "secret_key: 'a b'",
]


def _random_texts(n: int = 4000) -> list[str]:
    rnd = random.Random(20261207)
    words = ["pass", "word", "wd", "phrase", "secret", "token", "api", "key", "access", "private", "client",
             "credential", "s", "authorization", "bearer", "basic", "ſ", "\u212a", "ı", "İ", ":", "=", "$", "6",
             "y", "1", "2b", "://", "@", "/", " ", "\t", "\n", "\"", "'", "-", "_", "root", "x", "abcdefgh",
             "PRIVATE KEY", "-----BEGIN ", "-----", "#", "0", "99999", "http", "ftp", "user"]
    return ["".join(rnd.choice(words) for _ in range(rnd.randint(1, 24))) for _ in range(n)]


def _evidence_texts() -> list[str]:
    out = []
    for f in sorted((HERE.parent / "probes").glob("*/*.yml")):
        for sec in (yaml.safe_load(f.read_text(encoding="utf-8")).get("sections") or {}).values():
            for key in ("stdout", "stderr"):
                if isinstance(sec, dict) and isinstance(sec.get(key), str):
                    out.append(sec[key])
    return out


def test_every_pretest_holds_wherever_its_pattern_matches():
    texts = _strings_of_the_redaction_tests() + HOSTILE + _random_texts() + _evidence_texts()
    matched = set()
    for rule in BUILTIN_RULES:
        assert rule.needs is not None, rule.name
        for t in texts:
            if rule.pattern.search(t):
                matched.add(rule.name)
                assert rule.needs(t), (rule.name, t)
    assert matched == {r.name for r in BUILTIN_RULES}     # each rule was really exercised


def test_redaction_with_pretests_equals_redaction_without():
    texts = _strings_of_the_redaction_tests() + HOSTILE + _random_texts() + _evidence_texts()
    changed = 0
    for t in texts:
        assert FAST.text(t) == PLAIN.text(t), t
        changed += PLAIN.text(t)[0] != t
    assert changed > 100


def test_no_letter_of_the_key_hints_escapes_casefold():
    """Every character IGNORECASE matches with a letter of the secret-value hints casefolds to it."""
    letters = set("".join(_KEY_HINTS) + "author")
    for cp in range(0x10000):
        ch = chr(cp)
        for x in letters:
            if ch != x and re.fullmatch("(?i)" + x, ch):
                assert x in ch.casefold(), (hex(cp), x)


def test_literal_rule_pretest():
    r = Redactor().with_literals([("sudo-password", "s3cr.t*")])
    assert r.text("echo s3cr.t* here") == ("echo [REDACTED:sudo-password] here", {"sudo-password": 1})
    assert r.text("s3crXt") == ("s3crXt", {})
    assert literal_rule("x", "ab").needs("zab") and not literal_rule("x", "ab").needs("a b")
