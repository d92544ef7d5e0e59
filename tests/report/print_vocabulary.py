"""The German vocabulary of the project, for checking the words of a German report (issue 13:
"German words only from the German vocabulary ... apart from names, ids and host output").

- ``german_vocabulary(doc)``: every word of every German text the project has: the ``de`` values
  of the report modules' tables (prose, statuses, severities, reasons, categories, register,
  attestation and sign-off words), the control library's ``de:`` blocks, the German texts of the
  TOM catalog in the document.
- ``host_corpus(doc)``: the text that is not the project's prose: every string of the results
  document except the English texts (any ``en`` value, the controls' English title, description,
  rationale and remediation, the results' English expectation and message sentences). Host
  output, names, ids, paths, hashes and fact names are in it.
- ``words_outside(text, vocabulary, corpus)``: the words of ``text`` (three letters or more)
  neither in the vocabulary nor part of the corpus. A word a value cell broke across two lines is
  joined with the next line's first word before it is judged.
"""

from __future__ import annotations

import hashlib
import importlib
import pkgutil
import re
from typing import Any, Iterator

#: German words that report code writes as literals outside any table (sentences.py: "ist virtuell")
CODE_GERMAN = ("virtuell",)
WORD = re.compile(r"[A-Za-zÄÖÜäöüß]{3,}")
#: English fields of the results document (their German is rendered from the library and i18n)
ENGLISH_FIELDS = {"title", "description", "rationale", "remediation", "message", "expected", "expectation"}


def _strings(x: Any, skip_en: bool = True, skip_fields: frozenset = frozenset()) -> Iterator[str]:
    if isinstance(x, str):
        yield x
    elif isinstance(x, dict):
        for k, v in x.items():
            if (skip_en and k == "en") or k in skip_fields:
                continue
            yield str(k)                     # fact names, reference schemes, evidence keys
            yield from _strings(v, skip_en, skip_fields)
    elif isinstance(x, (list, tuple)):
        for v in x:
            yield from _strings(v, skip_en, skip_fields)


def _german(x: Any) -> Iterator[str]:
    """Every string under a "de" key, at any depth."""
    if isinstance(x, dict):
        for k, v in x.items():
            if k == "de":
                yield from _strings(v, skip_en=False)
            else:
                yield from _german(v)
    elif isinstance(x, (list, tuple)):
        for v in x:
            yield from _german(v)


def german_texts(doc: dict) -> list[str]:
    import hardencheck.report as report_pkg
    from hardencheck.judge.controls import load_controls

    texts: list[str] = []
    for m in pkgutil.iter_modules(report_pkg.__path__):
        mod = importlib.import_module(f"hardencheck.report.{m.name}")
        for name, value in vars(mod).items():
            if isinstance(value, dict):
                # {"de": ...} at any depth; a table named *_DE (terminal._DE, sentences._KIND_DE)
                # is German throughout
                texts.extend(_strings(value, skip_en=False) if name.endswith("_DE") else _german(value))
            elif isinstance(value, list) and name.endswith("_DE"):
                # sentences._FIXED_DE: (English pattern, German template) pairs
                texts.extend(t for item in value if isinstance(item, tuple) for t in item[1:] if isinstance(t, str))
    texts.extend(CODE_GERMAN)
    for loaded in load_controls().controls:
        c = getattr(loaded, "control", loaded)
        de = getattr(c, "de", None)
        if de is not None:
            texts.extend(_strings(de.model_dump() if hasattr(de, "model_dump") else de, skip_en=False))
    texts.extend(_german(doc.get("tom") or {}))
    texts.extend(_german(doc.get("controls") or []))
    return texts


def german_vocabulary(doc: dict) -> set[str]:
    return {w for t in german_texts(doc) for w in WORD.findall(t)}


def host_corpus(doc: dict) -> str:
    parts: list[str] = []
    for rec in (doc.get("evidence") or {}).values():
        for stream in ("stdout", "stderr"):         # an excerpt names its output by SHA-256
            if isinstance(rec.get(stream), str):
                parts.append(hashlib.sha256(rec[stream].encode("utf-8", "surrogatepass")).hexdigest())
    from hardencheck.report import i18n
    for value in vars(i18n).values():              # status, reason and category codes are ids
        if isinstance(value, dict):
            parts.extend(str(k) for k in value)
    for key, value in doc.items():
        if key == "controls":
            parts.extend(_strings(value, skip_fields=frozenset(ENGLISH_FIELDS)))
        elif key == "results":
            parts.extend(_strings(value, skip_fields=frozenset({"message", "expected"})))
        elif key == "tom":
            parts.extend(_strings(value, skip_fields=frozenset({"title", "text"})))
        else:
            parts.extend(_strings(value))
    return "\n".join(parts)


def words_outside(text: str, vocabulary: set[str], corpus: str, german: str = "") -> list[str]:
    """``german``: the German texts joined (for words pdftotext joined at a line-end hyphen)."""
    lower = {w.lower() for w in vocabulary}

    def known(w: str) -> bool:
        if w in vocabulary or w.lower() in lower or w in corpus:
            return True
        for k in range(2, len(w) - 1):
            # pdftotext drops the hyphen of a word broken at a line end ("Response-|Management"),
            # and joins texts set side by side without a space (the chart's legend)
            hyphenated = w[:k] + "-" + w[k:]
            if hyphenated in corpus or hyphenated in german or (w[:k] in vocabulary and w[k:] in vocabulary):
                return True
        return False

    foreign: list[str] = []
    seen: set[str] = set()
    lines = text.splitlines()
    head = re.compile(r"^[A-Za-zÄÖÜäöüß]+")
    tail = re.compile(r"[A-Za-zÄÖÜäöüß]+$")
    for i, line in enumerate(lines):
        words = list(WORD.finditer(line))
        for m in words:
            w = m.group()
            if w in seen or known(w):
                continue
            # a value broken across lines: a word at a line's end with the next line's first letters,
            # a word at a line's start with the previous line's last letters
            nxt = head.match(lines[i + 1]) if m.end() == len(line) and i + 1 < len(lines) else None
            prev = tail.search(lines[i - 1]) if m.start() == 0 and i > 0 else None
            if (nxt and known(w + nxt.group())) or (prev and known(prev.group() + w)):
                continue
            seen.add(w)
            foreign.append(w)
    return foreign
