"""One scan run, from the plan to the sealed bundle.

``ScanRun`` builds the run's metadata once (``scan.metadata``), owns the bundle writer and the
history sink, receives each host as it finishes (persisted before anything else happens: a kill
after that loses nothing of the host), and assembles the results document in one step at the
end: results, TOM roll-up, comparison with the last run and exit code together, nothing added
afterwards. It prints nothing; the CLI shows progress and the outcome.

Memory: once a host's file is written, only its record and results stay in memory; its evidence
is read back from the file, for results.json (spliced from the host files' bytes) and for the
reports (one host at a time): records.host_files.

Records that cannot be written (disk full, I/O error, read-only): the bundle failing stops the
scan (``BundleWriteError``; what was listed before stays listed, and the bundle is sealed as
``interrupted`` with the error when the disk still takes the manifest); the history failing
costs only the history (``HistorySink``). Either way the exit code is ``EXIT_IO`` (4), never 1:
CI must not read a full disk as compliance findings.
"""

from __future__ import annotations

import json
import secrets
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from hardencheck.collect import engine, fanout
from hardencheck.collect.exposure import OutsideView, approved_ports
from hardencheck.collect.exposure import selected_controls as exposure_selected
from hardencheck.collect.transports import make_transport
from hardencheck.config import history_path
from hardencheck.errors import ConfigError
from hardencheck.judge import exceptions as response_register
from hardencheck.judge.deviations import deviations as find_deviations
from hardencheck.judge import attestations, tom
from hardencheck.records import drift
from hardencheck.records.bundle import BundleWriter, discard, find_previous, inventory_key
from hardencheck.records.host_files import HostFile, HostFileEvidence, is_canonical, results_json_chunks
from hardencheck.records.signature import key_fingerprint
from hardencheck.report.rendering import RenderError, report_streams
from hardencheck.results import HostOutcome, document_from_host_files, exit_code, outcome_to_json, utc
from hardencheck.scan.history_sink import HistorySink
from hardencheck.scan.measure_params import judge_parameter_sets, to_json as measure_result_json
from hardencheck.scan.metadata import control_json, finished_run, manifest_metadata, run_metadata
from hardencheck.scan import merge as merge_shards, resume as resume_run, scope as scan_scope
from hardencheck.scan.memory import release_freed
# the exit codes and what a run hands the CLI (cli.scan and cli.merge import them from here)
from hardencheck.scan.outcome import EXIT_ERROR, EXIT_FAIL, EXIT_IO, EXIT_OK, BundleWriteError, \
    ScanOutcome  # noqa: F401
from hardencheck.scan.plan import ScanPlan

def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


