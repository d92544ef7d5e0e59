"""The response register and the attestations over a period: each exception's life and each
measure's attestation validity, from what the history keeps per run (schema v4; ``History.period_runs``
gives every run its ``exceptions`` and ``attestations``, None when the run had no register or no
attestation file). Pure computation, like ``effectiveness``, whose run list it takes.

Exception life (audit.json ``exceptions``), per entry id seen in the period's runs
    first_seen / last_seen    the first and last run whose register had the entry
    states                    the states it was seen in, in order of first appearance (``active`` →
                              ``expiring`` → ``expired``; ``overdue`` for a remediation past due), and
                              ``changes``: the run at which each state was first seen
    expired_at                the first run in which it was ``expired`` (None: never in the period)
    runs_waived, results_waived   runs in which it waived at least one failure, and how many in all
    renewed_by / renews       entry B renews entry A when A expired in the period, B is another id first
                              seen after A was first seen, B is still in the register at or after A's
                              expiry, and both cover the same (host, control): a result both matched,
                              or, when either matched none, a common control and a common host or group
                              pattern
Attestation validity (audit.json ``attestations``), per measure with an entry or without controls
    In a run with an attestation file a measure is ``attested`` when every host-group scope it has
    entries for has a valid entry with intact documents (the best entry per scope counts); else it
    gets the worst of them: ``not_verified`` (a document missing or changed), ``attestation_expired``,
    ``not_attested`` (no entry). Only ``attested`` is a ``held`` outcome of the measure; the others are
    ``not_verified`` (``attestation_outcomes``). Runs without an attestation file are not counted.
"""

from __future__ import annotations

from typing import Any

from hardencheck.records.effectiveness import HELD, NOT_VERIFIED, Run

_RANK = {"attested": 3, "not_verified": 2, "attestation_expired": 1, "not_attested": 0}
LETTER = {"attested": "T", "not_verified": "V", "attestation_expired": "X", "not_attested": "N"}


def measure_status(entries: list[dict], measure: str) -> str:
    """What a run's attestation entries give ``measure`` (see the module docstring)."""
    best: dict[tuple, str] = {}
    for e in entries:
        if e.get("measure") != measure:
            continue
        key = tuple(sorted(e.get("groups") or []))
        st = e.get("status") if e.get("status") in _RANK else "not_attested"
        if key not in best or _RANK[st] > _RANK[best[key]]:
            best[key] = st
    if not best:
        return "not_attested"
    return min(best.values(), key=lambda s: _RANK[s])


def attestation_outcomes(runs: list[Run], measures: list[dict]) -> dict[str, list[str | None]]:
    """Per measure, per run: ``held`` / ``not_verified`` from the run's attestations, None where the run
    had no attestation file or (a measure with controls) no entry for the measure."""
    out: dict[str, list[str | None]] = {}
    for m in measures:
        organisational = not (m.get("controls") or [])
        seq: list[str | None] = []
        for r in runs:
            if r.attestations is None or (not organisational and
                                          not any(e.get("measure") == m["id"] for e in r.attestations)):
                seq.append(None)
                continue
            seq.append(HELD if measure_status(r.attestations, m["id"]) == "attested" else NOT_VERIFIED)
        out[m["id"]] = seq
    return out


def attestation_validity(runs: list[Run], measures: list[dict]) -> list[dict[str, Any]]:
    """Per measure that has an attestation entry in the period or no controls: its attestation status
    in each run with an attestation file (counts, one letter per run: T attested, V not verified, X
    expired, N not attested, ``-`` no file), when it was first and last attested, when an attestation
    lapsed, and the entries seen (attested_by, date, valid_until)."""
    out = []
    with_file = [r for r in runs if r.attestations is not None]
    for m in measures:
        mid = m["id"]
        seen = any(e.get("measure") == mid for r in with_file for e in r.attestations or [])
        if not seen and (m.get("controls") or []):
            continue
        if not with_file:
            continue
        counts = dict.fromkeys(_RANK, 0)
        letters, first, last, lapsed, prev = [], None, None, [], None
        entries: dict[tuple, dict] = {}
        for r in runs:
            if r.attestations is None:
                letters.append("-")
                continue
            st = measure_status(r.attestations, mid)
            counts[st] += 1
            letters.append(LETTER[st])
            if st == "attested":
                first = first or r.started_at
                last = r.started_at
            elif prev == "attested":
                lapsed.append({"at": r.started_at, "run": r.run_id, "status": st})
            prev = st
            for e in r.attestations:
                if e.get("measure") == mid:
                    k = (e.get("attested_by"), e.get("date"), e.get("valid_until"), tuple(e.get("groups") or []))
                    entries.setdefault(k, {"attested_by": k[0], "date": k[1], "valid_until": k[2],
                                           "groups": list(k[3]) or None, "first_seen": r.started_at})
        out.append({"measure": mid, "organisational": not (m.get("controls") or []), "runs": len(with_file),
                    **counts, "first_attested": first, "last_attested": last, "lapsed": lapsed,
                    "last_status": prev, "outcomes": "".join(letters),
                    "entries": sorted(entries.values(), key=lambda e: (e["date"] or "", e["valid_until"] or ""))})
    return out


def _overlap(a: dict, b: dict) -> bool:
    if a["covered"] and b["covered"]:
        return bool(a["covered"] & b["covered"])
    return bool(set(a["controls"]) & set(b["controls"])) and bool(
        set(a["hosts"]) & set(b["hosts"]) or set(a["groups"]) & set(b["groups"]))


def exception_life(runs: list[Run]) -> list[dict[str, Any]]:
    """Each register entry's life over the period's runs (see the module docstring), by id."""
    life: dict[str, dict[str, Any]] = {}
    for i, r in enumerate(runs):
        for e in r.exceptions or []:
            x = life.get(e["id"])
            if x is None:
                x = life[e["id"]] = {"id": e["id"], "first_seen": r.started_at, "first_run": r.run_id, "_first": i,
                                     "states": [], "changes": [], "expired_at": None, "_expired": None,
                                     "runs": 0, "runs_waived": 0, "results_waived": 0, "covered": set()}
            x.update({k: e.get(k) for k in ("action", "granted", "expires", "due", "approved_by", "owner", "ticket",
                                            "justification")})
            x.update(controls=list(e.get("controls") or []), hosts=list(e.get("hosts") or []),
                     groups=list(e.get("groups") or []), last_seen=r.started_at, last_run=r.run_id, _last=i,
                     last_state=e.get("state"))
            x["runs"] += 1
            if e.get("state") not in x["states"]:
                x["states"].append(e.get("state"))
                x["changes"].append({"state": e.get("state"), "at": r.started_at, "run": r.run_id})
            if e.get("state") == "expired" and x["_expired"] is None:
                x["_expired"], x["expired_at"] = i, r.started_at
            waived = e.get("waived") or []
            x["runs_waived"] += bool(waived)
            x["results_waived"] += len(waived)
            x["covered"] |= {tuple(p) for p in e.get("covered") or []}
    for a in life.values():
        a["renewed_by"] = sorted(b["id"] for b in life.values() if b is not a and a["_expired"] is not None
                                 and b["_first"] > a["_first"] and b["_last"] >= a["_expired"] and _overlap(a, b))
    for a in life.values():
        a["renews"] = sorted(b["id"] for b in life.values() if a["id"] in b["renewed_by"])
    out = []
    for x in sorted(life.values(), key=lambda x: (x["first_seen"], x["id"])):
        x["covered"] = [list(p) for p in sorted(x["covered"])]
        out.append({k: v for k, v in x.items() if not k.startswith("_")})
    return out
