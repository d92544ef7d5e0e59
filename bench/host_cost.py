#!/usr/bin/env python3
"""What a scan costs each server: host CPU and wall time of every probe section, on lab hosts.

Starts lab hosts (tests/lab; needs root) and sends each the probe script hardencheck generates for
it with the whole control library (the same sections, tools checks and timeouts), with a timing
line around every section: ``date`` for the wall time and the shell's ``times`` builtin, whose two
lines are the CPU (user + system) of the script's shell itself and of every child it has waited
for, so the difference around a section is what that section cost the host, its tool checks,
``timeout(1)`` and the shell's own work in ``hc_run`` included (sshd's own encryption is not).
The row ``prelude`` is the script before the first section (``hc_resolve``: every tool resolved
and judged); ``total`` is the sum of the rows: what the script costs the host besides the
timing lines (and besides starting its shell, which any SSH command costs).
Each host is measured ``--repeat`` times; the table shows the mean, per section and per probe,
most expensive first (a mean, not a median: ``times`` counts in clock ticks, 10 ms on most
kernels, and a section costs a few ms, so only the mean of many runs says what it costs).

    sudo .venv/bin/python bench/host_cost.py --hosts hardened,weak --repeat 20
    sudo .venv/bin/python bench/host_cost.py --only patches.status --apt-compare --markdown
    sudo .venv/bin/python bench/host_cost.py --library bench/peer-checks

Consecutive sections run in batches (see hardencheck/collect/probe_script.py): a batch is one row
(``batch:<first section>+<how many more>``); ``--no-batch`` runs each section alone as scripts did
before batches, for a row per section or probe (and the figures before batches).

``--library DIR`` measures the controls of DIR instead of the shipped library (the peer
benchmark runs ``bench/peer-checks`` that way); ``--controls DIR`` (repeatable) adds a folder to
the library, as ``hardencheck scan --controls`` does.

``--apt-compare`` also times the two ways of asking apt for pending updates, as bare sections:
``apt-get -s dist-upgrade`` (PATCH-001's probe until issue 16) and ``apt list --upgradable``.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hardencheck.collect import engine  # noqa: E402
from hardencheck.collect.probe_script import (SectionSpec, script_parts,  # noqa: E402
                                              new_nonce)
from hardencheck.collect.probes import get_probe  # noqa: E402
from hardencheck.collect.transports.ssh import SshTransport  # noqa: E402
from hardencheck.inventory import load_inventory  # noqa: E402
from hardencheck.judge.controls import load_controls  # noqa: E402
from tests.lab import Lab  # noqa: E402

APT_COMPARE = [
    SectionSpec("compare/apt-get-s-dist-upgrade", "apt-get -s -o Debug::NoLocking=1 dist-upgrade >/dev/null",
                timeout=600, tools=("apt-get",)),
    SectionSpec("compare/apt-list-upgradable", "apt list --upgradable >/dev/null 2>&1", timeout=600,
                tools=("apt",)),
]
_TIMES = re.compile(r"^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$")


def specs_for(host, controls, only: list[str] | None, skip: list[str] = ()) -> list[SectionSpec]:
    """The sections a scan with the whole library sends this host (scanner-side probes and
    testinfra controls excluded: they cost the host nothing or are not probe sections)."""
    runnable = []
    for lc in controls.controls:
        try:
            probe = get_probe(lc.control.probe)
        except Exception:           # noqa: BLE001 - a testinfra control names no probe module
            continue
        if getattr(probe, "scanner_side", ()):
            continue
        runnable.append(lc)
    scan = engine.HostScan(host, controls, engine.ScanOptions(), None, lambda *a: None)
    specs = scan.plan(runnable)
    specs = [s for s in specs if probe_of(s.id) not in skip]
    return [s for s in specs if probe_of(s.id) in only] if only else specs


def _mark(sid: str) -> list[str]:
    """Timing lines around a section: the CPU counters right at its edges (``times``), the wall
    clock (``date``, a fork of its own) outside them, so the measuring costs no section anything."""
    return [f"printf 'HCT B %s %s\\n' {sid} \"$(date +%s.%N)\" >&2; times >&2",
            f"printf 'HCT E %s\\n' {sid} >&2; times >&2; printf 'HCT D %s %s\\n' {sid} \"$(date +%s.%N)\" >&2"]


def timed_script(specs: list[SectionSpec], nonce: str, batch: bool = True) -> str:
    """build_script's text, with timing lines (wall clock, ``times``) around the prelude and each
    step: a section alone, or a batch of sections (row ``batch:<first id>+<how many more>``)."""
    prelude, steps = script_parts(specs, nonce, batch)
    begin, end = _mark("prelude")
    lines = [begin, prelude, end]
    for ids, text in steps:
        label = ids[0] if len(ids) == 1 else f"batch:{ids[0]}+{len(ids) - 1}"
        begin, end = _mark(shlex.quote(label))
        lines += [begin, "{ " + text + "\n} >/dev/null 2>&1", end]
    return "\n".join(lines) + "\n"


def _cpu(line: str) -> float:
    m = _TIMES.match(line.strip())
    if not m:
        raise SystemExit(f"unexpected times output: {line!r}")
    return int(m.group(1)) * 60 + float(m.group(2)) + int(m.group(3)) * 60 + float(m.group(4))


def parse(stderr: str) -> dict[str, tuple[float, float]]:
    """section id (or ``prelude``) -> (host CPU s, wall s)."""
    out: dict[str, tuple[float, float]] = {}
    lines = stderr.splitlines()
    cpu: dict[str, dict[str, float]] = {}
    wall: dict[str, dict[str, float]] = {}
    for i, line in enumerate(lines):
        m = re.match(r"^HCT ([BED]) (\S+)(?: ([\d.]+))?$", line)
        if not m:
            continue
        kind, sid, when = m.groups()
        if when:
            wall.setdefault(sid, {})[kind] = float(when)
        if kind in "BE":
            if i + 2 >= len(lines):
                raise SystemExit(f"no times output after {line!r}")
            cpu.setdefault(sid, {})[kind] = _cpu(lines[i + 1]) + _cpu(lines[i + 2])   # shell + children
    for sid, c in cpu.items():
        w = wall.get(sid, {})
        if "B" in c and "E" in c and "B" in w and "D" in w:
            out[sid] = (c["E"] - c["B"], w["D"] - w["B"])
    return out


def measure(host, specs, known_hosts: str, batch: bool = True) -> dict[str, tuple[float, float]]:
    t = SshTransport(host, known_hosts=[known_hosts])
    err: list[bytes] = []
    try:
        t.connect()
        res = t.run_script(timed_script(specs, new_nonce(), batch), lambda b: None, err.append, timeout=3600,
                           idle_timeout=None)
    finally:
        t.close()
    if res.exit_code != 0:
        raise SystemExit(f"{host.name}: the timed script ended with {res.exit_code}")
    return parse(b"".join(err).decode("utf-8", "replace"))


def probe_of(sid: str) -> str:
    if sid.startswith(("compare/", "batch:")) or sid == "prelude":
        return sid
    base = sid.split("/")[0]
    return re.sub(r"-\d+$", "", base)


def table(rows: list[tuple], headers: list[str], markdown: bool) -> str:
    if markdown:
        out = ["| " + " | ".join(headers) + " |", "| " + " | ".join("---" if i == 0 else "---:"
                                                                       for i in range(len(headers))) + " |"]
        out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
        return "\n".join(out)
    widths = [max(len(str(x)) for x in [h] + [r[i] for r in rows]) for i, h in enumerate(headers)]
    fmt = "  ".join("{:<%d}" % w if i == 0 else "{:>%d}" % w for i, w in enumerate(widths))
    return "\n".join([fmt.format(*headers)] + [fmt.format(*[str(c) for c in r]) for r in rows])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hosts", default="hardened,weak", help="lab host kinds (default: hardened,weak)")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--only", help="only these probes (comma-separated names)")
    ap.add_argument("--skip", help="leave out these probes (comma-separated; e.g. the filesystem walks "
                                   "files.world_writable,files.suid, whose seconds drown the rest)")
    ap.add_argument("--apt-compare", action="store_true", help="also time apt-get -s dist-upgrade and "
                                                               "apt list --upgradable as bare sections")
    ap.add_argument("--markdown", action="store_true", help="print Markdown tables (for the README)")
    ap.add_argument("--sections", action="store_true", help="one row per section, not per probe")
    ap.add_argument("--no-batch", action="store_true", help="run every section alone (a row per section or "
                                                            "probe instead of per batch)")
    ap.add_argument("--library", help="measure the controls of this folder instead of the shipped library")
    ap.add_argument("--controls", action="append", default=[], help="a control folder to add (repeatable)")
    ap.add_argument("--prefix", default=(os.environ.get("HC_LAB_PREFIX", "hcb") + "hc")[:8])
    args = ap.parse_args()
    kinds = [k for k in args.hosts.split(",") if k]
    only = args.only.split(",") if args.only else None
    controls = load_controls(args.library, args.controls)
    with tempfile.TemporaryDirectory(prefix="hc-hostcost-") as tmp, Lab(tmp, prefix=args.prefix) as lab:
        lab.start(kinds)
        inv = load_inventory(lab.inventory_path)
        samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for kind in kinds:
            host = inv.host(kind)
            specs = (specs_for(host, controls, only, args.skip.split(",") if args.skip else ())
                     + (APT_COMPARE if args.apt_compare else []))
            for _ in range(args.repeat):
                for sid, v in measure(host, specs, str(lab.known_hosts_path), not args.no_batch).items():
                    samples.setdefault((sid, kind), []).append(v)
    med = {k: (statistics.mean(c for c, _ in v), statistics.mean(w for _, w in v)) for k, v in samples.items()}
    keyf = (lambda sid: sid) if args.sections else probe_of
    agg: dict[str, dict[str, list[float]]] = {}
    for (sid, kind), (cpu, wall) in med.items():
        a = agg.setdefault(keyf(sid), {})
        for k, v in ((f"{kind} cpu", cpu), (f"{kind} wall", wall)):
            a[k] = [a.get(k, [0.0])[0] + v]
    headers = ["section" if args.sections else "probe"] + [f"{k} {m} s" for k in kinds for m in ("cpu", "wall")]
    rows = []
    for name, a in agg.items():
        rows.append([name] + [f"{a.get(f'{k} {m}', [0.0])[0]:.3f}" for k in kinds for m in ("cpu", "wall")])
    rows.sort(key=lambda r: -max(float(x) for x in r[1::2]))
    totals = ["total"] + [f"{sum(float(r[i]) for r in rows if not r[0].startswith('compare/')):.3f}"
                          for i in range(1, len(headers))]
    print(table(rows + [totals], headers, args.markdown))
    print(f"\n(mean of {args.repeat} run(s) per host; host CPU = user + system of the script's shell "
          f"and the section's processes; {len(controls.controls)} controls, {len(specs)} sections on "
          f"the last host)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
