"""The TOM roll-up: each measure of the catalog (``judge.catalog``) per host and overall, from
the verdicts of its controls and, where the run has them, attestations. Pure, no I/O.

A measure's status on a host (``ROLLUP``, worst first):

* its controls' verdicts (``measure_status``): ``not_met`` (a failure), ``not_verified`` (an
  error; with ``require: all_hosts`` also a control that does not apply there),
  ``met_with_exceptions`` (only waived failures), ``met``, ``not_assessed`` (deselected),
  ``not_applicable``. A control mapped with its own ``params`` is judged by the result for
  that parameter set (results.json ``tom.results``; a missing one is ``not_verified``);
* ``proof: partial``: the controls prove only part of the measure; ``met`` needs a valid
  attestation for the rest, otherwise it is ``partly_verified`` (never ``met``);
* no controls: ``organisational`` (a person attests it; with an attestation file ``attested``,
  ``attestation_expired`` or ``not_attested``), or for ``kind: technical`` ``not_checked``: a
  coverage gap no control proves yet (a valid attestation makes it ``attested``).
"""

from __future__ import annotations

from typing import Any

from hardencheck.judge.catalog import (ART32, CATEGORIES, ID_RULE, LANGUAGES, Catalog, CatalogInfo,  # noqa: F401
                                       ControlUse, Item, Text, default_catalog_path, document)
from hardencheck.judge.catalog_file import load_catalog, migration_hint  # noqa: F401

#: Roll-up statuses, worst first. "organisational": no technical control proves the item and the
#: run had no attestation file; with one, such an item is "attested", "attestation_expired" or
#: "not_attested" (judge.attestations; the last two count as not verified, never as met).
#: "met_with_exceptions": no failure except waived ones (judge.exceptions), never plain "met".
#: "not_checked": a technical measure no control proves; "partly_verified": a partial proof
#: without an attestation for the rest.
ROLLUP = ("not_met", "not_verified", "attestation_expired", "not_attested", "not_checked", "partly_verified",
          "met_with_exceptions", "attested", "met", "organisational", "not_assessed", "not_applicable")
PROVEN = ("met", "met_with_exceptions")


def _worst(statuses) -> str:
    present = set(statuses)
    for s in ROLLUP:
        if s in present:
            return s
    return "not_applicable"


def measure_status(control_statuses: list[str], all_hosts: bool = False) -> str:
    """One measure on one host, from the statuses of its controls there. ``all_hosts``
    (``require: all_hosts``): a control that does not apply leaves the measure not verified."""
    if not control_statuses:
        return "organisational"
    if "fail" in control_statuses:
        return "not_met"
    if "error" in control_statuses or (all_hosts and "not_applicable" in control_statuses):
        return "not_verified"
    if "waived" in control_statuses:
        return "met_with_exceptions"
    if "pass" in control_statuses:
        return "met"
    if "skipped" in control_statuses:
        return "not_assessed"
    return "not_applicable"


def with_attestation(technical: str | None, attested: str | None) -> str:
    """A measure's status from its controls' verdict (None: it has no control) and its attestation
    status (None: the run had no attestation file; see judge.attestations.measure_status).

    No control: the attestation decides (``organisational`` without an attestation file). Controls
    and an attestation: a failure always wins; an expired attestation, or one whose document is
    missing or changed, makes a met measure ``attestation_expired`` / ``not_verified`` (the worse
    of the two); a valid one, or none, leaves the technical verdict as it is."""
    if technical is None:
        return attested or "organisational"
    if attested in ("attestation_expired", "not_verified"):
        return _worst([technical, attested])
    return technical


def combine(m: Item, technical: str | None, attested: str | None) -> str:
    """The measure's status from its controls' verdict (None: no controls) and its attestation,
    with its ``kind`` and ``proof``."""
    if technical is None:
        s = with_attestation(None, attested)
        if m.kind == "technical" and s not in ("attested", "attestation_expired", "not_verified"):
            return "not_checked"
        return s
    if m.proof == "partial" and technical in PROVEN and attested != "attested":
        technical = "partly_verified"
    return with_attestation(technical, attested)


