"""Were all servers tested? The run's ``scope`` block: the asset register (``--expect-hosts``,
``expect_hosts`` in hardencheck.yml; ``judge.asset_register``) reconciled with the whole inventory
(``judge.scope``: matching rules there), and the inventory's hosts without a successful scan for
``stale_days`` days, from the run history (every recorded run of the same inventory) and this run.

Without a register there is no ``scope`` block. Without a history (``--no-history``, a shard, or a
history that failed) only this run counts, and the block says so (``stale.history: false``).
``--fail-on-missing-hosts`` makes a run whose register names a host the inventory lacks exit 2
(incomplete) when it would otherwise exit 0; failures (1) and I/O errors (4) keep their codes.
"""

from __future__ import annotations

from hardencheck.errors import ConfigError
from hardencheck.judge import scope as reconcile
from hardencheck.judge.asset_register import AssetRegister, load_asset_register

DEFAULT_STALE_DAYS = 7


def load(path: str | None, fail_on_missing: bool) -> AssetRegister | None:
    """The register to reconcile with (None without one); --fail-on-missing-hosts needs one."""
    if not path:
        if fail_on_missing:
            raise ConfigError("--fail-on-missing-hosts needs the asset register: --expect-hosts FILE or "
                              "expect_hosts in hardencheck.yml", field="--fail-on-missing-hosts")
        return None
    return load_asset_register(path)


def block(register: AssetRegister | None, inventory_hosts: list, outcomes: list, history: dict | None, *,
          as_of: str, days: int, fail_on_missing: bool) -> dict | None:
    """results.json's ``scope``: ``register`` (the file), ``matched``, ``missing_from_inventory``,
    ``not_in_register``, ``counts`` (with ``stale``), ``stale`` and the flag. ``history``: what
    ``Queries.last_scans`` gives for the inventory (None: no history)."""
    if register is None:
        return None
    doc = reconcile.reconcile(register, [(h.name, h.address) for h in inventory_hosts])
    this_run = {o.host.name: {"status": o.host.status, "started_at": o.host.started_at,
                              "reason": (o.host.error or {}).get("reason")} for o in outcomes}
    stale = reconcile.stale([h.name for h in inventory_hosts], history, this_run, days=days, as_of=as_of)
    doc["counts"]["stale"] = len(stale["hosts"])
    return {"register": register.document(), **doc, "stale": stale, "fail_on_missing_hosts": fail_on_missing}


def exit_code(code: int, scope: dict | None) -> int:
    """0 becomes 2 when --fail-on-missing-hosts is set and the register names hosts the inventory lacks."""
    if code == 0 and scope and scope["fail_on_missing_hosts"] and scope["missing_from_inventory"]:
        return 2
    return code
