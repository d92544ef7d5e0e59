"""python -m tests.lab up|down|status --dir DIR [--prefix hc] [--hosts a,b] [--clones N --kind K]"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .lab import STANDARD_HOSTS, Lab, LabError, cleanup_prefix


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.lab", description=__doc__)
    ap.add_argument("action", choices=["up", "down", "status"])
    ap.add_argument("--dir", required=True, help="lab workdir (inventory, known_hosts, key, host dirs)")
    ap.add_argument("--prefix", default="hc", help="namespace/veth name prefix (default hc)")
    ap.add_argument("--hosts", default=",".join(STANDARD_HOSTS), help="comma-separated standard hosts")
    ap.add_argument("--clones", type=int, default=0, help="start N clones instead of the standard hosts")
    ap.add_argument("--kind", default="hardened", help="kind of the clones (default hardened)")
    a = ap.parse_args(argv)
    wd = Path(a.dir).resolve()
    try:
        if a.action == "up":
            lab = Lab(wd, a.prefix, cleanup_on_exit=False)
            t = time.monotonic()
            if a.clones:
                lab.start_clones(a.clones, a.kind)
            else:
                lab.start([h for h in a.hosts.split(",") if h])
            print(f"lab {a.prefix!r} up in {time.monotonic() - t:.2f}s")
            print(f"  inventory:   {lab.inventory_path}")
            print(f"  known_hosts: {lab.known_hosts_path}")
            print(f"  client key:  {lab.client_key_path}")
            for h in lab.hosts.values():
                print(f"  {h.name:<14} {h.ssh_target:<20} netns {h.netns:<16} kind {h.kind}")
            print(f"try: ssh -i {lab.client_key_path} -o UserKnownHostsFile={lab.known_hosts_path} "
                  f"root@{next(iter(lab.hosts.values())).address}")
            print(f"stop: python -m tests.lab down --dir {wd}")
            return 0
        if a.action == "down":
            if (wd / "lab.json").exists():
                lab = Lab.load(wd)
                lab.stop(remove_files=True)
                cleanup_prefix(lab.prefix)
                print(f"lab {lab.prefix!r} in {wd} removed")
            else:
                print(json.dumps(cleanup_prefix(a.prefix)))
            return 0
        if not (wd / "lab.json").exists():
            print(f"no lab in {wd}")
            return 1
        print(json.dumps(Lab.load(wd).status(), indent=1))
        return 0
    except LabError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
