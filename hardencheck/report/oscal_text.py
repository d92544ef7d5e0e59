"""The small pieces of the OSCAL report (``report.oscal``): deterministic UUIDs, strings made safe
for OSCAL's data types, properties in hardencheck's namespace, the host file's SHA-256.

Every string that came from a host or a document is hostile: it reaches the OSCAL file only
through ``line`` (OSCAL ``string``: one line, no leading or trailing blanks), ``md`` (OSCAL
``markup-multiline``, which is Markdown: every character Markdown or HTML would act on is
backslash-escaped) or ``href``. Identifiers are never built from such strings: UUIDs are
``uuid5`` of the run id and the parts they stand for, tokens keep only ``[A-Za-z0-9._-]``.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from urllib.parse import quote

from hardencheck.records.bundle import HOSTS_DIR, host_file_name
from hardencheck.records.files import sha256_bytes
from hardencheck.report.view import no_surrogates
from hardencheck.results import document_bytes

#: the namespace of hardencheck's own property names (``prop.ns``); an identifier, not a web page
NS = "https://hardencheck.invalid/ns/oscal"
_UUID_NS = uuid.uuid5(uuid.NAMESPACE_URL, NS)
_BLANKS = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~&!])")
_TOKEN_BAD = re.compile(r"[^A-Za-z0-9._-]")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Ids:
    """Deterministic UUIDs: the same run and parts give the same UUID on every rendering."""

    def __init__(self, seed: str):
        self.seed = seed

    def __call__(self, *parts: Any) -> str:
        return str(uuid.uuid5(_UUID_NS, json.dumps([self.seed, *parts], ensure_ascii=True, default=str)))


def line(value: Any, fallback: str = "-") -> str:
    """OSCAL ``string``/title: whitespace and control characters become one space, trimmed."""
    s = _BLANKS.sub(" ", no_surrogates("" if value is None else str(value))).strip()
    return s or fallback


def md(value: Any, fallback: str = "-") -> str:
    """OSCAL ``markup-multiline`` (Markdown) holding literal text: nothing in it is markup."""
    s = no_surrogates("" if value is None else str(value)).replace("\r\n", "\n")
    s = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "\ufffd", s).strip()
    return _MD_SPECIAL.sub(r"\\\1", s) or fallback


def token(value: Any, prefix: str = "") -> str:
    """An OSCAL token (starts with a letter or ``_``; letters, digits, ``.``, ``-``, ``_``)."""
    s = prefix + _TOKEN_BAD.sub("_", line(value, ""))
    return s if s and (s[0].isalpha() or s[0] == "_") else "_" + s


def href(value: Any) -> str:
    """A URI reference from a path or URL as given (percent-encoded where it must be)."""
    return quote(line(value, ""), safe=":/?#[]@!$&'()*+,;=%~.-_") or "#"


def when(value: Any) -> str | None:
    """An OSCAL ``dateTime-with-timezone``, or None when ``value`` is not one."""
    return value if isinstance(value, str) and _DATETIME.match(value) else None


def day_start(value: Any) -> str | None:
    """A date (``2026-11-02``) as the start of that UTC day, or None."""
    return f"{value}T00:00:00Z" if isinstance(value, str) and _DATE.match(value) else None


def prop(name: str, value: Any) -> dict[str, str]:
    """A property in hardencheck's namespace (``name`` is one of ours, never a host's string)."""
    return {"name": name, "ns": NS, "value": line(value)}


def props(*pairs: tuple[str, Any]) -> list[dict[str, str]]:
    """Properties for the pairs whose value is not None or empty (lists give one each)."""
    out = []
    for name, value in pairs:
        for v in (value if isinstance(value, list) else [value]):
            if v is not None and v != "":
                out.append(prop(name, v))
    return out


def host_file(name: str) -> str | None:
    """The host's file in the run bundle, relative to the run folder (records.bundle); None for a
    name the bundle could not have written (a lone surrogate cannot be encoded)."""
    try:
        return f"{HOSTS_DIR}/{host_file_name(name)}"
    except UnicodeEncodeError:
        return None


def host_file_sha256(record: dict, results: list[dict], evidence: dict[str, Any]) -> str:
    """SHA-256 of the host file as the bundle wrote it: ``results.document_bytes`` of the host
    record, its results and its evidence (both in document order), exactly as
    ``results.outcome_to_json`` laid them out and ``results.document_from_host_files`` copied them
    into results.json (the tests compare it with the manifest's)."""
    data = {"host": record, "results": results, "evidence": evidence}
    return sha256_bytes(document_bytes(data, errors="surrogatepass"))
