"""Files as the records keep them: written atomically (never half a file after a crash) and
identified by their SHA-256, computed one way everywhere (bundle manifest, verify, history,
the annual report's database digest, the reports' hash of results.json).

An ``OSError`` raised while writing names the file it was writing (``filename``: the final
path, never the temporary one), so that a full disk is reported as "path: No space left on
device (ENOSPC)" by ``describe_os_error``.
"""

from __future__ import annotations

import errno as _errno
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable

from hardencheck.results import document_bytes


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file, read in 1 MiB chunks (bundles and history databases can be large)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def named(e: OSError, path: str | Path) -> OSError:
    """``e`` with ``filename`` set to ``path`` when it names nothing (a failed ``write()``)."""
    if e.filename is None:
        e.filename = str(path)
    return e


def describe_os_error(e: OSError) -> str:
    """``/out/run/hosts/a.json: No space left on device (errno 28, ENOSPC)``: one line."""
    code = _errno.errorcode.get(e.errno or 0)
    what = e.strerror or str(e)
    where = f"{e.filename}: " if e.filename else ""
    return f"{where}{what}" + (f" (errno {e.errno}, {code})" if code else "")


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (a power loss after it keeps the new name)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def stage_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to a new hidden temporary file beside ``path`` (``.<name>.<random>``) and fsync
    it; ``commit`` renames it into place. On an error nothing is left behind."""
    return stage_chunks(path, (data,))[0]


def stage_chunks(path: Path, chunks: Iterable[bytes]) -> tuple[Path, str, int]:
    """``stage_bytes`` for content that comes in pieces (a document written as it is assembled,
    never whole in memory): returns the temporary file, the content's SHA-256 and its size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as e:
        raise named(e, path) from None
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
                digest.update(chunk)
                size += len(chunk)
            f.flush()
            os.fsync(f.fileno())
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise named(e, path) from None
        raise
    return Path(tmp), digest.hexdigest(), size


def commit(tmp: Path, path: Path) -> None:
    """Rename a staged file into place (atomic) and make the rename durable."""
    try:
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except OSError as e:
        raise named(e, path) from None


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write to a temp file in the same folder, fsync, rename: never a half-written file."""
    tmp = stage_bytes(path, data)
    try:
        commit(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_json_atomic(path: Path, data: Any) -> None:
    write_bytes_atomic(path, document_bytes(data))
