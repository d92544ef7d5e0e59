"""The print edition (``--format pdf``, issue 13.1) measured: pages, seconds and MB of the PDF of
the 9-host lab report (en, de) and of the synthetic 500-host fleet.

    python3 bench/print_edition.py                          # lab scan (needs root) + fleet
    python3 bench/print_edition.py --from RUN/results.json  # a saved scan instead of a new lab scan
    python3 bench/print_edition.py --no-fleet               # the lab report only
    python3 bench/print_edition.py --no-lab                 # the fleet only
    python3 bench/print_edition.py --fleet-hosts 100 --fleet-langs en

The lab: the six standard hosts plus pxwide, pxssh, pxnet (tests/lab/kind_print.py), prefix from
--prefix (default $HC_LAB_PREFIX + "1", else "hcp1"), scanned with the whole control library. The
fleet: bench/report_render.py's synthetic document (500 hosts x 60 controls, realistic evidence).
Seconds are wall time of report.pdf.render (HTML render + the two Chromium prints + reading the
contents' pages); the budget of the 9-host lab is 120 A4 pages per language.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hardencheck.report.rendering import load_results  # noqa: E402
from hardencheck.report import pdf as report_pdf  # noqa: E402
from hardencheck.report.view import build_view  # noqa: E402
from hardencheck.results import document_bytes  # noqa: E402

BUDGET = 120


def pages_of(pdf: bytes) -> int:
    """Page count from the PDF's page tree (Chromium writes '/Type /Pages ... /Count N' at the root)."""
    counts = [int(n) for n in re.findall(rb"/Type /Pages\s*/Count (\d+)", pdf)]
    return max(counts) if counts else -1


def measure(doc: dict, lang: str, out: Path | None) -> dict:
    view = build_view(doc, results_sha256=hashlib.sha256(document_bytes(doc)).hexdigest())
    t0 = time.monotonic()
    pdf = report_pdf.render(view, lang)
    seconds = time.monotonic() - t0
    if out:
        out.write_bytes(pdf)
    return {"pages": pages_of(pdf), "seconds": round(seconds, 1), "mb": round(len(pdf) / 1e6, 1)}


def lab_scan(prefix: str, workdir: Path) -> dict:
    from hardencheck.cli import main
    from tests.lab import Lab
    from tests.lab.kind_print import PRINT_HOSTS

    out = workdir / "scan"
    with Lab(workdir / "lab", prefix=prefix) as lab:
        lab.start(PRINT_HOSTS)
        main(["scan", "-i", str(lab.inventory_path), "--known-hosts", str(lab.known_hosts_path),
              "--ssh-config", "/dev/null", "--out", str(out), "--quiet", "--format", "json"])
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    return load_results(run)[0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--from", dest="source", help="a saved results.json (or run folder) instead of a lab scan")
    ap.add_argument("--prefix", default=(os.environ.get("HC_LAB_PREFIX", "hcp")[:7] + "1"))
    ap.add_argument("--no-fleet", action="store_true")
    ap.add_argument("--no-lab", action="store_true", help="the fleet only")
    ap.add_argument("--fleet-hosts", type=int, default=500)
    ap.add_argument("--fleet-controls", type=int, default=60)
    ap.add_argument("--fleet-langs", default="en,de")
    ap.add_argument("--keep", help="folder to keep the PDFs in")
    args = ap.parse_args()
    keep = Path(args.keep) if args.keep else None
    if keep:
        keep.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="hc-print-bench-") as tmp:
        doc = None if args.no_lab else load_results(args.source)[0] if args.source else lab_scan(args.prefix, Path(tmp))
        label = f"lab, {len(doc['hosts'])} hosts" if doc else ""
        for lang in ("en", "de") if doc else ():
            m = measure(doc, lang, keep / f"lab-{lang}.pdf" if keep else None)
            rows.append((label, lang, m))
            print(f"{label:24} {lang}  {m['pages']:5} pages  {m['seconds']:7.1f} s  {m['mb']:6.1f} MB"
                  f"{'  OVER BUDGET' if m['pages'] > BUDGET else ''}", flush=True)
        if not args.no_fleet:
            sys.path.insert(0, str(ROOT / "bench"))
            from report_render import synthetic
            fleet = synthetic(args.fleet_hosts, args.fleet_controls)
            label = f"fleet, {args.fleet_hosts} hosts"
            for lang in args.fleet_langs.split(","):
                m = measure(fleet, lang, keep / f"fleet-{lang}.pdf" if keep else None)
                rows.append((label, lang, m))
                print(f"{label:24} {lang}  {m['pages']:5} pages  {m['seconds']:7.1f} s  {m['mb']:6.1f} MB", flush=True)
    print(json.dumps([{"report": r, "lang": lang, **m} for r, lang, m in rows]))
    return 1 if any(m["pages"] > BUDGET for r, _, m in rows if r.startswith("lab")) else 0


if __name__ == "__main__":
    sys.exit(main())
