"""The annual effectiveness report: one self-contained HTML file from the audit document.

``render(doc, lang)`` takes the document of ``hardencheck.records.audit_document.audit`` (the same figures as
audit.json) and renders ``templates/audit.html.j2`` with the run report's stylesheet, macros, jinja2
environment (autoescaping, strict undefined, the ``seg`` filter that shows control/bidi characters
as visible escapes) and Content-Security-Policy (no script, no fetch). Trend charts are inline SVG
built from numbers only; every string from the history (host names, run ids, titles, the inventory
key, paths) goes through the template's escaping macro.
"""

from __future__ import annotations

import gc
from datetime import date
from typing import Any

from hardencheck import __version__
from hardencheck.judge.tom import CATEGORIES
from hardencheck.records.effectiveness import HEADLINE
from hardencheck.report.audit_text import A
from hardencheck.report.html import encode_stream, jinja_environment
from hardencheck.report.i18n import RESPONSE_ACTION, RESPONSE_STATE, num, word
from hardencheck.report.i18n_html import Lang
from hardencheck.report import scope_view
from hardencheck.report.view import library_title

COLORS = {"held": "#1a7f37", "held_with_exceptions": "#7a5c00", "failed": "#c62828", "not_verified": "#8e24aa",
          None: "#e3e6ea"}
#: badge classes of the shared stylesheet per outcome
BADGE = {"held": "s-met", "held_with_exceptions": "s-met_with_exceptions", "failed": "s-not_met", "not_verified": "s-not_verified", "not_applicable": "s-other",
         "not_assessed": "s-other"}


class _AL(Lang):
    """The run report's language helper plus this report's strings and number formats."""

    def a(self, key: str, **kw: Any) -> Any:
        s = A[key][self.lang]
        return s.format(**kw) if kw else s

    def outcome(self, o: str | None) -> str:
        return super().outcome(o) if o else A["legend_none"][self.lang]

    def action(self, a: str | None) -> str:
        return word(RESPONSE_ACTION, a, self.lang) if a else "—"

    def rstate(self, s: str | None) -> str:
        return word(RESPONSE_STATE, s, self.lang) if s else "—"

    def state(self, s: str) -> str:
        return A["run_state"].get(s, {}).get(self.lang, s)

    def plural(self, key: str, n: int) -> str:
        return A[key][self.lang][0 if n == 1 else 1].format(n=n)

    def streak(self, runs: int, days: int) -> str:
        return f"{self.plural('run_n', runs)} / {self.plural('day_n', days)}"

    def pair(self, o: str) -> str:
        """A word of the daily chart: a result status, or not checked / unverifiable."""
        return self.a(o) if o in ("not_checked", "unverifiable") else self.status(o)

    def sig(self, s: dict | None) -> str:
        """A bundle's signature state as words."""
        s = s or {}
        st = s.get("status") if s.get("status") in A["sig"] else "unknown"
        return A["sig"][st][self.lang].format(by=s.get("by") or "—")

    def warning(self, w: dict) -> str:
        """One ``period.warnings`` entry of audit.json as a sentence."""
        k = "w_" + w["kind"]
        if k not in A:
            return str(w["kind"])
        return self.a(k, n=w["n"], a=w.get("from") or w.get("first") or "", b=w.get("to") or w.get("last") or "")

    def num(self, x: float, digits: int = 1) -> str:
        return num(x, self.lang, digits)      # the one number rule of every report (report.i18n)

    def pct(self, share: float | None) -> str:
        return "—" if share is None else self.num(100 * share) + " %"

    def dur(self, seconds: int | None) -> str:
        """A duration: days with one decimal from a day on, else hours."""
        if seconds is None:
            return "—"
        if seconds >= 86400:
            return self.num(seconds / 86400) + (" d" if self.lang == "en" else " Tg.")
        return self.num(seconds / 3600) + " h"


#: the daily chart's result colours (hosts x controls of the day's last run); distinct from COLORS, the outcomes'
PAIR_COLORS = {"pass": "#43a047", "waived": "#b8860b", "fail": "#e53935", "error": "#ab47bc",
               "not_checked": "#f48fb1", "unverifiable": "#37474f", "not_applicable": "#b0bec5",
               "skipped": "#dde3e8"}


