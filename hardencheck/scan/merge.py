"""``hardencheck merge SHARD_DIR...``: the shard bundles of one CI matrix become one normal run.

Each shard bundle (``scan --shard K/N --run-id ID``) holds its hosts' files and the run's plan.
The merge checks that every shard verifies, that all share one run id, one shard count and one
plan (the fingerprint ``scan --resume`` compares), that no shard comes twice and that they cover
the planned hosts exactly once; then ``ScanRun`` writes one normal bundle (manifest, signature,
chain link, history row) holding the shards' host files byte for byte, with each shard's
manifest SHA-256 in ``run.merged_from``. A missing or unfinished shard makes the merged run
incomplete (exit 2, its hosts listed as not scanned), never silently smaller.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hardencheck.errors import ConfigError, ConfigErrors
from hardencheck.records.bundle import HOSTS_DIR, MANIFEST, RUN_FILE, read_manifest
from hardencheck.records.files import sha256_bytes, sha256_file
from hardencheck.records.verify import verify_bundle
from hardencheck.scan.plan import ScanRequest
from hardencheck.scan.resume import fingerprint


@dataclass
class ShardBundle:
    folder: Path
    plan: dict[str, Any]                  # its run.json
    manifest: dict[str, Any]
    manifest_sha256: str
    state: str                            # verify's verdict: ok | incomplete | bad
    # host -> (relpath, SHA-256 as the manifest lists it): read again when merged, one at a time
    host_files: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def shard(self) -> dict[str, Any]:
        return self.plan["run"]["shard"]

    def record(self) -> dict[str, Any]:
        """What the merged manifest says of this shard."""
        return {"shard": f"{self.shard['index']}/{self.shard['count']}", "folder": self.folder.name,
                "manifest_sha256": self.manifest_sha256, "state": self.manifest["run"].get("state"),
                "verified": self.state, "hosts": sorted(self.host_files)}


@dataclass
class Shards:
    bundles: list[ShardBundle]
    run_id: str
    count: int
    planned: list[str]                    # every host of the run, in inventory order
    missing: list[int]                    # shard indexes not given

    @property
    def started_at(self) -> str:
        return min(b.plan["run"]["started_at"] for b in self.bundles)

    @property
    def complete(self) -> bool:
        return not self.missing and all(b.manifest["run"].get("state") == "complete" and b.state == "ok"
                                        for b in self.bundles)

    def host_files(self):
        """(host_json, relpath, bytes) of every shard's hosts, in shard order, read one at a time;
        a ConfigError when a file is no longer the one the shard's manifest lists."""
        for b in self.bundles:
            for _name, (rel, digest) in sorted(b.host_files.items()):
                data = (b.folder / rel).read_bytes()
                if sha256_bytes(data) != digest:
                    raise ConfigError("the host file changed after the shard was checked", file=str(b.folder / rel))
                yield json.loads(data), rel, data

    def request(self, **cli: Any) -> ScanRequest:
        """The scan request the shards ran with (files at the paths they name), without the shard."""
        run = self.bundles[0].plan["run"]
        opts = run.get("options") or {}
        plan = self.bundles[0].plan
        return ScanRequest(
            inventory=run["inventory"]["path"], limit=opts.get("limit"), tags=opts.get("tags"),
            control_ids=opts.get("control_ids"), library=run["controls"].get("path"),
            controls=run["controls"].get("extra_paths") or None,
            tom=((plan.get("tom") or {}).get("catalog") or {}).get("path"),
            fail_on=opts.get("fail_on"), fail_on_new=opts.get("fail_on_new"),
            trust_on_first_use=bool(opts.get("trust_on_first_use")),
            exceptions=[f["path"] for f in (plan.get("exceptions") or {}).get("files", [])] or None,
            attestations=((plan.get("attestations") or {}).get("file") or {}).get("path"),
            testinfra=sorted({c["file"].rsplit(":", 1)[0] for c in plan.get("controls", [])
                              if c.get("probe") == "testinfra"}) or None,
            run_id=self.run_id, **cli)


