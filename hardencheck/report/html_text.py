"""Host text made safe and bounded for the HTML reports: control, invisible and bidi characters
split out as visible escapes (``segments``), long texts clipped to a preview and the 64 KiB
evidence limit (``clip``), values as JSON text (``jvalue``), and ``_A``, the attribute bag of
the per-row data the templates read.
"""

from __future__ import annotations

import json
import re
from typing import Any

#: Characters shown as visible escapes: C0/C1 controls (not \n and \t), DEL, zero-width and
#: direction-changing characters, line/paragraph separators, BOM, U+FFFD (invalid UTF-8) and lone
#: surrogates (a JSON file can hold "\udcff", which cannot be encoded).
_SPECIAL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufffd\ud800-\udfff]")
#: Evidence limit per stream (as collected); longer texts are cut here with the rest counted.
LIMIT = 64 * 1024
#: Shown before "… N more bytes" folds the rest of a long text.
PREVIEW_CHARS = 3000
PREVIEW_LINES = 40


class _A:
    """An attribute bag for the per-row hot data, readable as ``row.status`` (templates) and as
    ``row["status"]`` / ``row.get("status")`` (Python). jinja2 looks attributes up first: these are
    found in the instance dict without a Python-level call, where a dict (or a dict subclass with
    ``__getattr__``) costs a caught AttributeError per lookup. A missing key is an AttributeError,
    then a KeyError for jinja2's item lookup, so the template sees Undefined as for a dict."""

    def __init__(self, d: dict | None = None, /, **kw: Any) -> None:
        if d:
            self.__dict__.update(d)
        if kw:
            self.__dict__.update(kw)

    def __getitem__(self, key: str) -> Any:
        return self.__dict__[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.__dict__[key] = value

    def get(self, key: str, default: Any = None) -> Any:
        return self.__dict__.get(key, default)



def _escape_char(ch: str) -> str:
    if ch == "\ufffd":
        return "\ufffd"
    o = ord(ch)
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}"


def segments(text: Any) -> list[tuple[bool, str]]:
    """Text -> [(is_escape, part)]: special characters become visible escapes of their own."""
    s = text if isinstance(text, str) else str(text)
    if not _SPECIAL.search(s):
        return [(False, s)]
    out: list[tuple[bool, str]] = []
    pos = 0
    for m in _SPECIAL.finditer(s):
        if m.start() > pos:
            out.append((False, s[pos:m.start()]))
        out.append((True, _escape_char(m.group())))
        pos = m.end()
    if pos < len(s):
        out.append((False, s[pos:]))
    return out


def clip(text: Any, preview: bool = True) -> _A:
    """A long text -> head (shown), tail (folded: "… N more bytes") and cut bytes beyond LIMIT."""
    s = text if isinstance(text, str) else str(text)
    if len(s) <= PREVIEW_CHARS and (not preview or s.count("\n") < PREVIEW_LINES):
        # the common case, short and shown whole (what the general code below also gives)
        return _A(head=s, tail="", tail_bytes=0, cut=0, simple=not _SPECIAL.search(s))
    cut = 0
    if len(s) > LIMIT // 4:                      # cheap test first: most texts are short
        b = s.encode("utf-8", "replace")
        if len(b) > LIMIT:
            cut = len(b) - LIMIT
            s = b[:LIMIT].decode("utf-8", "ignore")
    head, tail = s, ""
    if preview:
        n = PREVIEW_CHARS
        if s.count("\n", 0, n) >= PREVIEW_LINES:   # else the loop below would change nothing
            nl = -1
            for _ in range(PREVIEW_LINES):
                nl = s.find("\n", nl + 1, n)
                if nl < 0:
                    break
            else:
                n = nl + 1
        if len(s) > n:
            head, tail = s[:n], s[n:]
    head_plain = not _SPECIAL.search(head)
    # simple: shown as the head alone (no fold, nothing cut, no escapes), the common case that
    # the templates print without a macro call
    return _A(head=head, tail=tail, tail_bytes=len(tail.encode("utf-8", "replace")) if tail else 0, cut=cut,
              simple=head_plain and not tail and not cut)


def plain(s: Any) -> bool:
    """Shown as is (the template's ``plain`` test): a string without special characters."""
    return isinstance(s, str) and not _SPECIAL.search(s)


def jvalue(v: Any) -> str:
    """A fact value as JSON text (strings quoted, so "" and null are told apart)."""
    return _JSON(v)


#: json.dumps(v, ensure_ascii=False) without building an encoder per call
_JSON = json.JSONEncoder(ensure_ascii=False).encode


#: kept as is inside a CSS string; everything else is a CSS hex escape
_CSS_SAFE = re.compile(r"[A-Za-z0-9_.,:;/()+=@#\-]")


def css_str(text: Any, limit: int = 200) -> str:
    """Text -> the inside of a double-quoted CSS string (the print edition's running header):
    every character but letters, digits and a few punctuation marks as a 6-digit hex escape
    (spaces too: CSS eats one space after an escape), so no text ends the string or the <style>
    element; line breaks and controls become a space.
    Returned as markupsafe.Markup by the template filter (it holds no HTML-special character)."""
    s = text if isinstance(text, str) else ("" if text is None else str(text))
    out = []
    for ch in s[:limit]:
        if _CSS_SAFE.fullmatch(ch):
            out.append(ch)
        elif ch in " \n\r\t" or _SPECIAL.fullmatch(ch):
            out.append("\\000020")
        else:
            out.append(f"\\{ord(ch):06x}")
    return "".join(out)