class ScanRun:
    def __init__(self, plan: ScanPlan, *, warn: Callable[[str], None] = _stderr, resume: str | None = None,
                 merge=None):
        """``resume``: a run folder to continue (``scan --resume``; scan.resume) instead of a new run;
        ``merge``: the shard bundles (``scan.merge.Shards``) that become this run, nothing scanned."""
        self.plan = plan
        req = plan.request
        self.resumed = resume_run.load(resume) if resume else None
        self.merged = merge
        if self.resumed is not None or merge is not None:
            started = self.resumed.run["started_at"] if self.resumed else merge.started_at
            self.started = datetime.fromisoformat(started.replace("Z", "+00:00")).timestamp()
            self.run_id = self.resumed.run["id"] if self.resumed else merge.run_id
        else:
            self.started = time.time()
            self.run_id = req.run_id or (time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(self.started)) + "-"
                                         + secrets.token_hex(3))
        self.out = Path(req.out)
        self.key = inventory_key(plan.inventory.path)
        shard = plan.shard
        # opened before anything is written: a history this version cannot use is a config error;
        # a shard has none (nor a chain link): the merged run is the one recorded
        self.history = None if req.no_history or shard else HistorySink(
            history_path(req.history, plan.settings, self.out), warn)
        self.run_dir = (self.resumed.run_dir if self.resumed else
                        self.out / (f"{self.run_id}.shard-{shard.index}-of-{shard.count}" if shard else self.run_id))
        self.run = run_metadata(run_id=self.run_id, started_at=utc(self.started), inventory=plan.inventory,
                                hosts=plan.hosts, controls=plan.controls, options=req.options(),
                                inventory_key=self.key)
        if plan.sign_key:
            # the key the manifest is signed with (the report is written before the signature)
            self.run["signing"] = {"key": key_fingerprint(plan.sign_key) or Path(plan.sign_key).name}
        if shard is not None:
            self.run["shard"] = {"index": shard.index, "count": shard.count, "by": shard.by,
                                 "planned_all": list(plan.planned_all)}
        self.controls_json = [control_json(lc) for lc in plan.controls.controls]
        self.tom_items = plan.catalog.items_of_control()
        # controls a TOM measure judges with its own parameters, and those results per host
        self.parameter_sets = plan.catalog.parameter_sets()
        self.measure_results: dict[str, list] = {}
        self.tom_catalog = tom.document(plan.catalog)
        # the response register, judged on the run's UTC start date, and the loosened parameters
        self.today = response_register.utc_date(self.started)
        self.exceptions = response_register.document(plan.register, self.today)
        self.deviations = find_deviations({lc.id: lc.control for lc in plan.controls.controls}, plan.hosts)
        # attestations judged on the run's UTC start date; their file and documents go into the bundle
        self.attestations, self.attestation_files = (attestations.evaluate(
            plan.attestations, datetime.fromtimestamp(self.started, timezone.utc).date())
            if plan.attestations is not None else (None, {}))
        self.bundle: BundleWriter | None = None
        self.finished: list[HostOutcome] = []
        # host name -> its record and results as the host file has them (converted once, reused by
        # the document), and its file, which alone keeps its evidence (records.host_files)
        self.host_json: dict[str, dict] = {}
        self.host_files: dict[str, HostFile] = {}
        self.bundle_error: BundleWriteError | None = None
        self.outside: OutsideView | None = None     # scan --exposure: the nmap run
        if self.resumed is not None:
            # the plan the run started with, or a ConfigError naming what differs (nothing written yet)
            resume_run.check_same_plan(self.resumed, self._plan_json())
            self.run = self.resumed.run
        if merge is not None:
            merge_shards.check_same_plan(merge, self._plan_json())

    def _plan_json(self) -> dict:
        """run.json: the run as planned."""
        return {"run": self.run, "controls": self.controls_json, "tom": {"catalog": self.tom_catalog},
                "deviations": self.deviations, **({"exceptions": self.exceptions} if self.exceptions else {}),
                **({"attestations": self.attestations} if self.attestations is not None else {})}

    @property
    def host_count(self) -> int:
        return len(self.plan.hosts)

    def open(self) -> None:
        """Create the bundle (run.json, first manifest) and the history's run row. Raises
        ``BundleWriteError`` when the run folder cannot be created (nothing was scanned)."""
        if self.resumed is not None:
            return self._reopen()
        try:
            self.bundle = BundleWriter(
                self.run_dir, manifest_metadata(self.run, tom_sha256=self.plan.catalog.sha256,
                                                exceptions=self.exceptions),
                None if self.plan.shard else find_previous(self.out, self.key, self.run_id, self.run["started_at"]),
                self.plan.sign_key, plan=self._plan_json())
            if self.attestation_files:
                self.bundle.put_many(self.attestation_files)
        except OSError as e:
            raise BundleWriteError(e) from None
        if self.history is not None:
            register = {"exceptions": self.exceptions, "deviations": self.deviations,
                        "attestations": self.attestations}
            self.history.guard(lambda r: r.begin(self.run, self.controls_json, self.tom_items, self.tom_catalog,
                                                 str(self.run_dir), register=register))
        if self.merged is not None:
            self._add_shard_hosts()

    def _add_shard_hosts(self) -> None:
        """merge: the shards' host files, byte for byte, each listed like a finished host."""
        self.bundle.run["merged_from"] = [b.record() for b in self.merged.bundles]
        for host_json, rel, data in self.merged.host_files():
            try:
                self.bundle.put_many({rel: data}, hosts={rel: host_json["host"]["name"]},
                                     redactions=host_json["host"].get("redactions") or {})
            except OSError as e:
                raise BundleWriteError(e) from None
            outcome = resume_run.outcome_from_json(host_json)
            self._judge_measure_params(outcome)
            self.finished.append(outcome)
            digest = self.bundle.files[rel]["sha256"]
            if self.history is not None:
                self.history.guard(lambda r, h=host_json, f=rel, d=digest: r.host_done(h, f, d))
            self._written(outcome, host_json, rel, is_canonical(data, host_json), digest)

    def _reopen(self) -> None:
        """Continue the resumed run's bundle and history; its finished hosts count as finished."""
        try:
            self.bundle = BundleWriter.reopen(self.run_dir, self.plan.sign_key, utc(time.time()))
        except ValueError as e:
            raise ConfigError(str(e), file=str(self.run_dir), field="--resume") from None
        except OSError as e:
            raise BundleWriteError(e) from None
        kept, canonical = [], []
        for rel, entry in sorted(self.bundle.files.items()):
            if rel.startswith("hosts/"):
                data = (self.run_dir / rel).read_bytes()
                host_json = json.loads(data.decode("utf-8"))
                kept.append((host_json, rel, entry["sha256"]))
                canonical.append(is_canonical(data, host_json))
                outcome = resume_run.outcome_from_json(host_json)
                self._judge_measure_params(outcome)
                self.finished.append(outcome)
        if self.history is not None:
            register = {"exceptions": self.exceptions, "deviations": self.deviations,
                        "attestations": self.attestations}
            self.history.guard(lambda r: r.resume(self.run, self.controls_json, self.tom_items, self.tom_catalog,
                                                  str(self.run_dir), register=register, finished=kept))
        for outcome, (host_json, rel, digest), same in zip(self.finished, kept, canonical):
            self._written(outcome, host_json, rel, same, digest)

    def _written(self, outcome: HostOutcome, host_json: dict, rel: str, canonical: bool, digest: str) -> None:
        """The host's file is in the bundle and holds its evidence: from now on only its record,
        its results and where its evidence is are kept in memory (records.host_files reads the
        evidence back for results.json and the reports). ``canonical``: the file's bytes are the
        encoder's own for ``host_json`` (true for what this process wrote)."""
        name = outcome.host.name
        self.host_files[name] = HostFile(name, self.run_dir / rel, list(host_json["evidence"]), canonical, digest)
        self.host_json[name] = {"host": host_json["host"], "results": host_json["results"]}
        outcome.evidence = {}

    @property
    def hosts_to_scan(self) -> list:
        done = {o.host.name for o in self.finished}
        return [h for h in self.plan.hosts if h.name not in done]

    def _judge_measure_params(self, outcome: HostOutcome) -> None:
        variants = judge_parameter_sets(outcome, self.plan.controls, self.parameter_sets)
        response_register.apply([r for r, _ in variants], outcome.host.name, outcome.host.groups,
                                self.plan.register, self.today)
        self.measure_results[outcome.host.name] = variants

    def hosts_done(self, outcomes: list[HostOutcome]) -> None:
        """Hosts that finished together (collect.fanout hands them over in batches): one write of
        their files and the manifest, then one history transaction."""
        batch = []
        for outcome in outcomes:
            # waivers first (judge.exceptions): the host file, the history and the progress line agree
            response_register.apply(outcome.results, outcome.host.name, outcome.host.groups, self.plan.register,
                                    self.today)
            self._judge_measure_params(outcome)
            # kept in memory first: an interrupt (SIGTERM, Ctrl-C) while the host is being written
            # still puts it into results.json
            self.finished.append(outcome)
            batch.append(outcome_to_json(outcome))
            self.host_json[outcome.host.name] = batch[-1]
        try:
            written = self.bundle.add_hosts(batch)
        except OSError as e:
            raise BundleWriteError(e) from None   # ends the collection: nowhere to keep the evidence
        if self.history is not None:
            rows = [(host_json, rel, digest) for host_json, (rel, digest) in zip(batch, written)]
            self.history.guard(lambda r: r.hosts_done(rows))
        for outcome, host_json, (rel, digest) in zip(outcomes, batch, written):
            self._written(outcome, host_json, rel, True, digest)
        release_freed()      # the batch's evidence, host files and conversions (scan.memory)

    def start_outside(self) -> OutsideView | None:
        """scan --exposure: the one nmap run over the hosts' addresses, started before the SSH
        collection so that the two overlap (collect.exposure)."""
        req = self.plan.request
        if not req.exposure or not exposure_selected(self.plan.controls, req.tags, req.control_ids):
            return None     # no exposure control runs: nothing is sent
        hosts = getattr(self, "hosts_to_scan", self.plan.hosts)
        return OutsideView(hosts, self.plan.settings.exposure, approved_ports(hosts, self.plan.controls),
                           redactor=self.plan.settings.redactor()).start()

    def end_outside(self) -> None:
        """Stop nmap if it still runs (an interrupt) and keep its XML output in the bundle."""
        if self.outside is None:
            return
        self.outside.stop()
        self.outside.wait(10)
        files = self.outside.bundle_files()
        if files and self.bundle_error is None:
            try:
                self.bundle.put_many(files)
            except OSError as e:
                self.bundle_error = BundleWriteError(e)

    def collect(self, on_event=lambda *a: None, transport_factory=make_transport) -> tuple[list[HostOutcome], bool]:
        """Scan every host. Returns (outcomes in inventory order, complete). A KeyboardInterrupt
        (Ctrl-C, or SIGTERM turned into one by the CLI) ends the collection: the hosts that had
        finished are kept, and the run is marked incomplete. So does a bundle that cannot be
        written any more (``self.bundle_error``). ``transport_factory``: how a host's transport
        is made (``collect.head_start`` hands over connections opened while the plan loaded)."""
        order = {h.name: i for i, h in enumerate(self.plan.hosts)}
        if self.merged is not None:     # nothing to scan: the shards are the run
            return (sorted(self.finished, key=lambda o: order[o.host.name]),
                    self.merged.complete and not self.hosts_to_scan)
        req = self.plan.request
        opts = engine.ScanOptions(
            tags=set(req.tags) if req.tags else None,
            control_ids=set(req.control_ids) if req.control_ids else None,
            forks=req.forks,
            tom_items=self.plan.catalog.items_of_control(plain=True),   # the host's own parameters
            transport_options=req.transport_options(),
            redactor=self.plan.settings.redactor(),
            testinfra=list(self.plan.testinfra),
        )
        opts.outside = self.outside = self.start_outside()
        try:
            fanout.scan(self.hosts_to_scan, self.plan.controls, opts, transport_factory,
                        on_event=on_event, on_hosts_done=self.hosts_done)
            return sorted(self.finished, key=lambda o: order[o.host.name]), True
        except (KeyboardInterrupt, BundleWriteError) as e:
            if isinstance(e, BundleWriteError):
                self.bundle_error = e
            return sorted(self.finished, key=lambda o: order[o.host.name]), False

    def finish(self, outcomes: list[HostOutcome], complete: bool) -> ScanOutcome:
        """results.json, the reports, the sealed manifest and the history's end of the run."""
        self.end_outside()
        req = self.plan.request
        ended = time.time()
        fail_on = req.effective_fail_on
        if self.bundle_error is not None:
            return self._failed(outcomes, ended, fail_on)
        results = [r for o in outcomes for r in o.results] + [
            r for o in outcomes for r, _ in self.measure_results.get(o.host.name, [])]
        code = exit_code(results, fail_on) if complete else EXIT_ERROR
        comparison = None
        if req.effective_compare and self.history is not None:
            comparison = self.history.guard(lambda r: drift.compare_with_previous(r.history, self.run_id))
            if (comparison is not None and req.fail_on_new and complete
                    and drift.new_failures_at_or_above(comparison, req.fail_on_new)):
                code = EXIT_FAIL
        scope = self.scope(outcomes, ended)
        code = scan_scope.exit_code(code, scope)    # --fail-on-missing-hosts
        doc = self.document(outcomes, complete=complete, ended=ended, code=code, comparison=comparison, scope=scope)
        try:
            # written first, from the host files (records.host_files): never whole in memory
            self.bundle.put_many({"results.json": results_json_chunks(
                dict(doc, results=[], evidence={}), self._host_sources(outcomes))})
        except OSError as e:
            self.bundle_error = BundleWriteError(e)
            return self._failed(outcomes, ended, fail_on, doc=doc)
        digest = self.bundle.files["results.json"]["sha256"]
        release_freed()
        # each report is written to the bundle as it renders (staged, never whole in memory), and
        # all of them are listed together
        reports: dict[str, tuple] = {}
        failed: list[tuple[str, str]] = []
        try:
            for fmt, name, chunks in report_streams(doc, [f for f in req.formats if f != "json"], req.lang,
                                                    results_sha256=digest):
                try:
                    reports[name] = self.bundle.stage(name, chunks)
                except RenderError as e:
                    failed.append((fmt, str(e)))
            if failed and code == EXIT_OK:
                code = EXIT_ERROR   # the results are complete, but a deliverable is missing
            if reports:
                self.bundle.put_staged(reports)
            manifest_sha = self.bundle.seal("complete" if complete else "interrupted", doc["run"]["ended_at"],
                                            exit_code=code)
        except OSError as e:
            discard(reports)
            self.bundle_error = BundleWriteError(e)
            return self._failed(outcomes, ended, fail_on, doc=doc)
        if self.history is not None:
            self.history.guard(lambda r: r.end(doc, manifest_sha))
            self.history.guard(lambda r: r.close())
            if self.history.error:
                code = EXIT_IO   # the run is in its bundle, but the history has a gap
        return ScanOutcome(doc, code, fail_on, self.run_dir, [self.run_dir / name for name in reports], failed)

    def _failed(self, outcomes: list[HostOutcome], ended: float, fail_on: str, doc: dict | None = None
                ) -> ScanOutcome:
        """The bundle could not be written: seal what it holds as interrupted, naming the error
        (if the disk still takes a manifest; else it stays ``running``), and say so in one line."""
        err = self.bundle_error
        sealed = "sealed as interrupted"
        try:
            self.bundle.seal("interrupted", utc(ended), exit_code=EXIT_IO, error=str(err))
        except OSError:
            sealed = "left as killed"
        if self.history is not None:
            self.history.guard(lambda r: r.close())
        kept = len(self.bundle.run["hosts_finished"])
        if doc is None:
            doc = self.document(outcomes, complete=False, ended=ended, code=EXIT_IO, comparison=None)
        message = (f"cannot write the run bundle: {err}; the scan stopped. {self.run_dir} keeps {kept} of "
                   f"{self.host_count} host(s), {sealed} (check it with: hardencheck verify {self.run_dir})")
        return ScanOutcome(doc, EXIT_IO, fail_on, self.run_dir, [], [], error=message)

    def scope(self, outcomes: list[HostOutcome], ended: float) -> dict | None:
        """results.json's ``scope`` (scan.scope): the asset register against the inventory, and the
        hosts without a successful scan for N days (the history's runs of this inventory and this run)."""
        if self.plan.expected is None or self.plan.shard is not None:   # a shard: the merged run reconciles
            return None
        past = self.history.guard(lambda r: r.history.last_scans(self.key, self.run_id)) if self.history else None
        req = self.plan.request
        return scan_scope.block(self.plan.expected, self.plan.inventory.hosts, outcomes, past, as_of=utc(ended),
                                days=req.stale_days or self.plan.settings.stale_days,
                                fail_on_missing=req.fail_on_missing_hosts)

    def document(self, outcomes: list[HostOutcome], *, complete: bool, ended: float, code: int,
                 comparison: dict | None, scope: dict | None = None) -> dict:
        """The results document, whole: run, results, evidence, TOM roll-up, comparison."""
        scanned = {o.host.name for o in outcomes}
        not_scanned = [h.name for h in self.plan.hosts if h.name not in scanned]
        run = finished_run(self.run, ended_at=utc(ended), complete=complete, not_scanned=not_scanned,
                           exit_code=code)
        hosts = [self.host_json.get(o.host.name) or outcome_to_json(o) for o in outcomes]
        measure_results = [measure_result_json(r, p) for o in outcomes
                           for r, p in self.measure_results.get(o.host.name, [])]
        rollup = tom.rollup(self.plan.catalog, [r for h in hosts for r in h["results"]],
                            [o.host.name for o in outcomes], unfinished=not_scanned,
                            attestation=attestations.resolver(
                                self.attestations, {h.name: set(h.groups or []) for h in self.plan.hosts}),
                            measure_results=measure_results)
        tom_block = {"catalog": self.tom_catalog, "items": rollup,
                     **({"results": measure_results} if self.parameter_sets else {})}
        return document_from_host_files(run, self.controls_json, hosts, tom=tom_block,
                                        comparison=comparison, exceptions=self.exceptions,
                                        deviations=self.deviations, attestations=self.attestations, scope=scope,
                                        evidence=HostFileEvidence(self._host_sources(outcomes)))

    def _host_sources(self, outcomes: list[HostOutcome]) -> list[HostFile]:
        """Where each host's evidence is: its host file, or memory when its file could not be
        written (the disk filled, an interrupt while its batch was written)."""
        return [self.host_files.get(o.host.name) or
                HostFile.in_memory(self.host_json.get(o.host.name) or outcome_to_json(o)) for o in outcomes]

