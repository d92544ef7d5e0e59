"""The data the run report's template shows (``build_context``), prepared from the report view.

The figures (host counts, failures by severity and control, errors by reason) are the view's
(``report.view``); this module arranges them with the per-result rows, anchors, evidence
records, the TOM tree and the chart for ``templates/report.html.j2``. No HTML is built here.

Size: a 500-host fleet stays usable because the TOM view lists hosts per status instead of
per-host tables, and each host's results and raw evidence are folded in <details> (present in
the file, laid out only when opened).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from hardencheck import __version__
from hardencheck.judge.tom import CATEGORIES, ROLLUP
from hardencheck.report import i18n
from hardencheck.report.html_attestations import attestation_context
from hardencheck.report.html_cover import cover_context
from hardencheck.report.html_signoff import signoff_context
from hardencheck.report.html_snippets import Snippets
from hardencheck.report.html_exceptions import exceptions_context
from hardencheck.report import scope_view
from hardencheck.report.html_findings import common_expected, findings_context
from hardencheck.report.html_text import _A, clip, jvalue, plain
from hardencheck.report.i18n_html import Lang
from hardencheck.report.view import SEVERITIES, ReportView
from hardencheck.results import SEVERITY_ORDER

#: In the TOM view, per-host tables are shown up to this many hosts; above, host lists per status.
TABLE_HOSTS = 30
#: Probe snippets are printed in every evidence record up to this many hosts; above, once in the appendix.
INLINE_SNIPPET_HOSTS = 10
#: Hosts folded open by default up to this many.
OPEN_HOSTS = 3

RESULT_STATUSES = ("fail", "error", "waived", "pass", "not_applicable", "skipped")
#: met_with_exceptions (only waived failures) is judged but never met: it lowers the compliance figures
CHART_STATUSES = ("met", "met_with_exceptions", "not_met", "not_verified", "organisational", "other")
#: attestation statuses in the summary's figures: attested holds, the others are not verified
CHART_AS = {"attested": "met", "attestation_expired": "not_verified", "not_attested": "not_verified"}
_STATUS_RANK = {s: i for i, s in enumerate(RESULT_STATUSES)}


def _pct(num: int, den: int) -> float | None:
    return round(100.0 * num / den, 1) if den else None


def build_context(view: ReportView, lang: str) -> dict[str, Any]:
    L = Lang(lang)
    doc = view.doc
    run = doc.get("run", {})
    # the view's hosts: the document's records, then a bare one for results without a record
    hosts = [hr.record if hr.record is not None else
             {"name": hr.name, "identity": {}, "status": hr.status, "error": None, "started_at": None,
              "ended_at": None} for hr in view.hosts]
    results = view.results_in(lang)         # expected and message in the report's language
    evidence = doc.get("evidence", {})
    controls = view.controls_in(lang)       # title, description, rationale, remediation likewise
    tom = doc.get("tom") or {"catalog": {}, "items": []}

    ctl_index = {c["id"]: i for i, c in enumerate(controls)}
    host_index = {hr.name: hr.index for hr in view.hosts}
    ctl_by_id = {c["id"]: c for c in controls}

    # results per host and per (control) ------------------------------------------------------
    by_host: dict[str, list[dict]] = {h["name"]: [] for h in hosts}
    by_control: dict[str, list[dict]] = {}
    ev_anchor: dict[str, str] = {}
    for key in evidence:
        ev_anchor[key] = f"e{len(ev_anchor)}"
    rows_by_index = []
    for r in results:
        hi = host_index[r["host"]]
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
            "host_plain": plain(r["host"]), "expected_plain": plain(r.get("expected")),
            "message_plain": plain(r.get("message")),
            "status_label": L.status(r["status"]) if r["status"] in i18n.STATUS else None,
            "sev_label": L.sev(r.get("severity")), "reason_title": L.reason(r.get("reason")),
        })
        row.evlinks = _evlinks(row.evidence)
        by_host.setdefault(r["host"], []).append(row)
        rows_by_index.append(row)
        by_control.setdefault(r["control"], []).append(row)

    # hosts -----------------------------------------------------------------------------------
    ev_by_host = _keys_by_host(evidence)
    # probe snippets: inline in each record for small runs; for fleets, each distinct snippet once
    # in the appendix, numbered as the host view meets them, and referenced (by number and sha256)
    # from the records (report.html_snippets)
    snippets = Snippets() if len(ev_by_host) > INLINE_SNIPPET_HOSTS else None
    labels = {k: L.t(k) for k in ("exit", "bytes", "collected", "host_key", "tool_missing", "tool_untrusted",
                                  "tool_outside")}
    host_views = []
    for i, h in enumerate(hosts):
        rows = by_host.get(h["name"], [])
        counts = {s: view.hosts[i].counts.get(s, 0) for s in RESULT_STATUSES}
        rows.sort(key=lambda row: (_STATUS_RANK.get(row.r.status, 9), -SEVERITY_ORDER.get(row.r.severity, 0),
                                   row.r.control))
        unreached = h.get("status") != "ok"
        fp = (h.get("identity") or {}).get("host_key_fingerprint") or "—"
        evs = _EvidenceViews(ev_by_host.get(h["name"], []), evidence, ev_anchor, fp, snippets, labels)
        host_views.append({
            "i": i, "h": h, "id": h.get("identity") or {}, "rows": rows, "counts": counts,
            "unreached": unreached, "evidence": evs,
            "noise": clip(h.get("noise") or "") if h.get("noise") else None,
            "noise_truncated": bool(h.get("noise_truncated")), "noise_bytes": h.get("noise_bytes"),
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
            judged = sum(hc.get(s, 0) for s in ("met", "met_with_exceptions", "not_met", "not_verified"))
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
        st = CHART_AS.get(m["it"]["status"], m["it"]["status"])
        c["counts"][st if st in CHART_STATUSES else "other"] += 1
        c["n"] += 1
        c["pairs_met"] += m["host_counts"].get("met", 0)
        c["pairs_judged"] += sum(m["host_counts"].get(s, 0) for s in ("met", "met_with_exceptions", "not_met",
                                                                     "not_verified"))
    order = {k: i for i, k in enumerate(CATEGORIES)}
    categories = sorted(cats.values(), key=lambda c: order.get(c["key"], 99))
    total = {"name": L.t("total"), "counts": {s: sum(c["counts"][s] for c in categories) for s in CHART_STATUSES},
             "n": sum(c["n"] for c in categories), "pairs_met": sum(c["pairs_met"] for c in categories),
             "pairs_judged": sum(c["pairs_judged"] for c in categories)}
    for c in categories + [total]:
        judged = sum(c["counts"][s] for s in ("met", "met_with_exceptions", "not_met", "not_verified"))
        c["pct"] = _pct(c["counts"]["met"], judged)
        c["host_pct"] = _pct(c["pairs_met"], c["pairs_judged"])
    chart = _chart(categories)

    # findings: failures by severity and errors by control, each row with an evidence excerpt ------
    fctx = findings_context(view, rows_by_index, ctl_by_id, ctl_index, evidence, hosts)
    errors_list = [{"reason": e.reason, "n": e.n, "hosts": [(name, host_index[name]) for name in e.hosts]}
                   for e in view.errors_by_reason]

    # overall ---------------------------------------------------------------------------------------
    mc = total["counts"]
    if mc["not_met"]:
        overall = ("not_met", L.t("overall_not_met", n=mc["not_met"]))
    elif mc["not_verified"]:
        overall = ("not_verified", L.t("overall_not_verified", n=mc["not_verified"]))
    elif mc["met"] or mc["met_with_exceptions"]:
        overall = ("met", L.t("overall_met"))
        if mc["met_with_exceptions"]:
            overall = ("met_with_exceptions", f"{L.t('overall_met')}: {mc['met_with_exceptions']} "
                                              f"{L.status('met_with_exceptions', True)}")
    else:
        overall = ("other", L.t("overall_none"))
    inv = run.get("inventory") or {}
    unreached = [(h["name"], i) for i, h in enumerate(hosts) if h.get("status") != "ok"]
    opts = run.get("options") or {}
    exit_code = run.get("exit_code")
    exit_meaning = {0: L.t("exit_0"), 1: L.t("exit_1", x=view.fail_on),
                    2: L.t("exit_2") if view.complete else L.t("exit_2_interrupted"),
                    3: L.t("exit_3")}.get(exit_code, "")

    return {
        "L": L, "lang": lang, "doc": doc, "run": run, "inv": inv, "opts": opts,
        # figures in the language's format (i18n: 12,5 % / 12.5 %; 1.234 / 1,234)
        "fmt_pct": lambda x, digits=1: i18n.pct(x, lang, digits), "fmt_num": lambda x: i18n.num(x, lang),
        "fmt_time": lambda v: i18n.timestamp(v, lang) if v else "—", "fmt_date": lambda v: i18n.date(v, lang),
        "catalog": tom.get("catalog") or {}, "has_tom": bool(items),
        "sha256": view.sha256,
        "hosts": host_views, "open_hosts": len(hosts) <= OPEN_HOSTS,
        "planned": inv.get("hosts") or [], "not_scanned": inv.get("not_scanned") or [],
        "environments": _environments(hosts),
        "checked": [h["name"] for h in hosts if h.get("status") == "ok"], "unreached": unreached,
        "tree": tree, "measures": measures, "categories": categories, "total": total, "chart": chart,
        **fctx, "errors": errors_list,
        "overall": overall, "exit_code": exit_code, "exit_meaning": exit_meaning,
        "cover": cover_context(view, exit_code, exit_meaning, L),
        "controls": [{"c": c, "anchor": f"c{i}", "params": [(k, jvalue(v)) for k, v in (c.get("params") or {}).items()],
                      "refs": [(k, v) for k, v in (c.get("references") or {}).items() if v]}
                     for i, c in enumerate(controls)],
        "severities": SEVERITIES, "result_statuses": RESULT_STATUSES, "rollup": ROLLUP,
        "reasons": list(i18n.REASON),
        "version": __version__, "table_hosts": TABLE_HOSTS,
        # on paper a fleet's annex lists each host's results that did not pass, not its whole table
        "fleet_print": len(hosts) > TABLE_HOSTS,
        "snippets": snippets if snippets is not None else [],
        "register": exceptions_context(view, lang),
        "attestations": attestation_context(view, lang),
        "signoff": signoff_context(view, L),
        "scope": scope_view.context(view.scope, lang),     # were all servers tested? (scan --expect-hosts)
    }


def _keys_by_host(evidence: Mapping[str, dict]) -> dict[str, list[str]]:
    """Evidence keys per host, in document order. A scan's evidence is read back from the host
    files one host at a time (records.host_files) and knows each key's host without reading it."""
    host_of = getattr(evidence, "host_of", None)
    out: dict[str, list[str]] = {}
    for key in evidence:
        host = host_of(key) if host_of else evidence[key].get("host", key.split("/", 1)[0])
        out.setdefault(host, []).append(key)
    return out


