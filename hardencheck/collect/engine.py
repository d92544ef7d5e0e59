"""The scan pipeline for one host: plan -> collect (one exec) -> parse -> judge.

The engine collects: it plans the probe invocations, runs them as one script through a transport,
splits and parses the output and keeps the evidence. The verdicts themselves (selection,
applicability, expectations against facts) are pure functions in ``hardencheck.judge.verdict``.

Nothing that goes wrong on a host escapes ``scan_host``: connection, host-key, sudo and timeout
problems and broken output all end as ``error`` results with a reason code and evidence, so one
bad host never stops the others and "could not check" never reads as "passed".

Liveness: the probe script's sections arrive as they finish, so a live host sends bytes every few
seconds. A host that sends nothing for its ``idle_timeout`` (default 60 s) is cut as ``timeout``
("no output for N s"); the sections that completed before are kept and judged. A probe known to
be quiet for long (the filesystem walks) declares ``idle_timeout`` on its class: while one of its
sections runs, the host may be silent that long. Each section that starts is reported to
``on_event`` as ``(host, "section", SectionStarted)``.
"""

from __future__ import annotations

import hashlib
import json
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from hardencheck.judge.controls import Control, ControlSet, LoadedControl
from hardencheck.errors import HostError, ProbeError
from hardencheck.judge.verdict import (expected_sentence, judge_facts, jsonable, os_applicability, selected,
                                       static_applicability)
from hardencheck.collect.probe_script import DEFAULT_MAX_BYTES, Section, SectionSpec, Splitter, build_script, new_nonce
from hardencheck.collect.probes.base import Probe, get_probe
from hardencheck.collect.outcome_errors import MissingSections as _MissingSections, no_sections_error as _no_sections_error
from hardencheck.collect.testinfra.runner import TESTINFRA_PROBE
from hardencheck.records.redaction import Redactor
from hardencheck.results import HostOutcome, HostRecord, Result, utc

HOST_PROBE = "host.os"
DEFAULT_IDLE_TIMEOUT = 60.0     # a host object without idle_timeout (the inventory's Host has one)

Event = Callable[[str, str, Any], None]   # (host name, phase, payload)


@dataclass(frozen=True)
class SectionStarted:
    """Payload of a ``"section"`` event: the host began this section of its probe script."""

    id: str              # "<probe>/<command>" (a second invocation of a probe: "<probe>-2/<command>")
    probe: str           # the probe's name
    number: int          # 1-based position in the script
    total: int           # sections in the script


@dataclass
class ScanOptions:
    tags: set[str] | None = None              # only controls with one of these tags; others skipped
    control_ids: set[str] | None = None       # only these controls; others skipped
    forks: int = 20
    max_section_bytes: int = DEFAULT_MAX_BYTES
    tom_items: dict[str, list[str]] = field(default_factory=dict)   # control id -> TOM item ids
    transport_options: dict[str, Any] = field(default_factory=dict)
    redactor: Redactor = field(default_factory=Redactor)   # applied to every outcome before it leaves
    outside: Any = None     # collect.exposure.OutsideView (scan --exposure): nmap's view, per host
    testinfra: list = field(default_factory=list)   # collect.testinfra.runner.TestinfraControl: run per host


@dataclass
class _Need:
    """One distinct probe invocation on a host: a probe with its remote arguments."""

    probe: type[Probe]
    remote_args: tuple[str, ...]
    section_ids: dict[str, str]               # command name -> section id
    items: list = field(default_factory=list)   # a batched probe: each invocation's remote args


