"""The TOM catalog: a company's Art. 32 TOM document as a tree of items, each naming the controls
that prove it. It is the structure of every roll-up and report.

Controls never name TOM items; the catalog maps items to controls (like a compliance framework
file maps requirements to checks), so a company points hardencheck at its own catalog
(``--tom FILE``) without touching any control.

A catalog file::

    catalog:
      id: acme-tom
      title: {de: "TOM der ACME GmbH", en: "ACME GmbH technical and organisational measures"}
      version: "3.2"
      date: 2026-01-15
    items:
      - id: "2"                                   # the company's own numbering
        title: {de: Zugangskontrolle, en: System access control}
        items:
          - id: "2.3"
            title: {de: ..., en: ...}
            text: {de: ..., en: ...}
            category: zugangskontrolle            # the classic TOM category (see CATEGORIES)
            art32: b                              # GDPR Art. 32(1) letter: a, b, c or d
            controls: [SSH-001, SSH-002]          # empty: organisational (needs a person's attestation)

Every title and text exists in German and English; item ids are unique; every control id exists
in the control library. Errors name file, line and field.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hardencheck.errors import ConfigError, ConfigErrors
from hardencheck.judge.controls import default_controls_dir
from hardencheck.yaml_source import SourceDict, dotted, line_of, load_file

LANGUAGES = ("de", "en")

#: The classic categories of TOM documents (Anlage zu § 9 BDSG a.F., Art. 32 GDPR headings).
CATEGORIES: dict[str, dict[str, str]] = {
    "zutrittskontrolle": {"de": "Zutrittskontrolle", "en": "Physical access control"},
    "zugangskontrolle": {"de": "Zugangskontrolle", "en": "System access control"},
    "zugriffskontrolle": {"de": "Zugriffskontrolle", "en": "Data access control"},
    "trennungskontrolle": {"de": "Trennungskontrolle", "en": "Separation control"},
    "pseudonymisierung": {"de": "Pseudonymisierung", "en": "Pseudonymisation"},
    "verschluesselung": {"de": "Verschlüsselung", "en": "Encryption"},
    "weitergabekontrolle": {"de": "Weitergabekontrolle", "en": "Transfer control"},
    "eingabekontrolle": {"de": "Eingabekontrolle", "en": "Input control"},
    "verfuegbarkeitskontrolle": {"de": "Verfügbarkeitskontrolle", "en": "Availability control"},
    "belastbarkeit": {"de": "Belastbarkeit", "en": "Resilience"},
    "wiederherstellbarkeit": {"de": "Rasche Wiederherstellbarkeit", "en": "Rapid recoverability"},
    "ueberpruefung": {"de": "Regelmäßige Überprüfung, Bewertung und Evaluierung",
                      "en": "Regular testing, assessment and evaluation"},
    "auftragskontrolle": {"de": "Auftragskontrolle", "en": "Processor control"},
    "datenschutzmanagement": {"de": "Datenschutz-Management", "en": "Data protection management"},
    "incident_response": {"de": "Incident-Response-Management", "en": "Incident response management"},
}

ART32 = {
    "a": {"de": "Art. 32 Abs. 1 lit. a DSGVO: Pseudonymisierung und Verschlüsselung",
          "en": "GDPR Art. 32(1)(a): pseudonymisation and encryption"},
    "b": {"de": "Art. 32 Abs. 1 lit. b DSGVO: Vertraulichkeit, Integrität, Verfügbarkeit, Belastbarkeit",
          "en": "GDPR Art. 32(1)(b): confidentiality, integrity, availability, resilience"},
    "c": {"de": "Art. 32 Abs. 1 lit. c DSGVO: rasche Wiederherstellbarkeit",
          "en": "GDPR Art. 32(1)(c): timely restoration of availability and access"},
    "d": {"de": "Art. 32 Abs. 1 lit. d DSGVO: regelmäßige Überprüfung der Wirksamkeit",
          "en": "GDPR Art. 32(1)(d): regular testing of effectiveness"},
}

#: Roll-up statuses, worst first. "organisational": no technical control proves the item and the
#: run had no attestation file; with one, such an item is "attested", "attestation_expired" or
#: "not_attested" (judge.attestations; the last two count as not verified, never as met).
#: "met_with_exceptions": no failure except waived ones (judge.exceptions), never plain "met".
ROLLUP = ("not_met", "not_verified", "attestation_expired", "not_attested", "met_with_exceptions", "attested", "met",
          "organisational", "not_assessed", "not_applicable")

ITEM_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Strict):
    de: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Item(_Strict):
    id: str
    title: Text
    text: Optional[Text] = None
    category: Optional[str] = None
    art32: Optional[Literal["a", "b", "c", "d"]] = None
    controls: Optional[list[str]] = None
    items: Optional[list["Item"]] = None

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, v: Any) -> str:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            raise ValueError(f"quote item ids ({v!r} would be read as a number)")
        if not isinstance(v, str) or not ITEM_ID.match(v):
            raise ValueError("an item id is the company's own number, like 2.3 or TOM-A.1")
        return v

    @field_validator("category")
    @classmethod
    def _category(cls, v: Optional[str]) -> Optional[str]:
        if v is not None and v not in CATEGORIES:
            raise ValueError(f"unknown category {v!r}; known: {', '.join(CATEGORIES)}")
        return v

    @model_validator(mode="after")
    def _leaf_or_group(self):
        if self.items is not None:
            if self.controls is not None:
                raise ValueError("an item holds either sub-items or controls, not both")
            return self
        missing = [f for f in ("text", "category", "art32", "controls") if getattr(self, f) is None]
        if missing:
            raise ValueError(f"a measure (an item without sub-items) needs {', '.join(missing)}")
        return self


Item.model_rebuild()


class CatalogInfo(_Strict):
    id: str
    title: Text
    version: str
    date: Union[date, str]
    organisation: Optional[str] = None


class CatalogModel(_Strict):
    catalog: CatalogInfo
    items: list[Item] = Field(min_length=1)


@dataclass
class Catalog:
    path: str
    info: CatalogInfo
    items: list[Item]
    sha256: str

    def walk(self):
        """(item, depth, parent ids) for every item, in document order."""
        def rec(items, depth, parents):
            for it in items:
                yield it, depth, parents
                if it.items:
                    yield from rec(it.items, depth + 1, parents + [it.id])
        yield from rec(self.items, 0, [])

    def measures(self) -> list[Item]:
        """The leaf items: the measures that controls prove (or that are organisational)."""
        return [it for it, _, _ in self.walk() if it.items is None]

    def items_of_control(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for m in self.measures():
            for cid in m.controls or []:
                out.setdefault(cid, []).append(m.id)
        return out


def default_catalog_path() -> Path:
    return default_controls_dir() / "tom" / "default.yml"


def load_catalog(path: str | Path | None = None, control_ids: set[str] | None = None) -> Catalog:
    """Load and validate a catalog; with ``control_ids``, every referenced control must exist."""
    path = Path(path) if path else default_catalog_path()
    data = load_file(path)
    file = str(path)
    if not isinstance(data, SourceDict):
        raise ConfigError("a TOM catalog is a mapping with `catalog` and `items`", file=file, line=1)
    try:
        model = CatalogModel.model_validate(dict(data))
    except ValidationError as e:
        raise ConfigErrors([_located(err, data, file) for err in e.errors()]) from None
    errors: list[ConfigError] = []
    seen: dict[str, tuple] = {}

    def check(items, loc):
        for i, it in enumerate(items):
            here = loc + [i]
            if it.id in seen:
                errors.append(ConfigError(f"duplicate item id {it.id!r} (first at line "
                                          f"{line_of(data, seen[it.id] + ('id',))})", file=file,
                                          line=line_of(data, here + ["id"]), field=dotted(here + ["id"])))
            else:
                seen[it.id] = tuple(here)
            for j, cid in enumerate(it.controls or []):
                if control_ids is not None and cid not in control_ids:
                    errors.append(ConfigError(f"unknown control id {cid!r}", file=file,
                                              line=line_of(data, here + ["controls", j]),
                                              field=dotted(here + ["controls", j])))
            if it.controls and len(set(it.controls)) != len(it.controls):
                errors.append(ConfigError("a control is listed twice", file=file,
                                          line=line_of(data, here + ["controls"]),
                                          field=dotted(here + ["controls"])))
            if it.items:
                check(it.items, here + ["items"])

    check(model.items, ["items"])
    if errors:
        raise ConfigErrors(errors)
    return Catalog(file, model.catalog, list(model.items), hashlib.sha256(path.read_bytes()).hexdigest())


def _located(err: dict, data: Any, file: str) -> ConfigError:
    loc = [p for p in err["loc"] if not (isinstance(p, str) and ("[" in p or p in ("str", "date")))]
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if err["type"] == "extra_forbidden":
        msg = "unknown field"
    if err["type"] == "missing" and loc and loc[-1] in LANGUAGES:
        msg = f"the {'German' if loc[-1] == 'de' else 'English'} text is missing"
    return ConfigError(msg, file=file, line=line_of(data, loc), field=dotted(loc) or None)


# -- roll-up -----------------------------------------------------------------------------------

def _worst(statuses) -> str:
    present = set(statuses)
    for s in ROLLUP:
        if s in present:
            return s
    return "not_applicable"


def measure_status(control_statuses: list[str]) -> str:
    """One measure on one host, from the statuses of its controls there."""
    if not control_statuses:
        return "organisational"
    if "fail" in control_statuses:
        return "not_met"
    if "error" in control_statuses:
        return "not_verified"
    if "waived" in control_statuses:
        return "met_with_exceptions"
    if "pass" in control_statuses:
        return "met"
    if "skipped" in control_statuses:
        return "not_assessed"
    return "not_applicable"


def with_attestation(technical: str | None, attested: str | None) -> str:
    """A measure's status from its controls' verdict (None: it has no control) and its attestation
    status (None: the run had no attestation file; see judge.attestations.measure_status).

    No control: the attestation decides (``organisational`` without an attestation file). Controls
    and an attestation: a failure always wins; an expired attestation, or one whose document is
    missing or changed, makes a met measure ``attestation_expired`` / ``not_verified`` (the worse
    of the two); a valid one, or none, leaves the technical verdict as it is."""
    if technical is None:
        return attested or "organisational"
    if attested in ("attestation_expired", "not_verified"):
        return _worst([technical, attested])
    return technical


def rollup(catalog: Catalog, results: list[dict], hosts: list[str], unfinished: list[str] = (),
           attestation=None) -> list[dict]:
    """Per item: status per host and overall, with the controls' counts. ``results`` are the
    result dicts of results.json (host, control, status). ``unfinished``: planned hosts whose
    scan was interrupted before they finished; what they should prove is ``not_verified``.
    ``attestation``: (measure id, host name or None for the run) -> attestation status or None
    (judge.attestations.resolver), combined by ``with_attestation``."""
    attest = attestation or (lambda measure, host: None)
    by_pair = {(r["host"], r["control"]): r["status"] for r in results}
    out = []
    status_of: dict[str, str] = {}
    for it, depth, parents in reversed(list(catalog.walk())):
        entry: dict[str, Any] = {"id": it.id, "depth": depth, "parents": parents,
                                 "title": it.title.model_dump(), "group": it.items is not None}
        if it.items is None:
            controls = list(it.controls or [])
            per_host = {}
            for h in hosts:
                per_host[h] = measure_status([by_pair[(h, c)] for c in controls if (h, c) in by_pair])
            for h in unfinished:
                per_host[h] = "not_verified" if controls else "organisational"
            overall = "organisational" if not controls else (_worst(per_host.values()) if per_host else "not_assessed")
            if attestation is not None:
                for h in per_host:
                    per_host[h] = with_attestation(per_host[h] if controls else None, attest(it.id, h))
                overall = (_worst(per_host.values()) if per_host else
                           with_attestation(None if not controls else overall, attest(it.id, None)))
            counts: dict[str, int] = {}
            for h in hosts:
                for c in controls:
                    s = by_pair.get((h, c))
                    if s:
                        counts[s] = counts.get(s, 0) + 1
            entry.update({"category": it.category, "art32": it.art32, "controls": controls,
                          "hosts": per_host, "status": overall, "result_counts": counts,
                          "text": it.text.model_dump() if it.text else None})
        else:
            children = [status_of[c.id] for c in it.items]
            entry.update({"status": _worst(children),
                          "children": {s: children.count(s) for s in ROLLUP if s in children}})
        status_of[it.id] = entry["status"]
        out.append(entry)
    out.reverse()
    return out


def coverage(catalog: Catalog, control_ids: list[str], attested: set[str] | None = None) -> dict[str, list]:
    """Items that no technical control proves, and library controls that prove no item. With
    ``attested`` (the measure ids an attestation file names): ``unattested_items``, the measures
    with neither a control nor an attestation."""
    mapped = catalog.items_of_control()
    out = {
        "organisational_items": [m.id for m in catalog.measures() if not m.controls],
        "unmapped_controls": [c for c in control_ids if c not in mapped],
    }
    if attested is not None:
        out["unattested_items"] = [i for i in out["organisational_items"] if i not in attested]
    return out


def document(catalog: Catalog) -> dict[str, Any]:
    """The catalog's identity for results.json."""
    return {"id": catalog.info.id, "title": catalog.info.title.model_dump(), "version": catalog.info.version,
            "date": str(catalog.info.date), "path": catalog.path, "sha256": catalog.sha256}
