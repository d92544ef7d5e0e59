"""Which hosts a scan reaches, and how: the inventory, ``--limit``, the OpenSSH client config, the
per-scan timeouts, the shard, and the identity files' permissions. Light on purpose (no control
library, no reports): the command line selects the hosts first, so that their connections can
be opened while the control library loads (``collect.head_start``)."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hardencheck.errors import ConfigError
from hardencheck.inventory import limit_hosts, load_inventory, local_inventory
from hardencheck.inventory.ssh_config import apply_ssh_config
from hardencheck.scan.request import ScanRequest
from hardencheck.scan.shard import Shard, parse_shard, select as select_shard


@dataclass
class Selection:
    """The hosts this scan (or this shard of it) reaches."""

    inventory: Any                   # hardencheck.inventory.Inventory
    hosts: list                      # this shard's hosts (all selected hosts without --shard)
    planned_all: list[str] = field(default_factory=list)   # every selected host's name
    shard: Shard | None = None
    identity_errors: list[ConfigError] = field(default_factory=list)   # check_identity_files


def select(req: ScanRequest) -> Selection:
    """The request's hosts (``scan.plan.ScanRequest``); a ConfigError for an unusable inventory,
    --limit, --shard or option. Identity files open to others are listed, not raised: the plan
    reports them with the other cross-checks."""
    shard = parse_shard(req.shard, req.shard_by) if req.shard else None
    inv, hosts = select_hosts(req)
    planned_all = [h.name for h in hosts]
    if shard is not None:
        hosts = select_shard(hosts, shard)
    return Selection(inv, hosts, planned_all, shard, check_identity_files(hosts))


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
