"""The report view: what a report counts, built once from a results.json document.

``build_view(doc)`` is the one place where a result is counted for a report. Every renderer
(HTML, Markdown, JUnit, CSV, the terminal summary) takes a ``ReportView`` and takes its
figures from it: status totals, the host rows and their counts, failures by severity and by
control, errors by reason, TOM measure counts, and the SHA-256 of the document the reports
stand for. The view keeps the document itself (``view.doc``) for what a format prints per
result (evidence, actual values, messages), but nothing is counted from it twice.

Counting rule: **every result is counted exactly once, wherever it is counted.** The status
totals, a host's counts and the errors by reason include the ``error`` results of hosts that
could not be scanned at all (unreachable, host key, authentication …), so the errors by reason
add up to the error total. Lists of *individual checks* that could not be completed
(``check_errors``, ``error_groups``) name only hosts that answered: a host that could not be
scanned is listed once, as a host (``hosts_with_errors``, with its reason), instead of once per
control; its results are still in every count. A result whose host has no host record gets a
host row of its own (status ``ok``: its results say something answered for it).

Strings in the view are copied from the document as they are: every one of them may have come
from a host and is escaped by the renderer that prints it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any

from hardencheck.judge.controls import TRANSLATED_FIELDS
from hardencheck.judge.tom import ROLLUP
from hardencheck.records.files import sha256_bytes
from hardencheck.report.sentences import expected_text, message_text
from hardencheck.results import SEVERITY_ORDER, STATUSES, document_bytes

#: a control's text fields, each with a German version in the control's ``de:`` block
CONTROL_TEXT = TRANSLATED_FIELDS
#: severities, worst first
SEVERITIES = tuple(sorted(SEVERITY_ORDER, key=lambda s: -SEVERITY_ORDER[s]))

_SURROGATES = re.compile(r"[\ud800-\udfff]")


def no_surrogates(text: str) -> str:
    """Lone surrogates (``"\\udcff"`` in a JSON file parses into one) cannot be encoded: U+FFFD."""
    return _SURROGATES.sub("\ufffd", text)


@dataclass
class HostRow:
    index: int                       # position in the view's host list (the report's anchors)
    name: str
    address: str
    fingerprint: str | None
    status: str                      # "ok" / "error" (nothing could be collected)
    counts: dict[str, int]           # results per status (every status key present)
    reason: str | None = None        # host.error.reason (also set on an "ok" host with a note)
    message: str | None = None
    record: dict | None = None       # the document's host record (None: results without one)

    @property
    def note(self) -> str:
        return f"{self.reason}: {self.message}" if self.reason or self.message else ""


@dataclass
class ResultLine:
    """One result as the summaries list it (a failure or an error)."""

    index: int                       # position in doc["results"]
    host: str
    control: str
    severity: str
    title: str
    message: str
    reason: str | None = None
    responses: list[dict] = field(default_factory=list)   # the register's entries that match it
    tom: list[str] = field(default_factory=list)          # the TOM measures the result proves
    measure_params: dict | None = None    # judged with a measure's own parameters (tom.results)


@dataclass
class Group:
    """One control failing (or erroring for one reason) on a list of hosts."""

    control: str
    title: str
    severity: str
    hosts: list[str]
    reason: str | None = None


@dataclass
class ReasonCount:
    """Error results with one reason: how many, on which hosts (in the order first seen)."""

    reason: str
    n: int
    hosts: list[str]


@dataclass
class Measure:
    id: str
    title: dict[str, str]
    category: str | None
    status: str
    hosts: list[str]                 # the hosts where the measure has this (overall) status


@dataclass
class ReportView:
    doc: dict = field(repr=False)
    results_sha256: str | None                    # as given by the caller (see ``sha256``)
    run_id: str | None
    complete: bool
    exit_code: int | None
    fail_on: str | None
    started_at: str | None
    ended_at: str | None
    tool_version: str | None
    not_scanned: list[str]
    totals: dict[str, int]                        # results per status (STATUSES order)
    hosts: list[HostRow]
    failures: list[ResultLine]                    # every fail, worst severity first
    failures_by_severity: dict[str, int]          # severity -> fail count (worst first, all keys)
    failure_groups: list[Group]                   # (control -> failing hosts), worst first
    errors_by_reason: list[ReasonCount]           # every error result, by reason (most first)
    check_errors: list[ResultLine]                # error results on hosts that answered
    error_groups: list[Group]                     # check_errors by (control, reason), most hosts first
    tom_counts: dict[str, int] = field(default_factory=dict)     # measures per roll-up status
    waived: list[ResultLine] = field(default_factory=list)       # every waived fail, worst severity first
    tom_open: list[Measure] = field(default_factory=list)        # not_met / not verified (OPEN_TOM)
    # fails of controls judged with a TOM measure's own parameters (results.json tom.results)
    measure_failures: list[ResultLine] = field(default_factory=list)
    signoff: dict | None = None      # the bundle's sign-off (records.signoff.read_signoff), when it has one
    _controls: dict | None = field(default=None, repr=False)

    @property
    def sha256(self) -> str:
        """SHA-256 of the results.json bytes the reports stand for: the caller's, else computed
        (once) over ``results.document_bytes(doc)``, exactly the bytes hardencheck writes."""
        if not self.results_sha256:
            self.results_sha256 = sha256_bytes(document_bytes(self.doc, errors="surrogatepass"))
        return self.results_sha256

    # -- the language's text: the one place a report picks a control's or a result's words ------
    def control(self, cid: str) -> dict:
        """The document's record of control ``cid`` ({} when it has none)."""
        if self._controls is None:
            self._controls = {c.get("id"): c for c in self.doc.get("controls") or []}
        return self._controls.get(cid) or {}

    def control_text(self, cid: str, field: str, lang: str) -> str:
        """A control's ``title``/``description``/``rationale``/``remediation`` in ``lang``: its
        ``de`` block in German (from the control file, results.json 1.4), else the English text."""
        c = self.control(cid)
        if lang != "en":
            text = (c.get(lang) or {}).get(field)
            if text:
                return _s(text)
        return _s(c.get(field))

    def title(self, cid: str, lang: str) -> str:
        return self.control_text(cid, "title", lang)

    def controls_in(self, lang: str) -> list[dict]:
        """The document's controls with their text in ``lang`` (the same list in English)."""
        controls = self.doc.get("controls") or []
        if lang == "en":
            return controls
        return [dict(c, **{f: self.control_text(c.get("id"), f, lang) for f in CONTROL_TEXT if c.get(f)})
                for c in controls]

    def expected(self, r: dict, lang: str) -> str:
        """A result's expectation sentence in ``lang`` (report.sentences)."""
        return expected_text(r, self.control(_s(r.get("control"))), lang)

    def message(self, r: dict, lang: str) -> str:
        """A result's message in ``lang``; host and tool output stay as they are (report.sentences)."""
        return message_text(r, lang)

    def results_in(self, lang: str) -> list[dict]:
        """The document's results with ``expected`` and ``message`` in ``lang`` (the same list in
        English); every other field as it is."""
        results = self.doc.get("results") or []
        if lang == "en":
            return results
        return [dict(r, expected=self.expected(r, lang), message=self.message(r, lang)) for r in results]

    @property
    def attestations(self) -> list[dict]:
        """results.json's attestation entries (judge.attestations.evaluate); [] without a file."""
        return list(((self.doc.get("attestations") or {}).get("entries")) or [])

    @property
    def attestation_counts(self) -> dict[str, int]:
        """Attestations per validity state (valid, expired, not_yet_valid), only those present."""
        out: dict[str, int] = {}
        for e in self.attestations:
            out[_s(e.get("state"))] = out.get(_s(e.get("state")), 0) + 1
        return out

    @property
    def attestation_document_problems(self) -> list[tuple[str, str, str]]:
        """(measure, document path or URL, status) of every document that is missing or changed."""
        return [(_s(e.get("measure")), _s(d.get("path") or d.get("url")), _s(d.get("status")))
                for e in self.attestations for d in e.get("evidence") or [] if d.get("status") != "ok"]

    @property
    def exceptions(self) -> list[dict]:
        """The response register's entries as the scan used them (judge.exceptions.document), each
        with its state on the scan's date; [] when the run had no register."""
        return list(((self.doc.get("exceptions") or {}).get("entries")) or [])

    def exceptions_in(self, *states: str) -> list[dict]:
        """Register entries in one of ``states`` (active, expiring, expired, overdue)."""
        return [e for e in self.exceptions if e.get("state") in states]

    @property
    def deviations(self) -> list[dict]:
        """Parameter overrides that loosen a control (judge.deviations), per host."""
        return list(self.doc.get("deviations") or [])

    @property
    def scope(self) -> dict | None:
        """results.json's ``scope`` (scan --expect-hosts: the asset register against the inventory,
        hosts not successfully scanned for N days; report.scope_view words it); None without one."""
        return self.doc.get("scope") or None

    @property
    def hosts_with_errors(self) -> list[HostRow]:
        """Hosts where nothing could be collected (connection, host key, sudo …)."""
        return [h for h in self.hosts if h.status != "ok"]

    @property
    def host_error_reasons(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for h in self.hosts_with_errors:
            key = h.reason or "unknown"
            out[key] = out.get(key, 0) + 1
        return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


#: Roll-up statuses the summaries list as open: not met, or not verified (attestations included).
OPEN_TOM = ("not_met", "not_verified", "attestation_expired", "not_attested", "not_checked", "partly_verified")


def _s(value: Any) -> str:
    return "" if value is None else str(value)


def effective_fail_on(options: dict) -> str:
    """The threshold the exit code was computed with; results.json before 1.2 saved ``null``
    when --fail-on was not given (then: any failure, or none with --fail-on-new)."""
    return options.get("fail_on") or ("none" if options.get("fail_on_new") else "info")


@functools.lru_cache(maxsize=1)
def _library_text() -> dict[str, Any]:
    from hardencheck.judge.controls import load_controls   # only a report without the controls' text needs it
    try:
        return {lc.id: lc.control for lc in load_controls().controls}
    except Exception:                  # no library (or a broken one): the stored English text stays
        return {}


def library_title(cid: str, english: str | None, lang: str) -> str:
    """A control's title in ``lang`` for a report whose data keeps only the English title (the
    annual report: the history stores titles as judged): the shipped library's ``de`` title, but
    only while its English title is still the one recorded, so a changed control keeps its text."""
    english = _s(english)
    if lang == "en":
        return english
    c = _library_text().get(cid)
    if c is None or c.de is None or " ".join(c.title.split()) != " ".join(english.split()):
        return english
    return c.text("title", lang)


def build_view(doc: dict[str, Any], *, results_sha256: str | None = None, lang: str = "en") -> ReportView:
    """The view of ``doc`` (a parsed results.json, or any dict with ``hosts``, ``results`` and
    optionally ``controls``, ``run``, ``tom``). ``results_sha256``: the hash of the results.json
    bytes when the caller has them; otherwise computed over ``results.document_bytes(doc)``.
    ``lang``: the language of the lines' and groups' titles and messages (the figures are the same
    in every language; a renderer given an English view asks ``title``/``message`` per language)."""
    titles = {c.get("id"): _s(((c.get(lang) or {}) if lang != "en" else {}).get("title") or c.get("title"))
              for c in doc.get("controls") or []}
    results = doc.get("results") or []
    run = doc.get("run") or {}

    per_host: dict[str, dict[str, int]] = {}
    totals = {s: 0 for s in STATUSES}
    for r in results:
        st = r.get("status")
        if st not in totals:
            continue
        totals[st] += 1
        per_host.setdefault(_s(r.get("host")), {s: 0 for s in STATUSES})[st] += 1

    hosts: list[HostRow] = []
    seen: set[str] = set()
    for h in doc.get("hosts") or []:
        name = _s(h.get("name"))
        seen.add(name)
        ident = h.get("identity") or {}
        err = h.get("error") or {}
        hosts.append(HostRow(index=len(hosts), name=name, address=_s(ident.get("address")),
                             fingerprint=ident.get("host_key_fingerprint"), status=_s(h.get("status") or "ok"),
                             counts=per_host.get(name, {s: 0 for s in STATUSES}),
                             reason=err.get("reason"), message=err.get("message"), record=h))
    for r in results:                               # results of a host missing from hosts[]
        name = _s(r.get("host"))
        if name not in seen:
            seen.add(name)
            hosts.append(HostRow(index=len(hosts), name=name, address="", fingerprint=None, status="ok",
                                 counts=per_host.get(name, {s: 0 for s in STATUSES})))
    bad_hosts = {h.name for h in hosts if h.status != "ok"}

    def line(i: int, r: dict) -> ResultLine:
        cid = _s(r.get("control"))
        return ResultLine(index=i, host=_s(r.get("host")), control=cid, severity=_s(r.get("severity") or "info"),
                          title=titles.get(cid, ""), message=_s(r.get("message")) if lang == "en" else
                          message_text(r, lang), reason=r.get("reason"),
                          responses=list(r.get("responses") or []),
                          tom=[_s(t) for t in (r.get("measures") if "measures" in r else r.get("tom")) or []],
                          measure_params=r.get("measure_params"))

    failures = [line(i, r) for i, r in enumerate(results) if r.get("status") == "fail"]
    failures.sort(key=lambda f: (-SEVERITY_ORDER.get(f.severity, 0), f.control, f.host))
    waived = [line(i, r) for i, r in enumerate(results) if r.get("status") == "waived"]
    waived.sort(key=lambda f: (-SEVERITY_ORDER.get(f.severity, 0), f.control, f.host))
    by_sev = {s: 0 for s in SEVERITIES}
    for f in failures:
        by_sev[f.severity] = by_sev.get(f.severity, 0) + 1
    groups: dict[str, Group] = {}
    for f in failures:
        g = groups.setdefault(f.control, Group(f.control, f.title, f.severity, []))
        g.hosts.append(f.host)
    failure_groups = sorted(groups.values(),
                            key=lambda g: (-SEVERITY_ORDER.get(g.severity, 0), -len(g.hosts), g.control))

    reasons: dict[str, tuple[list[int], dict[str, None]]] = {}
    for r in results:
        if r.get("status") == "error":
            n, on = reasons.setdefault(r.get("reason") or "internal", ([0], {}))
            n[0] += 1
            on[_s(r.get("host"))] = None
    errors_by_reason = sorted((ReasonCount(k, n[0], list(on)) for k, (n, on) in reasons.items()),
                              key=lambda e: -e.n)

    check_errors = [line(i, r) for i, r in enumerate(results)
                    if r.get("status") == "error" and _s(r.get("host")) not in bad_hosts]
    check_errors.sort(key=lambda f: (f.control, f.host))
    egroups: dict[tuple[str, str], Group] = {}
    for e in check_errors:
        g = egroups.setdefault((e.control, _s(e.reason)), Group(e.control, e.title, e.severity, [], e.reason))
        g.hosts.append(e.host)
    error_groups = sorted(egroups.values(), key=lambda g: (-len(g.hosts), g.control, _s(g.reason)))

    tom_counts: dict[str, int] = {}
    tom_open: list[Measure] = []
    for m in ((doc.get("tom") or {}).get("items") or []):
        if m.get("group"):
            continue
        st = _s(m.get("status"))
        tom_counts[st] = tom_counts.get(st, 0) + 1
        if st in OPEN_TOM:
            tom_open.append(Measure(id=_s(m.get("id")), title=m.get("title") or {},
                                    category=m.get("category"), status=st,
                                    hosts=[h for h, hs in (m.get("hosts") or {}).items() if hs == st]))
    tom_counts = {s: tom_counts[s] for s in ROLLUP if tom_counts.get(s)}
    measure_failures = [line(i, r) for i, r in enumerate((doc.get("tom") or {}).get("results") or [])
                        if isinstance(r, dict) and r.get("status") == "fail"]
    measure_failures.sort(key=lambda f: (-SEVERITY_ORDER.get(f.severity, 0), f.control, f.host))

    return ReportView(
        doc=doc, results_sha256=results_sha256,
        run_id=run.get("id"), complete=bool(run.get("complete", True)), exit_code=run.get("exit_code"),
        fail_on=effective_fail_on(run.get("options") or {}), started_at=run.get("started_at"),
        ended_at=run.get("ended_at"), tool_version=(run.get("tool") or {}).get("version"),
        not_scanned=list((run.get("inventory") or {}).get("not_scanned") or []),
        totals=totals, hosts=hosts, failures=failures, failures_by_severity=by_sev,
        failure_groups=failure_groups, errors_by_reason=errors_by_reason, check_errors=check_errors,
        error_groups=error_groups, tom_counts=tom_counts, tom_open=tom_open, waived=waived,
        measure_failures=measure_failures)
