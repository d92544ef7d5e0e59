"""Helpers shared by the inventory tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from hardencheck.errors import ConfigError, ConfigErrors
from hardencheck.inventory import load_inventory

DATA = Path(__file__).parents[1] / "data" / "inventories"
REPO = Path(__file__).parents[2]


def errors_of(path) -> list[ConfigError]:
    with pytest.raises(ConfigError) as ei:
        load_inventory(path)
    e = ei.value
    return e.errors if isinstance(e, ConfigErrors) else [e]


def where(errors) -> set[tuple[int | None, str | None]]:
    return {(e.line, e.field) for e in errors}


def write(tmp_path, name, text) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p
