"""Many hosts at once: the fan-out of a scan over a thread pool (``opts.forks`` hosts in flight),
each host scanned by ``engine.HostScan``, its outcome redacted before it leaves its thread, and the
finished hosts handed back in batches as they come in."""

from __future__ import annotations

import os
import sys
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Callable

from hardencheck.collect.engine import Event, HostScan, ScanOptions
from hardencheck.collect.testinfra.runner import add_to_outcome as add_testinfra
from hardencheck.judge.controls import ControlSet
from hardencheck.records.redaction import redact_outcome
from hardencheck.results import HostOutcome, HostRecord, Result

#: at most this many finished hosts are handed over at once: a batch is converted and written
#: together, and a fleet finishing all at once must not hold every host's host file in memory
MAX_BATCH = 16

#: While hosts are in flight, a thread may hold the GIL this long (seconds) before another that
#: waits for it gets it (CPython's default: 0.005). A scan runs paramiko's reader thread and the
#: host's thread for every host in flight beside the main thread; at the default, a packet that
#: arrives while another thread computes (judging a host, writing a host file) soon forces a switch,
#: and those switches were ~13 % of the scanner's CPU with 100 hosts in flight (interleaved runs in
#: the lab, 0.005 / 0.02 / 0.05 / 0.1 s: 7.2 / 6.5 / 6.3 / 6.7 CPU-s; wall time unchanged). A
#: packet may now wait up to this long for its thread: nothing in a scan is that close to a limit.
SWITCH_INTERVAL = 0.05


def scan(hosts: list, controls: ControlSet, opts: ScanOptions, transport_factory,
         on_event: Event = lambda *_: None,
         on_hosts_done: Callable[[list[HostOutcome]], None] = lambda _: None) -> list[HostOutcome]:
    """Scan hosts in parallel (``opts.forks``). Returns outcomes in inventory order.

    Finished hosts are handed to ``on_hosts_done`` in batches (every host that finished while the
    previous batch was handled, at most ``MAX_BATCH``: the run bundle then writes its manifest once
    per batch, not twice per host). A KeyboardInterrupt stops scheduling new hosts;
    finished hosts were already handed over (and persisted), and the interrupt propagates.
    """
    outcomes: dict[str, HostOutcome] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, opts.forks), thread_name_prefix="hc-host")
    interrupted = False
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(max(switch_interval, SWITCH_INTERVAL))
    order = {h.name: i for i, h in enumerate(hosts)}
    try:
        pending = {pool.submit(_scan_one, h, controls, opts, transport_factory, on_event) for h in hosts}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            finished = sorted((f.result() for f in done), key=lambda o: order[o.host.name])
            for at in range(0, len(finished), MAX_BATCH):
                batch = finished[at:at + MAX_BATCH]
                for outcome in batch:
                    outcomes[outcome.host.name] = outcome
                on_hosts_done(batch)
                for outcome in batch:
                    on_event(outcome.host.name, "done", outcome)
    except BaseException:
        interrupted = True
        raise
    finally:
        # On an interrupt, do not wait for hosts still in flight (a hung host may take its whole
        # command timeout): the caller keeps what finished (the CLI then exits without joining them).
        pool.shutdown(wait=not interrupted, cancel_futures=True)
        sys.setswitchinterval(switch_interval)
    return [outcomes[h.name] for h in hosts if h.name in outcomes]


def _scan_one(host, controls, opts, transport_factory, on_event) -> HostOutcome:
    """Scan one host; whatever it produced is redacted before anyone else sees it."""
    outcome = _scan_unredacted(host, controls, opts, transport_factory, on_event)
    ran = {r.control for r in outcome.results}
    add_testinfra(host, outcome, [t for t in opts.testinfra if t.id not in ran], tom_items=opts.tom_items,
                  transport_options=opts.transport_options)
    env = getattr(host, "sudo_password_env", None)
    literals = [("sudo-password", os.environ.get(env, ""))] if env else []
    redact_outcome(outcome, opts.redactor.with_literals(literals))
    return outcome


def _scan_unredacted(host, controls, opts, transport_factory, on_event) -> HostOutcome:
    try:
        return HostScan(host, controls, opts, transport_factory, on_event).run()
    except Exception as e:  # pragma: no cover - defensive
        record = HostRecord(name=host.name, identity={"name": host.name, "address": host.address},
                            status="error", error={"reason": "internal", "message": f"{type(e).__name__}: {e}"},
                            groups=list(getattr(host, "groups", []) or []))
        results = [Result(host=host.name, control=lc.id, status="error", severity=lc.control.severity,
                          expected="", actual=None, message=f"internal error: {e}", reason="internal",
                          tom=list(opts.tom_items.get(lc.id, []))) for lc in controls.controls]
        return HostOutcome(record, results, {})