class _EvidenceViews:
    """A host's evidence records as the template shows them, made when the template reaches the
    host (and not kept): a fleet's evidence is never in memory all at once."""

    def __init__(self, keys: list[str], evidence: Mapping[str, dict], anchors: dict[str, str], fp: str,
                 snippets: Snippets | None, labels: dict):
        self.keys, self.evidence, self.anchors, self.fp = keys, evidence, anchors, fp
        self.snippets, self.labels = snippets, labels

    def __len__(self) -> int:
        return len(self.keys)

    def __iter__(self) -> Iterator[_A]:
        for k in self.keys:
            yield _evidence_view(k, self.evidence[k], self.anchors[k], self.fp, self.snippets, self.labels)


def _evidence_view(key: str, rec: dict, anchor: str, fp: str, snippets: Snippets | None, labels: dict) -> _A:
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
        "snippet": snippets.of(rec) if snippets is not None else None,
        "args": [(j, jvalue(a)) for j, a in enumerate(rec.get("args") or [], 1)],
        "tools": _tools_text(rec["tools"], labels) if rec.get("tools") else None,
    })


def _evlinks(evidence: list[tuple[str, str]]) -> list[tuple[str, str, str, bool]]:
    """Evidence links as (separator, name, anchor, name is plain): "probe/command", and only
    "command" after a link of the same probe ("firewall.status/nft, iptables, ufw")."""
    out, probe = [], None
    for k, (name, anchor) in enumerate(evidence):
        p, _, cmd = name.partition("/")
        shown = cmd if p == probe and cmd else name
        probe = p
        out.append((", " if k else "", shown, anchor, plain(shown)))
    return out


