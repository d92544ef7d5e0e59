"""What a scan will do, validated before anything connects: the request (the options as the
user gave them), and the plan prepared from it (controls, TOM catalog, inventory, hosts,
settings). Every problem here is a ConfigError naming file, line or option; nothing is
written and no host is contacted before ``prepare`` returns."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import stat
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from hardencheck.config import Settings, load_settings
from hardencheck.errors import ConfigError, ConfigErrors
from hardencheck.inventory import limit_hosts, load_inventory, local_inventory
from hardencheck.collect.exposure import share_approved
from hardencheck.inventory.ssh_config import apply_ssh_config
from hardencheck.judge import tom
from hardencheck.judge.exceptions import Register, check_register, load_register
from hardencheck.judge.attestations import Attestations, load_attestations
from hardencheck.judge.controls import ControlSet, check_param_overrides, load_controls
from hardencheck.records.signature import check_key
from hardencheck.report import FORMATS
from hardencheck.scan import scope
from hardencheck.scan.shard import Shard, parse_shard, select as select_shard

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

    def options(self) -> dict[str, Any]:
        """The options results.json records (``run.options``)."""
        return {"limit": self.limit, "tags": self.tags, "control_ids": self.control_ids,
                "only_catalog": self.only_catalog, "skip_tags": self.skip_tags,
                "fail_on": self.effective_fail_on, "fail_on_new": self.fail_on_new, "forks": self.forks,
                "trust_on_first_use": self.trust_on_first_use, "exposure": self.exposure}


@dataclass
class ScanPlan:
    request: ScanRequest
    controls: ControlSet
    catalog: tom.Catalog
    inventory: Any                   # hardencheck.inventory.Inventory
    hosts: list                      # the selected hosts, ssh_config and CLI overrides applied
    settings: Settings
    sign_key: str | None
    register: Register | None = None   # judge.exceptions: --exceptions / hardencheck.yml
    attestations: Attestations | None = None    # judge.attestations: --attestations / hardencheck.yml
    testinfra: list = field(default_factory=list)   # collect.testinfra.runner.TestinfraControl, in the plan's controls
    shard: Shard | None = None        # --shard: ``hosts`` are this shard's; ``planned_all`` every selected host
    planned_all: list[str] = field(default_factory=list)
    expected: Any = None              # judge.asset_register.AssetRegister: --expect-hosts / hardencheck.yml


def prepare(req: ScanRequest) -> ScanPlan:
    """Load and cross-check everything the scan needs, in the order a user fixes problems."""
    if req.forks < 1:
        raise ConfigError("--forks must be at least 1")
    if req.idle_timeout is not None and req.idle_timeout < 0:
        raise ConfigError("--idle-timeout must be 0 (no idle limit) or a number of seconds", field="--idle-timeout")
    unknown = [f for f in req.formats if f not in FORMATS]
    if unknown:
        raise ConfigError(f"unknown report format(s) {', '.join(unknown)}; known: {', '.join(FORMATS)}",
                          field="--format")
    settings = load_settings(req.config)
    controls = load_controls(req.library, extra=[*(req.controls or []), *(settings.controls or [])])
    testinfra = req.testinfra or settings.testinfra
    tests = []
    if testinfra:
        controls, tests = with_testinfra_controls(controls, testinfra)
    catalog = tom.load_catalog(req.tom, controls)   # ids and each measure's own params checked
    if tests:
        map_testinfra_measures(catalog, tests)
    if req.run_id is not None and not RUN_ID_RE.match(req.run_id):
        raise ConfigError(f"{req.run_id!r}: 1 to 64 letters, digits, '.', '_' or '-', not starting with '.' or '-'",
                          field="--run-id")
    shard = parse_shard(req.shard, req.shard_by) if req.shard else None
    inv, hosts = select_hosts(req)
    planned_all = [h.name for h in hosts]
    if shard is not None:
        hosts = select_shard(hosts, shard)
    share_approved(hosts, controls)   # NET-001's approved ports are the exposure controls' too
    errors = check_identity_files(hosts)
    for h in hosts:
        errors += check_param_overrides(controls, h.params, f"{inv.path or 'inventory'} (host {h.name})")
    known = set(controls.by_id())
    if req.control_ids:
        unknown = [c for c in req.control_ids if c not in known]
        if unknown:
            errors.append(ConfigError(f"unknown control id(s): {', '.join(unknown)}", field="--control"))
    if req.only_catalog:
        mapped = catalog.items_of_control()
        if not mapped:
            errors.append(ConfigError(f"the TOM catalog {catalog.path} maps no control: --only-catalog would run "
                                      "nothing", field="--only-catalog"))
        # deselected controls end as 'skipped'; the run records the list it ran (options.control_ids)
        req.control_ids = [lc.id for lc in controls.controls if lc.id in mapped
                           and (not req.control_ids or lc.id in req.control_ids)]
    if req.skip_tags:
        all_tags = {t for lc in controls.controls for t in lc.control.tags}
        unknown = [t for t in req.skip_tags if t not in all_tags]
        if unknown:
            errors.append(ConfigError(f"no control has the tag(s) {', '.join(unknown)}; known: "
                                      f"{', '.join(sorted(all_tags))}", field="--skip-tags"))
        # like --only-catalog: the controls left run, the others end as 'skipped' (not run tonight)
        req.control_ids = [lc.id for lc in controls.controls if not set(lc.control.tags) & set(req.skip_tags)
                           and (not req.control_ids or lc.id in req.control_ids)]
    if errors:
        raise ConfigErrors(errors)
    if req.tags:
        all_tags = {t for lc in controls.controls for t in lc.control.tags}
        unknown = [t for t in req.tags if t not in all_tags]
        if unknown:
            raise ConfigError(f"no control has the tag(s) {', '.join(unknown)}; known: "
                              f"{', '.join(sorted(all_tags))}", field="--tags")
    sign_key = req.sign_key or settings.sign_key
    if sign_key:
        check_key(sign_key)
    if req.effective_compare and req.no_history:
        raise ConfigError("--compare/--fail-on-new need the run history; drop --no-history", field="--no-history")
    plan = ScanPlan(req, controls, catalog, inv, hosts, settings, sign_key, testinfra=tests, shard=shard,
                    planned_all=planned_all)
    plan.register = load_exceptions(req.exceptions or settings.exceptions, controls, inv)
    plan.attestations = load_attestation_file(req.attestations or settings.attestations, catalog, inv)
    if req.stale_days is not None and req.stale_days < 1:
        raise ConfigError("--stale-days must be at least 1", field="--stale-days")
    plan.expected = scope.load(req.expect_hosts or settings.expect_hosts, req.fail_on_missing_hosts)
    return plan


def with_testinfra_controls(controls: ControlSet, paths: list[str]) -> tuple[ControlSet, list]:
    """The library plus the marked testinfra tests of ``paths`` as controls (collected in a
    pytest subprocess, nothing connects); an id the library has already is an error."""
    from hardencheck.collect.testinfra.runner import collect_tests
    tests = collect_tests(paths)
    known = controls.by_id()
    clashes = [ConfigError(f"control id {t.id} is the library's too ({known[t.id].file})", file=t.file,
                           line=t.line, field="hardencheck.id") for t in tests if t.id in known]
    if clashes:
        raise ConfigErrors(clashes)
    loaded = [t.loaded() for t in tests]
    h = hashlib.sha256(controls.sha256.encode())
    for lc in loaded:
        h.update(f"{lc.id}\0{lc.sha256}\n".encode())
    merged = dataclasses.replace(controls, controls=controls.controls + loaded, sha256=h.hexdigest())
    return merged, tests


def map_testinfra_measures(catalog: tom.Catalog, tests: list) -> None:
    """A testinfra control's marker names the measures it proves (``tom=["4.1"]``): it joins
    them as if the catalog mapped it (judged with the host's own parameters)."""
    from hardencheck.judge.catalog import ControlUse
    measures = {m.id: m for m in catalog.measures()}
    errors = []
    for t in tests:
        for mid in t.tom:
            m = measures.get(mid)
            if m is None:
                errors.append(ConfigError(f"measure {mid!r} is not in the TOM catalog {catalog.path}", file=t.file,
                                          line=t.line, field="hardencheck.tom"))
                continue
            if m.uses is None:
                m.uses = []
            if t.id not in [u.id for u in m.uses]:
                m.uses.append(ControlUse(t.id))
                m.kind = "technical"
    if errors:
        raise ConfigErrors(errors)


def load_attestation_file(path: str | None, catalog: tom.Catalog, inv) -> Attestations | None:
    """The attestation file, validated against the catalog's measures and the inventory's groups
    (of every host, not only those selected); None when there is none."""
    if not path:
        return None
    groups = {g for h in inv.hosts for g in (h.groups or [])}
    return load_attestations(path, catalog, groups)


def load_exceptions(paths: list[str] | None, controls: ControlSet, inv) -> Register | None:
    """The response register, checked against the control library and the whole inventory (a
    --limit does not make an entry wrong); None without one."""
    if not paths:
        return None
    reg = load_register(paths)
    errors = check_register(reg, controls.by_id(), inv.hosts)
    if errors:
        raise ConfigErrors(errors)
    return reg


def select_hosts(req: ScanRequest):
    """(inventory, hosts): the inventory (default: this machine), --limit, the OpenSSH client
    config, and the per-scan timeouts and sudo password variable."""
    inv = (load_inventory(req.inventory, [req.ansible_dir] if req.ansible_dir else ()) if req.inventory
           else local_inventory())
    hosts = limit_hosts(inv, req.limit) if req.limit else list(inv.hosts)
    ssh_config = req.ssh_config
    if ssh_config and not Path(ssh_config).exists():
        raise ConfigError("file not found", file=ssh_config)
    if ssh_config is None and Path("~/.ssh/config").expanduser().is_file():
        ssh_config = str(Path("~/.ssh/config").expanduser())
    out = []
    for h in hosts:
        if h.transport == "ssh" and ssh_config:
            h = apply_ssh_config(h, ssh_config, getattr(h, "explicit", set()))
        if req.connect_timeout:
            h.connect_timeout = req.connect_timeout
        if req.command_timeout:
            h.command_timeout = req.command_timeout
        if req.idle_timeout is not None:
            h.idle_timeout = req.idle_timeout
        if req.sudo_password_env:
            h.sudo_password_env = req.sudo_password_env
        if req.jump_max_sessions is not None:
            if req.jump_max_sessions < 1:
                raise ConfigError("--jump-max-sessions must be at least 1", field="--jump-max-sessions")
            h.jump_max_sessions = req.jump_max_sessions
        out.append(h)
    if not out:
        raise ConfigError("no hosts selected", file=req.inventory)
    return inv, out


def check_identity_files(hosts: list) -> list[ConfigError]:
    """An identity file (inventory ``identity_file``, ssh_config ``IdentityFile``, also a jump
    host's) that group or others may access is refused, as OpenSSH refuses it ("UNPROTECTED
    PRIVATE KEY FILE"): checked like ``sshkey_perm_ok`` (a file of this user with any of the
    0077 bits). A missing file is left to the connection (OpenSSH warns and goes on); a ``.pub``
    file names a key in the agent and is public by nature."""
    errors, seen = [], set()
    for h in hosts:
        if h.transport != "ssh":
            continue
        for path in list(h.identity_files or []) + [p for j in h.jump for p in j.identity_files or []]:
            if path in seen or path.endswith(".pub"):
                continue
            seen.add(path)
            try:
                st = os.stat(path)
            except OSError:
                continue
            if st.st_uid == os.geteuid() and st.st_mode & 0o077:
                who = " and ".join(w for bits, w in ((0o070, "group"), (0o007, "others")) if st.st_mode & bits)
                errors.append(ConfigError(
                    f"host {h.name}: identity file {path} has mode {stat.S_IMODE(st.st_mode):04o} (open to "
                    f"{who}); OpenSSH refuses such a private key (UNPROTECTED PRIVATE KEY FILE), and so does "
                    f"hardencheck: chmod 600 {path}"))
    return errors
