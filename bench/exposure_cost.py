#!/usr/bin/env python3
"""Benchmark: what ``scan --exposure`` (the outside-in nmap run, issue 15) adds to a lab scan.

Starts lab hosts (tests/lab: hardened, weak and the exposure kinds exp-blocked, exp-open,
exp-tls10) and, in one run, times ``hardencheck scan`` of all of them with the whole shipped
library, alternately without and with ``--exposure`` (``--repeat`` pairs, the order swapped in
every other pair so neither side always runs on a warmer machine). Prints each run's wall time,
the nmap run's own duration (from its evidence), the best and the median of each side and their
ratio with/without; the target is at most 1.3. Needs root (network namespaces; nmap's SYN scan).

    sudo .venv/bin/python bench/exposure_cost.py --repeat 3

``--config FILE`` passes a hardencheck.yml (e.g. ``exposure: {max_rate: 100}``) to both sides.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.lab import Lab  # noqa: E402

HOSTS = ["hardened", "weak", "exp-blocked", "exp-open", "exp-tls10"]
TARGET = 1.3


def scan(lab: Lab, out: Path, exposure: bool, config: str | None) -> tuple[float, float | None, int]:
    """(wall seconds, nmap seconds or None, exit code) of one CLI scan in its own process."""
    cmd = [sys.executable, "-m", "hardencheck", "scan", "-i", str(lab.inventory_path), "--known-hosts",
           str(lab.known_hosts_path), "--ssh-config", str(lab.ssh_config_path), "--out", str(out),
           "--no-history", "--quiet", "--format", "json"]
    if exposure:
        cmd.append("--exposure")
    if config:
        cmd += ["--config", config]
    start = time.perf_counter()
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if p.returncode not in (0, 1, 2):
        raise SystemExit(f"scan failed ({p.returncode}): {p.stderr[-2000:]}")
    nmap_s = None
    if exposure:
        run = max(out.iterdir(), key=lambda d: d.stat().st_mtime)
        doc = json.loads((run / "results.json").read_text())
        ev = next(e for k, e in doc["evidence"].items() if k.endswith("/net.exposure/nmap") and e.get("nmap"))
        times = [datetime.fromisoformat(ev["nmap"][k].replace("Z", "+00:00")) for k in ("started_at", "ended_at")]
        nmap_s = (times[1] - times[0]).total_seconds()
    return wall, nmap_s, p.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="pairs of scans (default 3)")
    ap.add_argument("--prefix", default=os.environ.get("HC_LAB_PREFIX", "hcxb")[:7] + "b",
                    help="lab prefix (default: $HC_LAB_PREFIX + 'b')")
    ap.add_argument("--config", help="hardencheck.yml for both sides")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root (lab namespaces)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="hc-exposure-bench-") as tmp:
        with Lab(Path(tmp) / "lab", prefix=a.prefix) as lab:
            lab.start(HOSTS)
            scan(lab, Path(tmp) / "warmup", False, a.config)      # caches, page cache, sshd first logins
            walls: dict[bool, list[float]] = {False: [], True: []}
            nmaps: list[float] = []
            print(f"{len(HOSTS)} lab hosts ({', '.join(HOSTS)}), whole library, {a.repeat} pair(s)")
            print(f"{'run':>4} {'side':<16} {'wall s':>8} {'nmap s':>8} {'exit':>5}")
            for i in range(a.repeat):
                for exposure in ((False, True) if i % 2 == 0 else (True, False)):
                    out = Path(tmp) / f"{'with' if exposure else 'without'}-{i}"
                    out.mkdir()
                    wall, nmap_s, code = scan(lab, out, exposure, a.config)
                    walls[exposure].append(wall)
                    if nmap_s is not None:
                        nmaps.append(nmap_s)
                    side = "with --exposure" if exposure else "without"
                    print(f"{i + 1:>4} {side:<16} {wall:>8.2f} {nmap_s if nmap_s is not None else '':>8} {code:>5}")
    best = {k: min(v) for k, v in walls.items()}
    med = {k: statistics.median(v) for k, v in walls.items()}
    print(f"best   without {best[False]:.2f} s, with {best[True]:.2f} s: ratio {best[True] / best[False]:.2f}")
    print(f"median without {med[False]:.2f} s, with {med[True]:.2f} s: ratio {med[True] / med[False]:.2f}")
    print(f"nmap run alone: median {statistics.median(nmaps):.2f} s (in parallel with the SSH collection)")
    ratio = med[True] / med[False]
    print(f"target <= {TARGET}: {'met' if ratio <= TARGET else 'NOT met'}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
