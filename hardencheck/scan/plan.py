"""What a scan will do, validated before anything connects: the request (the options as the
user gave them), and the plan prepared from it (controls, TOM catalog, inventory, hosts,
settings). Every problem here is a ConfigError naming file, line or option; nothing is
written and nothing runs on a host before ``prepare`` returns (the command line may open the
first hosts' connections meanwhile, ``collect.head_start``, and closes them unused if the plan
is refused)."""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from typing import Any

from hardencheck.config import Settings, load_settings
from hardencheck.errors import ConfigError, ConfigErrors
from hardencheck.collect.exposure import share_approved
from hardencheck.judge import tom
from hardencheck.judge.exceptions import Register, check_register, load_register
from hardencheck.judge.attestations import Attestations, load_attestations
from hardencheck.judge.controls import ControlSet, check_param_overrides, load_controls
from hardencheck.records.signature import check_key
from hardencheck.scan import scope
from hardencheck.scan.request import ScanRequest
from hardencheck.scan.selection import Selection, select
from hardencheck.scan.shard import Shard



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


def prepare(req: ScanRequest, selection: Selection | None = None) -> ScanPlan:
    """Load and cross-check everything the scan needs, in the order a user fixes problems.
    ``selection``: the request's hosts, when the caller selected them first (``scan.selection``)."""
    req.check()
    settings = load_settings(req.config)
    controls = load_controls(req.library, extra=[*(req.controls or []), *(settings.controls or [])])
    testinfra = req.testinfra or settings.testinfra
    tests = []
    if testinfra:
        controls, tests = with_testinfra_controls(controls, testinfra)
    catalog = tom.load_catalog(req.tom, controls)   # ids and each measure's own params checked
    if tests:
        map_testinfra_measures(catalog, tests)
    chosen = selection if selection is not None else select(req)
    inv, hosts, shard, planned_all = chosen.inventory, chosen.hosts, chosen.shard, chosen.planned_all
    share_approved(hosts, controls)   # NET-001's approved ports are the exposure controls' too
    errors = list(chosen.identity_errors)
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
