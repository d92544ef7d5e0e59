"""``hardencheck tom show|coverage|lint``: the TOM catalog, its items and which controls prove them."""

from __future__ import annotations

import os
from datetime import datetime, timezone

from rich.console import Console
from rich.tree import Tree

from hardencheck.cli.common import EXIT_OK, Parser
from hardencheck.config import load_settings
from hardencheck.judge import tom
from hardencheck.judge.attestations import load_attestations, state
from hardencheck.judge.controls import load_controls

COMMANDS = {"tom": "the TOM catalog: its items and which controls prove them"}


def add_parsers(sub) -> None:
    t = sub.add_parser("tom", help=COMMANDS["tom"])
    tsub = t.add_subparsers(dest="tom_command", required=True, parser_class=Parser)
    for name, helptext in (("show", "print the catalog tree with each item's controls"),
                           ("coverage", "items without a technical control, controls that prove no item"),
                           ("lint", "validate the catalog against the control library")):
        x = tsub.add_parser(name, help=helptext)
        x.add_argument("--tom", default=os.environ.get("HARDENCHECK_TOM"),
                       help="catalog file (default: $HARDENCHECK_TOM, else controls/tom/default.yml)")
        x.add_argument("--controls", help="control library folder")
        if name == "coverage":
            x.add_argument("--attestations", metavar="FILE", help="attestation file: also list the measures "
                                                                  "with neither a control nor a valid attestation")
            x.add_argument("--config", help="hardencheck.yml (its `attestations:`)")
        if name == "show":
            x.add_argument("--lang", choices=["en", "de"], default="en")


def run(args, console: Console) -> int:
    controls = load_controls(args.controls)
    catalog = tom.load_catalog(args.tom, set(controls.by_id()))
    if args.tom_command == "lint":
        console.print(f"{len(catalog.measures())} measure(s) OK in {catalog.path} "
                      f"(catalog {catalog.info.id} {catalog.info.version})")
        return EXIT_OK
    if args.tom_command == "coverage":
        code = _coverage(console, catalog, controls)
        path = args.attestations or load_settings(args.config).attestations
        if path:
            _attestation_coverage(console, catalog, load_attestations(path, catalog))
        return code
    return _show(console, catalog, args.lang)


def _coverage(console: Console, catalog, controls) -> int:
    cov = tom.coverage(catalog, [lc.id for lc in controls.controls])
    by_id = {it.id: it for it, _, _ in catalog.walk()}
    console.print(f"[bold]{catalog.info.title.en}[/] ({catalog.info.id} {catalog.info.version})")
    console.print(f"\n{len(cov['organisational_items'])} item(s) without a technical control "
                  "(need a person's attestation):")
    for i in cov["organisational_items"]:
        console.print(f"  {i}  {by_id[i].title.en}", markup=False)
    if not cov["organisational_items"]:
        console.print("  none: every item is proven by at least one control")
    console.print(f"\n{len(cov['unmapped_controls'])} control(s) that prove no item of this catalog:")
    for c in cov["unmapped_controls"]:
        console.print(f"  {c}  {controls.by_id()[c].control.title}", markup=False)
    if not cov["unmapped_controls"]:
        console.print("  none: every control proves at least one item")
    return EXIT_OK


def _attestation_coverage(console: Console, catalog, att) -> int:
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
        console.print(f"  {i}  {by_id[i].title.en}" + (f"  [{why}]" if why else ""), markup=False)
    if not cov["unattested_items"]:
        console.print("  none: every organisational item has a valid attestation")
    return EXIT_OK


def _show(console: Console, catalog, lang: str) -> int:
    root = Tree(f"[bold]{getattr(catalog.info.title, lang)}[/] ({catalog.info.id} {catalog.info.version}, "
                f"{catalog.info.date})")
    nodes = {(): root}
    for it, depth, parents in catalog.walk():
        parent = nodes[tuple(parents)]
        label = f"[bold]{it.id}[/] {getattr(it.title, lang)}"
        if it.items is None:
            cat = tom.CATEGORIES[it.category][lang]
            ctl = ", ".join(it.controls) if it.controls else (
                "organisatorisch" if lang == "de" else "organisational")
            label += f"  [dim]{cat} · Art. 32(1)({it.art32})[/]  → {ctl}"
        nodes[tuple(parents + [it.id])] = parent.add(label)
    console.print(root)
    return EXIT_OK
