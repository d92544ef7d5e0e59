"""The options of a scan as the user gave them (``hardencheck scan``'s arguments, or the same
from a program). ``scan.plan`` prepares a plan from them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from typing import Any

from hardencheck.errors import ConfigError
from hardencheck.report import FORMATS

#: a run id given with --run-id (a folder name: no path, no hidden file, no option-looking name)
RUN_ID_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$")


@dataclass
class ScanRequest:
    """The scan's options; field names are those of ``hardencheck scan``'s arguments."""

    inventory: str | None = None
    ansible_dir: str | None = None           # playbook directory: its group_vars/, host_vars/ (--ansible-dir)
    limit: list[str] | None = None
    tags: list[str] | None = None
    control_ids: list[str] | None = None
    only_catalog: bool = False               # only the controls the TOM catalog maps run (--only-catalog)
    skip_tags: list[str] | None = None       # controls with one of these tags are deselected (--skip-tags)
    controls: list[str] | None = None        # the site's control folders, merged with the library (--controls)
    library: str | None = None               # a library replacing the shipped one (--library)
    tom: str | None = None
    out: str = "reports"
    fail_on: str | None = None
    forks: int = 20
    ssh_config: str | None = None
    known_hosts: list[str] | None = None
    trust_on_first_use: bool = False
    connect_timeout: float | None = None
    command_timeout: float | None = None
    idle_timeout: float | None = None
    sudo_password_env: str | None = None
    jump_max_sessions: int | None = None     # targets in flight per bastion (--jump-max-sessions)
    formats: list[str] = field(default_factory=lambda: ["html", "junit", "json"])
    lang: str = "en"
    config: str | None = None
    sign_key: str | None = None
    history: str | None = None
    no_history: bool = False
    compare: str | None = None
    fail_on_new: str | None = None
    exceptions: list[str] | None = None      # the response register: files or folders (--exceptions)
    attestations: str | None = None
    exposure: bool = False                   # --exposure: the outside-in nmap run (collect.exposure)
    testinfra: list[str] | None = None       # testinfra files/folders whose marked tests are controls
    run_id: str | None = None                # the run's id (e.g. a CI pipeline's); default: time + random
    shard: str | None = None                 # "K/N": only this stable share of the hosts (scan.shard)
    shard_by: str = "host"
    expect_hosts: str | None = None          # the asset register reconciled with the inventory (scan.scope)
    fail_on_missing_hosts: bool = False      # a register host missing from the inventory: exit 2
    stale_days: int | None = None            # scope: default stale_days in hardencheck.yml, else 7

    @classmethod
    def from_namespace(cls, ns: Any) -> "ScanRequest":
        return cls(**{f.name: getattr(ns, f.name) for f in fields(cls) if hasattr(ns, f.name)})

    @property
    def effective_fail_on(self) -> str:
        """--fail-on, else ``none`` with --fail-on-new (only new failures fail), else any severity."""
        return self.fail_on or ("none" if self.fail_on_new else "info")

    @property
    def effective_compare(self) -> str | None:
        return self.compare or ("last" if self.fail_on_new else None)

    def transport_options(self) -> dict[str, Any]:
        """What every host's transport is made with (``collect.transports.make_transport``)."""
        return {"known_hosts": self.known_hosts, "trust_on_first_use": self.trust_on_first_use}

    def check(self) -> None:
        """The options that are wrong whatever the files say (a ConfigError naming the option)."""
        if self.forks < 1:
            raise ConfigError("--forks must be at least 1")
        if self.idle_timeout is not None and self.idle_timeout < 0:
            raise ConfigError("--idle-timeout must be 0 (no idle limit) or a number of seconds",
                              field="--idle-timeout")
        unknown = [f for f in self.formats if f not in FORMATS]
        if unknown:
            raise ConfigError(f"unknown report format(s) {', '.join(unknown)}; known: {', '.join(FORMATS)}",
                              field="--format")
        if self.run_id is not None and not RUN_ID_RE.match(self.run_id):
            raise ConfigError(f"{self.run_id!r}: 1 to 64 letters, digits, '.', '_' or '-', not starting with '.' "
                              "or '-'", field="--run-id")

    def options(self) -> dict[str, Any]:
        """The options results.json records (``run.options``)."""
        return {"limit": self.limit, "tags": self.tags, "control_ids": self.control_ids,
                "only_catalog": self.only_catalog, "skip_tags": self.skip_tags,
                "fail_on": self.effective_fail_on, "fail_on_new": self.fail_on_new, "forks": self.forks,
                "trust_on_first_use": self.trust_on_first_use, "exposure": self.exposure}
