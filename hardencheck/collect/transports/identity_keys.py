"""Identity files loaded once per process, each by its own key type.

Given identity file paths, paramiko loads each file for every connection, trying it as an RSA,
then ECDSA, then Ed25519 key until one parses: for an Ed25519 key two failed parses per
connection, and the last failure stays referenced from its own traceback (``SSHClient._auth``
keeps it), a reference cycle that holds the connecting thread's frames, and with them the
connection's objects, until Python's cycle collector next runs.

Here the first identity file is read once (``PKey.from_path`` tells the type from the file, and
loads a ``-cert.pub`` certificate beside it as paramiko would) and handed to paramiko as the key to
offer first; the other files are left to paramiko, which tries them in the same order after it, as
before. A file is read again when it changes (size, modification time or inode, of the key or of
its certificate). A file that cannot be loaded without a passphrase, or not at all, is left to
paramiko too, so its error is paramiko's as before; only a key that loaded is remembered.
"""

from __future__ import annotations

import os

from hardencheck._paramiko import paramiko

_CERT_SUFFIX = "-cert.pub"
_loaded: dict[str, tuple[tuple, paramiko.PKey]] = {}


def _signature(path: str) -> tuple | None:
    """What tells a changed key file (or certificate) from the one loaded: None when it is not there."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _paths(path: str) -> tuple[str, str]:
    """(the private key's path, its certificate's) as paramiko pairs them."""
    if path.endswith(_CERT_SUFFIX):
        return path[:-len(_CERT_SUFFIX)], path
    return path, path + _CERT_SUFFIX


def key_of(path: str) -> paramiko.PKey | None:
    """The key in an identity file (and its certificate), or None when it cannot be loaded here
    (encrypted, unreadable, a type paramiko does not know): paramiko then loads it itself."""
    path = os.path.expanduser(path)
    key_path, cert_path = _paths(path)
    sig = (_signature(key_path), _signature(cert_path))
    if sig[0] is None:
        return None
    known = _loaded.get(path)
    if known is not None and known[0] == sig:
        return known[1]
    try:
        key = paramiko.PKey.from_path(path)
    except Exception:
        return None
    _loaded[path] = (sig, key)
    return key


def split(paths: list[str]) -> tuple[paramiko.PKey | None, list[str]]:
    """(the key to offer first, the identity files paramiko is to load itself after it)."""
    if not paths:
        return None, []
    first = key_of(paths[0])
    return (first, list(paths[1:])) if first is not None else (None, list(paths))