def load_shards(folders: list[str], allowed_signers: str | None = None) -> Shards:
    """The shard bundles, checked against each other (all problems at once)."""
    errors: list[ConfigError] = []
    bundles: list[ShardBundle] = []
    for f in map(Path, folders):
        try:
            bundles.append(_load(f, allowed_signers))
        except ConfigError as e:
            errors.append(e)
    if errors:
        raise ConfigErrors(errors)
    if not bundles:
        raise ConfigError("no shard folders given", field="SHARD_DIR")
    first = bundles[0]
    run_id, count = first.plan["run"]["id"], first.shard["count"]
    base = _comparable(first.plan)
    seen: dict[int, Path] = {}
    for b in bundles:
        where = str(b.folder)
        if b.plan["run"]["id"] != run_id:
            errors.append(ConfigError(f"run id {b.plan['run']['id']} differs from {run_id} ({first.folder}): shards of "
                                      "one run share the id given with --run-id", file=where))
        if b.shard["count"] != count or b.shard.get("by") != first.shard.get("by"):
            errors.append(ConfigError(f"shard {b.shard['index']}/{b.shard['count']} by {b.shard.get('by')} does not "
                                      f"belong to a split into {count} by {first.shard.get('by')}", file=where))
        if b.shard["index"] in seen:
            errors.append(ConfigError(f"shard {b.shard['index']}/{count} is given twice (also {seen[b.shard['index']]})",
                                      file=where))
        seen.setdefault(b.shard["index"], b.folder)
        other = _comparable(b.plan)
        diff = [k for k in base if base[k] != other[k]]
        if diff:
            errors.append(ConfigError("another plan than the first shard's: " + ", ".join(diff), file=where))
        if b.state == "bad":
            errors.append(ConfigError(f"the shard bundle does not verify (hardencheck verify {b.folder})", file=where))
    planned = list(first.shard.get("planned_all") or [])
    owner: dict[str, Path] = {}
    for b in bundles:
        for h in b.host_files:
            if h not in planned:
                errors.append(ConfigError(f"host {h} is not in the run's plan", file=str(b.folder)))
            elif h in owner:
                errors.append(ConfigError(f"host {h} is in two shards (also {owner[h]})", file=str(b.folder)))
            owner.setdefault(h, b.folder)
    if errors:
        raise ConfigErrors(errors)
    missing = [k for k in range(1, count + 1) if k not in seen]
    return Shards(sorted(bundles, key=lambda b: b.shard["index"]), run_id, count, planned, missing)


def check_same_plan(shards: Shards, merged_plan: dict[str, Any]) -> None:
    """ConfigError unless the merged run's plan (as ``scan.run.ScanRun`` builds it from the files
    the shards name) is the shards' plan: the files did not change between the jobs and the merge."""
    want, have = _comparable(shards.bundles[0].plan), fingerprint(merged_plan)
    diff = [f"{k}: the shards had {want[k]!r:.120}, the files now give {have[k]!r:.120}" for k in want
            if want[k] != have[k]]
    if diff:
        raise ConfigError("the files the shards were scanned with have changed:\n  " + "\n  ".join(diff),
                          file=str(shards.bundles[0].folder))


def _comparable(plan: dict[str, Any]) -> dict[str, Any]:
    fp = fingerprint(plan)
    fp["hosts planned"] = list(plan["run"]["shard"].get("planned_all") or [])
    return fp


def _load(folder: Path, allowed_signers: str | None) -> ShardBundle:
    if not (folder / MANIFEST).is_file() or not (folder / RUN_FILE).is_file():
        raise ConfigError("not a shard bundle (no manifest.json and run.json)", file=str(folder))
    try:
        plan = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
        manifest = read_manifest(folder)
    except (ValueError, OSError) as e:
        raise ConfigError(f"cannot read the bundle: {e}", file=str(folder)) from None
    if not (plan.get("run") or {}).get("shard"):
        raise ConfigError("a normal run, not a shard (scan --shard K/N writes shards)", file=str(folder))
    check = verify_bundle(folder, allowed_signers)
    b = ShardBundle(folder, plan, manifest, sha256_file(folder / MANIFEST), check.bundles[folder.name])
    for entry in manifest["files"]:
        rel = entry["path"]
        if rel.startswith(HOSTS_DIR + "/"):
            name = json.loads((folder / rel).read_bytes())["host"]["name"]
            b.host_files[name] = (rel, entry["sha256"])
    return b
