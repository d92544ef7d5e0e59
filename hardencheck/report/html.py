"""The auditor's report: one self-contained HTML file, organised by TOM item.

Rendered from the results.json document alone (``render(doc, lang)``), with jinja2 templates in
``templates/`` (autoescaping on, undefined variables are errors). This module only prepares data
for the templates; no HTML is built in Python.

Safety: every string that came from a host (outputs, actual values, messages, host names, noise)
is hostile. It is autoescaped; control, invisible and bidi characters are split out here so the
template shows them as highlighted visible escapes; very long texts are shown up to the 64 KiB
evidence limit with the rest counted. The page carries a Content-Security-Policy that allows no
script and no fetch at all (``default-src 'none'``), only inline styles and data: images.

Size: a 500-host fleet stays usable because the TOM view lists hosts per status instead of
per-host tables, and each host's results and raw evidence are folded in <details> (present in
the file, laid out only when opened).
"""

from __future__ import annotations

import gc
import hashlib
import json
import re
from functools import lru_cache
from typing import Any

import jinja2

from hardencheck import __version__
from hardencheck.errors import REASONS
from hardencheck.report.i18n_html import REASONS_DE, REASONS_EN_EXTRA, SEVERITY, STATUS, T
from hardencheck.results import SEVERITY_ORDER
from hardencheck.judge.tom import ART32, CATEGORIES, ROLLUP

#: Characters shown as visible escapes: C0/C1 controls (not \n and \t), DEL, zero-width and
#: direction-changing characters, line/paragraph separators, BOM, U+FFFD (invalid UTF-8) and lone
#: surrogates (a JSON file can hold "\udcff", which cannot be encoded).
_SPECIAL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufffd\ud800-\udfff]")
#: Evidence limit per stream (as collected); longer texts are cut here with the rest counted.
LIMIT = 64 * 1024
#: Shown before "… N more bytes" folds the rest of a long text.
PREVIEW_CHARS = 3000
PREVIEW_LINES = 40
#: In the TOM view, per-host tables are shown up to this many hosts; above, host lists per status.
TABLE_HOSTS = 30
#: Probe snippets are printed in every evidence record up to this many hosts; above, once in the appendix.
INLINE_SNIPPET_HOSTS = 10
#: Hosts folded open by default up to this many.
OPEN_HOSTS = 3

SEVERITIES = sorted(SEVERITY_ORDER, key=lambda s: -SEVERITY_ORDER[s])
RESULT_STATUSES = ("fail", "error", "pass", "not_applicable", "skipped")
CHART_STATUSES = ("met", "not_met", "not_verified", "organisational", "other")
_STATUS_RANK = {s: i for i, s in enumerate(RESULT_STATUSES)}


