#!/usr/bin/env python3
"""Do two versions of hardencheck give the same results? Scans the same lab hosts with the code
of git revision BEFORE and with this checkout, and compares the two results.json documents after
removing what differs by nature from run to run (run ids, times, durations, pids, the probe
script's nonce and hash). Prints every difference; exit 0 when there is none, 1 otherwise.

Both scans use this checkout's control library and TOM catalog (the code is compared, not the
library), the same lab (started here: sshd test hosts in network namespaces, so run as root)
and the same options.

    sudo .venv/bin/python bench/same_results.py --before 3e72c75      # before the restructure
    sudo .venv/bin/python bench/same_results.py --before HEAD~5 --hosts hardened,weak
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.lab import STANDARD_HOSTS, Lab  # noqa: E402

#: keys whose values are a run's own: when it ran, who ran it, which random nonce it used
VOLATILE_KEYS = {"id", "started_at", "ended_at", "collected_at", "pid", "script_sha256", "command",
                 "duration_s", "duration"}
#: values that embed a time or the run id (e.g. "2026-12-06T22:46:15.123Z", "20261206T224615Z-ab12cd")
VOLATILE_VALUES = [
    (re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{6}"), "<run-id>"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?"), "<time>"),
    (re.compile(r"hc-[0-9a-f]{16,}"), "<nonce>"),
    (re.compile(r"^now\s+\d+$", re.M), "now <epoch>"),      # probes print the host's clock
    # the lab's hanging host: which of paramiko's exceptions ends the banner wait is a race
    (re.compile(r"(sent no SSH banner in time) \((Error reading SSH protocol banner|No existing session)\)"),
     r"\1 (<paramiko>)"),
]
#: raw outputs that measure the live machine between the two scans (the lab hosts share this
#: machine's disk, which the scans themselves write to); their verdicts are still compared
VOLATILE_EVIDENCE = re.compile(r"/disk\.usage(-\d+)?/(space|inodes)$")


def normalise(v: Any, key: str = "") -> Any:
    if key in VOLATILE_KEYS and not isinstance(v, (dict, list)):
        return "<volatile>"
    if isinstance(v, dict):
        if VOLATILE_EVIDENCE.search(key):
            v = {k: ("<live>" if k in ("stdout", "stdout_bytes") else x) for k, x in v.items()}
        return {k: normalise(x, k) for k, x in v.items()}
    if isinstance(v, list):
        return [normalise(x) for x in v]
    if isinstance(v, str):
        for rx, repl in VOLATILE_VALUES:
            v = rx.sub(repl, v)
    return v


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Every place where the normalised documents differ, as 'path: before != after'."""
    if type(a) is not type(b):
        return [f"{path or '/'}: {json.dumps(a)[:200]} != {json.dumps(b)[:200]}"]
    if isinstance(a, dict):
        out = []
        if list(a) != list(b):
            out.append(f"{path or '/'}: keys {list(a)} != {list(b)}")
        for k in a.keys() & b.keys():
            out += differences(a[k], b[k], f"{path}/{k}")
        return out
    if isinstance(a, list):
        if len(a) != len(b):
            return [f"{path}: {len(a)} items != {len(b)} items"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {json.dumps(a)[:200]} != {json.dumps(b)[:200]}"]


def scan(code_root: Path, lab: Lab, out: Path, cwd: Path, extra: list[str]) -> dict:
    env = dict(os.environ, PYTHONPATH=str(code_root))
    cmd = [sys.executable, "-m", "hardencheck", "scan", "-i", str(lab.inventory_path),
           "--known-hosts", str(lab.known_hosts_path), "--ssh-config", str(lab.ssh_config_path),
           "--controls", str(ROOT / "controls"), "--tom", str(ROOT / "controls" / "tom" / "default.yml"),
           "--out", str(out), "--no-history", "--format", "json", "--quiet", *extra]
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    docs = sorted(out.glob("*/results.json"))
    if len(docs) != 1:
        sys.exit(f"the scan with {code_root} wrote no results.json (exit {p.returncode}):\n{p.stderr}")
    return json.loads(docs[0].read_text(encoding="utf-8"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True, help="git revision to compare with")
    ap.add_argument("--after", help="git revision to compare it with (default: this checkout as it is)")
    ap.add_argument("--hosts", default=",".join(STANDARD_HOSTS), help="lab hosts (default: the standard lab)")
    ap.add_argument("--prefix", default="hcsame", help="lab namespace prefix")
    ap.add_argument("--extra", default="", help="more scan options, e.g. '--control SSH-001,FW-001'")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="hc-same-") as tmp:
        t = Path(tmp)
        trees = {"before": t / "before-tree", "after": t / "after-tree" if a.after else ROOT}
        for name, rev in (("before", a.before), ("after", a.after)):
            if rev:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(trees[name]),
                                rev], check=True)
        try:
            with Lab(t / "lab", prefix=a.prefix) as lab:
                lab.start([h for h in a.hosts.split(",") if h])
                docs = [scan(trees[name], lab, t / name, t, a.extra.split()) for name in ("before", "after")]
        finally:
            for name, tree in trees.items():
                if tree != ROOT:
                    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
    diffs = differences(normalise(docs[0]), normalise(docs[1]))
    n = len(docs[1]["results"])
    if diffs:
        print(f"{len(diffs)} difference(s) between {a.before} and {a.after or 'this checkout'} ({n} results):")
        for d in diffs:
            print(f"  {d}")
        return 1
    print(f"same results: {n} results on {len(docs[1]['hosts'])} host(s), identical apart from run ids and times "
          f"({a.before} vs {a.after or 'this checkout'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
