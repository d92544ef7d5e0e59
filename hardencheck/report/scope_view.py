"""The scope section ("Were all servers tested?") of the run reports: results.json's ``scope`` block
(``scan.scope``) as words and rows in the report's language, for HTML (``templates/scope.html.j2``),
Markdown and the terminal summary alike. Rows hold plain text from the register and the inventory:
hostile, escaped by the format that prints them."""

from __future__ import annotations

from typing import Any

from hardencheck.report import i18n
from hardencheck.report.i18n import SCOPE, word


def w(key: str, lang: str, **kw: Any) -> str:
    s = SCOPE[key][lang if lang in i18n.LANGS else "en"]
    return s.format(**kw) if kw else s


def summary(scope: dict, lang: str) -> str:
    c = scope.get("counts") or {}
    return w("summary", lang, m=c.get("missing_from_inventory", 0), u=c.get("not_in_register", 0),
             s=c.get("stale", 0), days=(scope.get("stale") or {}).get("days", "?"))


def register_line(scope: dict, lang: str) -> str:
    r = scope.get("register") or {}
    c = scope.get("counts") or {}
    return (f"{r.get('path')} ({r.get('format')}, {r.get('entries')} {w('entries', lang)}, "
            f"{c.get('matched', 0)} {w('matched', lang)}) · sha256 {r.get('sha256')}")


def _when(value: str | None, lang: str) -> str:
    return i18n.timestamp(value, lang) if value else w("never", lang)


def tables(scope: dict, lang: str) -> list[tuple[str, str, list[str], list[list[str]]]]:
    """(key, title, header, rows) of the three lists: missing from the inventory, not in the
    register, not successfully scanned for N days."""
    missing = [[m.get("name") or "", m.get("environment") or "–", str(m.get("line", "")),
                (f"{w('ambiguous', lang)}: {', '.join(m['ambiguous'])}" if m.get("ambiguous") else m.get("note") or "")]
               for m in scope.get("missing_from_inventory") or []]
    unknown = [[u.get("host") or "", u.get("address") or ""] for u in scope.get("not_in_register") or []]
    st = scope.get("stale") or {}
    stale = [[h.get("host") or "", _when(h.get("last_ok"), lang)
              + (f" ({i18n.days(h['days_since_ok'], lang)})" if h.get("days_since_ok") is not None else ""),
              _when(h.get("last_attempt"), lang) if h.get("last_attempt") else "–",
              word(i18n.REASON, h["last_reason"], lang) if h.get("last_reason") else "–",
              w(h.get("this_run") or "not_scanned", lang)]
             for h in st.get("hosts") or []]
    return [("missing", w("missing", lang), [w(k, lang) for k in ("name", "environment", "line", "note")], missing),
            ("unknown", w("unknown", lang), [w(k, lang) for k in ("host", "address")], unknown),
            ("stale", w("stale", lang, days=st.get("days", "?")),
             [w(k, lang) for k in ("host", "last_ok", "last_attempt", "reason", "this_run")], stale)]


def context(scope: dict | None, lang: str) -> dict | None:
    """What ``templates/scope.html.j2`` shows; None without a scope block."""
    if not scope:
        return None
    st = scope.get("stale") or {}
    return {"title": w("title", lang), "intro": w("intro", lang, days=st.get("days", "?")),
            "summary": summary(scope, lang), "register_label": w("register", lang),
            "register": register_line(scope, lang), "none": w("none", lang),
            "no_history": None if st.get("history", True) else w("no_history", lang),
            "flag": w("flag", lang) if scope.get("fail_on_missing_hosts") else None,
            "tables": [{"key": k, "title": t, "header": h, "rows": r} for k, t, h, r in tables(scope, lang)]}


def audit_summary(scope: dict, lang: str) -> str:
    c = scope.get("counts") or {}
    share = scope.get("completeness")
    return w("audit_summary", lang, t=c.get("tested", 0), n=c.get("register", 0),
             p="—" if share is None else i18n.pct(100 * share, lang), o=c.get("never_ok", 0),
             m=c.get("never_planned", 0), u=c.get("unregistered", 0))


def audit_context(scope: dict | None, lang: str) -> dict | None:
    """audit.json's ``scope`` (``audit --expect-hosts``; judge.scope.period) in the shape of
    ``context``, so ``templates/scope.html.j2`` shows it in the annual report too."""
    if not scope:
        return None
    r = scope.get("register") or {}
    head = [w(k, lang) for k in ("name", "environment", "line")]
    never_planned = [[m.get("name") or "", m.get("environment") or "–", str(m.get("line", ""))]
                     for m in scope.get("never_planned") or []]
    never_ok = [[m.get("name") or "", m.get("environment") or "–", str(m.get("line", "")), str(m.get("runs", 0)),
                 i18n.timestamp(m.get("last_seen"), lang)] for m in scope.get("never_ok") or []]
    unregistered = [[u.get("host") or "", str(u.get("runs", 0)), str(u.get("checked", 0))]
                    for u in scope.get("unregistered") or []]
    tables = [("never_planned", w("never_planned", lang), head, never_planned),
              ("never_ok", w("never_ok", lang), head + [w("runs", lang), w("last_seen", lang)], never_ok),
              ("unregistered", w("unregistered", lang), [w("host", lang), w("runs", lang), w("checked", lang)],
               unregistered)]
    return {"title": w("title", lang), "intro": w("audit_intro", lang), "summary": audit_summary(scope, lang),
            "register_label": w("register", lang), "none": w("none", lang), "no_history": None, "flag": None,
            "register": f"{r.get('path')} ({r.get('format')}, {r.get('entries')} {w('entries', lang)}) · sha256 "
                        f"{r.get('sha256')}",
            "tables": [{"key": k, "title": t, "header": h, "rows": rows} for k, t, h, rows in tables]}
