"""A year of nightly runs in the run history, and the annual effectiveness report over it.

    python3 bench/history_year.py                          # 365 nights x 50 hosts x 60 controls
    python3 bench/history_year.py --days 60 --hosts 10     # smaller
    python3 bench/history_year.py --chromium --keep DIR    # also open audit.html in headless Chromium

Generates, deterministically (``--seed``), one nightly run per day of 2026 over the first N controls
of the real library, structured by the default TOM catalog, with realistic drift: every night a
passing (host, control) pair breaks with probability 1/10,000 and is fixed after 1-10 nights; two
pairs fail all year; a host is unreachable now and then (error results); some controls are not
applicable on part of the fleet (RAID on VMs, web TLS on non-web hosts); three gaps without a run
(3, 1 and 5 nights), two runs interrupted after 30 hosts; host ``app-51`` joins on day 120 and
``web-07`` is retired on day 220. Every run is written through ``HistoryRecorder`` exactly as a
scan writes it (begin, one transaction per finished host, end).

Prints: load time, database size, audit compute time, HTML render time and size, JSON size, peak
memory (the whole process, and the audit alone in a fresh process).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hardencheck.records import audit_document  # noqa: E402

from hardencheck.judge import tom  # noqa: E402
from hardencheck.judge.controls import load_controls  # noqa: E402
from hardencheck.records.history import HistoryRecorder  # noqa: E402
from hardencheck.report import audit_html  # noqa: E402

YEAR = 2026
GAPS = {40, 41, 42, 180, 300, 301, 302, 303, 304}          # day numbers (0 = Jan 1) without a run
INTERRUPTED = {90: 30, 250: 30}                             # day -> hosts finished before the interrupt
HOST_ADDED, HOST_RETIRED = 120, 220


def fleet(n_hosts: int) -> list[str]:
    """web-01.. (two thirds), db-.., with virtual machines among them."""
    n_web = n_hosts * 2 // 3
    return [f"web-{i:02d}" for i in range(1, n_web + 1)] + [f"db-{i:02d}" for i in range(1, n_hosts - n_web + 1)]


def iso(d: datetime) -> str:
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def generate(db: Path, days: int, n_hosts: int, n_controls: int, seed: int) -> dict:
    rng = random.Random(seed)
    lib = load_controls(None)
    catalog = tom.load_catalog(None, set(lib.by_id()))
    lcs = lib.controls[:n_controls]
    controls = [{"id": lc.control.id, "title": lc.control.title, "severity": lc.control.severity,
                 "sha256": lc.sha256} for lc in lcs]
    ids = [c["id"] for c in controls]
    sev = {c["id"]: c["severity"] for c in controls}
    items_of = catalog.items_of_control()
    tom_items = {c: items_of.get(c, []) for c in ids}
    tom_doc = {"catalog": tom.document(catalog), "items": tom.rollup(catalog, [], [])}

    hosts = fleet(n_hosts)
    added = f"app-{n_hosts + 1}"
    retired = hosts[6] if len(hosts) > 6 else hosts[-1]
    vm = {h for h in hosts + [added] if rng.random() < 0.7}
    web = {h for h in hosts + [added] if not h.startswith("db-")}

    def baseline(h: str, c: str) -> str:
        if c.startswith("RAID-") and h in vm:
            return "not_applicable"
        if c.startswith("CRYPT-00") and c != "CRYPT-001" and h not in web:
            return "not_applicable"
        return "pass"

    chronic = {(hosts[3], ids[min(5, len(ids) - 1)]), (hosts[-1], ids[min(20, len(ids) - 1)])}
    broken: dict[tuple[str, str], int] = {}                 # (host, control) -> nights left failing
    messages = {s: f"synthetic {s}" for s in ("pass", "fail", "error", "not_applicable")}
    runs = 0
    t_load = 0.0
    for day in range(days):
        d = date(YEAR, 1, 1) + timedelta(days=day)
        # drift happens whether or not a scan runs that night
        for pair in list(broken):
            broken[pair] -= 1
            if broken[pair] <= 0:
                del broken[pair]
        today = [h for h in hosts if not (h == retired and day >= HOST_RETIRED)]
        if day >= HOST_ADDED:
            today.append(added)
        for h in today:
            for c in ids:
                if (h, c) not in broken and baseline(h, c) == "pass" and rng.random() < 1 / 10000:
                    broken[(h, c)] = rng.randint(1, 10)
        if day in GAPS:
            continue
        start = datetime(d.year, d.month, d.day, 2, 0, tzinfo=timezone.utc) + timedelta(seconds=rng.randrange(0, 300))
        run_id = start.strftime("%Y%m%dT%H%M%SZ") + "-" + hashlib.sha256(f"{seed}{day}".encode()).hexdigest()[:6]
        run = {"id": run_id, "started_at": iso(start), "complete": False,
               "tool": {"name": "hardencheck", "version": "0.1.0"},
               "scanner": {"host": "scanner.example.internal", "user": "audit"},
               "inventory": {"path": "inventories/prod.yml", "key": "inventories/prod.yml",
                             "sha256": hashlib.sha256(b"prod").hexdigest(), "hosts": today},
               "controls": {"path": "controls", "sha256": hashlib.sha256(b"lib").hexdigest(), "ids": ids}}
        finished = today[:INTERRUPTED[day]] if day in INTERRUPTED else today
        t0 = time.perf_counter()
        rec = HistoryRecorder(db)
        try:
            rec.begin(run, controls, tom_items, tom_doc["catalog"], None)
            t = start
            all_hosts, all_results = [], []
            for h in finished:
                unreachable = rng.random() < 0.004
                t += timedelta(seconds=rng.uniform(0.5, 3))
                host = {"name": h, "status": "error" if unreachable else "ok",
                        "error": {"reason": "unreachable", "message": f"{h}:22: connection timed out"}
                        if unreachable else None, "started_at": iso(t), "ended_at": iso(t),
                        "identity": {"address": f"10.0.{len(h)}.{sum(map(ord, h)) % 250}",
                                     "host_key_fingerprint": "SHA256:" + hashlib.sha256(h.encode()).hexdigest()[:43]},
                        "groups": ["web" if h in web else "db"]}
                results = []
                for c in ids:
                    if unreachable:
                        st, reason = "error", "unreachable"
                    elif (h, c) in broken or (h, c) in chronic:
                        st, reason = "fail", None
                    else:
                        st = baseline(h, c)
                        reason = "precondition" if st == "not_applicable" else None
                    results.append({"host": h, "control": c, "status": st, "severity": sev[c], "reason": reason,
                                    "message": messages[st],
                                    "evidence": {"sections": [f"{h}/{c.lower()}.probe/cmd"]}})
                rec.host_done({"host": host, "results": results, "evidence": {}}, f"hosts/{h}.json",
                              hashlib.sha256(f"{run_id}{h}".encode()).hexdigest())
                all_hosts.append(host)
                all_results.extend(results)
            ended = t + timedelta(seconds=5)
            rec.end({"run": {**run, "complete": day not in INTERRUPTED, "ended_at": iso(ended), "exit_code": 1},
                     "hosts": all_hosts, "results": all_results, "tom": tom_doc},
                    hashlib.sha256(f"manifest{run_id}".encode()).hexdigest())
        finally:
            rec.close()
        t_load += time.perf_counter() - t0
        runs += 1
    return {"runs": runs, "load_seconds": t_load}


def db_size(db: Path) -> int:
    return sum(p.stat().st_size for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--hosts", type=int, default=50)
    ap.add_argument("--controls", type=int, default=60)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--lang", default="en", choices=["en", "de"])
    ap.add_argument("--keep", type=Path, help="keep history.db, audit.html and audit.json in this folder")
    ap.add_argument("--chromium", action="store_true", help="open audit.html in headless Chromium")
    args = ap.parse_args()

    out = args.keep or Path(tempfile.mkdtemp(prefix="hc-history-year-"))
    out.mkdir(parents=True, exist_ok=True)
    db = out / "history.db"
    for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        if p.exists():
            p.unlink()

    t0 = time.perf_counter()
    g = generate(db, args.days, args.hosts, args.controls, args.seed)
    total = time.perf_counter() - t0
    import sqlite3
    with sqlite3.connect(db) as conn:
        n_results = conn.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    print(f"history: {g['runs']} runs, {n_results:,} results; loaded through HistoryRecorder in "
          f"{g['load_seconds']:.1f} s ({g['load_seconds'] / max(g['runs'], 1) * 1000:.0f} ms per run; "
          f"{total:.1f} s with generation); database {db_size(db) / 2**20:.1f} MiB")

    d0 = date(YEAR, 1, 1)
    d1 = d0 + timedelta(days=args.days - 1)
    as_of = datetime(d1.year, d1.month, d1.day, tzinfo=timezone.utc) + timedelta(days=1)
    t0 = time.perf_counter()
    # a synthetic history has no bundles: the bundle check (bench/audit_bundles.py measures it) is off
    doc = audit_document.audit(db, d0, d1, as_of=as_of, bundle_check=False)
    t_compute = time.perf_counter() - t0
    raw = (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode()
    t0 = time.perf_counter()
    page = audit_html.render(doc, args.lang)
    t_render = time.perf_counter() - t0
    (out / "audit.json").write_bytes(raw)
    (out / "audit.html").write_bytes(page)
    o, gp = doc["overall"], doc["gaps"]
    print(f"audit: computed in {t_compute:.2f} s; audit.html rendered in {t_render:.2f} s, "
          f"{len(page) / 2**20:.2f} MiB; audit.json {len(raw) / 2**20:.2f} MiB")
    print(f"figures: {doc['runs']['total']} runs ({doc['runs']['successful']} successful, "
          f"{doc['runs']['interrupted']} interrupted), {gp['days_without_successful_scan']} days without a "
          f"successful scan (longest {gp['longest_days']}); measures held in every run "
          f"{o['items_held_every_run']}/{o['items_judged']}, with failures {o['items_with_failures']}, open "
          f"{o['items_open']}; {o['episodes']} control failure episodes")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # the audit alone, as an operator runs it: a fresh process (CLI), its own peak memory
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "hardencheck", "audit", "--from", str(d0), "--to", str(d1),
                    "--no-bundle-check", "--history", str(db), "--out", str(out / "cli"), "--lang", args.lang],
                   check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    t_cli = time.perf_counter() - t0
    rss_cli = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"hardencheck audit (fresh process, load + compute + render + write): {t_cli:.2f} s, peak RSS "
          f"{rss_cli:.0f} MiB; this benchmark process peak RSS {rss:.0f} MiB")

    if args.chromium:
        sys.path.insert(0, str(ROOT / "tests"))
        from test_report_html import Chromium, chromium_binary

        binary = chromium_binary()
        if not binary:
            print("chromium: not installed (apt-get install -y chromium)")
            return 1
        browser = Chromium(binary, Path(tempfile.mkdtemp(prefix="hc-chromium-")))
        try:
            url = (out / "audit.html").resolve().as_uri()
            session, seconds = browser.open(url)
            n = browser.evaluate("document.getElementsByTagName('*').length", session)
            p = browser.problems(session)
            errors = len(p["console"]) + len(p["exceptions"]) + len([e for e in p["log"]
                                                                     if e["level"] in ("error", "warning")])
            print(f"chromium: load event after {seconds:.2f} s; {n} elements; console errors/warnings {errors}; "
                  f"requests {len(p['requests'])} ({'only the file' if p['requests'] == [url] else p['requests']})")
        finally:
            browser.close()
    print(f"files: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
