"""The TOM catalog as hardencheck holds it: a company's Art. 32 TOM document as a tree of items,
each measure naming the controls that prove it, and the vocabularies of its fields (categories,
GDPR references, kinds, proofs). Read and validated by ``judge.catalog_file``; the format is
documented with a full example in controls/tom/README.md.

Controls never name TOM items; the catalog maps items to controls, so a company points
hardencheck at its own document (``--tom FILE``) without touching any control.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from hardencheck.judge.controls import default_controls_dir

LANGUAGES = ("de", "en")
FORMATS = (1, 2)

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

#: The GDPR references a measure may name in ``art32``: the letters of Art. 32(1), and Art. 25
#: (data protection by design, ``25(1)``, and by default, ``25(2)``).
ART32 = {
    "a": {"de": "Art. 32 Abs. 1 lit. a DSGVO: Pseudonymisierung und Verschlüsselung",
          "en": "GDPR Art. 32(1)(a): pseudonymisation and encryption"},
    "b": {"de": "Art. 32 Abs. 1 lit. b DSGVO: Vertraulichkeit, Integrität, Verfügbarkeit, Belastbarkeit",
          "en": "GDPR Art. 32(1)(b): confidentiality, integrity, availability, resilience"},
    "c": {"de": "Art. 32 Abs. 1 lit. c DSGVO: rasche Wiederherstellbarkeit",
          "en": "GDPR Art. 32(1)(c): timely restoration of availability and access"},
    "d": {"de": "Art. 32 Abs. 1 lit. d DSGVO: regelmäßige Überprüfung der Wirksamkeit",
          "en": "GDPR Art. 32(1)(d): regular testing of effectiveness"},
    "25(1)": {"de": "Art. 25 Abs. 1 DSGVO: Datenschutz durch Technikgestaltung",
              "en": "GDPR Art. 25(1): data protection by design"},
    "25(2)": {"de": "Art. 25 Abs. 2 DSGVO: datenschutzfreundliche Voreinstellungen",
              "en": "GDPR Art. 25(2): data protection by default"},
}

#: Item ids as documents write them: 1 to 40 characters; letters of any alphabet (umlauts),
#: digits, ``§``, and inside the id also spaces (single), ``.``, ``-``, ``_``, ``/``, ``(``, ``)``;
#: the first character is a letter, a digit or ``§``, the last not a space.
ID_RULE = ("1 to 40 characters: letters (umlauts too), digits and §; inside also single spaces and "
           ". - _ / ( ); starting with a letter, digit or §, e.g. \"§ 3\", \"3.1.2.a\", \"Zugang-2\"")
ITEM_ID = re.compile(r"^(?=.{1,40}$)(?!_)(?!.*  )[\w§][\w§ .\-/()]*(?<! )$")

KINDS = ("technical", "organisational")
PROOFS = ("full", "partial")
REQUIRES = ("all_hosts",)


class Text:
    """A title or text in German and/or English. ``get(lang)`` falls back to the other language;
    ``fallback(lang)`` says whether it had to."""

    def __init__(self, values: dict[str, str]):
        self.values = {k: v for k, v in values.items() if k in LANGUAGES and v}

    def get(self, lang: str) -> str:
        return self.values.get(lang) or next(iter(self.values.values()), "")

    def fallback(self, lang: str) -> str | None:
        """The language shown instead of ``lang`` (None: ``lang`` exists)."""
        return None if lang in self.values else next(iter(self.values), None)

    def marked(self, lang: str) -> str:
        """The text in ``lang``, a fallback marked with its language: ``Zugang (de)``."""
        other = self.fallback(lang)
        return self.get(lang) + (f" ({other})" if other else "")

    @property
    def de(self) -> str:
        return self.get("de")

    @property
    def en(self) -> str:
        return self.get("en")

    def model_dump(self) -> dict[str, str]:
        """The languages given (results.json; readers fall back to the other one)."""
        return dict(self.values)


@dataclass
class ControlUse:
    """A control as a measure maps it, with the parameters it is judged with for this measure
    (empty: the host's own, i.e. defaults and inventory overrides)."""

    id: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The parameter set's identity: canonical JSON ("" without own params)."""
        return json.dumps(self.params, sort_keys=True, default=str) if self.params else ""


@dataclass
class Item:
    id: str
    title: Text
    text: Optional[Text] = None
    category: Optional[str] = None            # effective (own or the group's)
    art32: Optional[str] = None               # the first Art. 32(1) letter (format 1 readers)
    articles: list[str] = field(default_factory=list)   # every GDPR reference, effective
    uses: Optional[list[ControlUse]] = None   # measures only
    items: Optional[list["Item"]] = None      # groups only
    kind: str = "organisational"
    proof: str = "full"
    require: Optional[str] = None
    line: int = 0

    @property
    def controls(self) -> Optional[list[str]]:
        return None if self.uses is None else [u.id for u in self.uses]


@dataclass
class CatalogInfo:
    id: str
    title: Text
    version: str
    date: Any
    organisation: Optional[str] = None


@dataclass
class Catalog:
    path: str
    info: CatalogInfo
    items: list[Item]
    sha256: str
    format: int = 1

    def walk(self):
        """(item, depth, parent ids) for every item, in document order."""
        def rec(items, depth, parents):
            for it in items:
                yield it, depth, parents
                if it.items is not None:
                    yield from rec(it.items, depth + 1, parents + [it.id])
        yield from rec(self.items, 0, [])

    def measures(self) -> list[Item]:
        """The leaf items: the measures that controls prove (or that are organisational)."""
        return [it for it, _, _ in self.walk() if it.items is None]

    def items_of_control(self, plain: bool = False) -> dict[str, list[str]]:
        """control id -> the measures that map it; ``plain``: only those judging it with the
        host's own parameters (a measure with its own ``params`` is judged apart)."""
        out: dict[str, list[str]] = {}
        for m in self.measures():
            for u in m.uses or []:
                if plain and u.params:
                    continue
                if m.id not in out.setdefault(u.id, []):
                    out[u.id].append(m.id)
        return out

    def parameter_sets(self) -> dict[str, dict[str, tuple[dict, list[str]]]]:
        """control id -> {parameter-set key: (params, measure ids)} of the measures that give a
        control their own parameters."""
        out: dict[str, dict[str, tuple[dict, list[str]]]] = {}
        for m in self.measures():
            for u in m.uses or []:
                if u.params:
                    out.setdefault(u.id, {}).setdefault(u.key, (dict(u.params), []))[1].append(m.id)
        return out


def default_catalog_path() -> Path:
    return default_controls_dir() / "tom" / "default.yml"


def document(catalog: Catalog) -> dict[str, Any]:
    """The catalog's identity for results.json."""
    return {"id": catalog.info.id, "title": catalog.info.title.model_dump(), "version": catalog.info.version,
            "date": str(catalog.info.date), "path": catalog.path, "sha256": catalog.sha256,
            "format": catalog.format}
