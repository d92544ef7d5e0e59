"""``hardencheck.yml``: settings that belong to a site rather than to one command line.

Looked up in this order: ``--config FILE``, ``$HARDENCHECK_CONFIG``, ``./hardencheck.yml``; no file
is fine (every setting has a default). Relative paths are relative to the file's folder.

    sign_key: /etc/hardencheck/signing_key      # scan signs each bundle's manifest with it
    allowed_signers: allowed_signers            # verify checks signatures against it
    history: /var/lib/hardencheck/history.db    # the run history (default: <out>/history.db)
    exceptions: [exceptions/]                   # the response register: files or folders (--exceptions)
    attestations: attestations.yml              # organisational measures attested (--attestations)
    redact:                                     # patterns added to the built-in redaction rules
      - name: acme-api-token
        pattern: 'acme_[A-Za-z0-9]{32}'
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Optional

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from hardencheck.errors import ConfigError, ConfigErrors
from hardencheck.records.redaction import BUILTIN_RULES, Redactor, user_rule
from hardencheck.yaml_source import SourceDict, load_file, validation_errors

DEFAULT_NAME = "hardencheck.yml"
_RULE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


class RedactPattern(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    pattern: str

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _RULE_NAME.match(v):
            raise ValueError("lower-case letters, digits and '-' (it appears as [REDACTED:<name>])")
        return v

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, v: str) -> str:
        try:
            rx = re.compile(v)
        except re.error as e:
            raise ValueError(f"not a valid regular expression: {e}") from None
        if rx.match(""):
            raise ValueError("the pattern matches the empty string")
        return v


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    sign_key: Optional[str] = None
    allowed_signers: Optional[str] = None
    history: Optional[str] = None
    exceptions: Optional[list[str]] = None
    attestations: Optional[str] = None
    testinfra: Optional[list[str]] = None      # testinfra test files/folders run as controls by every scan
    redact: list[RedactPattern] = []

    @field_validator("exceptions", "testinfra", mode="before")
    @classmethod
    def _one_or_more(cls, v):
        return [v] if isinstance(v, str) else v

    def redactor(self) -> Redactor:
        return Redactor(BUILTIN_RULES + tuple(user_rule(p.name, p.pattern) for p in self.redact))


def config_path(explicit: str | None) -> Path | None:
    if explicit:
        return Path(explicit)
    env = os.environ.get("HARDENCHECK_CONFIG")
    if env:
        return Path(env)
    here = Path(DEFAULT_NAME)
    return here if here.is_file() else None


def load_settings(explicit: str | None = None) -> Settings:
    path = config_path(explicit)
    if path is None:
        return Settings()
    data = load_file(path)
    if data is None:
        return Settings()
    if not isinstance(data, SourceDict):
        raise ConfigError("the configuration is one mapping", file=str(path), line=1)
    try:
        s = Settings.model_validate(dict(data))
    except ValidationError as e:
        raise ConfigErrors(validation_errors(e, data, str(path))) from None
    base = path.resolve().parent

    def rel(p: str | None) -> str | None:
        return None if p is None else str(base / os.path.expanduser(p))

    return s.model_copy(update={"sign_key": rel(s.sign_key), "allowed_signers": rel(s.allowed_signers),
                                "history": rel(s.history),
                                "exceptions": [rel(p) for p in s.exceptions] if s.exceptions is not None else None,
                                "attestations": rel(s.attestations),
                                "testinfra": [rel(p) for p in s.testinfra] if s.testinfra is not None else None})


def history_path(explicit: str | None, settings: Settings, out: str | Path) -> Path:
    """``--history``, else ``$HARDENCHECK_HISTORY``, else ``history`` in hardencheck.yml, else
    ``<out>/history.db`` (beside the bundles, never inside one)."""
    chosen = explicit or os.environ.get("HARDENCHECK_HISTORY") or settings.history
    return Path(chosen) if chosen else Path(out) / "history.db"
