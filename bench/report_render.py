"""Fleet-size benchmark of the HTML report: render time, file size, and (optionally) how long
headless Chromium takes to load it.

    python3 bench/report_render.py                       # synthetic 500 hosts x 60 controls
    python3 bench/report_render.py --hosts 500 --controls 60 --chromium
    python3 bench/report_render.py --from reports/RUN/results.json --hosts 500   # clone a real scan

The synthetic document uses the real control library (the first N controls) and the default TOM
catalog, with realistic evidence: per host ~80 probe sections whose output sizes follow a real
lab scan (median ~30 bytes, a few KB for sshd -T / sysctl / find walks, one 64 KiB truncated
section on 1 % of hosts), ~270-byte probe snippets, 2 % of hosts unreachable, and per control
a mix of pass / fail / error / not_applicable. ``--from`` instead clones the reachable hosts of a
real results.json under new names. With ``--chromium`` the file is opened in headless Chromium
(DevTools pipe, see tests/report/test_report_html.py) and the time to the load event is reported.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hardencheck.judge import tom  # noqa: E402
from hardencheck.scan.metadata import control_json as _control_json  # noqa: E402
from hardencheck.judge.controls import load_controls  # noqa: E402
from hardencheck.report import html as report_html, view as report_view  # noqa: E402
from hardencheck.results import STATUSES, document_bytes  # noqa: E402

#: (section name, typical stdout bytes) of one host, after a real lab scan's distribution
SECTION_SIZES = [4400, 3600, 3100, 2600, 2500, 2200, 2000, 1800, 1500, 1300, 1100, 900, 800, 700, 600,
                 500, 420, 380, 300, 260] + [120] * 10 + [60] * 20 + [26] * 20 + [0] * 10


def _snippet(rng: random.Random, i: int) -> str:
    words = ["if", "[", "-r", "/etc/ssh/sshd_config", "];", "then", "sed", "-n", "'s/^x//p'", "fi;",
             "command", "-v", "systemctl", ">/dev/null", "2>&1", "||", "exit", "127;", "printf", "'%s\\n'"]
    r = random.Random(i)
    return " ".join(r.choice(words) for _ in range(45))


def _output(rng: random.Random, n: int) -> str:
    lines, size = [], 0
    while size < n:
        line = f"key_{rng.randrange(1000)}={'v' * rng.randrange(4, 60)}"
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines)[:n] + ("\n" if n else "")


def synthetic(n_hosts: int, n_controls: int, seed: int = 1) -> dict:
    rng = random.Random(seed)
    lib = load_controls(None)
    catalog = tom.load_catalog(None, set(lib.by_id()))
    lcs = lib.controls[:n_controls]
    controls = [_control_json(lc) for lc in lcs]
    items_of = catalog.items_of_control()
    hosts, results, evidence = [], [], {}
    now = "2026-11-23T06:00:00.000Z"
    for hi in range(n_hosts):
        name = f"srv{hi:04d}.example.internal"
        unreachable = rng.random() < 0.02
        ident = {"name": name, "address": f"10.{hi // 250}.{hi % 250}.10", "port": 22, "user": "audit",
                 "transport": "ssh", "host_key_type": None if unreachable else "ssh-ed25519",
                 "host_key_fingerprint": None if unreachable else
                 "SHA256:" + hashlib.sha256(name.encode()).hexdigest()[:43],
                 "host_key_trusted_on_first_use": False, "via": [], "sudo": True}
        hosts.append({"name": name, "identity": ident, "status": "error" if unreachable else "ok",
                      "error": {"reason": "unreachable", "message": f"{ident['address']}:22: connection refused"}
                      if unreachable else None,
                      "started_at": now, "ended_at": now,
                      "os": None if unreachable else {"id": "debian", "version_id": "12", "pretty_name":
                                                      "Debian GNU/Linux 12 (bookworm)", "hostname": name,
                                                      "machine_id": hashlib.md5(name.encode()).hexdigest(),
                                                      "kernel": "6.1.0-28-amd64"},
                      "exec": {"command": "sudo -n -- /bin/sh -s", "script_sha256": "0" * 64, "script_bytes": 32705,
                               "exit_code": None if unreachable else 0, "timed_out": False,
                               "completed": not unreachable},
                      "noise": ""})
        sections = []
        if not unreachable:
            for si, size in enumerate(SECTION_SIZES):
                key = f"{name}/probe{si % 40}.x/cmd{si}"
                truncated = si == 0 and rng.random() < 0.01
                out = _output(rng, 65536 if truncated else max(0, int(size * rng.uniform(0.6, 1.4))))
                evidence[key] = {"host": name, "probe": f"probe{si % 40}.x", "command": f"cmd{si}",
                                 "code": _snippet(rng, si), "args": [], "exit_code": 0, "stdout": out,
                                 "stderr": "", "stdout_bytes": len(out) * (3 if truncated else 1),
                                 "stderr_bytes": 0, "truncated": truncated, "complete": True,
                                 "started_at": now, "ended_at": now}
                sections.append(key)
        for ci, c in enumerate(controls):
            if unreachable:
                status, reason = "error", "unreachable"
            else:
                x = rng.random()
                status, reason = (("pass", None) if x < 0.72 else ("fail", None) if x < 0.88 else
                                  ("error", "command_missing") if x < 0.93 else ("not_applicable", "precondition"))
            secs = [] if unreachable else [sections[(ci * 3 + k) % len(sections)] for k in range(2)]
            results.append({
                "host": name, "control": c["id"], "status": status, "severity": c["severity"],
                "expected": "`value` is one of \"a\", \"b\"",
                "actual": None if status in ("error", "not_applicable") else
                {"value": rng.choice(["a", "b", "c"]), "count": rng.randrange(100)},
                "message": "`value` is \"c\" (expected: is one of \"a\", \"b\")" if status == "fail" else
                ("command not found" if status == "error" else ""),
                "reason": reason, "tom": items_of.get(c["id"], []), "params": c["params"],
                "evidence": {"probe": c["probe"], "args": {}, "sections": secs, "collected_at": now,
                             "host": ident}})
    names = [h["name"] for h in hosts]
    counts = {s: sum(1 for r in results if r["status"] == s) for s in STATUSES}
    doc = {"schema_version": "1.0",
           "run": {"id": "20261123T060000Z-bench", "started_at": now, "ended_at": now, "complete": True,
                   "tool": {"name": "hardencheck", "version": "bench"}, "python": sys.version.split()[0],
                   "scanner": {"host": "bench", "user": "bench"},
                   "inventory": {"path": "fleet.yml", "sha256": "0" * 64, "hosts": names, "not_scanned": []},
                   "controls": {"path": lib.root, "sha256": lib.sha256, "ids": [c["id"] for c in controls]},
                   "options": {"limit": None, "tags": None, "control_ids": None, "fail_on": "info"},
                   "exit_code": 1},
           "summary": {"hosts": len(hosts), "hosts_with_errors": [h["name"] for h in hosts if h["status"] != "ok"],
                       "status_counts": counts},
           "controls": controls, "hosts": hosts, "results": results, "evidence": evidence}
    doc["tom"] = {"catalog": tom.document(catalog), "items": tom.rollup(catalog, results, names)}
    return doc


def cloned(path: Path, n_hosts: int) -> dict:
    src = json.loads(path.read_text(encoding="utf-8"))
    ok = [h for h in src["hosts"] if h["status"] == "ok"] or src["hosts"]
    doc = {k: v for k, v in src.items() if k not in ("hosts", "results", "evidence")}
    doc["hosts"], doc["results"], doc["evidence"] = [], [], {}
    for i in range(n_hosts):
        h = copy.deepcopy(ok[i % len(ok)])
        old, new = h["name"], f"{h['name']}-{i:04d}"
        h["name"] = h["identity"]["name"] = new
        doc["hosts"].append(h)
        for r in src["results"]:
            if r["host"] == old:
                r = copy.deepcopy(r)
                r["host"] = new
                r["evidence"]["sections"] = [new + s[len(old):] for s in r["evidence"].get("sections", [])]
                doc["results"].append(r)
        for k, e in src["evidence"].items():
            if e["host"] == old:
                e = dict(e, host=new)
                doc["evidence"][new + k[len(old):]] = e
    names = [h["name"] for h in doc["hosts"]]
    doc["run"]["inventory"]["hosts"] = names
    doc["summary"]["hosts"] = len(names)
    if "tom" in src:
        catalog = tom.load_catalog(src["tom"]["catalog"]["path"])
        doc["tom"] = {"catalog": src["tom"]["catalog"], "items": tom.rollup(catalog, doc["results"], names)}
    return doc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hosts", type=int, default=500)
    ap.add_argument("--controls", type=int, default=60)
    ap.add_argument("--from", dest="source", type=Path, help="clone the reachable hosts of this results.json")
    ap.add_argument("--lang", default="en", choices=["en", "de"])
    ap.add_argument("--repeat", type=int, default=3, help="renders; the best is reported")
    ap.add_argument("--out", type=Path, help="keep results.json and report.html in this folder")
    ap.add_argument("--chromium", action="store_true", help="time loading the report in headless Chromium")
    args = ap.parse_args()

    t0 = time.perf_counter()
    doc = cloned(args.source, args.hosts) if args.source else synthetic(args.hosts, args.controls)
    gen = time.perf_counter() - t0
    raw = document_bytes(doc)
    out = args.out or Path(tempfile.mkdtemp(prefix="hc-report-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_bytes(raw)
    sha = hashlib.sha256(raw).hexdigest()
    best = best_given = None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        page = report_html.render(report_view.build_view(doc), args.lang)    # sha256 re-serialised here
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
        t0 = time.perf_counter()
        report_html.render(report_view.build_view(doc, results_sha256=sha), args.lang)  # the caller read the file
        dt = time.perf_counter() - t0
        best_given = dt if best_given is None else min(best_given, dt)
    (out / "report.html").write_bytes(page)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"document: {len(doc['hosts'])} hosts x {len(doc['controls'])} controls = {len(doc['results'])} results, "
          f"{len(doc['evidence'])} evidence sections, results.json {len(raw) / 2**20:.1f} MiB (built in {gen:.1f} s)")
    print(f"render ({args.lang}), best of {args.repeat}: {best:.2f} s computing the sha256, {best_given:.2f} s "
          f"given it; report.html {len(page) / 2**20:.1f} MiB; peak RSS {rss:.0f} MiB")
    if args.chromium:
        from tests.report.test_report_html import Chromium, chromium_binary

        binary = chromium_binary()
        if not binary:
            print("chromium: not installed (apt-get install -y chromium)")
            return 1
        work = Path(tempfile.mkdtemp(prefix="hc-chromium-"))
        browser = Chromium(binary, work)
        try:
            session, seconds = browser.open((out / "report.html").resolve().as_uri())
            t0 = time.perf_counter()
            n = browser.evaluate("document.getElementsByTagName('*').length", session)
            js = time.perf_counter() - t0
            t0 = time.perf_counter()
            browser.evaluate("document.getElementById('h0').open = true; document.body.offsetHeight", session)
            open_host = time.perf_counter() - t0
            fcp = browser.evaluate("(performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime",
                                   session)
            p = browser.problems(session)
            print(f"chromium: first contentful paint {fcp / 1000 if fcp else float('nan'):.2f} s, "
                  f"load event after {seconds:.2f} s; {n} elements (query {js:.2f} s); "
                  f"opening one host {open_host:.2f} s; console errors {len(p['console']) + len(p['exceptions'])}; "
                  f"requests {len(p['requests'])}")
        finally:
            browser.close()
    print(f"files: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
