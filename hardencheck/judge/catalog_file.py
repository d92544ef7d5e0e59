"""Reading a TOM catalog file: a company's Art. 32 TOM document as a tree of items, each measure naming
the controls that prove it (format documented with a full example in controls/tom/README.md).

Controls never name TOM items; the catalog maps items to controls, so a company points
hardencheck at its own document (``--tom FILE``) without touching any control.

Two formats are read. Format 1 (no ``format`` key): every measure has ``category``, one
``art32`` letter and ``controls`` (ids). Format 2 (``format: 2``) adds, per measure, ``kind``
(technical | organisational), ``proof`` (full | partial), ``require: all_hosts`` and control
entries with their own ``params`` (``{id: BACKUP-001, params: {max_age: 1h}}``); ``category``
and ``art32`` (a list) are inherited from the group. Both formats accept one language per text
(the other falls back to it, marked) and ids as documents write them (``ID_RULE``).

Validation walks the whole file and reports every problem at once (``ConfigErrors``: file,
line, field): structure, fields, duplicate ids, unknown controls and parameters.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Any, Optional

from hardencheck.errors import ConfigError, ConfigErrors
from hardencheck.judge.catalog import (ART32, CATEGORIES, FORMATS, ID_RULE, ITEM_ID, KINDS, LANGUAGES, PROOFS,
                                       REQUIRES, Catalog, CatalogInfo, ControlUse, Item, Text,
                                       default_catalog_path)
from hardencheck.judge.controls import ParamRef, check_param_overrides
from hardencheck.judge.expectations import ExpectationTypeError, validate_value
from hardencheck.yaml_source import SourceDict, dotted, line_of, load_file

_GROUP_KEYS = {"id", "title", "text", "category", "art32", "items"}
_MEASURE_KEYS = {"id", "title", "text", "category", "art32", "controls", "kind", "proof", "require"}
_V2_ONLY = {"kind", "proof", "require"}


class _Checker:
    """Walks the raw YAML and collects every error with its line and field."""

    def __init__(self, data: Any, file: str, controls, known_ids: set[str] | None):
        self.data, self.file, self.controls, self.known_ids = data, file, controls, known_ids
        self.errors: list[ConfigError] = []
        self.format = 1
        self.seen: dict[str, list] = {}

    def err(self, loc: list, message: str) -> None:
        self.errors.append(ConfigError(message, file=self.file, line=line_of(self.data, loc) or None,
                                       field=dotted(loc) or None))

    def text(self, value: Any, loc: list, required: bool) -> Optional[Text]:
        if value is None:
            if required:
                self.err(loc, "missing: a text with `de:` and/or `en:`")
            return None
        if isinstance(value, str) and value.strip():
            self.err(loc, "give the language: {de: ...} or {en: ...} (or both)")
            return None
        if not isinstance(value, dict):
            self.err(loc, "a mapping with `de:` and/or `en:`")
            return None
        ok = True
        for k, v in value.items():
            if k not in LANGUAGES:
                hint = " (a comma in a {de: ...} text makes a new key: quote the text)" if " " in str(k) else ""
                self.err(loc + [k], f"unknown language {k!r}; known: de, en{hint}")
                ok = False
            elif not isinstance(v, str) or not v.strip():
                self.err(loc + [k], "a non-empty text")
                ok = False
        if not any(k in LANGUAGES for k in value):
            self.err(loc, "needs at least one of `de:` and `en:`")
            return None
        return Text({k: v.strip() for k, v in value.items() if k in LANGUAGES and isinstance(v, str)}) if ok else None

    def item_id(self, value: Any, loc: list) -> Optional[str]:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            self.err(loc, f"quote item ids ({value!r} would be read as a number)")
            return None
        if not isinstance(value, str) or not ITEM_ID.match(value):
            self.err(loc, f"{value!r} is not an item id: {ID_RULE}")
            return None
        if value in self.seen:
            self.err(loc, f"duplicate item id {value!r} (first at line {line_of(self.data, self.seen[value])})")
        else:
            self.seen[value] = loc
        return value

    def category(self, value: Any, loc: list, inherited: Optional[str]) -> Optional[str]:
        if value is None:
            return inherited
        if value not in CATEGORIES:
            self.err(loc, f"unknown category {value!r}; known: {', '.join(CATEGORIES)}")
            return inherited
        return value

    def articles(self, value: Any, loc: list, inherited: list[str]) -> list[str]:
        if value is None:
            return inherited
        if isinstance(value, list):
            if self.format < 2:
                self.err(loc, "a list of references is format 2: add `format: 2` at the top of the file")
            values = value
        else:
            values = [value]
        out = []
        for i, v in enumerate(values):
            if v not in ART32:
                where = loc + [i] if isinstance(value, list) else loc
                self.err(where, f"{v!r} is not a GDPR reference; known: 'a', 'b', 'c', 'd' (Art. 32(1) "
                                f"letters), '25(1)', '25(2)' (Art. 25)")
            elif v not in out:
                out.append(v)
        if not values:
            self.err(loc, "at least one reference, e.g. [b]")
        return out or inherited

    def uses(self, value: Any, loc: list) -> list[ControlUse]:
        if not isinstance(value, list):
            self.err(loc, "a list of control ids (format 2 also {id: ..., params: {...}})")
            return []
        out: list[ControlUse] = []
        for j, entry in enumerate(value):
            here = loc + [j]
            params: dict = {}
            if isinstance(entry, dict):
                if self.format < 2:
                    self.err(here, "a control with its own params is format 2: add `format: 2` at the top")
                for k in entry:
                    if k not in ("id", "params"):
                        self.err(here + [k], "unknown field (a control entry has `id` and `params`)")
                cid, params = entry.get("id"), entry.get("params") or {}
                if not isinstance(params, dict):
                    self.err(here + ["params"], "a mapping of parameter -> value")
                    params = {}
                here_id = here + ["id"]
            else:
                cid, here_id = entry, here
            if not isinstance(cid, str) or not cid:
                self.err(here_id, "a control id such as SSH-001")
                continue
            if any(u.id == cid and u.params == params for u in out):
                self.err(here_id, f"control {cid} is listed twice with the same parameters")
            if self.controls is not None:
                self.control_params(cid, params, here, here_id)
            elif self.known_ids is not None and cid not in self.known_ids:
                self.err(here_id, f"unknown control id {cid!r}")
            out.append(ControlUse(cid, dict(params)))
        return out

    def control_params(self, cid: str, params: dict, here: list, here_id: list) -> None:
        by_id = self.controls.by_id()
        if cid not in by_id:
            self.err(here_id, f"unknown control id {cid!r}")
            return
        c = by_id[cid].control
        collected = {a.param for a in c.args.values() if isinstance(a, ParamRef)}
        for name in params:
            if name in collected:
                self.err(here + ["params", name], f"parameter {name!r} changes what {cid}'s probe collects; "
                                                  "a measure may only change how the facts are judged (set it "
                                                  "in the inventory)")
        bad = set()
        for e in check_param_overrides(self.controls, {cid: params}, self.file):
            name = (e.field or "").rsplit(".", 1)[-1]
            bad.add(name)
            self.err(here + ["params", name], e.message)
        for e in [*c.applies_if, *c.valid_if, *c.expect]:
            if e.param in params and e.param not in bad:
                bad.add(e.param)
                try:
                    validate_value(e.op, params[e.param])
                except ExpectationTypeError as err:
                    self.err(here + ["params", e.param], str(err))

    def items(self, value: Any, loc: list, category, articles, top: bool = False) -> list[Item]:
        if not isinstance(value, list) or not value:
            self.err(loc, "a non-empty list of items")
            return []
        return [it for i, raw in enumerate(value) if (it := self.item(raw, loc + [i], category, articles))]

    def item(self, raw: Any, loc: list, category, articles) -> Optional[Item]:
        if not isinstance(raw, dict):
            self.err(loc, "an item is a mapping with id and title")
            return None
        group = "items" in raw
        allowed = _GROUP_KEYS if group else _MEASURE_KEYS
        for k in raw:
            if k not in allowed:
                self.err(loc + [k], "unknown field" + (" (a group holds items, not controls)" if group and
                                                      k in _MEASURE_KEYS else ""))
            elif k in _V2_ONLY and self.format < 2:
                self.err(loc + [k], f"`{k}` is format 2: add `format: 2` at the top of the file")
        it = Item(id=self.item_id(raw.get("id"), loc + ["id"]) or "?", title=None, line=line_of(self.data, loc))
        it.title = self.text(raw.get("title"), loc + ["title"], True) or Text({"en": it.id})
        it.text = self.text(raw.get("text"), loc + ["text"], not group and self.format < 2)
        it.category = self.category(raw.get("category"), loc + ["category"], category)
        it.articles = self.articles(raw.get("art32"), loc + ["art32"], articles)
        it.art32 = next((a for a in it.articles if len(a) == 1), None)
        if group:
            it.items = self.items(raw["items"], loc + ["items"], it.category, it.articles)
            return it
        missing = [f for f, v in (("category", it.category), ("art32", it.articles)) if not v]
        if self.format < 2 and "controls" not in raw:
            missing.append("controls")
        if missing:
            self.err(loc, f"a measure (an item without sub-items) needs {', '.join(missing)}"
                          + (" (its own or its group's)" if self.format >= 2 and "controls" not in missing else ""))
        it.uses = self.uses(raw.get("controls") or [], loc + ["controls"])
        for key, allowed_values in (("kind", KINDS), ("proof", PROOFS), ("require", REQUIRES)):
            v = raw.get(key)
            if v is not None and v not in allowed_values:
                self.err(loc + [key], f"one of: {', '.join(allowed_values)}")
        it.kind = raw.get("kind") if raw.get("kind") in KINDS else ("technical" if it.uses else "organisational")
        it.proof = raw.get("proof") if raw.get("proof") in PROOFS else "full"
        it.require = raw.get("require") if raw.get("require") in REQUIRES else None
        if it.kind == "organisational" and it.uses:
            self.err(loc + ["kind"], "an organisational measure names no controls (use kind: technical)")
        if not it.uses and (raw.get("proof") is not None or it.require):
            self.err(loc + ["proof" if raw.get("proof") is not None else "require"],
                     "only a measure with controls has `proof` or `require`")
        return it


def load_catalog(path: str | Path | None = None, control_ids=None) -> Catalog:
    """Load and validate a catalog. ``control_ids``: the control library (a ControlSet: ids and
    parameters are checked) or a set of ids (ids only); None: neither. Every error of the file
    is reported at once (``ConfigErrors``)."""
    path = Path(path) if path else default_catalog_path()
    data = load_file(path)
    file = str(path)
    if not isinstance(data, SourceDict):
        raise ConfigError("a TOM catalog is a mapping with `catalog` and `items`", file=file, line=1)
    controls = control_ids if hasattr(control_ids, "by_id") else None
    known = None if control_ids is None or controls is not None else set(control_ids)
    ck = _Checker(data, file, controls, known)
    fmt = data.get("format", 1)
    if isinstance(fmt, bool) or fmt not in FORMATS:
        ck.err(["format"], "1 or 2 (the catalog format; see controls/tom/README.md)")
    else:
        ck.format = fmt
    for k in data:
        if k not in ("format", "catalog", "items"):
            ck.err([k], "unknown field (a catalog has `format`, `catalog` and `items`)")
    info = _info(ck, data.get("catalog"))
    items = ck.items(data.get("items"), ["items"], None, [], top=True)
    if ck.errors:
        raise ConfigErrors(sorted(ck.errors, key=lambda e: e.line or 0))   # in file order
    return Catalog(file, info, items, hashlib.sha256(path.read_bytes()).hexdigest(), ck.format)


def _info(ck: _Checker, raw: Any) -> CatalogInfo:
    if not isinstance(raw, dict):
        ck.err(["catalog"], "missing: `catalog:` with id, title, version and date")
        return CatalogInfo("?", Text({"en": "?"}), "?", "?")
    for k in raw:
        if k not in ("id", "title", "version", "date", "organisation"):
            ck.err(["catalog", k], "unknown field")
    for k in ("id", "version"):
        if not isinstance(raw.get(k), str) or not raw.get(k):
            ck.err(["catalog", k], "a text" + (" (quote a version such as \"3.2\")" if k == "version" else ""))
    if not isinstance(raw.get("date"), (date, str)):
        ck.err(["catalog", "date"], "the document's date, YYYY-MM-DD")
    title = ck.text(raw.get("title"), ["catalog", "title"], True) or Text({"en": str(raw.get("id"))})
    return CatalogInfo(str(raw.get("id")), title, str(raw.get("version")), raw.get("date"),
                       raw.get("organisation"))


def migration_hint(catalog: Catalog) -> str | None:
    """What ``tom lint`` says about a format 1 file."""
    if catalog.format >= 2:
        return None
    return ("format 1 (still read). To use format 2, add `format: 2` as the first line; then a measure "
            "may say `kind: technical` (checked by controls; without controls it is a coverage gap, "
            "`not_checked`) or `kind: organisational`, `proof: partial` when its controls prove only part "
            "of it, `require: all_hosts`, controls with their own `params`, and `art32` as a list "
            "inherited from its group. Format 1 files need no other change.")


