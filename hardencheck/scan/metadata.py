"""A run's metadata, built here and nowhere else.

``run_metadata`` makes the run block once, at the start; results.json's ``run``, the bundle's
``run.json`` plan, its manifest and the history's run row all derive from that one dict:

    run_metadata ──► plan (run.json) and history begin
        │
        ├──► manifest_metadata (manifest.json's "run": identity, provenance, hashes, hosts planned)
        │
        └──► finished_run (at the end: ended_at, complete, hosts not scanned, exit code) ──► results.json
"""

from __future__ import annotations

import os
from typing import Any

from hardencheck.records.provenance import provenance


def run_metadata(*, run_id: str, started_at: str, inventory, hosts: list, controls, options: dict[str, Any],
                 inventory_key: str) -> dict[str, Any]:
    """The run as planned. Key order is part of results.json's bytes: keep it."""
    return {
        "id": run_id,
        "started_at": started_at,
        "ended_at": None,
        "complete": False,
        **provenance(),
        "inventory": {"path": inventory.path, "key": inventory_key, "sha256": inventory.sha256,
                      "hosts": [h.name for h in hosts],
                      # Ansible group_vars/host_vars files read with it (path, SHA-256), when any
                      **({"vars_files": list(inventory.vars_files)} if getattr(inventory, "vars_files", None)
                         else {})},
        "controls": {"path": controls.root, "sha256": controls.sha256,
                     "ids": [lc.id for lc in controls.controls],
                     # the site's own control folders (--controls), when there are any
                     **({"extra_paths": list(controls.extra_roots)} if getattr(controls, "extra_roots", None) else {})},
        "options": options,
    }


def finished_run(run: dict[str, Any], *, ended_at: str | None, complete: bool, not_scanned: list[str],
                 exit_code: int) -> dict[str, Any]:
    """The run block of results.json: the planned run with how it ended (a new dict; the planned
    one, already in run.json and the history, stays as it was)."""
    out = dict(run, ended_at=ended_at, complete=complete)
    out["inventory"] = dict(run["inventory"], not_scanned=not_scanned)
    out["exit_code"] = exit_code
    return out


def manifest_metadata(run: dict[str, Any], *, tom_sha256: str, exceptions: dict | None = None) -> dict[str, Any]:
    """manifest.json's ``run`` block at the start (the bundle adds state and end itself);
    ``exceptions``: results.json's register block, of which the manifest keeps files and SHA-256."""
    return {
        "id": run["id"], "started_at": run["started_at"], "ended_at": None, "tool": run["tool"],
        "python": run["python"], "scanner": run["scanner"],
        "inventory": {"key": run["inventory"]["key"], "path": run["inventory"]["path"],
                      "sha256": run["inventory"]["sha256"]},
        "controls": {"sha256": run["controls"]["sha256"]}, "tom": {"sha256": tom_sha256},
        "hosts_planned": list(run["inventory"]["hosts"]),
        **({"exceptions": {"files": exceptions["files"], "sha256": exceptions["sha256"]}} if exceptions else {}),
    }


def control_json(lc) -> dict[str, Any]:
    """One control as results.json and run.json record it (definition, file and its hash)."""
    c = lc.control
    return {"id": c.id, "title": c.title, "severity": c.severity, "tags": list(c.tags),
            "references": c.references.model_dump(), "probe": c.probe, "params": c.params,
            "description": c.description, "rationale": c.rationale, "remediation": c.remediation,
            # (1.4) the expectations, so a report states them in its language (report/sentences.py),
            # and the German text when the control has it
            "expect": [e.model_dump(mode="json", exclude_none=True) for e in c.expect],
            **({"de": c.de.model_dump()} if c.de is not None else {}),
            "file": os.path.relpath(lc.file), "sha256": lc.sha256}
