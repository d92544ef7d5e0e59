"""The run history as a scan uses it: once open, a failing database (disk full, locked) costs
the history of this run, never the scan; the bundle stays the full record."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from hardencheck.records.history import HistoryRecorder


class HistorySink:
    def __init__(self, path: Path, warn: Callable[[str], None]):
        self.recorder = HistoryRecorder(path)
        self.path = path
        self.warn = warn
        self.error: str | None = None

    def guard(self, use):
        """``use(recorder)``, unless the history already failed; a failure now is reported once."""
        if self.error is not None:
            return None
        try:
            return use(self.recorder)
        except Exception as e:  # noqa: BLE001 - reported, and the scan goes on
            self.error = f"{type(e).__name__}: {e}"
            self.warn(f"error: the run history {self.path} stopped recording ({self.error}); the bundle holds "
                      f"every result; add it later with: hardencheck import <bundle>")
            try:
                self.recorder.close()
            except Exception:  # noqa: BLE001
                pass
            return None
