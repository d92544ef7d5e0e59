"""The HTML templates' compiled form, kept between runs.

Jinja compiles a template from its source each time a process loads it: for the scan report's
templates about 0.2 s of CPU, every scan (at 100 hosts 2 ms of the scanner's time per host).
Jinja's bytecode cache keeps the compiled code in a folder, keyed by the template's name and a
hash of its source, so an edited template is compiled again. The folder is the user's own
(``$XDG_CACHE_HOME/hardencheck``, else ``~/.cache/hardencheck``), one per hardencheck version,
Jinja version and environment settings (trim_blocks and the like are compiled into the code).
What is read from it is executed, so it is used only when it is a folder of this user's that
nobody else can write to (as Jinja's own default cache folder is checked); otherwise, or when it
cannot be created, written or read, templates are compiled as before: a cache never fails a
report.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import jinja2

from hardencheck import __version__


class _Cache(jinja2.FileSystemBytecodeCache):
    """Jinja's file cache, whose failures only cost the compilation they would have saved."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # noqa: BLE001 - an unreadable or damaged entry: compile instead
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


def _private_folder(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o077


def template_cache(settings: str, environ: dict[str, str] | None = None) -> jinja2.BytecodeCache | None:
    """The bytecode cache for this user and these environment ``settings`` (their repr), or None
    when there is no safe folder for it."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_CACHE_HOME") or ""
    try:
        root = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    except RuntimeError:            # no home directory to be found (Python 3.12 and later)
        return None
    if not root.is_absolute():      # Python 3.11 gives "~" back then: never a folder here
        return None
    key = hashlib.sha256(f"{__version__}\0{jinja2.__version__}\0{settings}".encode()).hexdigest()[:16]
    folder = root / "hardencheck" / f"templates-{key}"
    if not all(_private_folder(p) for p in (folder.parent, folder)):
        return None
    return _Cache(str(folder))