def _index(measure_results) -> dict[tuple[str, str, str], str]:
    return {(r["host"], r["control"], r.get("key", "")): r["status"] for r in measure_results or []}


def rollup(catalog: Catalog, results: list[dict], hosts: list[str], unfinished: list[str] = (),
           attestation=None, measure_results: list[dict] | None = None) -> list[dict]:
    """Per item: status per host and overall, with the controls' counts. ``results`` are the
    result dicts of results.json (host, control, status); ``measure_results`` those judged with a
    measure's own parameters (``tom.results``: host, control, key, status). ``unfinished``:
    planned hosts whose scan was interrupted before they finished; what they should prove is
    ``not_verified``. ``attestation``: (measure id, host name or None for the run) ->
    attestation status or None (judge.attestations.resolver)."""
    attest = attestation or (lambda measure, host: None)
    by_pair = {(r["host"], r["control"]): r["status"] for r in results}
    variants = _index(measure_results)

    def status_of_use(h: str, u: ControlUse) -> str | None:
        base = by_pair.get((h, u.id))
        if base is None or not u.params or base in ("skipped",):
            return base
        return variants.get((h, u.id, u.key), "error")

    out = []
    status_of: dict[str, str] = {}
    for it, depth, parents in reversed(list(catalog.walk())):
        entry: dict[str, Any] = {"id": it.id, "depth": depth, "parents": parents,
                                 "title": it.title.model_dump(), "group": it.items is not None,
                                 "text": it.text.model_dump() if it.text else None}
        if it.items is None:
            uses = list(it.uses or [])
            controls = list(dict.fromkeys(u.id for u in uses))
            per_host = {}
            counts: dict[str, int] = {}
            for h in hosts:
                sts = [s for u in uses if (s := status_of_use(h, u)) is not None]
                for s in sts:
                    counts[s] = counts.get(s, 0) + 1
                technical = measure_status(sts, it.require == "all_hosts") if uses else None
                per_host[h] = combine(it, technical, attest(it.id, h))
            for h in unfinished:
                per_host[h] = "not_verified" if uses else combine(it, None, attest(it.id, h))
            overall = (_worst(per_host.values()) if per_host else
                       combine(it, "not_assessed" if uses else None, attest(it.id, None)))
            entry.update({"category": it.category, "art32": it.art32, "articles": list(it.articles),
                          "kind": it.kind, "proof": it.proof, "require": it.require, "controls": controls,
                          "uses": [{"control": u.id, "params": u.params, "key": u.key} for u in uses if u.params],
                          "hosts": per_host, "status": overall, "result_counts": counts})
        else:
            children = [status_of[c.id] for c in it.items]
            entry.update({"status": _worst(children),
                          "children": {s: children.count(s) for s in ROLLUP if s in children}})
        status_of[it.id] = entry["status"]
        out.append(entry)
    out.reverse()
    return out


#: How a measure is proven, for ``coverage_table``: best first.
COVERAGE = ("full", "partial", "not_checked", "organisational")


def proof_class(m: Item) -> str:
    if not m.uses:
        return "not_checked" if m.kind == "technical" else "organisational"
    return "partial" if m.proof == "partial" else "full"


def coverage(catalog: Catalog, control_ids: list[str], attested: set[str] | None = None) -> dict[str, list]:
    """Measures by how they are proven (``full``, ``partial``, ``not_checked``: technical without
    a control, ``organisational``), items that no technical control proves, and library controls
    that prove no item. With ``attested`` (the measure ids an attestation file names):
    ``unattested_items``, the measures with neither a control nor an attestation."""
    mapped = catalog.items_of_control()
    out: dict[str, list] = {k: [m.id for m in catalog.measures() if proof_class(m) == k] for k in COVERAGE}
    out["organisational_items"] = [m.id for m in catalog.measures() if not m.uses]
    out["unmapped_controls"] = [c for c in control_ids if c not in mapped]
    if attested is not None:
        out["unattested_items"] = [i for i in out["organisational_items"] if i not in attested]
    return out
