"""Scope reconciliation, pure: the asset register (``judge.asset_register``) against the inventory, and
the hosts not successfully scanned for N days. ``scan.scope`` feeds it the inventory, the run's hosts and
the history; results.json keeps what it returns as the top-level ``scope`` block.

Matching a register entry to an inventory host (names compared case-insensitively, a trailing dot
ignored), in two passes:

1. **exact**: the entry equals the host's inventory name (``by: name``) or its address
   (``by: address``: an IP or the FQDN the inventory connects to). An entry equal to several hosts'
   addresses and no host's name is ambiguous.
2. **short name**: a short name (no dot) and an FQDN match on the FQDN's first label (``by:
   short_name``) only when it is unambiguous: exactly one inventory host and exactly one register entry
   have that first label. IP addresses are never shortened.

A host answers for one entry only: a second entry that would match an already matched host is missing
(``note``), since it may be another server. An unmatched entry is "missing from the inventory" (never
tested); an unmatched host is "not in the register" (an unknown asset).
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timezone

from hardencheck.judge.asset_register import AssetRegister


def key(name: str) -> str:
    return name.strip().lower().rstrip(".")


def _is_ip(k: str) -> bool:
    if ":" not in k and not k[:1].isdigit():     # the common case, without an exception
        return False
    try:
        ipaddress.ip_address(k.strip("[]"))
        return True
    except ValueError:
        return False


def _first_label(k: str) -> str | None:
    """The first label of a name (itself for a short name); None for an address."""
    return None if _is_ip(k) else k.split(".", 1)[0]


def reconcile(register: AssetRegister, hosts: list[tuple[str, str]]) -> dict:
    """``hosts``: (inventory name, address) of every inventory host. Returns ``matched``,
    ``missing_from_inventory``, ``not_in_register`` and their ``counts``."""
    by_name: dict[str, list[int]] = {}
    by_address: dict[str, list[int]] = {}
    for i, (name, address) in enumerate(hosts):
        by_name.setdefault(key(name), []).append(i)
        if address and key(address) != key(name):
            by_address.setdefault(key(address), []).append(i)
    claimed: dict[int, int] = {}          # host index -> register line
    matched, missing = [], []
    pending = []
    for a in register.assets:
        k = key(a.name)
        cands, by = by_name.get(k, []), "name"
        if not cands:
            cands, by = by_address.get(k, []), "address"
        if len(cands) > 1:
            missing.append(_missing(a, ambiguous=[hosts[i][0] for i in cands]))
        elif cands:
            _claim(a, cands[0], by, hosts, claimed, matched, missing)
        else:
            pending.append(a)
    # short names: one host and one entry with the first label, one side a bare short name
    host_labels: dict[str, list[int]] = {}
    for i, (name, _) in enumerate(hosts):
        lab = _first_label(key(name))
        if lab is not None:
            host_labels.setdefault(lab, []).append(i)
    entry_labels: dict[str, int] = {}
    for a in register.assets:
        lab = _first_label(key(a.name))
        if lab is not None:
            entry_labels[lab] = entry_labels.get(lab, 0) + 1
    for a in pending:
        k = key(a.name)
        lab = _first_label(k)
        cands = host_labels.get(lab, []) if lab is not None else []
        cands = [i for i in cands if "." not in k or "." not in key(hosts[i][0])]
        if len(cands) == 1 and entry_labels.get(lab) == 1:
            _claim(a, cands[0], "short_name", hosts, claimed, matched, missing)
        elif len(cands) > 1:
            missing.append(_missing(a, ambiguous=[hosts[i][0] for i in cands]))
        elif len(cands) == 1:
            missing.append(_missing(a, note=f"its short name is also another register entry's; host "
                                            f"{hosts[cands[0]][0]} not matched to it"))
        else:
            missing.append(_missing(a))
    unknown = [{"host": name, "address": address} for i, (name, address) in enumerate(hosts) if i not in claimed]
    missing.sort(key=lambda m: m["line"])
    matched.sort(key=lambda m: m["line"])
    return {"matched": matched, "missing_from_inventory": missing, "not_in_register": unknown,
            "counts": {"register": len(register.assets), "inventory": len(hosts), "matched": len(matched),
                       "missing_from_inventory": len(missing), "not_in_register": len(unknown)}}


def _missing(a, *, ambiguous: list[str] | None = None, note: str | None = None) -> dict:
    m = {"name": a.name, "environment": a.environment, "line": a.line}
    if ambiguous:
        m["ambiguous"] = sorted(ambiguous)
    if note:
        m["note"] = note
    return m


def _claim(a, i: int, by: str, hosts, claimed: dict, matched: list, missing: list) -> None:
    if i in claimed:
        missing.append(_missing(a, note=f"matches host {hosts[i][0]}, already matched by line {claimed[i]}"))
        return
    claimed[i] = a.line
    matched.append({"host": hosts[i][0], "name": a.name, "environment": a.environment, "line": a.line, "by": by})


def _ts(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)


def stale(names: list[str], history: dict[str, dict] | None, this_run: dict[str, dict], *, days: int,
          as_of: str) -> dict:
    """The hosts of ``names`` (the inventory's) without a successful scan (host status ``ok``) in the
    ``days`` before ``as_of``, never scanned included. ``history``: host -> {last_ok, last_attempt,
    last_status, last_reason} from earlier runs (None: no run history; only this run counts);
    ``this_run``: host -> {status, started_at, reason} of the hosts this run scanned."""
    now = _ts(as_of)
    out = []
    for name in names:
        past = (history or {}).get(name) or {}
        cur = this_run.get(name)
        last_ok = past.get("last_ok")
        attempt = {"at": past.get("last_attempt"), "status": past.get("last_status"), "reason": past.get("last_reason")}
        if cur is not None:
            attempt = {"at": cur.get("started_at") or as_of, "status": cur["status"], "reason": cur.get("reason")}
            if cur["status"] == "ok":
                last_ok = cur.get("started_at") or as_of
        ok_at = _ts(last_ok)
        age = None if ok_at is None else (now - ok_at).total_seconds() / 86400
        if ok_at is not None and age <= days:
            continue
        out.append({"host": name, "last_ok": last_ok, "days_since_ok": None if age is None else round(age, 1),
                    "last_attempt": attempt["at"], "last_status": attempt["status"], "last_reason": attempt["reason"],
                    "this_run": cur["status"] if cur is not None else "not_scanned"})
    return {"days": days, "as_of": as_of, "history": history is not None, "hosts": out}


def period(register: AssetRegister, hosts_seen: list[dict]) -> dict:
    """The register's completeness over an audit period: ``hosts_seen`` (audit.json ``hosts``: name,
    runs planned, runs checked, first/last seen) reconciled with the register by name (the rules above).
    A register host is ``tested`` when a run of the period scanned it successfully at least once,
    ``never_ok`` when runs planned it but none succeeded, ``never_planned`` when no run had it;
    ``unregistered``: hosts of the period the register lacks. ``completeness``: tested / entries."""
    rec = reconcile(register, [(h["name"], "") for h in hosts_seen])
    seen = {h["name"]: h for h in hosts_seen}
    tested, never_ok = [], []
    for m in rec["matched"]:
        h = seen[m["host"]]
        entry = {**m, "runs": h["runs"], "checked": h["checked"], "last_seen": h["last_seen"]}
        (tested if h["checked"] else never_ok).append(entry)
    unregistered = [{"host": u["host"], "runs": seen[u["host"]]["runs"], "checked": seen[u["host"]]["checked"]}
                    for u in rec["not_in_register"]]
    n = len(register.assets)
    return {"register": register.document(), "tested": tested, "never_ok": never_ok,
            "never_planned": rec["missing_from_inventory"], "unregistered": unregistered,
            "counts": {"register": n, "tested": len(tested), "never_ok": len(never_ok),
                       "never_planned": len(rec["missing_from_inventory"]), "unregistered": len(unregistered)},
            "completeness": round(len(tested) / n, 4) if n else None}
