"""``hardencheck.yml``: settings that belong to a site rather than to one command line.

Looked up in this order: ``--config FILE``, ``$HARDENCHECK_CONFIG``, ``./hardencheck.yml``; no file
is fine (every setting has a default). Relative paths are relative to the file's folder.

    sign_key: /etc/hardencheck/signing_key      # scan signs each bundle's manifest with it
    allowed_signers: allowed_signers            # verify and audit require a signature by one of them
    history: /var/lib/hardencheck/history.db    # the run history (default: <out>/history.db)
    exceptions: [exceptions/]                   # the response register: files or folders (--exceptions)
    attestations: attestations.yml              # organisational measures attested (--attestations)
    controls: [site-controls/]                  # the site's own control folders, merged with the library (--controls)
    expect_hosts: assets.csv                    # the asset register every scan is reconciled with (--expect-hosts)
    stale_days: 7                               # a host without a successful scan for longer is listed (scope)
    exposure:                                   # scan --exposure: the outside-in nmap run
      ports: ["1-1024", 8443]                   #   default: nmap's top 1000 TCP ports + every approved one
      timing: 4                                 #   nmap -T0..5
      max_rate: 500                             #   packets per second at most (default: nmap's own)
    redact:                                     # patterns added to the built-in redaction rules
      - name: acme-api-token
        pattern: 'acme_[A-Za-z0-9]{32}'
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

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


class ExposureSettings(BaseModel):
    """``exposure:`` (``scan --exposure``): what the one nmap run probes and how fast."""
    model_config = ConfigDict(extra="forbid", frozen=True)
    ports: Optional[list[Union[int, str]]] = None   # ports and ranges; None: top_ports + approved ports
    top_ports: int = Field(1000, ge=1, le=65535)    # nmap's most common TCP ports, when ports is None
    timing: int = Field(4, ge=0, le=5)              # nmap -T<n>
    max_rate: Optional[int] = Field(None, ge=1)     # --max-rate (packets per second)
    min_rate: Optional[int] = Field(None, ge=1)     # --min-rate
    max_retries: int = Field(2, ge=0, le=10)        # --max-retries
    script_timeout: int = Field(15, ge=1)           # --script-timeout for ssl-enum-ciphers, seconds
    timeout: int = Field(1800, ge=10)               # the whole nmap run, seconds

    @field_validator("ports")
    @classmethod
    def _ports(cls, v):
        for p in v or []:
            text = str(p)
            m = re.fullmatch(r"(\d{1,5})(?:-(\d{1,5}))?", text)
            if isinstance(p, bool) or not m or not 1 <= int(m.group(1)) <= int(m.group(2) or m.group(1)) <= 65535:
                raise ValueError(f"{p!r} is not a TCP port or range like 8443 or \"1-1024\" (1-65535)")
        return v


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    sign_key: Optional[str] = None
    allowed_signers: Optional[str] = None
    history: Optional[str] = None
    exceptions: Optional[list[str]] = None
    attestations: Optional[str] = None
    testinfra: Optional[list[str]] = None      # testinfra test files/folders run as controls by every scan
    controls: Optional[list[str]] = None       # the site's control folders, merged with the library
    expect_hosts: Optional[str] = None         # the asset register (CSV/JSON) reconciled with the inventory
    stale_days: int = Field(7, ge=1, le=3660)  # scope: days without a successful scan before a host is listed
    redact: list[RedactPattern] = []
    exposure: ExposureSettings = ExposureSettings()

    @field_validator("exceptions", "testinfra", "controls", mode="before")
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
                                "attestations": rel(s.attestations), "expect_hosts": rel(s.expect_hosts),
                                "testinfra": [rel(p) for p in s.testinfra] if s.testinfra is not None else None,
                                "controls": [rel(p) for p in s.controls] if s.controls is not None else None})


def history_path(explicit: str | None, settings: Settings, out: str | Path) -> Path:
    """``--history``, else ``$HARDENCHECK_HISTORY``, else ``history`` in hardencheck.yml, else
    ``<out>/history.db`` (beside the bundles, never inside one)."""
    chosen = explicit or os.environ.get("HARDENCHECK_HISTORY") or settings.history
    return Path(chosen) if chosen else Path(out) / "history.db"