def _tools_text(tools: list[dict], labels: dict) -> str:
    """Which binary answered, as the probe script resolved it: ``sshd = /usr/sbin/sshd (uid 0,
    mode 755)``, a symlink's target, and what was not installed, not trusted or outside the system
    directories (collect.tool_trust writes these records)."""
    parts = []
    for t in tools:
        name, status = t.get("tool", "?"), t.get("status")
        if status == "missing":
            parts.append(f"{name}: {labels['tool_missing']}")
            continue
        if not t.get("path"):
            parts.append(f"{name}: {status}")
            continue
        text = f"{name} = {t['path']}"
        if t.get("real_path") and t["real_path"] != t["path"]:
            text += f" → {t['real_path']}"
        if "uid" in t:
            text += f" (uid {t['uid']}, mode {t.get('mode')})"
        if status != "ok":
            text += f" {labels['tool_untrusted']}"
        elif not t.get("system_dir"):
            text += f" {labels['tool_outside']}"
        parts.append(text)
    return "; ".join(parts)


def _actual(actual: Any) -> _A | None:
    """The facts judged, one ``fact = JSON value`` per line, as one clipped text."""
    if actual is None:
        return None
    if isinstance(actual, dict):
        return clip("\n".join(f"{k} = {jvalue(v)}" for k, v in actual.items()))
    return clip(jvalue(actual))


def _control_in_measure(cid: str, ctl_by_id: dict, ctl_index: dict, rows: list[dict], n_hosts: int) -> dict:
    c = ctl_by_id.get(cid, {"id": cid, "title": "", "severity": "info"})
    by_status: dict[str, list[dict]] = {}
    for row in rows:
        by_status.setdefault(row.r.status, []).append(row)
    non_pass = [row for s in ("fail", "error") for row in by_status.get(s, [])]
    return {"c": c, "ctl_anchor": f"c{ctl_index[cid]}" if cid in ctl_index else None,
            "by_status": [(s, by_status[s]) for s in RESULT_STATUSES if s in by_status],
            "counts": {s: len(v) for s, v in by_status.items()},
            "expected": common_expected(rows) if rows else None,
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

