"""Jump hosts (bastions): one authenticated connection per bastion, shared by every target behind it.

A fan-out of 50 targets behind one bastion used to open 50 SSH connections to it, and sshd's
``MaxStartups`` (default ``10:30:100``) starts dropping new connections at 10 unauthenticated
ones. Here the targets behind the same bastion share one connection (one TCP connection, one
key exchange, one host-key check, one authentication) and each target's own SSH connection runs
over a ``direct-tcpip`` channel of it; the target's host key is still checked on its own.

* **One per bastion and hop chain**: an entry of the pool is keyed by the hops up to it
  (address, port, user, identity files), the known_hosts files and the trust-on-first-use
  setting; a second hop runs over a channel of the first one's shared connection.
* **A cap per bastion**: at most ``cap`` targets are in flight through one bastion at a time
  (``jump_max_sessions`` of the first target that reaches it, default ``DEFAULT_MAX_SESSIONS``,
  below sshd's ``MaxStartups`` start of 10 and its ``MaxSessions`` of 10); the others wait for a
  slot before their channel is opened.
* **Checked once, recorded for every target**: the bastion's host key is verified when its
  connection is made; each target's identity records it (``via_host_keys``).
* **A failure is the bastion's**: when the bastion cannot be reached, its key is unknown or
  changed, or authentication fails, every target behind it is ``error`` with that reason and the
  bastion named (``bastion`` in the error); the failure is not retried by each target (that would
  hammer the bastion and trip ``MaxStartups`` or fail2ban).
* **Lifetime**: a connection (or a failure) is forgotten ``linger`` seconds after its last target
  released it (bridging the gaps between hosts of a run's thread pool); a pool passed in the
  transport options (``bastions=``) can be closed at the end of a run with ``close()``.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

from hardencheck._paramiko import paramiko

from hardencheck.errors import HostError

#: targets in flight through one bastion at a time, by default (sshd: MaxStartups 10, MaxSessions 10)
DEFAULT_MAX_SESSIONS = 8
#: seconds a bastion connection stays open after its last target is done
DEFAULT_LINGER = 30.0

_CHANNEL_FAILURES = {1: "the jump host's sshd forbids forwarding (administratively prohibited)",
                     2: "the connection from the jump host failed (refused, no route or timed out)",
                     3: "the jump host does not know the channel type", 4: "the jump host is short of resources"}


def describe(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    return text[:300]


def open_channel(client: paramiko.SSHClient, label: str, address: str, port: int, timeout: float):
    """A ``direct-tcpip`` channel from the jump host ``client`` to ``address:port``."""
    try:
        return client.get_transport().open_channel("direct-tcpip", (address, port), ("127.0.0.1", 0),
                                                   timeout=timeout)
    except BaseException as e:
        if isinstance(e, KeyboardInterrupt):
            raise
        why = (_CHANNEL_FAILURES.get(e.code, describe(e))
               if isinstance(e, paramiko.ChannelException) else describe(e))
        raise HostError("unreachable", f"the {label} could not open a channel to {address}:{port}: "
                                       f"{why}", bastion=label.removeprefix("jump host ")) from None


class Bastion:
    """One shared jump connection: its client, its host key record, its slots, its failure."""

    def __init__(self, key: tuple, name: str, cap: int):
        self.key = key
        self.name = name                    # "user@address:port"
        self.cap = cap
        self.slots = threading.BoundedSemaphore(cap)
        self.lock = threading.Lock()
        self.client: paramiko.SSHClient | None = None
        self.record: dict | None = None     # the host key as checked
        self.error: HostError | None = None
        self.users = 0
        self.connections = 0                # how many times it was connected (1 in a healthy run)
        self._timer: threading.Timer | None = None

    def alive(self) -> bool:
        tr = self.client.get_transport() if self.client is not None else None
        return tr is not None and tr.is_active()

    def failure(self) -> HostError:
        e = self.error
        details = {k: v for k, v in e.details.items() if k != "bastion"}
        return HostError(e.reason, e.message, bastion=self.name, **details)

    def close(self) -> None:
        if self.client is not None:
            try:
                self.client.close()
            except Exception:
                pass
        self.client = None


class BastionPool:
    """The shared bastion connections of a run (or of the process: ``POOL``)."""

    def __init__(self, linger: float = DEFAULT_LINGER):
        self.linger = linger
        self._lock = threading.Lock()
        self._entries: dict[tuple, Bastion] = {}

    def acquire(self, key: tuple, name: str, cap: int,
                connect: Callable[[], tuple[paramiko.SSHClient, dict]]) -> Bastion:
        """The bastion for ``key``, connected (``connect() -> (client, host key record)``, called
        once while nobody else connects it), with one of its slots taken. Raises the bastion's
        HostError (the same for every target behind it while the entry lives)."""
        with self._lock:
            b = self._entries.get(key)
            if b is None:
                b = self._entries[key] = Bastion(key, name, max(1, cap))
            b.users += 1
            if b._timer is not None:
                b._timer.cancel()
                b._timer = None
        try:
            with b.lock:
                if b.error is not None:
                    raise b.failure()
                if not b.alive():
                    b.close()
                    try:
                        b.client, b.record = connect()
                        b.connections += 1
                    except HostError as e:
                        b.error = e
                        raise b.failure() from None
            b.slots.acquire()
        except BaseException:
            self._unuse(b)
            raise
        return b

    def release(self, b: Bastion) -> None:
        """A target is done with ``b``: its slot is free; the last one closes it (after linger)."""
        b.slots.release()
        self._unuse(b)

    def _unuse(self, b: Bastion) -> None:
        with self._lock:
            b.users -= 1
            if b.users > 0:
                return
            if self.linger <= 0:
                self._drop(b)
                return
            b._timer = threading.Timer(self.linger, self._expire, (b,))
            b._timer.daemon = True
            b._timer.start()

    def _expire(self, b: Bastion) -> None:
        with self._lock:
            if b.users == 0 and self._entries.get(b.key) is b:
                self._drop(b)

    def _drop(self, b: Bastion) -> None:
        if self._entries.get(b.key) is b:
            del self._entries[b.key]
        if b._timer is not None:
            b._timer.cancel()
            b._timer = None
        b.close()

    def close(self) -> None:
        """Close every connection (end of a run); entries in use are closed too."""
        with self._lock:
            for b in list(self._entries.values()):
                self._drop(b)

    def entries(self) -> list[Bastion]:
        with self._lock:
            return list(self._entries.values())


#: the process's pool, used when the transport options name none
POOL = BastionPool()


def host_key_record(name: str, client: paramiko.SSHClient, trusted_new: bool) -> dict:
    key = client.get_transport().get_remote_server_key()
    return {"jump": name, "host_key_type": key.get_name(), "host_key_fingerprint": key.fingerprint,
            "host_key_trusted_on_first_use": trusted_new,
            "checked_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
