"""Reading a saved run back: a run folder (or its results.json) -> the results document and
the SHA-256 the reports quote. A scan that was killed before it wrote results.json is read from
the host files its manifest lists."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hardencheck.errors import ConfigError
from hardencheck.records.bundle import document_from_hosts, is_bundle
from hardencheck.records.files import sha256_bytes
from hardencheck.records.signoff import read_signoff
from hardencheck.results import document_bytes


@dataclass
class SavedRun:
    doc: dict[str, Any]
    path: Path                  # results.json (which may not exist for a killed run)
    results_sha256: str         # of the bytes read, or of the document as it would be written
    killed: bool = False        # read from the host files of a scan that never finished
    signoff: dict[str, Any] | None = None   # the bundle's signoff.json (records.signoff.read_signoff)


def load_saved_run(path: str | Path) -> SavedRun:
    """The run at ``path``; ConfigError when there is none or it is not a results document this
    version reads (schema 1.x)."""
    src = Path(path)
    folder = src if src.is_dir() else src.parent
    try:
        p = src / "results.json" if src.is_dir() else src
        data = p.read_bytes()
        saved = SavedRun(json.loads(data.decode("utf-8")), p, sha256_bytes(data))
    except FileNotFoundError:
        if not is_bundle(folder):
            raise ConfigError("no results.json there", file=str(path)) from None
        try:
            doc = document_from_hosts(folder)
        except (OSError, ValueError, KeyError) as e:
            raise ConfigError(f"the bundle has no results.json and its host files cannot be read ({e})",
                              file=str(path)) from None
        saved = SavedRun(doc, folder / "results.json", sha256_bytes(document_bytes(doc)), killed=True)
    except ValueError as e:
        raise ConfigError(f"not a results.json: {e}", file=str(path)) from None
    if not str(saved.doc.get("schema_version", "")).startswith("1."):
        raise ConfigError(f"unsupported schema_version {saved.doc.get('schema_version')!r} (this hardencheck "
                          "reads 1.x)", file=str(saved.path), field="schema_version")
    if is_bundle(folder):
        saved.signoff = read_signoff(folder)
    return saved
