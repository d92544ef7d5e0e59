"""Controls: declarative YAML, one control per file, validated before any host is touched.

A control names the probe it reads, a flat list of typed expectations that must all hold, when it
applies, its parameters (defaults that an inventory group or host may override) and what to do
when it fails. It never contains shell. See ``controls/README.md`` for the format.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hardencheck.errors import ConfigError, ConfigErrors
from hardencheck.judge.expectations import OPERATORS, ExpectationTypeError, validate_value
from hardencheck.collect.probes.base import registry
from hardencheck.yaml_source import SourceDict, dotted, line_of, load_file, validation_errors

SEVERITIES = ("info", "low", "medium", "high", "critical")
CONTROL_ID = re.compile(r"^[A-Z][A-Z0-9]{1,15}-[0-9]{3}$")
OS_FAMILIES = ("debian", "rhel", "suse", "alpine", "arch")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ParamRef(_Strict):
    """``{param: name}``: the value of one of the control's parameters."""

    param: str


class Expectation(_Strict):
    fact: str = Field(min_length=1)
    op: str
    value: Any = None
    param: Optional[str] = None

    @field_validator("op")
    @classmethod
    def _known_op(cls, v: str) -> str:
        if v not in OPERATORS:
            raise ValueError(f"unknown operator {v!r}; known: {', '.join(OPERATORS)}")
        return v

    @model_validator(mode="after")
    def _value_xor_param(self):
        needs_value = OPERATORS[self.op][0]
        if self.param is not None and self.value is not None:
            raise ValueError("give either value or param, not both")
        if needs_value and self.param is None and self.value is None:
            raise ValueError(f"operator {self.op!r} needs a value (or param)")
        if self.value is not None:
            try:
                validate_value(self.op, self.value)
            except ExpectationTypeError as e:
                raise ValueError(str(e)) from None
        return self


class References(_Strict):
    """Where a control comes from; the key names carry the edition."""

    iso27001_2022: list[str] = []          # ISO/IEC 27001:2022 Annex A, e.g. A.8.5
    bsi_grundschutz_2023: list[str] = []   # IT-Grundschutz-Kompendium Edition 2023, e.g. SYS.1.3.A8
    cis_debian12_1_1_0: list[str] = []     # CIS Debian Linux 12 Benchmark v1.1.0, e.g. 5.1.20
    other: list[str] = []                  # free text: other benchmarks, vendor docs

    @field_validator("iso27001_2022", "bsi_grundschutz_2023", "cis_debian12_1_1_0")
    @classmethod
    def _ids(cls, v, info):
        pattern, example = _REFERENCE_IDS[info.field_name]
        for x in v:
            if not re.fullmatch(pattern, x):
                raise ValueError(f"{x!r} is not {example}")
        return v


_REFERENCE_IDS = {
    "iso27001_2022": (r"A\.[5-8]\.\d{1,2}", "an ISO/IEC 27001:2022 Annex A id like A.8.5"),
    "bsi_grundschutz_2023": (r"[A-Z]{3,4}(\.\d+)+(\.A\d+)?", "an IT-Grundschutz id like SYS.1.3.A8"),
    "cis_debian12_1_1_0": (r"\d+(\.\d+)*", "a CIS recommendation number like 5.1.20"),
}


class AppliesTo(_Strict):
    os_family: Optional[list[Literal["debian", "rhel", "suse", "alpine", "arch"]]] = None
    virtualization: Optional[Literal["physical", "virtual"]] = None   # from host.os: "none" = physical
    host_tags: Optional[list[str]] = None          # the host has at least one of these tags
    not_host_tags: Optional[list[str]] = None      # the host has none of these tags


class German(_Strict):
    """The control's text in German (``de:``): what the German reports print in place of the
    English fields. The expectation sentence is not written here: reports build it in German from
    the structured ``expect`` list (``report/i18n.py``), so it cannot drift from what is judged."""

    title: str = Field(min_length=5, max_length=150)
    description: str = Field(min_length=10)
    rationale: str = Field(min_length=10)
    remediation: str = Field(min_length=10)


