"""Connections opened while the scan is still being planned.

Before the first host is reached the command line loads the control library, the TOM catalog
and the probe modules (pydantic models, YAML, imports: a few tenths of a second, longer with a
big library or testinfra files). The hosts are known before all that: ``HeadStart`` opens the
SSH connections of the hosts the fan-out will start with (the first ``forks`` of them) in
background threads meanwhile, so that TCP, key exchange, host-key check and authentication
overlap with the planning instead of following it.

Nothing runs on a host early: the host's own thread in the fan-out takes its connection through
``transport_factory`` (it waits there if the connection is still being made) and runs the probe
script as it always does; a connection that failed fails there, with the same ``HostError`` as
without a head start. A plan that is refused, or a run that ends before a host's turn, closes
the connections nobody took (``close``); one still being made is closed when it is made.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from hardencheck.collect.transports import make_transport


class _Connecting:
    """One host's connection being made in the background."""

    def __init__(self, host, transport):
        self.host = host
        self.transport = transport
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.raised = False       # the error went to the host's thread (and is not kept)
        self.abandoned = False


class _Taken:
    """What the fan-out gets instead of a new transport: ``connect`` waits for the connection made
    in the background (and raises what it raised); everything else is the transport's own."""

    def __init__(self, pending: _Connecting):
        self._pending = pending

    def connect(self) -> None:
        self._pending.done.wait()
        # raised once and not kept: a kept exception keeps the frames its traceback gained here,
        # the host's scan among them (a cycle only the cyclic garbage collector frees)
        if self._pending.raised:
            raise RuntimeError("this connection failed, and its error was raised before")
        error, self._pending.error = self._pending.error, None
        if error is not None:
            self._pending.raised = True
            try:
                raise error
            finally:
                del error

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pending.transport, name)


class HeadStart:
    """The first hosts' connections, opened ahead. ``transport_factory`` stands in for
    ``make_transport`` in the fan-out; ``close`` closes what was not taken."""

    def __init__(self, options: dict[str, Any], factory: Callable = make_transport):
        self._options = dict(options)
        self._factory = factory
        self._lock = threading.Lock()
        self._pending: dict[str, _Connecting] = {}
        self._closed = False

    @classmethod
    def start(cls, hosts: list, count: int, options: dict[str, Any],
              factory: Callable = make_transport) -> "HeadStart":
        """Start connecting the SSH hosts among the first ``count`` of ``hosts`` (the fan-out's
        first round: the others would wait idle for a free worker)."""
        head = cls(options, factory)
        for host in hosts[:max(0, count)]:
            if getattr(host, "transport", None) != "ssh":
                continue
            pending = _Connecting(host, factory(host, **head._options))
            head._pending[host.name] = pending
            threading.Thread(target=head._connect, args=(pending,), name=f"hc-head-start-{host.name}",
                             daemon=True).start()
        return head

    @property
    def hosts(self) -> list[str]:
        """The hosts whose connections are still waiting to be taken."""
        with self._lock:
            return list(self._pending)

    def _connect(self, pending: _Connecting) -> None:
        try:
            pending.transport.connect()
        except BaseException as e:   # re-raised in the host's own thread, where the engine handles it
            pending.error = e
        with self._lock:
            pending.done.set()
            close = pending.abandoned
        if close:
            pending.transport.close()

    def transport_factory(self, host, **options):
        """The transport for ``host``: its connection opened ahead, if there is one for this very
        host object with these options, else a new one from the factory."""
        with self._lock:
            pending = self._pending.get(host.name)
            if pending is not None and pending.host is host and options == self._options and not self._closed:
                del self._pending[host.name]
                return _Taken(pending)
        return self._factory(host, **options)

    def close(self) -> None:
        """Close every connection nobody took (one still being made: as soon as it is made).
        Later calls of ``transport_factory`` make new transports."""
        with self._lock:
            self._closed = True
            left, self._pending = list(self._pending.values()), {}
            for pending in left:
                pending.abandoned = not pending.done.is_set()
        for pending in left:
            if not pending.abandoned:
                pending.transport.close()
