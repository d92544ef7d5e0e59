#!/usr/bin/env python3
"""Benchmark: what a scan of many hosts costs the scanner, and what 10,000 hosts would cost.

Starts N hardened lab hosts (sshd in network namespaces, see tests/lab) and runs, each as a fresh
``hardencheck scan`` process with the default reports (html, junit, json) and a run history:

* scans of --sizes hosts (default 20,100,200), all of them in flight at once up to --forks
  (default 100): wall time, scanner CPU (user+system of the scanner's process tree, from wait4),
  peak memory (the largest summed RSS of the tree, sampled from /proc, and the scanner's own
  VmHWM high-water mark), peak open file descriptors, CPU per host;
* the largest size again as --shards shards (``scan --shard K/S --run-id X``, one process each)
  and ``hardencheck merge`` of them into one run;
* a projection to --project hosts (default 10,000) from those figures: CPU-seconds per host
  (marginal, between the smallest and the largest size), memory per host in flight and per
  finished host (its results are kept for the roll-up and the reports; its evidence is read
  back from its host file), file descriptors per host in flight.

CPU time is the main figure: wall time depends on everything else the machine runs (the lab's
hosts run on the same cores), and this machine's speed swings by up to 2x within minutes, so
compare sides run back to back: --repeat N scans each size N times per side (with --baseline the
sides alternate which goes first) and projects from the median run. (A calibration run of fixed
Python work before and after each scan, to express CPU in its units, was tried: it varied by
+-12 % itself and disagreed with pairs whose raw CPU agreed, so it is not used.)

The expensive host-side probes (the filesystem walks and the enabled-services listing, seconds of
host CPU each, see bench/host_cost.py) are left out with --control unless --all-controls: their
controls count as ``skipped`` results, which the scanner still converts, writes and reports. The scanner's cost per host does not depend on them beyond
their output size.

    sudo .venv/bin/python bench/scale.py --hosts 200 --sizes 20,100,200 --shards 4
    sudo .venv/bin/python bench/scale.py --hosts 100 --sizes 100 --profile /tmp/scan100.prof
    sudo .venv/bin/python bench/scale.py --hosts 100 --sizes 100 --repeat 3 --shards 0 --baseline /tmp/base

--profile FILE also runs the largest size once more under cProfile, every thread profiled (the
main thread: writing each finished host, results.json, the reports; the host threads: SSH,
parsing, judging, redaction), and prints the top functions.
Needs root (network namespaces).
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.lab import Lab  # noqa: E402

# probes that cost the lab host seconds of CPU each (bench/host_cost.py), not the scanner
EXPENSIVE_PROBES = {"files.world_writable", "files.suid", "services.enabled"}
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable


class TreeSampler(threading.Thread):
    """Every 20 ms: the summed RSS of a process and its descendants, and its open fds (/proc)."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kib = 0
        self.hwm_kib = 0
        self.peak_fds = 0
        self.peak_threads = 0
        self.main_cpu = 0.0           # CPU of the scanner's main thread, last sample before it ended
        self._halt = threading.Event()

    @staticmethod
    def _tree(pid: int) -> list[int]:
        out, todo = [], [pid]
        while todo:
            p = todo.pop()
            out.append(p)
            try:
                for tid in os.listdir(f"/proc/{p}/task"):
                    with open(f"/proc/{p}/task/{tid}/children") as f:
                        todo += [int(c) for c in f.read().split()]
            except OSError:
                pass
        return out

    @staticmethod
    def _status(pid: int) -> dict[str, int]:
        out = {}
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith(("VmRSS:", "VmHWM:", "Threads:")):
                        k, v = line.split(":", 1)
                        out[k] = int(v.split()[0])
        except OSError:
            pass
        return out

    def sample(self) -> None:
        total = 0
        for p in self._tree(self.pid):
            st = self._status(p)
            total += st.get("VmRSS", 0)
            if p == self.pid:
                self.hwm_kib = max(self.hwm_kib, st.get("VmHWM", 0))
                self.peak_threads = max(self.peak_threads, st.get("Threads", 0))
                try:
                    self.peak_fds = max(self.peak_fds, len(os.listdir(f"/proc/{p}/fd")))
                    with open(f"/proc/{p}/task/{p}/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                    self.main_cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
                except (OSError, IndexError, ValueError):
                    pass
        self.peak_kib = max(self.peak_kib, total)

    def run(self):
        while not self._halt.is_set():
            self.sample()
            self._halt.wait(0.02)

    def stop(self):
        self._halt.set()
        self.join()


def measure(argv: list[str], cwd: Path = ROOT) -> dict:
    """Wall, CPU (user+system of the whole tree, via wait4), peak RSS, peak fds of one command."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sampler = TreeSampler(p.pid)
    sampler.start()
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    sampler.stop()
    code = os.waitstatus_to_exitcode(status)
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "user": ru.ru_utime, "sys": ru.ru_stime,
            "rss_mib": max(sampler.peak_kib, sampler.hwm_kib) / 1024, "hwm_mib": sampler.hwm_kib / 1024,
            "fds": sampler.peak_fds, "threads": sampler.peak_threads, "main_cpu": sampler.main_cpu, "exit": code,
            "stderr": err.decode(errors="replace")[-2000:]}


def control_ids(all_controls: bool, checkout: Path) -> list[str] | None:
    """The checkout's controls without the expensive probes (None: all)."""
    if all_controls:
        return None
    code = ("import json; from hardencheck.judge.controls import load_controls; print(json.dumps("
            "[(lc.id, lc.control.probe) for lc in load_controls().controls]))")
    pairs = json.loads(subprocess.run([PYTHON, "-c", code], cwd=checkout, check=True, capture_output=True,
                                      text=True).stdout)
    return [cid for cid, probe in pairs if probe not in EXPENSIVE_PROBES]


# `hardencheck` under cProfile in every thread (the main thread's collection, judging, writing and
# the host threads' SSH, parsing, judging and redaction), the profiles merged into one file.
PROFILED = """
import cProfile, pstats, sys, threading
out, sys.argv = sys.argv[1], ["hardencheck"] + sys.argv[2:]
profiles = []
def start(frame, event, arg):      # the first event of a new thread: profile it from here on
    p = cProfile.Profile()
    profiles.append(p)
    p.enable()
threading.setprofile(start)
main = cProfile.Profile()
profiles.append(main)
main.enable()
try:
    from hardencheck.cli import entry
    code = entry()
finally:
    threading.setprofile(None)
    main.disable()
    stats = pstats.Stats(main)
    for p in profiles[1:]:
        try:
            stats.add(p)
        except TypeError:          # a thread that never ran under the profiler
            pass
    stats.dump_stats(out)
raise SystemExit(code)
"""


def scan_argv(lab: Lab, names: list[str], out: Path, forks: int, controls: list[str] | None,
              *extra: str, profile: Path | None = None) -> list[str]:
    head = [PYTHON, "-c", PROFILED, str(profile)] if profile else [PYTHON, "-m", "hardencheck"]
    return [*head, "scan", "-i", str(lab.inventory_path), "--known-hosts", str(lab.known_hosts_path),
            "--ssh-config", "/dev/null", "--limit", ",".join(names), "--forks", str(forks), "--quiet",
            "--out", str(out), *(["--control", ",".join(controls)] if controls else []), *extra]


def checked(r: dict, what: str) -> dict:
    if r["exit"] not in (0, 1):     # 1: the lab hosts have findings; 2 would be errors (unreachable...)
        raise SystemExit(f"{what} exited {r['exit']}:\n{r['stderr']}")
    return r


def results_of(out: Path) -> tuple[int, int]:
    """(results, evidence bytes) of the one run in ``out``."""
    doc = next(out.glob("*/results.json"))
    d = json.loads(doc.read_text())
    return len(d["results"]), doc.stat().st_size


def row(label: str, n: int, forks: int, r: dict) -> str:
    return (f"{label:<22} {n:>5} {forks:>5} {r['wall']:>7.1f} {r['cpu']:>7.2f} {1000 * r['cpu'] / n:>8.1f} "
            f"{r['main_cpu']:>6.2f} {r['rss_mib']:>8.1f} {r['fds']:>5} {r['threads']:>5}")


def median_run(rs: list[dict]) -> dict:
    """The run with the median CPU (the lower middle one of an even count)."""
    return sorted(rs, key=lambda r: r["cpu"])[(len(rs) - 1) // 2]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hosts", type=int, default=200, help="lab hosts to start (default 200)")
    ap.add_argument("--sizes", default="20,100,200", help="scan sizes (default 20,100,200)")
    ap.add_argument("--forks", type=int, default=100, help="hosts in flight at most (default 100)")
    ap.add_argument("--shards", type=int, default=4, help="shards of the largest size, merged (0: none)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="scans of each size per side (default 1); the projection takes the median run")
    ap.add_argument("--project", type=int, default=10_000, help="hosts to project to (default 10,000)")
    ap.add_argument("--all-controls", action="store_true", help="also the expensive host-side probes")
    ap.add_argument("--profile", type=Path, help="cProfile the largest size's scan into this file")
    ap.add_argument("--prefix", default=os.environ.get("HC_LAB_PREFIX", "hcsc"), help="lab prefix")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON here")
    ap.add_argument("--checkout", type=Path, default=ROOT,
                    help="the hardencheck source tree to run (e.g. `git archive REV` unpacked; default: this one)")
    ap.add_argument("--baseline", type=Path,
                    help="another source tree (e.g. `git archive REV` unpacked): each scan size runs with it "
                         "and with --checkout (alternately first with --repeat), in the same lab and load, "
                         "on the controls both have")
    args = ap.parse_args()
    sizes = sorted({int(s) for s in args.sizes.split(",")})
    if os.geteuid() != 0:
        raise SystemExit("needs root (network namespaces)")
    n_lab = max(args.hosts, max(sizes))
    checkout = args.checkout.resolve()
    controls = control_ids(args.all_controls, checkout)
    baseline = args.baseline.resolve() if args.baseline else None
    if baseline is not None:
        theirs = control_ids(args.all_controls, baseline)
        if controls is not None and theirs is not None:
            controls = [c for c in controls if c in set(theirs)]
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="hc-scale-") as tmp, Lab(Path(tmp) / "lab", prefix=args.prefix) as lab:
        t0 = time.perf_counter()
        lab.start_clones(n_lab, kind="hardened")
        print(f"lab: {n_lab} hosts started in {time.perf_counter() - t0:.0f} s "
              f"(load average before: {load[0]:.1f} on {os.cpu_count()} cores)")
        names = sorted(lab.hosts)
        print(f"hardencheck: {checkout}")
        print(f"controls: {'all' if controls is None else f'{len(controls)} (without {sorted(EXPENSIVE_PROBES)})'}; "
              f"forks {args.forks}; reports html,junit,json; history on\n")
        header = (f"{'run':<22} {'hosts':>5} {'forks':>5} {'wall s':>7} {'cpu s':>7} {'ms/host':>8} "
                  f"{'main s':>6} {'peak MiB':>8} {'fds':>5} {'thr':>5}")
        print(header + "\n" + "-" * len(header))
        runs = {}
        before = {}
        for n in sizes:
            forks = min(n, args.forks)
            mine, theirs = [], []
            for i in range(args.repeat):
                # with a baseline, the two sides alternate which goes first
                sides = [("baseline", baseline), ("this", checkout)] if baseline is not None else [("this", checkout)]
                for side, tree in (sides if i % 2 == 0 else sides[::-1]):
                    out = Path(tmp) / f"{side}-{n}-{i}"
                    r = checked(measure(scan_argv(lab, names[:n], out, forks, controls), tree),
                                f"{side} scan of {n}")
                    r["results"], r["results_json_bytes"] = results_of(out)
                    (theirs if side == "baseline" else mine).append(dict(r, hosts=n, forks=forks))
                    print(row("scan (baseline)" if side == "baseline" else "scan", n, forks, r), flush=True)
            runs[n] = median_run(mine)
            if theirs:
                before[n] = median_run(theirs)
            if args.repeat > 1:
                for label, rs in (("median (baseline)", theirs), ("median", mine)):
                    if rs:
                        print(row(label, n, forks, median_run(rs)), flush=True)
        shard_rows = []
        if args.shards:
            n = sizes[-1]
            out = Path(tmp) / "shards"
            per = -(-n // args.shards)
            for k in range(1, args.shards + 1):
                r = checked(measure(scan_argv(lab, names[:n], out, min(per, args.forks), controls,
                                              "--run-id", "bench-1", "--shard", f"{k}/{args.shards}"), checkout),
                            f"shard {k}")
                shard_rows.append(r)
                print(row(f"shard {k}/{args.shards}", per, min(per, args.forks), r), flush=True)
            folders = sorted(str(f) for f in out.glob("bench-1.shard-*"))
            m = checked(measure([PYTHON, "-m", "hardencheck", "merge", *folders, "--out", str(Path(tmp) / "merged"),
                                 "--quiet"], checkout), "merge")
            print(row(f"merge of {args.shards}", n, 0, m), flush=True)
            total = sum(r["cpu"] for r in shard_rows) + m["cpu"]
            print(f"{'shards + merge, CPU':<22} {n:>5} {'':>5} {'':>7} {total:>7.2f} {1000 * total / n:>8.1f}")
        if before:
            print("\nbaseline:", baseline)
            base_report = project(before, args.project, args.forks)
            print("\nthis checkout:", checkout)
        report = project(runs, args.project, args.forks)
        if args.profile:     # an extra run: cProfile slows the main thread, its figures are not kept
            n = sizes[-1]
            checked(measure(scan_argv(lab, names[:n], Path(tmp) / "out-profile", min(n, args.forks), controls,
                                      profile=args.profile), checkout), "profiled scan")
            print(f"\ncProfile of the {sizes[-1]}-host scan (all threads; {args.profile}), top 25 by own time:")
            pstats.Stats(str(args.profile)).sort_stats("tottime").print_stats(25)
            print("by cumulative time:")
            pstats.Stats(str(args.profile)).sort_stats("cumulative").print_stats(30)
        if args.json:
            args.json.write_text(json.dumps({"load_average_before": load, "runs": runs, "shards": shard_rows,
                                             "projection": report, "baseline": before,
                                             "baseline_projection": base_report if before else None}, indent=1))
    return 0


def project(runs: dict[int, dict], target: int, forks: int) -> dict:
    """CPU per host (marginal), memory per host in flight and per finished host, fds per host in
    flight, and what ``target`` hosts at ``forks`` in flight would need."""
    sizes = sorted(runs)
    lo, hi = runs[sizes[0]], runs[sizes[-1]]
    out = {}
    print("\nCPU is the main figure: wall times were taken while other work shared this machine's "
          f"{os.cpu_count()} cores (the lab hosts too); rerun on a quiet machine for wall figures. "
          "'main s' is the scanner's main thread (start-up, writing each host, results.json, reports): it does "
          "not depend on how long the hosts take; the host threads' share does (paramiko's transport threads "
          "wake every second, the channel reader too, for as long as a host runs).")
    if len(sizes) < 2:
        print(f"per host: {1000 * hi['cpu'] / hi['hosts']:.1f} ms CPU (start-up included; give two sizes to "
              f"separate it)")
        return out
    d = hi["hosts"] - lo["hosts"]
    cpu_host = (hi["cpu"] - lo["cpu"]) / d
    fixed = max(lo["cpu"] - cpu_host * lo["hosts"], 0.0)
    # memory: peak = base + a * in_flight + b * hosts; fds: base + c * in_flight
    same_forks = [(runs[a], runs[b]) for a in sizes for b in sizes if a < b and runs[a]["forks"] == runs[b]["forks"]]
    if same_forks:
        x, y = same_forks[-1]
        per_finished = max((y["rss_mib"] - x["rss_mib"]) / (y["hosts"] - x["hosts"]), 0.0)
    else:
        per_finished = 0.0
    in_flight = max((hi["rss_mib"] - lo["rss_mib"] - per_finished * d) / max(hi["forks"] - lo["forks"], 1), 0.0)
    base = max(lo["rss_mib"] - in_flight * lo["forks"] - per_finished * lo["hosts"], 0.0)
    fds_host = max((hi["fds"] - lo["fds"]) / max(hi["forks"] - lo["forks"], 1), 0.0)
    fds_base = max(lo["fds"] - fds_host * lo["forks"], 0)
    mem = base + in_flight * forks + per_finished * target
    main_host = (hi.get("main_cpu", 0) - lo.get("main_cpu", 0)) / d
    out = {"cpu_ms_per_host": 1000 * cpu_host, "main_thread_ms_per_host": 1000 * main_host, "fixed_cpu_s": fixed, "mib_per_host_in_flight": in_flight,
           "mib_per_finished_host": per_finished, "base_mib": base, "fds_per_host_in_flight": fds_host,
           "target_hosts": target, "target_forks": forks, "target_cpu_s": fixed + cpu_host * target,
           "target_peak_mib": mem, "target_fds": fds_base + fds_host * forks}
    print(f"per host (marginal, {lo['hosts']} -> {hi['hosts']} hosts): {1000 * cpu_host:.1f} ms CPU; fixed "
          f"(start-up, controls, reports of nothing): {fixed:.2f} s; main thread {1000 * main_host:.1f} ms per host")
    print(f"memory: {base:.0f} MiB base + {in_flight:.2f} MiB per host in flight + {per_finished:.3f} MiB per "
          f"finished host (its results, kept for the roll-up and the reports); fds: {fds_base:.0f} + {fds_host:.2f} per host in flight")
    print(f"projected {target:,} hosts at {forks} in flight: {out['target_cpu_s']:.0f} CPU-s "
          f"({out['target_cpu_s'] / 60:.1f} CPU-min), peak ~{mem:.0f} MiB, ~{out['target_fds']:.0f} fds "
          f"(ulimit -n {os.sysconf('SC_OPEN_MAX')} here)")
    return out


if __name__ == "__main__":
    raise SystemExit(main())