class HostScan:
    """All the work for one host. ``run()`` never raises."""

    def __init__(self, host, controls: ControlSet, opts: ScanOptions, transport_factory, on_event: Event):
        self.host = host
        self.controls = controls
        self.opts = opts
        self.transport_factory = transport_factory
        self.on_event = on_event
        self.params: dict[str, dict[str, Any]] = {}
        self.needs: dict[tuple[str, tuple[str, ...]], _Need] = {}
        self.evidence: dict[str, dict[str, Any]] = {}
        self._parsed: dict[tuple[str, str], tuple[Any, ProbeError | None]] = {}   # facts()
        self.sections: dict[str, Section] = {}
        self.identity: dict[str, Any] = {"name": host.name, "address": host.address}
        self.collected_at: float | None = None
        self.timed_out = False
        self.stalled_for: float | None = None     # cut after this many seconds without output

    # -- plan --------------------------------------------------------------------------------
    def _need(self, probe_name: str, args: dict[str, Any]) -> _Need:
        probe = get_probe(probe_name)
        remote = probe.remote_args(args)
        # a batched probe (the generic resources) runs all its invocations in one section
        batched = getattr(probe, "batched", False)
        key = (probe_name, ("*batch*",) if batched else remote)
        if key not in self.needs:
            n = sum(1 for k in self.needs if k[0] == probe_name)
            base = probe_name if n == 0 else f"{probe_name}-{n + 1}"
            self.needs[key] = _Need(probe, remote, {c: f"{base}/{c}" for c in probe.commands})
        need = self.needs[key]
        if batched and remote not in need.items:
            need.items.append(remote)
            need.remote_args = probe.batch_args(need.items)
        return need

    def plan(self, runnable: list[LoadedControl]) -> list[SectionSpec]:
        self._need(HOST_PROBE, get_probe(HOST_PROBE).resolve_args({}))
        for lc in runnable:
            c = lc.control
            params = c.effective_params(self.host.params.get(c.id))
            self.params[c.id] = params
            args = get_probe(c.probe).resolve_args(c.resolved_args(params))
            self._need(c.probe, args)
        specs = []
        for need in self.needs.values():
            settings = getattr(need.probe, "section_settings", None)   # timeout/tools from the arguments
            for cmd, sid in need.section_ids.items():
                if cmd in getattr(need.probe, "scanner_side", ()):
                    continue    # run by the scanner itself (collect.exposure), never on the host
                timeout, tools = (settings(cmd, need.remote_args) if settings
                                  else (need.probe.timeout, need.probe.tools.get(cmd, ())))
                specs.append(SectionSpec(sid, need.probe.commands[cmd], need.remote_args, timeout, tools=tools))
        return specs

    # -- collect -----------------------------------------------------------------------------
    def collect(self, specs: list[SectionSpec]) -> HostRecord:
        record = HostRecord(name=self.host.name, identity=self.identity,
                            groups=list(getattr(self.host, "groups", []) or []),
                            tags=list(getattr(self.host, "tags", []) or []))
        nonce = new_nonce()
        script = build_script(specs, nonce)
        limits = {sid: max(need.probe.max_output_bytes, self.opts.max_section_bytes)
                  for need in self.needs.values() for sid in need.section_ids.values()}
        splitter = Splitter(nonce, self.opts.max_section_bytes, limits=limits)
        on_stdout, idle_limit = self._watch(splitter, specs)
        started = time.time()
        record.started_at = utc(started)
        record.exec = {"command": None, "script_sha256": hashlib.sha256(script.encode()).hexdigest(),
                       "script_bytes": len(script.encode()), "exit_code": None, "timed_out": False,
                       "completed": False, "idle_timeout": self._idle_timeout(), "stalled_for": None}
        transport = None
        try:
            transport = self.transport_factory(self.host, **self.opts.transport_options)
            self.on_event(self.host.name, "connecting", None)
            transport.connect()
            self.on_event(self.host.name, "collecting", None)
            result = transport.run_script(script, on_stdout, splitter.feed_stderr,
                                          timeout=self.host.command_timeout, idle_timeout=idle_limit)
            stalled_for = getattr(result, "stalled_for", None)
            record.exec.update(exit_code=result.exit_code, timed_out=result.timed_out, completed=splitter.done,
                               stalled_for=stalled_for)
            in_section = splitter.out.current
            self.sections = splitter.sections()
            record.noise = splitter.noise()
            record.noise_bytes, record.noise_truncated = splitter.noise_bytes(), splitter.noise_truncated()
            if not self.sections:
                raise _no_sections_error(record.noise, result)
            if result.timed_out and not splitter.done:
                self.timed_out = True
                self.stalled_for = stalled_for
                if stalled_for is not None:
                    where = f" in section {in_section}" if in_section else ""
                    record.error = {"reason": "timeout", "message":
                                    f"no output for {stalled_for:g} s{where} (idle timeout): the probe "
                                    "script was stopped; sections that completed before were kept"}
                else:
                    record.error = {"reason": "timeout", "message":
                                    f"the probe script did not finish within {self.host.command_timeout:g}s; "
                                    "sections that completed were kept"}
        except HostError as e:
            record.status = "error"
            record.error = {"reason": e.reason, "message": e.message, **jsonable(e.details)}
        finally:
            if transport is not None:
                # who answered (host key, user, jump hosts), also when the connection was refused
                self.identity.update(transport.identity.as_dict())
                record.exec["command"] = getattr(transport, "command", None)
                transport.close()
            ended = time.time()
            record.ended_at = utc(ended)
            self.collected_at = ended
        for need in self.needs.values():
            for cmd, sid in need.section_ids.items():
                sec = self.sections.get(sid)
                if sec is None:
                    continue
                self.evidence[self._eid(sid)] = {
                    "host": self.host.name, "probe": need.probe.name, "command": cmd,
                    "code": need.probe.commands[cmd], "args": list(need.remote_args),
                    "exit_code": sec.exit_code, "stdout": sec.stdout, "stderr": sec.stderr,
                    "stdout_bytes": sec.stdout_bytes, "stderr_bytes": sec.stderr_bytes,
                    "truncated": sec.truncated, "complete": sec.complete,
                    "started_at": utc(sec.started_at), "ended_at": utc(sec.ended_at),
                    # which binary answered: path, owner, mode of each tool the command relies on
                    **({"tools": sec.tools} if sec.tools else {}),
                }
        return record

    def _eid(self, sid: str) -> str:
        return f"{self.host.name}/{sid}"

    def _idle_timeout(self) -> float | None:
        """The host's idle limit in seconds (None: none, only the command timeout)."""
        value = getattr(self.host, "idle_timeout", DEFAULT_IDLE_TIMEOUT)
        return float(value) if value and value > 0 else None

    def _watch(self, splitter: Splitter, specs: list[SectionSpec]):
        """(the stdout sink, the idle limit): the sink feeds the splitter and reports each section
        that starts; the idle limit is the host's, or longer while a quiet probe's section runs."""
        idle = self._idle_timeout()
        probe_of = {sid: need.probe for need in self.needs.values() for sid in need.section_ids.values()}
        quiet = {sid: max(idle, float(p.idle_timeout)) for sid, p in probe_of.items()
                 if idle is not None and getattr(p, "idle_timeout", None)}
        number = {spec.id: i for i, spec in enumerate(specs, 1)}
        begun = splitter.out.order           # section ids in the order their begin markers came
        reported = [0]

        def on_stdout(data: bytes) -> None:
            splitter.feed_stdout(data)
            while reported[0] < len(begun):  # one chunk may hold several sections
                sid = begun[reported[0]]
                reported[0] += 1
                if sid in number:
                    self.on_event(self.host.name, "section",
                                  SectionStarted(sid, probe_of[sid].name, number[sid], len(specs)))

        def idle_limit() -> float | None:
            return quiet.get(splitter.out.current, idle) if idle is not None else None

        return on_stdout, idle_limit

    # -- parse -------------------------------------------------------------------------------
    def facts(self, probe: type[Probe], args: dict[str, Any]) -> Any:
        """The probe's facts for these arguments, parsed once per host (controls that read the same
        probe with the same arguments share them; the verdicts never change facts)."""
        key = (probe.name, json.dumps(jsonable(args), sort_keys=True))
        cached = self._parsed.get(key)
        if cached is None:
            try:
                cached = self._parsed[key] = (self._parse(probe, args), None)
            except ProbeError as e:
                # kept as its words, raised anew each time: a kept exception keeps its traceback,
                # whose frames hold this HostScan (a cycle that kept the host's whole scan alive
                # until the cyclic garbage collector ran)
                cached = self._parsed[key] = (None, (e.reason, e.message))
        if cached[1] is not None:
            raise ProbeError(*cached[1])
        return cached[0]

    def _parse(self, probe: type[Probe], args: dict[str, Any]) -> Any:
        need = self._need(probe.name, args)
        out = {cmd: self.sections[sid] for cmd, sid in need.section_ids.items() if sid in self.sections}
        unfinished = [c for c in need.section_ids if c not in out or not out[c].complete]
        if unfinished and self.timed_out and self.stalled_for is not None:
            raise ProbeError("timeout", f"{probe.name}: the host sent no output for {self.stalled_for:g} s "
                                        f"(idle timeout) and the probe script was stopped before "
                                        f"{', '.join(unfinished)} finished")
        if unfinished and self.timed_out:
            raise ProbeError("timeout", f"{probe.name}: the probe script was stopped after the command "
                                        f"timeout ({self.host.command_timeout:g}s) before "
                                        f"{', '.join(unfinished)} finished")
        if not out:
            raise ProbeError("incomplete_output", "no output arrived for this probe (the script was cut off)")
        missing = [c for c in need.section_ids if c not in out]
        try:
            return probe().parse(_MissingSections(out, missing, probe.name), args)
        except ProbeError:
            raise
        except Exception as e:  # a parser bug must not become a pass or crash the host
            raise ProbeError("unparsable", f"{probe.name}: parser failed on this output "
                                           f"({type(e).__name__}: {e})") from e

    def _evidence_ref(self, probe_name: str, args: dict[str, Any]) -> dict[str, Any]:
        need = self._need(probe_name, args)
        return {
            "probe": probe_name,
            "args": jsonable(args),
            "sections": [self._eid(sid) for sid in need.section_ids.values() if self._eid(sid) in self.evidence],
            "collected_at": utc(self.collected_at),
            "host": {k: self.identity.get(k) for k in
                     ("name", "address", "port", "user", "transport", "sudo", "host_key_type",
                      "host_key_fingerprint", "host_key_trusted_on_first_use")},
        }

    # -- judge -------------------------------------------------------------------------------
    def run(self) -> HostOutcome:
        self.testinfra_ids: set[str] = set()
        results: list[Result] = []
        runnable: list[LoadedControl] = []
        for lc in self.controls.controls:
            c = lc.control
            why_skip = selected(c, tags=self.opts.tags, control_ids=self.opts.control_ids)
            if (why_skip is None and self.opts.outside is None and c.probe != TESTINFRA_PROBE
                    and getattr(get_probe(c.probe), "scanner_side", ())):
                why_skip = "needs the outside-in view: hardencheck scan --exposure"
            if why_skip:
                results.append(self._result(c, "skipped", message=why_skip))
                continue
            why_na = static_applicability(c, self.host)
            if why_na:
                results.append(self._result(c, "not_applicable", message=why_na, reason="applies_to"))
                continue
            if c.probe == TESTINFRA_PROBE:    # run after the probe script, by collect.testinfra
                self.testinfra_ids.add(c.id)
            else:
                runnable.append(lc)
        specs = self.plan(runnable)
        record = self.collect(specs)   # even with nothing to judge: the host's identity is evidence
        if self.opts.outside is not None and record.status == "ok":
            self.opts.outside.attach(self)   # the host's part of the nmap run (waits for it)
        os_fact, os_error = None, None
        if record.status == "ok":
            try:
                os_fact = self.facts(get_probe(HOST_PROBE), {})
                record.os = os_fact
            except ProbeError as e:
                os_error = ProbeError(e.reason, e.message)      # without the traceback (see facts)
        now = datetime.fromtimestamp(self.collected_at or time.time(), tz=timezone.utc)
        for lc in runnable:
            try:
                results.append(self._judge(lc.control, record, os_fact, os_error, now))
            except Exception as e:  # pragma: no cover - defensive: a bug must never pass silently
                results.append(self._result(lc.control, "error", reason="internal",
                                            message=f"{type(e).__name__}: {e}",
                                            evidence={"traceback": traceback.format_exc(limit=5)}))
        order = {lc.id: i for i, lc in enumerate(self.controls.controls)}
        results.sort(key=lambda r: order[r.control])
        return HostOutcome(record, results, self.evidence)

    def _judge(self, c: Control, record: HostRecord, os_fact, os_error, now) -> Result:
        params = self.params[c.id]
        if record.status != "ok":
            err = record.error or {}
            return self._result(c, "error", reason=err.get("reason", "transport"),
                                message=err.get("message", "the host could not be scanned"),
                                evidence={"host": self.identity, "connection": err})
        probe = get_probe(c.probe)
        args = probe.resolve_args(c.resolved_args(params))
        ref = self._evidence_ref(c.probe, args)
        na = os_applicability(c, os_fact, os_error)
        if na:
            return self._result(c, na.status, reason=na.reason, message=na.message,
                                evidence=self._evidence_ref(HOST_PROBE, {}) if na.os_evidence else ref)
        try:
            facts = self.facts(probe, args)
        except ProbeError as e:
            return self._result(c, "error", reason=e.reason, message=e.message, evidence=ref)
        r = judge_facts(c, facts, params, now, host=self.host.name, evidence=ref)
        r.tom = list(self.opts.tom_items.get(c.id, []))
        return r

    def _result(self, c: Control, status: str, *, message: str, reason: str | None = None,
                evidence: dict | None = None) -> Result:
        return Result(host=self.host.name, control=c.id, status=status, severity=c.severity,
                      expected=expected_sentence(c, self.params.get(c.id, c.params)), actual=None,
                      message=message, reason=reason, tom=list(self.opts.tom_items.get(c.id, [])),
                      params=jsonable(self.params.get(c.id, c.params)), evidence=evidence or {})
