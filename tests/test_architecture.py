"""The package's shape, as the README's Architecture section describes it: folders by concern,
imports flowing collect -> judge -> record -> show, small modules, no cycles."""

import ast
from collections import defaultdict
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "hardencheck"
MAX_LINES = 420      # "no module over ~400 lines"
#: modules allowed to be longer, and why (a data table, not logic)
LONG_OK: dict[str, str] = {}


def modules() -> dict[str, Path]:
    out = {}
    for f in PKG.rglob("*.py"):
        parts = f.relative_to(PKG.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = f
    return out


def imports() -> dict[str, set[str]]:
    """module -> hardencheck modules it imports at module level or in functions."""
    mods = modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for name, f in mods.items():
        tree = ast.parse(f.read_text(encoding="utf-8"))
        typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If)
                       and getattr(block.test, "id", None) == "TYPE_CHECKING" for n in ast.walk(block)}
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            targets = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for t in targets:
                while t and t not in mods:
                    t = t.rpartition(".")[0]
                if t and t.startswith("hardencheck") and t != name:
                    graph[name].add(t)
    return graph


def package(mod: str) -> str:
    parts = mod.split(".")
    return ".".join(parts[:2])


def test_at_most_ten_modules_at_the_top():
    top = [p.name for p in PKG.glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert len(top) <= 10, top


def test_no_module_over_the_limit():
    long = {str(f.relative_to(PKG.parent)): n for f in PKG.rglob("*.py")
            if (n := len(f.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not {k: v for k, v in long.items() if k not in LONG_OK}, long


def test_layering():
    graph = imports()
    rules = {
        # the lower layers never reach up
        "hardencheck.judge": {"hardencheck.scan", "hardencheck.records", "hardencheck.report", "hardencheck.cli",
                              "hardencheck.inventory"},
        "hardencheck.records": {"hardencheck.collect", "hardencheck.inventory", "hardencheck.scan",
                                "hardencheck.report", "hardencheck.cli"},
        "hardencheck.report": {"hardencheck.collect", "hardencheck.inventory", "hardencheck.scan", "hardencheck.cli"},
        "hardencheck.collect": {"hardencheck.inventory", "hardencheck.scan", "hardencheck.report", "hardencheck.cli"},
        "hardencheck.inventory": {"hardencheck.judge", "hardencheck.scan", "hardencheck.records",
                                  "hardencheck.report", "hardencheck.cli"},
        "hardencheck.scan": {"hardencheck.cli"},
    }
    bad = [(m, t) for m, ts in graph.items() for t in ts
           if package(t) in rules.get(package(m), set())]
    assert not bad, bad
    # the few reaches across that are by design, and only these
    allowed_cross = {
        ("hardencheck.judge", "hardencheck.collect.probes"),        # a control names a probe and its arguments
        ("hardencheck.inventory", "hardencheck.collect.transports"),  # Host.transport is one of the registry's
        ("hardencheck.collect", "hardencheck.judge"),               # the engine asks for each verdict
        ("hardencheck.collect", "hardencheck.records.redaction"),   # nothing leaves a host unredacted
    }
    for m, ts in graph.items():
        for t in ts:
            pm, pt = package(m), package(t)
            if pm == pt or pt in ("hardencheck.errors", "hardencheck.results", "hardencheck.yaml_source",
                                  "hardencheck.config", "hardencheck"):
                continue
            if (pm, pt) in {("hardencheck.judge", "hardencheck.collect"), ("hardencheck.inventory", "hardencheck.collect"),
                            ("hardencheck.collect", "hardencheck.records")}:
                assert any(pm == a and t.startswith(b) for a, b in allowed_cross), (m, t)


def test_probes_import_no_engine_transport_report_or_records():
    for m, ts in imports().items():
        if m.startswith("hardencheck.collect.probes"):
            bad = [t for t in ts if not (t.startswith("hardencheck.collect.probes") or t in (
                "hardencheck.errors", "hardencheck.collect.probe_script"))]
            assert not bad, (m, bad)


def test_nothing_imports_the_cli():
    users = [m for m, ts in imports().items() for t in ts
             if t.startswith("hardencheck.cli") and not m.startswith("hardencheck.cli") and m != "hardencheck.__main__"]
    assert not users, users


def test_no_import_cycles():
    graph = imports()
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(n, path):
        state[n] = 1
        for t in sorted(graph.get(n, ())):
            if state.get(t) == 1 and not cycle:
                # a package importing its own submodule (an __init__ re-export) is not a cycle
                loop = path[path.index(t):] + [t]
                if not all(x.startswith(y + ".") or y.startswith(x + ".") or x == y
                           for x, y in zip(loop, loop[1:])):
                    cycle.extend(loop)
            elif state.get(t) is None:
                visit(t, path + [t])
        state[n] = 2

    for n in sorted(graph):
        if state.get(n) is None:
            visit(n, [n])
    assert not cycle, " -> ".join(cycle)
