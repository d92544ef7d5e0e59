"""``hardencheck controls lint|list|show|test``: the control library."""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from hardencheck.cli.common import EXIT_FAIL, EXIT_OK, Parser
from hardencheck.errors import ConfigError, ConfigErrors
from hardencheck.judge.controls import load_controls, translation_errors

COMMANDS = {"controls": "the control library"}


def add_parsers(sub) -> None:
    c = sub.add_parser("controls", help=COMMANDS["controls"])
    csub = c.add_subparsers(dest="controls_command", required=True, parser_class=Parser)
    for name, helptext in (("lint", "validate every control file (German de: block included)"), ("list", "list the controls")):
        x = csub.add_parser(name, help=helptext)
        x.add_argument("path", nargs="?", help="control folder (default: the shipped controls/)")
        if name == "list":
            x.add_argument("--lang", choices=("en", "de"), default="en", help="language of the titles")
    test = csub.add_parser("test", help="judge a control folder's cases (<DIR>/tests/<ID>.yml); every control "
                                        "needs a passing and a failing case")
    test.add_argument("path", nargs="?", help="control folder (default: the shipped library and the checkout's "
                                              "tests/controls)")
    show = csub.add_parser("show", help="show one control")
    show.add_argument("id")
    show.add_argument("--controls", help="control folder")


def run(args, console: Console) -> int:
    if args.controls_command == "test":
        return _test(args.path, console)
    if args.controls_command == "lint":
        cs = load_controls(args.path)
        missing = [e for lc in cs.controls for e in translation_errors(lc)]
        if missing:
            raise ConfigErrors(missing)
        console.print(f"{len(cs.controls)} control(s) OK in {cs.root} (sha256 {cs.sha256[:16]}…)")
        return EXIT_OK
    if args.controls_command == "list":
        cs = load_controls(args.path)
        t = Table()
        for col in ("id", "severity", "probe", "tags", "title"):
            t.add_column(col)
        for lc in cs.controls:
            c = lc.control
            t.add_row(c.id, c.severity, c.probe, ",".join(c.tags), c.text("title", args.lang))
        console.print(t)
        return EXIT_OK
    cs = load_controls(args.controls)
    by_id = {i.upper(): lc for i, lc in cs.by_id().items()}   # ids are upper case; ssh-001 means SSH-001
    lc = by_id.get(args.id.upper())
    if lc is None:
        close = difflib.get_close_matches(args.id.upper(), list(by_id), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else "; `hardencheck controls list` lists them"
        raise ConfigError(f"no control {args.id!r}{hint}", field="id")
    # the file as it is, byte for byte (no console wrapping): `controls show X > x.yml` is valid YAML
    sys.stdout.write(Path(lc.file).read_text(encoding="utf-8"))
    sys.stdout.flush()
    return EXIT_OK


def _test(path: str | None, console: Console) -> int:
    """Run a folder's cases (hardencheck.judge.cases): a user folder is loaded merged with the
    library (an id clash is an error), and only its own controls are judged."""
    from hardencheck.judge.cases import case_dir, run_cases

    if path is None:
        cs = load_controls()
        mine = cs
        cases = case_dir(cs, cs.root)
        fixtures = Path(cs.root).resolve().parent / "tests" / "probes"
        results = run_cases(cs, cases, fixture_dir=lambda f, probe: fixtures / probe)
    else:
        load_controls(None, extra=[path])          # ids must not clash with the library's
        mine = load_controls(path)
        cases = case_dir(mine, path)
        results = run_cases(mine, cases)
    if not cases.is_dir():
        raise ConfigError(f"no cases: {cases} is not a folder (a control folder keeps its cases in tests/<ID>.yml)",
                          file=str(cases))
    failed = [r for r in results if not r.ok]
    for r in failed:
        console.print(f"FAIL {r.control} {r.name}: {r.detail}", markup=False, highlight=False, soft_wrap=True)
    console.print(f"{len(results) - len(failed)} of {len(results)} case(s) OK for {len(mine.controls)} control(s) "
                  f"({cases})", markup=False, highlight=False, soft_wrap=True)
    return EXIT_FAIL if failed else EXIT_OK
