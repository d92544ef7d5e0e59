"""The run history as a scan uses it: a failing database (disk full, I/O error, read-only,
locked; also when it cannot be opened) costs the history of this run, never the scan; the
bundle stays the full record. The failure is reported once, in one line naming the database
and the cause (errno or SQLite code), and the scan's exit code becomes 4 (``scan.run.EXIT_IO``).
A history this version cannot use (``ConfigError``) is still a configuration error."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from hardencheck.errors import ConfigError
from hardencheck.records.files import describe_os_error
from hardencheck.records.history import HistoryRecorder


def describe(e: Exception) -> str:
    """One line: what failed and its code (``database or disk is full (SQLITE_FULL)``)."""
    if isinstance(e, OSError):
        return describe_os_error(e)
    if isinstance(e, sqlite3.Error):
        code = getattr(e, "sqlite_errorname", None)
        return f"{e}" + (f", {code}" if code else "")
    return f"{type(e).__name__}: {e}"


class HistorySink:
    def __init__(self, path: Path, warn: Callable[[str], None]):
        self.path = path
        self.warn = warn
        self.error: str | None = None
        self.recorder: HistoryRecorder | None = None
        try:
            self.recorder = HistoryRecorder(path)
        except ConfigError:
            raise
        except Exception as e:  # noqa: BLE001 - reported, and the scan goes on without a history
            self._failed(e)

    def guard(self, use):
        """``use(recorder)``, unless the history already failed; a failure now is reported once."""
        if self.error is not None:
            return None
        try:
            return use(self.recorder)
        except Exception as e:  # noqa: BLE001 - reported, and the scan goes on
            self._failed(e)
            try:
                self.recorder.close()
            except Exception:  # noqa: BLE001
                pass
            return None

    def _failed(self, e: Exception) -> None:
        self.error = describe(e)
        self.warn(f"error: the run history {self.path} cannot be written: {self.error}; this run is not "
                  f"recorded there, the bundle holds every result (add it later with: hardencheck "
                  f"import <bundle>)")
