"""Reaching an SSH server: the TCP connection, the host-key policy, and the words for why a
connection or its handshake failed (refused, no route, timed out, name not found, not SSH,
unknown or changed host key, authentication). Shared by the targets and the jump hosts
(``ssh.py``, ``bastion.py``).

* A changed host key is always refused (``hostkey_mismatch``); an unknown one is refused
  (``hostkey_unknown``) unless trust-on-first-use records it (``_Policy``); one that known_hosts
  marks ``@revoked`` is refused in the key exchange (``hostkey_revoked``, ``Transport``).
* A port that answers with something other than SSH is ``not_ssh`` with what it sent (bounded,
  escaped), not a timeout (``_Peek`` keeps the first bytes).
"""

from __future__ import annotations

import errno
import os
import socket
import threading
from pathlib import Path

from hardencheck._paramiko import paramiko

from hardencheck.collect.transports.bastion import describe as _describe
from hardencheck.errors import HostError


def fingerprint(key: paramiko.PKey) -> str:
    return key.fingerprint  # "SHA256:..." exactly as ssh-keygen -l prints it


class UnknownHostKey(paramiko.SSHException):
    def __init__(self, hostname: str, key: paramiko.PKey):
        super().__init__(hostname)
        self.hostname = hostname
        self.key = key


class RevokedHostKey(paramiko.SSHException):
    def __init__(self, key: paramiko.PKey, where: str):
        super().__init__(f"host key revoked ({where})")
        self.key = key
        self.where = where


class Transport(paramiko.Transport):
    """paramiko's transport with the AES-GCM ciphers first (then its usual order): an AEAD cipher
    authenticates each packet inside the cipher (OpenSSL), where CTR with a separate HMAC makes
    paramiko compute and compare a MAC in Python for every packet (a probe script's output comes
    in hundreds of small packets). Servers without GCM get the usual CTR + HMAC."""

    _preferred_ciphers = tuple(sorted(paramiko.Transport._preferred_ciphers, key=lambda c: "-gcm@" not in c))
    #: how often the transport's reader thread wakes up while the host sends nothing (paramiko:
    #: 0.1 s) to check for keepalives and a local close; a host running its probes for a minute
    #: woke it 600 times. A close still ends it at once (paramiko closes the packetizer first).
    _active_check_timeout = 1.0

    def __init__(self, sock, *args, revoked: dict[bytes, str] | None = None, **kwargs):
        super().__init__(sock, *args, **kwargs)
        self._revoked = revoked or {}

    def _verify_key(self, host_key, sig):
        """The server proved it holds its key: refuse a key marked ``@revoked`` in known_hosts
        here, in the key exchange, before anything is sent for authentication."""
        super()._verify_key(host_key, sig)
        where = self._revoked.get(self.host_key.asbytes())
        if where is not None:
            raise RevokedHostKey(self.host_key, where)


class _Policy(paramiko.MissingHostKeyPolicy):
    """Refuse unknown keys, or (trust-on-first-use) record them in ``save_to``."""

    def __init__(self, tofu: bool, save_to: str | None):
        self.tofu = tofu
        self.save_to = save_to
        self.trusted_new = False

    def missing_host_key(self, client, hostname, key):
        if not self.tofu or not self.save_to:
            raise UnknownHostKey(hostname, key)
        client.get_host_keys().add(hostname, key.get_name(), key)
        path = Path(self.save_to).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a") as f:
            f.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
        self.trusted_new = True


#: bytes of what a peer sent first that are kept to tell SSH from something else
PEEK_BYTES = 512
#: bytes asked of the socket at once (paramiko asks for a packet's 16-byte head, then its rest)
RECV_BYTES = 8192
#: characters of a non-SSH answer shown in the message
SHOWN_CHARS = 120


