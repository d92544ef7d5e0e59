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