TRANSLATED_FIELDS = ("title", "description", "rationale", "remediation")
#: German words the reports reserve for no verdict: a result is *nicht bestanden*, a measure *nicht
#: erfüllt* / *nicht nachgewiesen* (report/i18n.py); a control's German text must not suggest others.
RESERVED_DE = ("gescheitert", "scheitert", "scheitern", "scheiterte", "fehlgeschlagen", "nicht verifiziert",
               "eingehalten")


class Control(_Strict):
    id: str
    title: str = Field(min_length=5, max_length=150)
    description: str = Field(min_length=10)
    rationale: str = ""
    severity: Literal["info", "low", "medium", "high", "critical"]
    tags: list[str] = []
    references: References = References()
    applies_to: AppliesTo = AppliesTo()
    probe: str
    args: dict[str, Union[ParamRef, Any]] = {}
    params: dict[str, Any] = {}
    applies_if: list[Expectation] = []
    valid_if: list[Expectation] = []
    expect: list[Expectation] = Field(min_length=1)
    show: list[str] = []          # facts reported with the verdict without being judged
    remediation: str = Field(min_length=10)
    de: Optional[German] = None   # German text; `controls lint` requires it for the shipped library

    def text(self, field: str, lang: str = "en") -> str:
        """``title``/``description``/``rationale``/``remediation`` in ``lang`` (English when the
        control has no text in that language)."""
        if lang == "de" and self.de is not None:
            return getattr(self.de, field)
        return getattr(self, field)

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not CONTROL_ID.match(v):
            raise ValueError("id must look like SSH-001 (upper-case area, dash, three digits)")
        return v

    @field_validator("probe")
    @classmethod
    def _probe(cls, v: str) -> str:
        if v not in registry():
            raise ValueError(f"unknown probe {v!r}; known: {', '.join(sorted(registry()))}")
        return v

    @field_validator("args", mode="before")
    @classmethod
    def _args(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return {k: (ParamRef(**x) if isinstance(x, dict) and set(x) == {"param"} else x)
                    for k, x in v.items()}
        return v

    def cross_check(self) -> list[tuple[tuple, str]]:
        """Checks across fields, as (location, message) so the loader can name the line."""
        problems: list[tuple[tuple, str]] = []
        for group in ("applies_if", "valid_if", "expect"):
            for i, e in enumerate(getattr(self, group)):
                if e.param is None:
                    continue
                if e.param not in self.params:
                    problems.append(((group, i, "param"), f"uses param {e.param!r}, which `params` does not define"))
                    continue
                try:
                    validate_value(e.op, self.params[e.param])
                except ExpectationTypeError as err:
                    problems.append((("params", e.param), f"{err} (used by {group}[{i}])"))
        for name, a in self.args.items():
            if isinstance(a, ParamRef) and a.param not in self.params:
                problems.append((("args", name), f"uses param {a.param!r}, which `params` does not define"))
        probe = registry()[self.probe]
        for name in getattr(probe, "required_args", ()):       # a generic resource needs its subject
            if name not in self.args:
                problems.append((("args",), f"probe {self.probe} needs the argument {name!r}"))
        for name in getattr(probe, "literal_args", ()):        # a command is the author's, never an inventory's
            if isinstance(self.args.get(name), ParamRef):
                problems.append((("args", name), f"{name!r} of {self.probe} must be written in the control, "
                                                 "not taken from a parameter (inventories may override parameters)"))
        if not problems:
            try:
                registry()[self.probe].resolve_args(self.resolved_args(self.params))
            except ValueError as e:
                problems.append((("args",), str(e)))
        return problems

    # -- runtime helpers -------------------------------------------------------------------
    def effective_params(self, overrides: dict[str, Any] | None) -> dict[str, Any]:
        out = dict(self.params)
        out.update(overrides or {})
        return out

    def resolved_args(self, params: dict[str, Any]) -> dict[str, Any]:
        return {k: (params[v.param] if isinstance(v, ParamRef) else v) for k, v in self.args.items()}

    def expectation_value(self, e: Expectation, params: dict[str, Any]) -> Any:
        return params[e.param] if e.param is not None else e.value


@dataclass
class LoadedControl:
    control: Control
    file: str
    sha256: str          # of the YAML bytes: which version of the control judged

    @property
    def id(self) -> str:
        return self.control.id


@dataclass
class ControlSet:
    root: str
    controls: list[LoadedControl]
    sha256: str          # over all files (sorted by path): the control catalogue's version
    extra_roots: list[str] = field(default_factory=list)   # the user's control folders merged in (--controls)

    def by_id(self) -> dict[str, LoadedControl]:
        return {c.id: c for c in self.controls}


def default_controls_dir() -> Path:
    """The shipped library: ``hardencheck/_controls`` in a wheel, ``controls/`` in a checkout."""
    pkg = Path(__file__).resolve().parents[1]   # hardencheck/
    for candidate in (pkg / "_controls", pkg.parent / "controls"):
        if candidate.is_dir():
            return candidate
    raise ConfigError("the shipped control library was not found; pass --controls DIR")


def load_control_file(path: Path) -> LoadedControl:
    data = load_file(path)
    if not isinstance(data, SourceDict):
        raise ConfigError("a control file holds one mapping (one control)", file=str(path), line=1)
    try:
        control = Control.model_validate(dict(data))
    except ValidationError as e:
        raise ConfigErrors(validation_errors(e, data, str(path))) from None
    problems = control.cross_check()
    if problems:
        raise ConfigErrors([ConfigError(msg, file=str(path), line=line_of(data, loc), field=dotted(loc))
                            for loc, msg in problems])
    if path.stem != control.id:
        raise ConfigError(f"the file of control {control.id} must be named {control.id}.yml",
                          file=str(path), line=line_of(data, ["id"]), field="id")
    return LoadedControl(control, str(path), hashlib.sha256(path.read_bytes()).hexdigest())


def load_controls(root: str | Path | None = None, extra: list[str | Path] | tuple = ()) -> ControlSet:
    """Every ``*.yml``/``*.yaml`` below ``root`` (default: the shipped library; sub-folders group by
    area), merged with the control folders ``extra`` (a site's own controls, ``--controls``); an id
    defined twice is an error naming both files. All errors at once."""
    root = Path(root) if root else default_controls_dir()
    roots = [root]
    for x in extra:
        if Path(x).resolve() not in [r.resolve() for r in roots]:   # the library itself given again
            roots.append(Path(x))
    files: list[tuple[Path, Path]] = []
    for r in roots:
        if not r.is_dir():
            raise ConfigError("not a folder", file=str(r))
        files += sorted((p, r) for p in r.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file()
                        and not _is_catalog_file(p, r))
    errors: list[ConfigError] = []
    loaded: list[LoadedControl] = []
    seen: dict[str, LoadedControl] = {}
    for f, _ in files:
        try:
            lc = load_control_file(f)
        except ConfigErrors as e:
            errors.extend(e.errors)
            continue
        except ConfigError as e:
            errors.append(e)
            continue
        if lc.id in seen:
            errors.append(ConfigError(f"duplicate control id {lc.id} (also in {seen[lc.id].file})",
                                      file=lc.file, line=1, field="id"))
            continue
        seen[lc.id] = lc
        loaded.append(lc)
    if errors:
        raise ConfigErrors(errors)
    for r in roots:
        if not any(rr == r for _, rr in files):
            raise ConfigError("no control files found", file=str(r))
    h = hashlib.sha256()
    root_of = {str(f): r for f, r in files}
    for lc in loaded:
        r = root_of[lc.file]
        # the shipped library's files by their path in it (as before), a user folder's with its index
        prefix = "" if r == root else f"+{roots.index(r)}/"
        h.update((prefix + Path(lc.file).relative_to(r).as_posix()).encode() + b"\0" + lc.sha256.encode() + b"\n")
    return ControlSet(str(root), loaded, h.hexdigest(), [str(r) for r in roots[1:]])


def translation_errors(lc: LoadedControl) -> list[ConfigError]:
    """What ``controls lint`` requires beyond loading: a complete German ``de:`` block (its fields
    are required by the model once the block is there) that is not the English text copied."""
    c = lc.control
    data = load_file(Path(lc.file))
    if c.de is None:
        return [ConfigError(f"control {c.id} has no German text: add a `de:` block with "
                            f"{', '.join(TRANSLATED_FIELDS)}", file=lc.file,
                            line=line_of(data, ["id"]), field="de")]
    errors = [ConfigError(f"de.{f} is the English {f} word for word: translate it", file=lc.file,
                          line=line_of(data, ["de", f]), field=f"de.{f}")
              for f in TRANSLATED_FIELDS if " ".join(getattr(c.de, f).split()) == " ".join(getattr(c, f).split())]
    for f in TRANSLATED_FIELDS:
        used = [w for w in RESERVED_DE if w in getattr(c.de, f)]
        if used:
            errors.append(ConfigError(f"de.{f} uses {', '.join(repr(w) for w in used)}, which the reports keep for "
                                      "no verdict (say 'nicht bestanden', 'erfolglos', 'nicht erfüllt' …)",
                                      file=lc.file, line=line_of(data, ["de", f]), field=f"de.{f}"))
    return errors


def _is_catalog_file(p: Path, root: Path) -> bool:
    """Files that live beside the controls but are not controls (TOM catalogs, READMEs)."""
    rel = p.relative_to(root).parts
    return rel[0] in ("tom", "catalogs", "tests") or p.name.startswith("_")


def check_param_overrides(controls: ControlSet, overrides: dict[str, dict[str, Any]],
                          where: str) -> list[ConfigError]:
    """Inventory ``params`` must name known controls and parameters, with the default's type."""
    errors = []
    by_id = controls.by_id()
    for cid, values in (overrides or {}).items():
        if cid not in by_id:
            errors.append(ConfigError(f"params for unknown control {cid!r}", file=where, field=f"params.{cid}"))
            continue
        c = by_id[cid].control
        if not isinstance(values, dict):
            errors.append(ConfigError("must be a mapping of parameter -> value", file=where, field=f"params.{cid}"))
            continue
        for name, value in values.items():
            if name not in c.params:
                known = ", ".join(c.params) or "none"
                errors.append(ConfigError(f"control {cid} has no parameter {name!r} (known: {known})",
                                          file=where, field=f"params.{cid}.{name}"))
                continue
            default = c.params[name]
            if default is not None and not _same_kind(default, value):
                kind = next((n for t, n in ((bool, "boolean"), (int, "number"), (float, "number"),
                                            (str, "string"), (list, "list"), (dict, "mapping"))
                             if isinstance(default, t)), type(default).__name__)
                errors.append(ConfigError(
                    f"must be a {kind} like the default {_plain(default)!r}, got {value!r}",
                    file=where, field=f"params.{cid}.{name}"))
                continue
            try:
                registry()[c.probe].resolve_args(c.resolved_args(c.effective_params({name: value})))
            except ValueError as e:
                errors.append(ConfigError(str(e), file=where, field=f"params.{cid}.{name}"))
    return errors


def _same_kind(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool)
    if isinstance(a, (int, float)):
        return isinstance(b, (int, float))
    for kind in (str, list, dict):   # YAML gives SourceList/SourceDict subclasses: compare by kind
        if isinstance(a, kind):
            return isinstance(b, kind)
    return type(a) is type(b)


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v