class _A:
    """An attribute bag for the per-row hot data, readable as ``row.status`` (templates) and as
    ``row["status"]`` / ``row.get("status")`` (Python). jinja2 looks attributes up first: these are
    found in the instance dict without a Python-level call, where a dict (or a dict subclass with
    ``__getattr__``) costs a caught AttributeError per lookup. A missing key is an AttributeError,
    then a KeyError for jinja2's item lookup, so the template sees Undefined as for a dict."""

    def __init__(self, d: dict | None = None, /, **kw: Any) -> None:
        if d:
            self.__dict__.update(d)
        if kw:
            self.__dict__.update(kw)

    def __getitem__(self, key: str) -> Any:
        return self.__dict__[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.__dict__[key] = value

    def get(self, key: str, default: Any = None) -> Any:
        return self.__dict__.get(key, default)


def canonical_bytes(doc: dict) -> bytes:
    """results.json as hardencheck writes it (results.write_json_atomic)."""
    return (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8", "surrogatepass")


def _escape_char(ch: str) -> str:
    if ch == "\ufffd":
        return "\ufffd"
    o = ord(ch)
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}"


def segments(text: Any) -> list[tuple[bool, str]]:
    """Text -> [(is_escape, part)]: special characters become visible escapes of their own."""
    s = text if isinstance(text, str) else str(text)
    if not _SPECIAL.search(s):
        return [(False, s)]
    out: list[tuple[bool, str]] = []
    pos = 0
    for m in _SPECIAL.finditer(s):
        if m.start() > pos:
            out.append((False, s[pos:m.start()]))
        out.append((True, _escape_char(m.group())))
        pos = m.end()
    if pos < len(s):
        out.append((False, s[pos:]))
    return out


def clip(text: Any, preview: bool = True) -> _A:
    """A long text -> head (shown), tail (folded: "… N more bytes") and cut bytes beyond LIMIT."""
    s = text if isinstance(text, str) else str(text)
    if len(s) <= PREVIEW_CHARS and (not preview or s.count("\n") < PREVIEW_LINES):
        # the common case, short and shown whole (what the general code below also gives)
        return _A(head=s, tail="", tail_bytes=0, cut=0, simple=not _SPECIAL.search(s))
    cut = 0
    if len(s) > LIMIT // 4:                      # cheap test first: most texts are short
        b = s.encode("utf-8", "replace")
        if len(b) > LIMIT:
            cut = len(b) - LIMIT
            s = b[:LIMIT].decode("utf-8", "ignore")
    head, tail = s, ""
    if preview:
        n = PREVIEW_CHARS
        if s.count("\n", 0, n) >= PREVIEW_LINES:   # else the loop below would change nothing
            nl = -1
            for _ in range(PREVIEW_LINES):
                nl = s.find("\n", nl + 1, n)
                if nl < 0:
                    break
            else:
                n = nl + 1
        if len(s) > n:
            head, tail = s[:n], s[n:]
    head_plain = not _SPECIAL.search(head)
    # simple: shown as the head alone (no fold, nothing cut, no escapes), the common case that
    # the templates print without a macro call
    return _A(head=head, tail=tail, tail_bytes=len(tail.encode("utf-8", "replace")) if tail else 0, cut=cut,
              simple=head_plain and not tail and not cut)


def _plain(s: Any) -> bool:
    """Shown as is (the template's ``plain`` test): a string without special characters."""
    return isinstance(s, str) and not _SPECIAL.search(s)


def jvalue(v: Any) -> str:
    """A fact value as JSON text (strings quoted, so "" and null are told apart)."""
    return _JSON(v)


#: json.dumps(v, ensure_ascii=False) without building an encoder per call
_JSON = json.JSONEncoder(ensure_ascii=False).encode


class Lang:
    def __init__(self, lang: str):
        self.lang = lang

    def t(self, key: str, **kw: Any) -> Any:
        s = T[key][self.lang]
        return s.format(**kw) if kw else s

    def status(self, s: str, rollup: bool = False) -> str:
        key = "not_applicable_m" if rollup and s == "not_applicable" else s
        return STATUS[key][self.lang][0]

    def status_def(self, s: str, rollup: bool = False) -> str:
        key = "not_applicable_m" if rollup and s == "not_applicable" else s
        return STATUS[key][self.lang][1]

    def sev(self, s: str) -> str:
        return SEVERITY.get(s, {}).get(self.lang, s)

    def reason(self, code: str | None) -> str:
        if not code:
            return ""
        if self.lang == "de":
            return REASONS_DE.get(code, code)
        return REASONS.get(code) or REASONS_EN_EXTRA.get(code, code)

    def category(self, key: str | None) -> str:
        if not key:
            return "—"
        return CATEGORIES.get(key, {}).get(self.lang, key)

    def art32(self, letter: str | None) -> str:
        if not letter:
            return ""
        return ART32.get(letter, {}).get(self.lang, letter)

    def text(self, d: Any) -> str:
        """A {de, en} text of the catalog in this language (or whatever exists)."""
        if isinstance(d, dict):
            return d.get(self.lang) or d.get("en") or d.get("de") or ""
        return "" if d is None else str(d)


def _pct(num: int, den: int) -> float | None:
    return round(100.0 * num / den, 1) if den else None


def build_context(doc: dict, lang: str, results_sha256: str | None = None) -> dict[str, Any]:
    L = Lang(lang)
    sha256 = results_sha256 or hashlib.sha256(canonical_bytes(doc)).hexdigest()
    run = doc.get("run", {})
    hosts = list(doc.get("hosts", []))
    results = doc.get("results", [])
    evidence = doc.get("evidence", {})
    controls = doc.get("controls", [])
    tom = doc.get("tom") or {"catalog": {}, "items": []}

    ctl_index = {c["id"]: i for i, c in enumerate(controls)}
    host_index = {h["name"]: i for i, h in enumerate(hosts)}
    ctl_by_id = {c["id"]: c for c in controls}

    # results per host and per (control) ------------------------------------------------------
    by_host: dict[str, list[dict]] = {h["name"]: [] for h in hosts}
    by_control: dict[str, list[dict]] = {}
    ev_anchor: dict[str, str] = {}
    for key in evidence:
        ev_anchor[key] = f"e{len(ev_anchor)}"
    for r in results:
        hi = host_index.get(r["host"])
        if hi is None:                           # a result for a host without a record
            hi = len(host_index)
            host_index[r["host"]] = hi
            hosts.append({"name": r["host"], "identity": {}, "status": "error", "error": None,
                          "started_at": None, "ended_at": None})
            by_host[r["host"]] = []
        ci = ctl_index.get(r["control"], -1)
        ev = r.get("evidence") or {}
        row = _A({
            "r": _A(r), "host_i": hi, "anchor": f"r{hi}-{ci if ci >= 0 else r['control']}",
            "ctl_anchor": f"c{ci}" if ci >= 0 else None,
            "title": ctl_by_id.get(r["control"], {}).get("title", ""),
            "actual": _actual(r.get("actual")),
            # effective parameters, shown only where they differ from the control's defaults
            "params": clip(jvalue(r["params"])) if r.get("params") and
            r["params"] != ctl_by_id.get(r["control"], {}).get("params") else None,
            "evidence": [(s.split("/", 1)[-1], ev_anchor[s]) for s in ev.get("sections", []) if s in ev_anchor],
            # precomputed once per result for the hot per-row template code
            "host_plain": _plain(r["host"]), "expected_plain": _plain(r.get("expected")),
            "message_plain": _plain(r.get("message")),
            "status_label": L.status(r["status"]) if r["status"] in STATUS else None,
            "sev_label": L.sev(r.get("severity")), "reason_title": L.reason(r.get("reason")),
        })
        # evidence links as (separator, name, anchor, name is plain)
        row.evlinks = [(", " if k else "", name, anchor, _plain(name)) for k, (name, anchor) in enumerate(row.evidence)]
        by_host[r["host"]].append(row)
        by_control.setdefault(r["control"], []).append(row)

    # hosts -----------------------------------------------------------------------------------
    ev_by_host: dict[str, list[tuple[str, dict]]] = {}
    for key, rec in evidence.items():
        ev_by_host.setdefault(rec.get("host", key.split("/", 1)[0]), []).append((key, rec))
    # probe snippets: inline in each record for small runs; for fleets, each distinct snippet once
    # in the appendix and referenced (by number and sha256) from the records
    snippet_ref = len(ev_by_host) > INLINE_SNIPPET_HOSTS
    snippets: dict[str, dict[str, Any]] = {}
    if snippet_ref:
        for rec in evidence.values():
            code = rec.get("code", "")
            if code not in snippets:
                sha = hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()
                snippets[code] = _A({"n": len(snippets) + 1, "anchor": f"s{len(snippets) + 1}",
                                     "sha": sha, "sha16": sha[:16],
                                     "code": clip(code, preview=False), "probe": rec.get("probe", ""),
                                     "command": rec.get("command", "")})
    labels = {k: L.t(k) for k in ("exit", "bytes", "collected", "host_key")}
    host_views = []
    for i, h in enumerate(hosts):
        rows = by_host.get(h["name"], [])
        counts = {s: 0 for s in RESULT_STATUSES}
        for row in rows:
            st = row.r.status
            counts[st] = counts.get(st, 0) + 1
        rows.sort(key=lambda row: (_STATUS_RANK.get(row.r.status, 9), -SEVERITY_ORDER.get(row.r.severity, 0),
                                   row.r.control))
        unreached = h.get("status") != "ok"
        fp = (h.get("identity") or {}).get("host_key_fingerprint") or "—"
        evs = [_evidence_view(k, rec, ev_anchor[k], fp, snippets if snippet_ref else None, labels)
               for k, rec in ev_by_host.get(h["name"], [])]
        host_views.append({
            "i": i, "h": h, "id": h.get("identity") or {}, "rows": rows, "counts": counts,
            "unreached": unreached, "evidence": evs,
            "noise": clip(h.get("noise") or "") if h.get("noise") else None,
            "error_ids": [row.r.control for row in rows] if unreached else [],
            "os": h.get("os") or {}, "exec": h.get("exec") or {},
        })

    # TOM tree and summary ----------------------------------------------------------------------
    items = tom.get("items", [])
    host_names = [h["name"] for h in hosts]
    tree = []
    measures = []
    for k, it in enumerate(items):
        entry = {"it": it, "anchor": f"m{k}", "title": L.text(it.get("title")),
                 "text": L.text(it.get("text")) if it.get("text") else ""}
        if not it.get("group"):
            per_host = it.get("hosts", {})
            by_status: dict[str, list[tuple[str, int]]] = {}
            for hn in host_names:
                s = per_host.get(hn)
                if s:
                    by_status.setdefault(s, []).append((hn, host_index[hn]))
            hc = {s: len(v) for s, v in by_status.items()}
            judged = hc.get("met", 0) + hc.get("not_met", 0) + hc.get("not_verified", 0)
            entry.update({
                "by_status": [(s, by_status[s]) for s in ROLLUP if s in by_status],
                "host_counts": hc, "host_pct": _pct(hc.get("met", 0), judged),
                "controls": [_control_in_measure(c, ctl_by_id, ctl_index, by_control.get(c, []), len(hosts))
                             for c in it.get("controls") or []],
            })
            measures.append(entry)
        tree.append(entry)

    cats: dict[str, dict[str, Any]] = {}
    for m in measures:
        key = m["it"].get("category") or ""
        c = cats.setdefault(key, {"key": key, "name": L.category(key), "counts": {s: 0 for s in CHART_STATUSES},
                                  "n": 0, "pairs_met": 0, "pairs_judged": 0})
        st = m["it"]["status"]
        c["counts"][st if st in CHART_STATUSES else "other"] += 1
        c["n"] += 1
        c["pairs_met"] += m["host_counts"].get("met", 0)
        c["pairs_judged"] += sum(m["host_counts"].get(s, 0) for s in ("met", "not_met", "not_verified"))
    order = {k: i for i, k in enumerate(CATEGORIES)}
    categories = sorted(cats.values(), key=lambda c: order.get(c["key"], 99))
    total = {"name": L.t("total"), "counts": {s: sum(c["counts"][s] for c in categories) for s in CHART_STATUSES},
             "n": sum(c["n"] for c in categories), "pairs_met": sum(c["pairs_met"] for c in categories),
             "pairs_judged": sum(c["pairs_judged"] for c in categories)}
    for c in categories + [total]:
        judged = c["counts"]["met"] + c["counts"]["not_met"] + c["counts"]["not_verified"]
        c["pct"] = _pct(c["counts"]["met"], judged)
        c["host_pct"] = _pct(c["pairs_met"], c["pairs_judged"])
    chart = _chart(categories)

    # findings by severity and errors by reason ---------------------------------------------------
    failing_by_sev: dict[str, dict[str, list]] = {}      # severity -> control -> failing rows
    for cid, rows in by_control.items():
        for row in rows:
            if row.r.status == "fail":
                failing_by_sev.setdefault(row.r.severity, {}).setdefault(cid, []).append(row)
    findings = []
    for sev in SEVERITIES:
        ctls = []
        for cid, failing in failing_by_sev.get(sev, {}).items():
            if failing:
                c = ctl_by_id.get(cid, {"id": cid, "title": "", "severity": sev})
                ctls.append({"c": c, "anchor": f"f{ctl_index.get(cid, cid)}", "ctl_anchor": f"c{ctl_index.get(cid, -1)}",
                             "rows": failing, "expected": _common_expected(failing)})
        ctls.sort(key=lambda x: x["c"]["id"])
        findings.append({"sev": sev, "controls": ctls, "n": sum(len(x["rows"]) for x in ctls)})
    errors: dict[str, dict[str, Any]] = {}
    for r in results:
        if r["status"] == "error":
            e = errors.setdefault(r.get("reason") or "internal", {"n": 0, "hosts": {}})
            e["n"] += 1
            e["hosts"][r["host"]] = host_index[r["host"]]
    errors_list = sorted(({"reason": k, "n": v["n"], "hosts": list(v["hosts"].items())} for k, v in errors.items()),
                         key=lambda e: -e["n"])

    # overall ---------------------------------------------------------------------------------------
    mc = total["counts"]
    if mc["not_met"]:
        overall = ("not_met", L.t("overall_not_met", n=mc["not_met"]))
    elif mc["not_verified"]:
        overall = ("not_verified", L.t("overall_not_verified", n=mc["not_verified"]))
    elif mc["met"]:
        overall = ("met", L.t("overall_met"))
    else:
        overall = ("other", L.t("overall_none"))
    inv = run.get("inventory") or {}
    unreached = [(h["name"], i) for i, h in enumerate(hosts) if h.get("status") != "ok"]
    opts = run.get("options") or {}
    exit_code = run.get("exit_code")
    exit_meaning = {0: L.t("exit_0"), 1: L.t("exit_1", x=opts.get("fail_on", "info")), 2: L.t("exit_2"),
                    3: L.t("exit_3")}.get(exit_code, "")

    return {
        "L": L, "lang": lang, "doc": doc, "run": run, "inv": inv, "opts": opts,
        "catalog": tom.get("catalog") or {}, "has_tom": bool(items),
        "sha256": sha256,
        "hosts": host_views, "open_hosts": len(hosts) <= OPEN_HOSTS,
        "planned": inv.get("hosts") or [], "not_scanned": inv.get("not_scanned") or [],
        "environments": _environments(hosts),
        "checked": [h["name"] for h in hosts if h.get("status") == "ok"], "unreached": unreached,
        "tree": tree, "measures": measures, "categories": categories, "total": total, "chart": chart,
        "findings": findings, "n_fail": sum(f["n"] for f in findings), "errors": errors_list,
        "overall": overall, "exit_code": exit_code, "exit_meaning": exit_meaning,
        "controls": [{"c": c, "anchor": f"c{i}", "params": [(k, jvalue(v)) for k, v in (c.get("params") or {}).items()],
                      "refs": [(k, v) for k, v in (c.get("references") or {}).items() if v]}
                     for i, c in enumerate(controls)],
        "severities": SEVERITIES, "result_statuses": RESULT_STATUSES, "rollup": ROLLUP,
        "reasons": list(REASONS) + list(REASONS_EN_EXTRA),
        "version": __version__, "table_hosts": TABLE_HOSTS,
        "snippets": sorted(snippets.values(), key=lambda x: x["n"]),
    }


def _evidence_view(key: str, rec: dict, anchor: str, fp: str, snippets: dict | None, labels: dict) -> _A:
    """One evidence record as the template shows it. The header lines are joined here into plain
    strings (escaped by the template's autoescaping like the values they are made of): 39,200
    records on a 500-host fleet, where every ``{{ }}`` costs."""
    name = key.split("/", 1)[-1]
    exit_code = rec["exit_code"]
    return _A({
        "key": key, "name": name, "anchor": anchor, "rec": _A(rec),
        # "<name> · exit <code> · <stdout>/<stderr> bytes"
        "summary": f"{name} · {labels['exit']} {exit_code if exit_code is not None else '—'} · "
                   f"{rec['stdout_bytes']}/{rec['stderr_bytes']} {labels['bytes']}",
        "probe_command": f"{rec['probe']} / {rec['command']}",
        # " · collected <start> – <end> · host key <fingerprint>"
        "collected": f" · {labels['collected']} {rec['started_at'] or '—'} – {rec['ended_at'] or '—'} · "
                     f"{labels['host_key']} {fp}",
        "stdout": clip(rec.get("stdout", "")), "stderr": clip(rec.get("stderr", "")),
        "code": None if snippets is not None else clip(rec.get("code", ""), preview=False),
        "snippet": snippets[rec.get("code", "")] if snippets is not None else None,
        "args": [(j, jvalue(a)) for j, a in enumerate(rec.get("args") or [], 1)],
    })


def _actual(actual: Any) -> _A | None:
    """The facts judged, one ``fact = JSON value`` per line, as one clipped text."""
    if actual is None:
        return None
    if isinstance(actual, dict):
        return clip("\n".join(f"{k} = {jvalue(v)}" for k, v in actual.items()))
    return clip(jvalue(actual))


def _common_expected(rows: list[dict]) -> str | None:
    exp = {row.r.get("expected", "") for row in rows}
    return exp.pop() if len(exp) == 1 else None


def _control_in_measure(cid: str, ctl_by_id: dict, ctl_index: dict, rows: list[dict], n_hosts: int) -> dict:
    c = ctl_by_id.get(cid, {"id": cid, "title": "", "severity": "info"})
    by_status: dict[str, list[dict]] = {}
    for row in rows:
        by_status.setdefault(row.r.status, []).append(row)
    non_pass = [row for s in ("fail", "error") for row in by_status.get(s, [])]
    return {"c": c, "ctl_anchor": f"c{ctl_index[cid]}" if cid in ctl_index else None,
            "by_status": [(s, by_status[s]) for s in RESULT_STATUSES if s in by_status],
            "counts": {s: len(v) for s, v in by_status.items()},
            "expected": _common_expected(rows) if rows else None,
            "table": rows if len(rows) <= TABLE_HOSTS else None, "non_pass": non_pass}


def _chart(categories: list[dict]) -> dict[str, Any]:
    """Geometry of the stacked bar chart (one bar per category, segments per measure status)."""
    width, label_w, bar_h, gap = 860, 340, 18, 8
    bar_w = width - label_w - 60
    top = 8
    bars = []
    for k, c in enumerate(categories):
        y = top + k * (bar_h + gap)
        x = label_w
        segs = []
        for s in CHART_STATUSES:
            n = c["counts"][s]
            if n:
                w = bar_w * n / c["n"]
                segs.append({"status": s, "x": round(x, 2), "w": round(w, 2), "n": n})
                x += w
        bars.append({"name": c["name"], "y": y, "segs": segs, "n": c["n"], "pct": c["pct"]})
    legend_y = top + len(categories) * (bar_h + gap) + 6
    # legend: two rows (the four judged statuses, then "other": not assessed / not applicable)
    return {"width": width, "height": legend_y + 42, "label_w": label_w, "bar_w": bar_w, "bar_h": bar_h,
            "bars": bars, "legend_y": legend_y}


def _environments(hosts: list[dict]) -> list[tuple[str, int]]:
    """Inventory groups of the scanned hosts with how many hosts each has (the scope's environments)."""
    counts: dict[str, int] = {}
    for h in hosts:
        for g in h.get("groups") or []:
            counts[g] = counts.get(g, 0) + 1
    return sorted(counts.items())


@lru_cache(maxsize=1)
def jinja_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("hardencheck.report", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    )
    env.filters["seg"] = segments
    env.tests["plain"] = _plain                  # t() would change nothing
    return env


def render(doc: dict, lang: str = "en", results_sha256: str | None = None) -> bytes:
    """The report. ``results_sha256``: the sha256 of the results.json bytes when the caller has
    read them (saves re-serialising a large document); otherwise computed over
    ``canonical_bytes(doc)``, which are exactly the bytes hardencheck writes."""
    if lang not in ("en", "de"):
        raise ValueError(f"unknown language {lang!r}")
    # The cyclic garbage collector is paused while the page is built: a fleet's context and page
    # are millions of new objects, none of them cyclic garbage, and each collection pass re-walks
    # them (and the document): about half of the render time at 500 hosts x 60 controls.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        ctx = build_context(doc, lang, results_sha256)
        return jinja_environment().get_template("report.html.j2").render(**ctx).encode("utf-8", "replace")
    finally:
        if gc_was_enabled:
            gc.enable()
