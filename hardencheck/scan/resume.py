"""``hardencheck scan --resume RUN_DIR``: finish an interrupted or killed run in place.

The run keeps its id, start time, run.json and chain link; only the planned hosts without a
host file are scanned, and the manifest and the history continue. It is refused, with what
differs, unless the plan is the one the run started with: the same inventory (file hash and
hosts planned), control library, TOM catalog, response register, attestations and options
(``--forks`` aside, which changes no verdict). The earlier host files stay byte-identical.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hardencheck.errors import ConfigError
from hardencheck.records.bundle import MANIFEST, RUN_FILE, read_manifest
from hardencheck.results import HostOutcome, HostRecord, Result

#: options that change how fast, not what: a resume may use other values
FREE_OPTIONS = ("forks",)


@dataclass
class ResumedRun:
    run_dir: Path
    plan: dict[str, Any]           # run.json as the run wrote it

    @property
    def run(self) -> dict[str, Any]:
        return self.plan["run"]


def load(run_dir: str | Path) -> ResumedRun:
    """The run folder to resume, checked: a bundle whose run.json exists and which is not complete."""
    d = Path(run_dir)
    if not (d / MANIFEST).is_file():
        raise ConfigError("not a run folder (no manifest.json)", file=str(d), field="--resume")
    try:
        state = read_manifest(d)["run"].get("state")
        plan = json.loads((d / RUN_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("the run was killed before its plan (run.json) was written: nothing to resume; "
                          "start a new scan", file=str(d), field="--resume") from None
    except (ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"the run folder cannot be read ({e}): check it with hardencheck verify",
                          file=str(d), field="--resume") from None
    if state == "complete":
        raise ConfigError("the run is complete: there is nothing to resume", file=str(d), field="--resume")
    return ResumedRun(d, plan)


def fingerprint(plan: dict[str, Any]) -> dict[str, Any]:
    """What must be the same for a resume, from a run.json-shaped plan."""
    run = plan["run"]
    return {
        "inventory file (SHA-256)": run["inventory"].get("sha256"),
        "Ansible vars files (SHA-256)": run["inventory"].get("vars_files") or [],
        "hosts planned": list(run["inventory"].get("hosts") or []),
        "control library (SHA-256)": run["controls"].get("sha256"),
        "TOM catalog (SHA-256)": ((plan.get("tom") or {}).get("catalog") or {}).get("sha256"),
        "response register (SHA-256)": (plan.get("exceptions") or {}).get("sha256"),
        "attestations (SHA-256)": ((plan.get("attestations") or {}).get("file") or {}).get("sha256"),
        "options": {k: v for k, v in (run.get("options") or {}).items() if k not in FREE_OPTIONS},
    }


def check_same_plan(resumed: ResumedRun, new_plan: dict[str, Any]) -> None:
    """ConfigError naming every difference between the run's plan and this scan's."""
    old, new = fingerprint(resumed.plan), fingerprint(new_plan)
    diff = [f"{k}: the run had {_short(old[k])}, this scan has {_short(new[k])}" for k in old if old[k] != new[k]]
    if diff:
        raise ConfigError("cannot resume with another plan (run the scan with the options it started with):\n  "
                          + "\n  ".join(diff), file=str(resumed.run_dir), field="--resume")


def _short(v: Any) -> str:
    text = json.dumps(v, sort_keys=True, default=str)
    return text if len(text) <= 120 else text[:117] + "..."


def outcome_from_json(host_json: dict[str, Any]) -> HostOutcome:
    """A finished host as its host file stores it (``results.outcome_to_json``), back as objects."""
    return HostOutcome(HostRecord(**host_json["host"]), [Result(**r) for r in host_json["results"]],
                       dict(host_json["evidence"]))
