"""``hardencheck tom show|coverage|lint``: the TOM catalog, its items and which controls prove them.

Everything printed from a catalog (ids, titles, texts, parameters) is escaped: a title such as
"Zugang [Admin]" prints as written, never as Rich markup."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from hardencheck.cli.common import EXIT_OK, Parser
from hardencheck.config import load_settings
from hardencheck.judge import tom
from hardencheck.judge.attestations import load_attestations, state
from hardencheck.judge.controls import load_controls

COMMANDS = {"tom": "the TOM catalog: its items and which controls prove them"}

#: the coverage table's rows (tom.COVERAGE) in words
COVERAGE_WORDS = {
    "full": "fully proven by controls",
    "partial": "partly proven by controls (met only with an attestation for the rest)",
    "not_checked": "technical, not checked (no control yet: a coverage gap)",
    "organisational": "organisational (a person attests it)",
}


def add_parsers(sub) -> None:
    t = sub.add_parser("tom", help=COMMANDS["tom"])
    tsub = t.add_subparsers(dest="tom_command", required=True, parser_class=Parser)
    for name, helptext in (("show", "print the catalog tree with each item's controls"),
                           ("coverage", "how each measure is proven: the coverage table and its list; "
                                        "controls that prove no item"),
                           ("lint", "validate the catalog against the control library (every error at once)")):
        x = tsub.add_parser(name, help=helptext)
        x.add_argument("catalog", nargs="?", metavar="FILE", help="catalog file (same as --tom)")
        x.add_argument("--tom", default=os.environ.get("HARDENCHECK_TOM"),
                       help="catalog file (default: $HARDENCHECK_TOM, else controls/tom/default.yml)")
        x.add_argument("--controls", help="control library folder")
        if name == "coverage":
            x.add_argument("--attestations", metavar="FILE", help="attestation file: count the attested measures "
                                                                  "and list those with neither a control nor a "
                                                                  "valid attestation")
            x.add_argument("--config", help="hardencheck.yml (its `attestations:`)")
            x.add_argument("--markdown", action="store_true", help="print the coverage table and list as Markdown")
        if name in ("show", "coverage"):
            x.add_argument("--lang", choices=["en", "de"], default="en",
                           help="language of the catalog's titles (a title only in the other one is marked)")


def run(args, console: Console) -> int:
    controls = load_controls(args.controls)
    catalog = tom.load_catalog(args.catalog or args.tom, controls)
    if args.tom_command == "lint":
        console.print(f"{len(catalog.measures())} measure(s) OK in {catalog.path} "
                      f"(catalog {catalog.info.id} {catalog.info.version}, format {catalog.format})", markup=False)
        hint = tom.migration_hint(catalog)
        if hint:
            console.print(f"note: {hint}", markup=False)
        return EXIT_OK
    if args.tom_command == "coverage":
        path = args.attestations or load_settings(args.config).attestations
        att = load_attestations(path, catalog) if path else None
        if args.markdown:
            console.print(markdown_coverage(catalog, _valid_attested(att), args.lang), markup=False,
                          highlight=False, soft_wrap=True)
            return EXIT_OK
        code = _coverage(console, catalog, controls, _valid_attested(att), args.lang)
        if att is not None:
            _attestation_coverage(console, catalog, att, args.lang)
        return code
    return _show(console, catalog, args.lang)


def _valid_attested(att) -> set[str] | None:
    """The measures with an attestation valid today (UTC); None without an attestation file."""
    if att is None:
        return None
    today = datetime.now(timezone.utc).date()
    return {e.measure for e in att.entries if state(e, today) == "valid"}


def _controls_text(m) -> str:
    return ", ".join(u.id + (" " + json.dumps(u.params, ensure_ascii=False, default=str) if u.params else "")
                     for u in m.uses or [])


def coverage_counts(catalog, attested: set[str] | None) -> list[tuple[str, int, int | None]]:
    """(class, measures, of them with a valid attestation or None) per row of the table."""
    cov = tom.coverage(catalog, [])
    return [(k, len(cov[k]), None if attested is None or k == "full" else len(set(cov[k]) & attested))
            for k in tom.COVERAGE]


def markdown_coverage(catalog, attested: set[str] | None = None, lang: str = "en") -> str:
    """The coverage table and the measure list as Markdown (controls/tom/README.md's tables)."""
    def cell(s: str) -> str:
        return str(s).replace("|", "\\|").replace("\n", " ")

    total = len(catalog.measures())
    lines = [f"Coverage of {cell(catalog.info.title.get(lang))} ({cell(catalog.info.id)} "
             f"{cell(catalog.info.version)}): {total} measures", "",
             "| how the measure is proven | measures | share |" + (" attested |" if attested is not None else ""),
             "| --- | ---: | ---: |" + (" ---: |" if attested is not None else "")]
    for k, n, a in coverage_counts(catalog, attested):
        lines.append(f"| {COVERAGE_WORDS[k]} | {n} | {round(100 * n / total) if total else 0} % |"
                     + (f" {'' if a is None else a} |" if attested is not None else ""))
    lines += ["", "| measure | title | proof | controls |", "| --- | --- | --- | --- |"]
    for m in catalog.measures():
        lines.append(f"| {cell(m.id)} | {cell(m.title.marked(lang))} | {tom.proof_class(m)} "
                     f"| {cell(_controls_text(m)) or '—'} |")
    return "\n".join(lines)


def _coverage(console: Console, catalog, controls, attested: set[str] | None, lang: str = "en") -> int:
    cov = tom.coverage(catalog, [lc.id for lc in controls.controls])
    by_id = {it.id: it for it, _, _ in catalog.walk()}
    total = len(catalog.measures())
    console.print(f"[bold]{escape(catalog.info.title.marked(lang))}[/] ({escape(catalog.info.id)} "
                  f"{escape(catalog.info.version)}): {total} measure(s)")
    t = Table(title="coverage")
    for col in ("how the measure is proven", "measures", "share") + (("attested",) if attested is not None else ()):
        t.add_column(col, justify="left" if col.startswith("how") else "right")
    for k, n, a in coverage_counts(catalog, attested):
        t.add_row(COVERAGE_WORDS[k], str(n), f"{round(100 * n / total) if total else 0} %",
                  *(("" if a is None else str(a),) if attested is not None else ()))
    console.print(t)
    lst = Table(title="measures")
    for col in ("measure", "title", "proof", "controls"):
        lst.add_column(col)
    for m in catalog.measures():
        lst.add_row(escape(m.id), escape(m.title.marked(lang)), tom.proof_class(m), escape(_controls_text(m)) or "—")
    console.print(lst)
    console.print(f"\n{len(cov['organisational_items'])} item(s) without a technical control "
                  "(organisational: a person's attestation; technical: not checked yet):")
    for i in cov["organisational_items"]:
        console.print(f"  {i}  {by_id[i].title.marked(lang)}", markup=False)
    if not cov["organisational_items"]:
        console.print("  none: every item is proven by at least one control")
    console.print(f"\n{len(cov['unmapped_controls'])} control(s) that prove no item of this catalog:")
    for c in cov["unmapped_controls"]:
        console.print(f"  {c}  {controls.by_id()[c].control.title}", markup=False)
    if not cov["unmapped_controls"]:
        console.print("  none: every control proves at least one item")
    return EXIT_OK


def _attestation_coverage(console: Console, catalog, att, lang: str = "en") -> int:
    """The measures with neither a control nor an attestation valid today (UTC), and why."""
    today = datetime.now(timezone.utc).date()
    states: dict[str, list[tuple[str, str]]] = {}
    for e in att.entries:
        states.setdefault(e.measure, []).append((state(e, today), e.valid_until.isoformat()))
    cov = tom.coverage(catalog, [], attested={m for m, sts in states.items() if any(s == "valid" for s, _ in sts)})
    by_id = {it.id: it for it, _, _ in catalog.walk()}
    console.print(f"\n{len(cov['unattested_items'])} item(s) without a technical control and without an attestation "
                  f"valid today ({today.isoformat()}, UTC) in {att.path}:", markup=False)
    for i in cov["unattested_items"]:
        why = ", ".join(f"attestation {s.replace('_', ' ')} (valid until {u})" for s, u in states.get(i, []))
        console.print(f"  {i}  {by_id[i].title.marked(lang)}" + (f"  [{why}]" if why else ""), markup=False)
    if not cov["unattested_items"]:
        console.print("  none: every organisational item has a valid attestation")
    return EXIT_OK


def _show(console: Console, catalog, lang: str) -> int:
    root = Tree(f"[bold]{escape(catalog.info.title.marked(lang))}[/] ({escape(catalog.info.id)} "
                f"{escape(catalog.info.version)}, {escape(str(catalog.info.date))})")
    nodes = {(): root}
    organisational = "organisatorisch" if lang == "de" else "organisational"
    not_checked = "technisch, nicht geprüft" if lang == "de" else "technical, not checked"
    for it, depth, parents in catalog.walk():
        parent = nodes[tuple(parents)]
        label = f"[bold]{escape(it.id)}[/] {escape(it.title.marked(lang))}"
        if it.items is None:
            cat = tom.CATEGORIES[it.category][lang] if it.category in tom.CATEGORIES else "—"
            refs = ", ".join(tom.ART32[a][lang].split(":")[0] for a in it.articles)
            ctl = escape(_controls_text(it)) if it.uses else (not_checked if it.kind == "technical" else organisational)
            extra = [x for x in (("partly" if lang == "en" else "teilweise") if it.proof == "partial" else "",
                                 ("all hosts" if lang == "en" else "alle Server") if it.require else "") if x]
            label += (f"  [dim]{escape(cat)} · {escape(refs)}[/]  → {ctl}"
                      + (f" [dim]({escape(', '.join(extra))})[/]" if extra else ""))
        node = parent.add(label)
        if it.items is not None and it.text is not None:
            node.add(f"[italic]{escape(it.text.marked(lang))}[/]")
        nodes[tuple(parents + [it.id])] = node
    console.print(root)
    return EXIT_OK
