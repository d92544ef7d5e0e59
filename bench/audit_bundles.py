"""What checking every run against its bundle costs ``hardencheck audit`` (issue 13, part 3).

    python3 bench/audit_bundles.py                 # 365 nightly bundles of one local scan
    python3 bench/audit_bundles.py --days 60 --sign

One real scan of this machine (local transport, every control of the library; ``--sign``: signed with a
fresh Ed25519 key) is cloned into one bundle per night (run id, start and end rewritten in results.json,
manifest.json updated; every other file byte for byte), imported into a run history with
``hardencheck import``, then ``hardencheck audit`` over the period runs in fresh processes with and
without ``--no-bundle-check`` (and with ``--allowed-signers`` when signed). Prints the bundles' size and
the seconds of each audit; the figures of the checked audit must show every run verified.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def hc(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hardencheck", *args], cwd=ROOT, capture_output=True, text=True,
                          check=check)


def clone(src: Path, out: Path, run_id: str, day: date) -> None:
    dst = out / run_id
    shutil.copytree(src, dst)
    doc = json.loads((dst / "results.json").read_text())
    doc["run"].update(id=run_id, started_at=f"{day}T02:00:00Z", ended_at=f"{day}T02:01:00Z")
    data = json.dumps(doc, indent=1).encode()
    (dst / "results.json").write_bytes(data)
    m = json.loads((dst / "manifest.json").read_text())
    m["run"]["id"] = run_id
    m["run"]["started_at"] = f"{day}T02:00:00Z"
    for e in m["files"]:
        if e["path"] == "results.json":
            e.update(sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    (dst / "manifest.json").write_text(json.dumps(m, indent=1))
    (dst / "manifest.json.sig").unlink(missing_ok=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--sign", action="store_true")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hc-audit-bundles-"))
    try:
        key = tmp / "key"
        extra: list[str] = []
        if args.sign:
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bench", "-f", str(key)], check=True)
            pub = (tmp / "key.pub").read_text().split()
            (tmp / "allowed").write_text(f'bench@example.org namespaces="hardencheck-manifest" {pub[0]} {pub[1]}\n')
        p = hc("scan", "--out", str(tmp / "one"), "--no-history", "--quiet", "--format", "json,html", check=False)
        assert p.returncode in (0, 1, 2), p.stderr
        (src,) = [d for d in (tmp / "one").iterdir() if (d / "manifest.json").exists()]
        out = tmp / "reports"
        out.mkdir()
        d0 = date(2026, 1, 1)
        for k in range(args.days):
            day = d0 + timedelta(days=k)
            clone(src, out, f"{day:%Y%m%d}T020000Z-{k:06x}", day)
            if args.sign:
                subprocess.run(["ssh-keygen", "-Y", "sign", "-q", "-f", str(key), "-n", "hardencheck-manifest",
                                str(out / f"{day:%Y%m%d}T020000Z-{k:06x}" / "manifest.json")], check=True)
        size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
        db = out / "history.db"
        t0 = time.perf_counter()
        hc("import", "--history", str(db), *map(str, sorted(d for d in out.iterdir() if d.is_dir())))
        t_import = time.perf_counter() - t0
        d1 = d0 + timedelta(days=args.days - 1)
        base = ["audit", "--history", str(db), "--from", str(d0), "--to", str(d1)]
        if args.sign:
            extra = ["--allowed-signers", str(tmp / "allowed")]
        times = {}
        for name, flags in (("without the bundle check", ["--no-bundle-check"]), ("with the bundle check", extra)):
            t0 = time.perf_counter()
            p = hc(*base, "--out", str(tmp / name.replace(" ", "-")), *flags, check=False)
            times[name] = time.perf_counter() - t0
            assert p.returncode == 0, p.stdout + p.stderr
        doc = json.loads((tmp / "with-the-bundle-check" / "audit.json").read_text())
        bad = [r["bundle_check"]["reason"] for r in doc["runs"]["list"] if r["bundle_check"]["status"] != "verified"]
        assert not bad and doc["runs"]["verified"] == doc["runs"]["total"], (len(bad), bad[:3])
        print(f"{args.days} bundles ({doc['runs']['total']} up to today counted) of one local scan ({len(json.loads((src / 'results.json').read_text())['results'])} "
              f"results each), {size / 2**20:.1f} MiB in all{', signed' if args.sign else ''}; import {t_import:.1f} s")
        for name, t in times.items():
            print(f"hardencheck audit {name}: {t:.2f} s")
        print(f"bundle check: {(times['with the bundle check'] - times['without the bundle check']) / doc['runs']['total'] * 1000:.1f} "
              "ms per run")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