class _Peek:
    """A socket (or jump-host channel) that remembers the first bytes the peer sent, and whether
    it closed the connection: when the SSH handshake fails, they say what answered instead.

    Closing waits for a send in progress, and nothing is sent after it. Behind a bastion the
    "socket" is a channel of the bastion's connection, and paramiko closes it (``Transport.close``)
    while its own reader thread may still be sending through it; a data packet that reaches the
    bastion's sshd after the channel's close makes sshd drop the whole connection ("data packet
    referred to nonexistent channel"), and with it every other target behind that bastion.

    Reading is buffered: paramiko reads each packet in two ``recv`` calls (its first block, then
    the rest), each a poll and a read with the interpreter lock let go and taken again, and a probe
    script answers in a few hundred small packets. One read of up to ``RECV_BYTES`` takes whatever
    has arrived (the rest of the packet, often the next ones too); ``recv`` hands it out as asked.
    Nothing else reads the socket (paramiko never selects on it), so nothing waits on bytes that
    are already here."""

    def __init__(self, sock):
        self._sock = sock
        self.first = b""
        self.eof = False
        self._sending = threading.Lock()
        self._closed = False
        self._buf = b""
        self._pos = 0

    def send(self, data):
        with self._sending:
            if self._closed:
                raise OSError(errno.EBADF, "the connection is being closed")
            return self._sock.send(data)

    def sendall(self, data):
        with self._sending:
            if self._closed:
                raise OSError(errno.EBADF, "the connection is being closed")
            return self._sock.sendall(data)

    def close(self):
        with self._sending:
            self._closed = True
        self._sock.close()

    def recv(self, n):
        if self._buf:
            data = self._buf[self._pos:self._pos + n]
            self._pos += len(data)
            if self._pos >= len(self._buf):
                self._buf, self._pos = b"", 0
            return data
        data = self._sock.recv(max(n, RECV_BYTES))
        if not data:
            self.eof = True
            return data
        if len(self.first) < PEEK_BYTES:
            self.first += data[:PEEK_BYTES - len(self.first)]
        if len(data) > n:
            self._buf, self._pos = data, n
            return data[:n]
        return data

    def __getattr__(self, name):
        return getattr(self._sock, name)


def _is_ssh(first: bytes) -> bool:
    """A server may send text lines before its banner; the banner line starts with "SSH-"."""
    return any(line.startswith(b"SSH-") for line in first.split(b"\n"))


def escaped(data: bytes, limit: int = SHOWN_CHARS) -> str:
    """Untrusted bytes as printable ASCII (``\\n``, ``\\xNN``), at most ``limit`` characters."""
    out = []
    n = 0
    for b in data:
        c = {0x0a: "\\n", 0x0d: "\\r", 0x09: "\\t", 0x5c: "\\\\", 0x22: '\\"'}.get(b) or (
            chr(b) if 0x20 <= b < 0x7f else f"\\x{b:02x}")
        if n + len(c) > limit:
            out.append("...")
            break
        out.append(c)
        n += len(c)
    return "".join(out)


_CONNECT_ERRNO = {
    errno.ECONNREFUSED: "connection refused: nothing listens on port {port} (or a firewall rejects it)",
    errno.EHOSTUNREACH: "no route to host: it is down or a router or firewall rejects it",
    errno.ENETUNREACH: "network unreachable: this machine has no route to that network",
    errno.ECONNRESET: "the connection was reset by the peer",
    errno.EADDRNOTAVAIL: "the address is not available from this machine",
}


def _where(label: str, address: str, port: int) -> str:
    return f"{label} {address}:{port}" if label != "target" else f"{address}:{port}"


