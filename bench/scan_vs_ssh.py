#!/usr/bin/env python3
"""Benchmark: a hardencheck scan against a plain OpenSSH fan-out doing the same work.

Starts lab hosts (sshd in network namespaces, see tests/lab) and, for each N in --sizes, times
in one run:

* hardencheck: ``hardencheck scan`` of the first N hosts (all shipped controls, --forks N);
* fan-out: the very probe script hardencheck generates for such a host, sent to the same N
  hosts by N parallel ``ssh host /bin/sh -s`` processes (what a shell loop with ``&`` does).

For both it prints wall time, CPU time (user+system of the process tree) and peak memory
(the largest summed RSS of the process tree, sampled from /proc every 10 ms), and the ratio hardencheck / fan-out. Needs root (network namespaces).

    sudo python3 bench/scan_vs_ssh.py --sizes 1,10,30
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hardencheck.collect import engine  # noqa: E402
from hardencheck.judge.controls import load_controls  # noqa: E402
from hardencheck.inventory import load_inventory  # noqa: E402
from hardencheck.collect.probe_script import build_script, new_nonce  # noqa: E402
from hardencheck.collect.transports.ssh import SshTransport  # noqa: E402
from tests.lab import Lab  # noqa: E402


class TreeSampler(threading.Thread):
    """Samples the summed RSS of a process and all its descendants every 10 ms (from /proc).

    ``ru_maxrss`` from wait4 is no good here: a child forked from this (large) Python process
    counts the parent's pages until it execs.
    """

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kib = 0
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
    def _rss(pid: int, field: str = "VmRSS") -> int:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith(field + ":"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def run(self):
        while not self._halt.is_set():
            total = sum(self._rss(p) for p in self._tree(self.pid))
            # the root's own high-water mark catches peaks between two samples
            self.peak_kib = max(self.peak_kib, total, self._rss(self.pid, "VmHWM"))
            self._halt.wait(0.01)

    def stop(self):
        self._halt.set()
        self.join()


def measure(argv: list[str], **popen) -> dict:
    """Wall time, CPU (user+system of the whole tree, via wait4) and peak summed RSS."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, **popen)
    sampler = TreeSampler(p.pid)
    sampler.start()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    sampler.stop()
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "rss_kib": sampler.peak_kib,
            "exit": os.waitstatus_to_exitcode(status)}


def run_hardencheck(lab: Lab, n: int, out: Path) -> dict:
    limit = ",".join(sorted(lab.hosts)[:n])
    argv = [sys.executable, "-m", "hardencheck", "scan", "-i", str(lab.inventory_path),
            "--known-hosts", str(lab.known_hosts_path), "--ssh-config", "/dev/null",
            "--limit", limit, "--forks", str(n), "--quiet", "--out", str(out)]
    r = measure(argv, cwd=ROOT)
    if r["exit"] not in (0, 1):
        raise SystemExit(f"hardencheck exited {r['exit']}")
    return r


def probe_script(lab: Lab) -> str:
    """Exactly the script hardencheck sends to a lab host."""
    inv = load_inventory(lab.inventory_path)
    host = inv.hosts[0]
    controls = load_controls()
    scan = engine.HostScan(host, controls, engine.ScanOptions(), SshTransport, lambda *a: None)
    return build_script(scan.plan(list(controls.controls)), new_nonce())


def run_fanout(lab: Lab, n: int, script_file: Path) -> dict:
    """N parallel `ssh host /bin/sh -s < script`, started and awaited by one small shell."""
    lines = [" ".join(shlex.quote(a) for a in lab.ssh_argv(name, "/bin/sh", "-s"))
             + f" < {shlex.quote(str(script_file))} > /dev/null 2>&1 & pids=\"$pids $!\"" for name in sorted(lab.hosts)[:n]]
    shell = "fail=0; pids=\n" + "\n".join(lines) + "\nfor p in $pids; do wait $p || fail=1; done\nexit $fail\n"
    r = measure(["/bin/sh", "-c", shell])
    if r["exit"] != 0:
        raise SystemExit("ssh fan-out failed")
    return r


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1,10,30")
    ap.add_argument("--repeat", type=int, default=1, help="runs per size and side; the best is kept")
    ap.add_argument("--prefix", default="hcb", help="lab prefix (namespaces <prefix>-<host>; default hcb)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if os.geteuid() != 0:
        raise SystemExit("needs root (network namespaces)")
    with tempfile.TemporaryDirectory(prefix="hc-bench-") as tmp, Lab(Path(tmp) / "lab", prefix=args.prefix) as lab:
        t0 = time.perf_counter()
        lab.start_clones(max(sizes), kind="hardened")
        print(f"lab: {max(sizes)} hosts started in {time.perf_counter() - t0:.1f}s")
        script_file = Path(tmp) / "probe.sh"
        script_file.write_text(probe_script(lab))
        print(f"probe script: {script_file.stat().st_size} bytes, one exec per host\n")
        header = (f"{'hosts':>5}  {'side':<11} {'wall s':>7} {'cpu s':>7} {'peak MiB':>9}   "
                  f"{'ratio wall':>10} {'ratio cpu':>9} {'ratio mem':>9}")
        print(header)
        print("-" * len(header))
        for n in sizes:
            hc = min((run_hardencheck(lab, n, Path(tmp) / f"out-{n}-{i}") for i in range(args.repeat)),
                     key=lambda r: r["wall"])
            fo = min((run_fanout(lab, n, script_file) for _ in range(args.repeat)), key=lambda r: r["wall"])
            for side, r in (("hardencheck", hc), ("ssh fan-out", fo)):
                print(f"{n:>5}  {side:<11} {r['wall']:>7.2f} {r['cpu']:>7.2f} {r['rss_kib'] / 1024:>9.1f}", end="")
                if side == "hardencheck":
                    print(f"   {hc['wall'] / fo['wall']:>10.2f} {hc['cpu'] / max(fo['cpu'], 1e-9):>9.2f} "
                          f"{hc['rss_kib'] / max(fo['rss_kib'], 1):>9.2f}")
                else:
                    print()
    print("\nratio = hardencheck / fan-out (lower is better); the hardencheck figures include Python "
          "start-up, control loading, parsing, judging and writing results.json.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
