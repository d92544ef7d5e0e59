"""What a scan run hands the CLI: its exit codes, its outcome, and the error of a bundle that
could not be written (scan.run)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hardencheck.records.files import describe_os_error

EXIT_OK, EXIT_FAIL, EXIT_ERROR = 0, 1, 2
EXIT_IO = 4     # the run's records (bundle or history) could not be written: disk full, I/O error


class BundleWriteError(Exception):
    """The run folder could not be written (``error``: the OSError, naming the file)."""

    def __init__(self, error: OSError):
        super().__init__(describe_os_error(error))
        self.error = error


@dataclass
class ScanOutcome:
    """What the run produced, for the CLI to show."""

    doc: dict                         # results.json as written
    code: int                         # the process exit code
    fail_on: str
    run_dir: Path
    written: list[Path]               # reports rendered into the bundle
    failed: list[tuple[str, str]]     # (format, error) of reports that could not be rendered
    error: str | None = None          # the bundle could not be written: one line, path and errno