def _dial(address: str, port: int, timeout: float, where: str) -> socket.socket:
    """The TCP connection, or a HostError that says in words why there is none."""
    try:
        infos = socket.getaddrinfo(address, port, socket.AF_UNSPEC, socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise HostError("unreachable", f"{where}: the name {address!r} was not found "
                                       f"({e.strerror or e})") from None
    last: OSError | None = None
    for family, _type, proto, _canon, sockaddr in infos:
        sock = socket.socket(family, socket.SOCK_STREAM, proto)
        sock.settimeout(timeout)
        try:
            sock.connect(sockaddr)
            return sock
        except OSError as e:
            sock.close()
            last = e
    if isinstance(last, (socket.timeout, TimeoutError)) or getattr(last, "errno", None) == errno.ETIMEDOUT:
        raise HostError("timeout", f"{where}: no answer within the connect timeout ({timeout:g} s): "
                                   "the host is down or a firewall drops the packets")
    words = _CONNECT_ERRNO.get(getattr(last, "errno", None))
    if words:
        raise HostError("unreachable", f"{where}: {words.format(port=port)}")
    raise HostError("unreachable", f"{where}: cannot connect ({getattr(last, 'strerror', None) or last})")


def _host_error(e: BaseException, label: str, address: str, port: int, known_hosts: list[str],
                peek: _Peek | None = None, timeout: float | None = None) -> HostError:
    where = _where(label, address, port)
    if isinstance(e, KeyboardInterrupt):
        raise e
    if isinstance(e, UnknownHostKey):
        return HostError("hostkey_unknown",
                         f"{where} presented a {e.key.get_name()} key {fingerprint(e.key)} that is not in "
                         f"known_hosts ({', '.join(known_hosts)}); verify it out of band, then add it or "
                         "scan once with --trust-on-first-use",
                         presented_key=fingerprint(e.key), presented_key_type=e.key.get_name())
    if isinstance(e, RevokedHostKey):
        return HostError("hostkey_revoked",
                         f"{where} presented {e.key.get_name()} key {fingerprint(e.key)}, which known_hosts marks "
                         f"@revoked ({e.where}): refused, nothing was sent",
                         presented_key=fingerprint(e.key), presented_key_type=e.key.get_name())
    if isinstance(e, paramiko.BadHostKeyException):
        return HostError("hostkey_mismatch",
                         f"{where} presented {e.key.get_name()} key {fingerprint(e.key)} but known_hosts "
                         f"records {fingerprint(e.expected_key)}: possible man-in-the-middle, nothing was sent",
                         presented_key=fingerprint(e.key), expected_key=fingerprint(e.expected_key))
    if isinstance(e, paramiko.SSHException) and "no authentication methods available" in str(e).lower():
        return HostError("auth_failed", f"{where}: no key to offer (no identity_file, no ssh-agent, no "
                                        "default key files)")
    if isinstance(e, paramiko.AuthenticationException):
        return HostError("auth_failed", f"{where}: authentication failed ({_describe(e)})")
    if peek is not None and not _is_ssh(peek.first) and isinstance(
            e, (paramiko.SSHException, EOFError, OSError)):
        # The handshake failed before any SSH banner arrived: what (if anything) answered?
        # (paramiko only says "Error reading SSH protocol banner" or "No existing session".)
        if peek.first:
            return HostError("not_ssh", f"{where} answered, but not with SSH (no SSH banner); it sent "
                                        f"{len(peek.first)}{'+' if len(peek.first) >= PEEK_BYTES else ''} "
                                        f"bytes: \"{escaped(peek.first)}\"")
        if peek.eof:
            return HostError("transport", f"{where} accepted the connection and closed it without sending "
                                          "anything (no SSH banner; sshd refusing connections, e.g. MaxStartups "
                                          "or tcp wrappers?)")
        within = f" within {timeout:g} s" if timeout else " in time"
        return HostError("timeout", f"{where}: accepted the connection but sent nothing{within} "
                                    "(no SSH banner): the service hangs or is not SSH")
    if isinstance(e, (socket.timeout, TimeoutError)):
        return HostError("timeout", f"{where}: no answer within the connect timeout")
    if isinstance(e, OSError):
        words = _CONNECT_ERRNO.get(e.errno)
        return HostError("unreachable", f"{where}: {words.format(port=port) if words else e.strerror or _describe(e)}")
    if isinstance(e, (paramiko.SSHException, EOFError)):
        return HostError("transport", f"{where}: SSH failed ({_describe(e)})")
    return HostError("transport", f"{where}: {type(e).__name__}: {_describe(e)}")
