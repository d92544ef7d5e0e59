"""Shared pytest fixtures."""

import os
import sys
from pathlib import Path

import pytest

_REPO = str(Path(__file__).resolve().parents[1])
if _REPO not in sys.path:          # so that `tests.lab` imports however pytest was started
    sys.path.insert(0, _REPO)


def lab_unavailable_or_skip():
    """Skip (or, with CI=true, fail) when the namespace lab cannot run on this machine."""
    from tests.lab import preflight

    why = preflight()
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the test lab must run in CI but cannot: {why}", pytrace=False)
        pytest.skip(f"test lab unavailable: {why}")


def lab_prefix(suffix: str) -> str:
    """The prefix of a module's own lab: the standard lab's ($HC_LAB_PREFIX, default hcs) shortened so
    that ``suffix`` always fits (a prefix has at most 8 characters), so it is never the standard
    lab's own (starting a lab removes whatever is left under its prefix)."""
    assert 1 <= len(suffix) <= 4
    return os.environ.get("HC_LAB_PREFIX", "hcs")[:8 - len(suffix)] + suffix


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """The standard lab (tests/lab): hardened, weak, wrongkey, hanging, unreachable, sudo."""
    lab_unavailable_or_skip()
    from tests.lab import Lab

    with Lab(tmp_path_factory.mktemp("lab"), prefix=os.environ.get("HC_LAB_PREFIX", "hcs")) as running:
        running.start()
        yield running


def scan_lab(lab, controls: list[str], out: Path) -> tuple[int, Path, dict]:
    """``hardencheck scan`` of a running lab's hosts with ``controls`` (the real CLI): exit code,
    the run folder, and the schema-checked results by (host, control)."""
    import json

    from hardencheck.cli import main
    from hardencheck.results import validate_document

    code = main(["scan", "-i", str(lab.inventory_path), "--known-hosts", str(lab.known_hosts_path),
                 "--ssh-config", str(lab.ssh_config_path), "--control", ",".join(controls),
                 "--out", str(out), "--no-history", "--quiet"])
    (run,) = [p for p in out.iterdir() if p.is_dir()]
    doc = json.loads((run / "results.json").read_text(encoding="utf-8"))
    validate_document(doc)
    return code, run, {(r["host"], r["control"]): r for r in doc["results"]}


def verdict(by: dict, host: str, control: str) -> tuple[str, dict, str]:
    """(status, actual, message) of one result of ``scan_lab``."""
    r = by[(host, control)]
    return r["status"], r.get("actual") or {}, r.get("message") or ""


def scanned_lab(tmp_path_factory, name: str, suffix: str, kinds: list[str], controls: list[str], **lab_options):
    """A module's own lab (``lab_prefix(suffix)``) with hosts of ``kinds``, scanned once with
    ``controls`` (``scan_lab``): yields (exit code, run folder, results by (host, control)) while the
    lab runs. A module fixture: ``yield from scanned_lab(...)``."""
    from tests.lab import Lab

    tmp = tmp_path_factory.mktemp(name)
    with Lab(tmp / "lab", prefix=lab_prefix(suffix), **lab_options) as lab:
        lab.start(kinds)
        yield scan_lab(lab, controls, tmp / "reports")