def _daily_chart(days: list[dict]) -> dict[str, Any]:
    """Geometry of the daily stacked bars: the day's last run's results in percent of its hosts x
    controls (y axis 0-100 %), and a strip of gap days below."""
    width, left, right, top, h = 860, 70, 10, 10, 150
    n = max(len(days), 1)
    plot_w = width - left - right
    bw = plot_w / n
    bars, gaps = [], []
    for k, d in enumerate(days):
        x = left + k * bw
        pairs = d.get("pairs") or {}
        total = pairs.get("total") or 0
        if total:
            y = top + h
            for o in PAIR_COLORS:
                if pairs.get(o):
                    seg = h * pairs[o] / total
                    y -= seg
                    bars.append({"x": round(x, 2), "y": round(y, 2), "w": round(max(bw - (0.4 if bw > 2 else 0), 0.6), 2),
                                 "h": round(seg, 2), "o": o, "date": d["date"], "n": pairs[o], "total": total,
                                 "pct": 100 * pairs[o] / total})
        if d["successful"] == 0:
            gaps.append({"x": round(x, 2), "w": round(max(bw, 0.8), 2), "date": d["date"]})
    # ticks: the first of each month for long periods, else each 7-day block start
    ticks = []
    for k, d in enumerate(days):
        day = date.fromisoformat(d["date"])
        if (n > 62 and day.day == 1) or (n <= 62 and k % 7 == 0):
            ticks.append({"x": round(left + k * bw, 2), "label": d["date"][5:] if n <= 62 else d["date"][:7]})
    legend_y = top + h + 44
    return {"width": width, "height": legend_y + 34, "left": left, "top": top, "h": h, "plot_w": plot_w,
            "bars": bars, "gaps": gaps, "gap_y": top + h + 4, "ticks": ticks, "tick_y": top + h + 26,
            "legend_y": legend_y, "colors": PAIR_COLORS,
            "grid": [{"y": round(top + h - h * p / 100, 2), "p": p} for p in (0, 25, 50, 75, 100)]}


def _strip(weekly: list[str | None] | None) -> dict[str, Any] | None:
    """A heat strip: one cell per week, coloured by its worst outcome."""
    if weekly is None:
        return None
    cw = 4 if len(weekly) > 20 else 12
    return {"w": cw * len(weekly), "cw": cw, "cells": [(k * cw, COLORS[o], o) for k, o in enumerate(weekly)]}


def build_context(doc: dict, lang: str) -> dict[str, Any]:
    L = _AL(lang)
    ctl_anchor = {c["id"]: f"c{k}" for k, c in enumerate(doc["controls"])}
    controls = []
    for c in doc["controls"]:
        controls.append({**c, "anchor": ctl_anchor[c["id"]], "strip": _strip(c["weekly"]),
                         "title": library_title(c["id"], c.get("title"), lang) if c.get("title") else c.get("title")})
    by_ctl = {c["id"]: c for c in controls}
    items = []
    for k, it in enumerate(doc["items"]):
        x = {**it, "anchor": f"m{k}", "title_l": L.text(it.get("title")),
             "text_l": L.text(it.get("text")) if it.get("text") else "",
             "strip": _strip(it.get("weekly")) if not it.get("group") else None,
             "ctls": [by_ctl[c] for c in (it.get("controls") or []) if c in by_ctl],
             "missing_ctls": [c for c in (it.get("controls") or []) if c not in by_ctl]}
        items.append(x)
    measures = [x for x in items if not x.get("group")]
    headline = doc["overall"].get("headline") or {"measures": 0, "classes": {c: [] for c in HEADLINE},
                                                  "not_held_failed": 0, "not_held_incomplete": 0}
    weeks = doc["series"]["weeks"]
    gen = doc.get("generated") or {}
    return {
        "L": L, "doc": doc, "version": __version__, "period": doc["period"], "runs": doc["runs"],
        "catalog": doc.get("catalog") or {}, "gaps": doc["gaps"], "overall": doc["overall"],
        "history": doc.get("history") or {}, "gen": gen, "inventory": doc.get("inventory"),
        "items": items, "measures": measures, "controls": controls,
        "unmapped": [c for c in controls if not c["items"]],
        "hosts": doc["hosts"], "chart": _daily_chart(doc["series"]["days"]), "weeks": weeks,
        "badge": BADGE, "colors": COLORS, "categories": CATEGORIES,
        "exceptions": doc.get("exceptions") or [], "attestations": doc.get("attestations") or [],
        "deviations": doc.get("deviations") or [],
        "headline": headline, "never": [x for x in measures if x["id"] in headline["classes"]["never_verified"]],
        "hl_of": {mid: c for c, ids in headline["classes"].items() for mid in ids},
        "unverifiable": [r for r in doc["runs"]["list"] if (r.get("bundle_check") or {}).get("status")
                         == "unverifiable"],
        "sigs": doc["runs"].get("signatures"), "digest": doc.get("digest_sha256"),
        "scope": scope_view.audit_context(doc.get("scope"), lang),   # audit --expect-hosts (templates/scope.html.j2)
    }


def render(doc: dict, lang: str = "en") -> bytes:
    if lang not in ("en", "de"):
        raise ValueError(f"unknown language {lang!r}")
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        ctx = build_context(doc, lang)
        return encode_stream(jinja_environment().get_template("audit.html.j2").generate(**ctx))
    finally:
        if gc_was_enabled:
            gc.enable()
