"""known_hosts as a scan reads it: each file parsed once per process (again only when it changed),
indexed by host name, and each connection handed only the entries that name its host.

paramiko's own way costs what a fleet cannot pay: ``HostKeys.load`` checks every line against all
lines before it (quadratic in the file's length: 4,000 lines take about a second), and a lookup
walks every entry, hashing the name with each hashed entry's salt in Python (about 14 us an entry:
a 1,000-line hashed known_hosts costs 13 ms per lookup, two lookups per connection). Here a file
is read in one pass with paramiko's own line parser (``HostKeyEntry.from_line``; comments, blank
lines and lines with too few fields or a key type paramiko does not know are skipped, as paramiko
skips them); plain names go into a dict, and each hashed name (``|1|salt|hash``) costs one
HMAC-SHA1 in C per connection.

A connection's client gets the entries that name its host (``address`` and ``[address]:port``), in
file order. paramiko looks up only that name, so it decides exactly as with the whole file: the
same key for a known host, ``hostkey_unknown`` for a host without an entry (trust-on-first-use
then adds it to that client only), ``hostkey_mismatch`` for a changed key. Like paramiko, a
hostname is matched exactly (no OpenSSH wildcard patterns); a hashed name that does not decode
never matches (paramiko would fail the lookup instead): an unknown key is refused either way.

A key on a ``@revoked`` line is refused for every host, whatever names the line gives (OpenSSH
refuses it for the hosts the line names, usually ``*``; paramiko skipped such lines, so a revoked
key was accepted where another line listed it, and recorded by trust on first use): the scan's
SSH transport checks the key a server proves it holds against them before it authenticates
(``ssh_connect.Transport``), and the host fails with ``hostkey_revoked`` naming file and line.
``@cert-authority`` lines are skipped as paramiko skips them (it cannot check host certificates):
a host known only through a CA stays unknown and is refused.

A line whose key cannot be read (not base64, or not a key) is kept as *broken*: a host it names
fails with ``hostkey_unknown`` naming the file and line. paramiko's own load raised on the first
kind (every SSH host of the scan then failed with an internal error) and skipped the second (the
host looked unknown, and trust on first use would have recorded a new key past the line).
"""

from __future__ import annotations

import binascii
import hmac
import os
import stat
import threading
from base64 import b64decode

from hardencheck._paramiko import paramiko
from hardencheck.errors import HostError

_SALT_BYTES = 20      # SHA-1's size: OpenSSH's hashed names


class _Names:
    """Host names (plain and hashed) of numbered items, looked up by name."""

    def __init__(self, names_of: list[list[str]]):
        self.plain: dict[str, list[int]] = {}
        self.hashed: list[tuple[bytes, bytes, int]] = []       # (salt, HMAC of the name, item)
        for i, names in enumerate(names_of):
            for name in names:
                if not name.startswith("|1|"):
                    self.plain.setdefault(name, []).append(i)
                    continue
                parts = name.split("|")
                try:
                    salt, digest = b64decode(parts[2]), b64decode(parts[3])
                except (IndexError, binascii.Error, ValueError):
                    continue
                if len(salt) == _SALT_BYTES:
                    self.hashed.append((salt, digest, i))

    def items_for(self, names: tuple[str, ...]) -> list[int]:
        """The numbers of the items that name any of ``names``, in order."""
        found: set[int] = set()
        for name in names:
            found.update(self.plain.get(name, ()))
            if name.startswith("|1|"):
                continue
            raw = name.encode("utf-8")
            for salt, digest, i in self.hashed:
                if i not in found and hmac.compare_digest(hmac.digest(salt, raw, "sha1"), digest):
                    found.add(i)
        return sorted(found)


class KnownHosts:
    """One parsed known_hosts file: its entries in file order, looked up by name, and the lines
    whose key cannot be read (``broken``: line number and why), looked up the same way."""

    def __init__(self, entries: list, broken: list[tuple[list[str], int, str]] = (),
                 revoked: dict[bytes, int] | None = None):
        self.entries = entries
        self.broken = list(broken)
        self.revoked = revoked or {}        # key blob -> line of its @revoked
        self._entries = _Names([e.hostnames for e in entries])
        self._broken = _Names([names for names, _, _ in self.broken])

    @classmethod
    def parse(cls, path: str) -> KnownHosts:
        entries, broken, revoked = [], [], {}
        with open(path) as f:
            for lineno, line in enumerate(f, 1):
                line = line.strip()
                if not line or line[0] == "#":
                    continue
                marker = None
                if line[0] == "@":
                    marker, line = (line.split(None, 1) + [""])[:2]     # spaces or tabs, as OpenSSH
                    if marker != "@revoked":
                        continue        # @cert-authority: paramiko cannot check host certificates
                try:
                    entry = paramiko.hostkeys.HostKeyEntry.from_line(line, lineno)
                except Exception as e:   # noqa: BLE001 - a key that does not decode (InvalidHostKey) or parse
                    broken.append(((line.split() or [""])[0].split(","), lineno, f"{type(e).__name__}: {e}"[:200]))
                    continue
                if entry is None:
                    continue
                if marker is None:
                    entries.append(entry)
                else:
                    revoked.setdefault(entry.key.asbytes(), lineno)
        return cls(entries, broken, revoked)

    def entries_for(self, names: tuple[str, ...]) -> list:
        """The entries that name any of ``names``, in file order."""
        return [self.entries[i] for i in self._entries.items_for(names)]

    def broken_for(self, names: tuple[str, ...]) -> list[tuple[int, str]]:
        """(line, why) of each line that names any of ``names`` but whose key cannot be read."""
        return [self.broken[i][1:] for i in self._broken.items_for(names)]


_FILES: dict[str, tuple[tuple[int, int, int], KnownHosts]] = {}
_LOCK = threading.Lock()


def known_hosts_file(path: str) -> KnownHosts | None:
    """The parsed file (None: not a regular file), parsed again only when its inode, size or
    mtime changed (trust-on-first-use appends to it)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
    with _LOCK:
        cached = _FILES.get(path)
        if cached is None or cached[0] != stamp:
            cached = _FILES[path] = (stamp, KnownHosts.parse(path))
    return cached[1]


def load_known_hosts(client: paramiko.SSHClient, files: list[str], address: str, port: int
                     ) -> dict[bytes, str]:
    """Give ``client`` the entries of the known_hosts ``files`` (those that exist) for the host it
    connects to: the names paramiko looks it up by (``address`` on port 22, else
    ``[address]:port``). The client's list is its own, so a key trusted on first use by one
    connection is not seen by the others. Returns the revoked keys of all files (key blob ->
    "FILE line N")."""
    names = (address, f"[{address}]:{port}")
    keys = client.get_host_keys()
    revoked: dict[bytes, str] = {}
    for f in files:
        parsed = known_hosts_file(f)
        if parsed is None:
            continue
        for line, why in parsed.broken_for(names):
            # never "unknown" (trust on first use would record a new key past it), never ignored
            raise HostError("hostkey_unknown", f"{f} line {line} names this host, but its key cannot be "
                                               f"read ({why}): correct or remove that line")
        keys._entries.extend(parsed.entries_for(names))
        for blob, line in parsed.revoked.items():
            revoked.setdefault(blob, f"{f} line {line}")
    return revoked
