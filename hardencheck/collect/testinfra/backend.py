"""``HardencheckBackend``: testinfra commands over hardencheck's transport, each one logged.

testinfra builds shell command lines (``host.file(p).contains(x)`` -> ``grep -qs -- x p``); the
backend hands each one to the transport's ``/bin/sh -s`` (under sudo when the host has
``become``) as ``/bin/sh -c '<command>' </dev/null``: quoted as one word, with no stdin of its
own. The hosts come from ``configure``: the scan passes its resolved hosts (with every
command-line override), ``pytest --hardencheck-inventory`` an inventory's.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass, field
from typing import Any

from testinfra.backend.base import BaseBackend, CommandResult

from hardencheck.collect.transports import make_transport
from hardencheck.errors import HostError

#: characters of stdout/stderr a command's evidence keeps (the test sees all of it, up to MAX_BYTES)
SHOWN_BYTES = 4096
#: bytes of output one command may send before it is cut (protects the scanner's memory)
MAX_BYTES = 16 << 20


@dataclass
class Setup:
    """What the backend connects with: hosts by name, transport options, per-command timeout."""

    hosts: dict[str, Any] = field(default_factory=dict)
    transport_options: dict[str, Any] = field(default_factory=dict)
    command_timeout: float | None = None


_SETUP = Setup()


def configure(hosts, transport_options: dict[str, Any] | None = None, command_timeout: float | None = None) -> None:
    """Make ``hosts`` (inventory ``Host`` objects) reachable as ``hardencheck://<name>``."""
    _SETUP.hosts = {h.name: h for h in hosts}
    _SETUP.transport_options = dict(transport_options or {})
    _SETUP.command_timeout = command_timeout


def host_names() -> list[str]:
    return list(_SETUP.hosts)


class TransportFailed(RuntimeError):
    """The command could not be run (connection, host key, timeout): the test is an error."""

    def __init__(self, reason: str, message: str):
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


def _bounded(data: bytes) -> tuple[str, bool]:
    return data[:SHOWN_BYTES].decode("utf-8", "replace"), len(data) > SHOWN_BYTES


class HardencheckBackend(BaseBackend):
    NAME = "hardencheck"

    def __init__(self, hostname: str, *args: Any, **kwargs: Any):
        # become is the transport's (sudo -n, or sudo -S with the password variable), never
        # testinfra's own `sudo /bin/sh -c`
        super().__init__(hostname, sudo=False)
        if hostname not in _SETUP.hosts:
            raise RuntimeError(f"hardencheck testinfra backend: unknown host {hostname!r} "
                               f"(known: {', '.join(_SETUP.hosts) or 'none'})")
        self.inventory_host = _SETUP.hosts[hostname]
        self._transport = None
        self._failed: TransportFailed | None = None
        #: every command run: the evidence (bounded output); ``take_log`` hands it over per test
        self.log: list[dict[str, Any]] = []

    @classmethod
    def get_hosts(cls, host: str, **kwargs: Any) -> list[str]:
        return [host]

    def identity(self) -> dict[str, Any]:
        t = self._transport
        return t.identity.as_dict() if t is not None else {"name": self.hostname}

    def _connected(self):
        if self._failed is not None:
            raise self._failed       # one failed connection is not retried by every test
        if self._transport is None:
            t = make_transport(self.inventory_host, **_SETUP.transport_options)
            try:
                t.connect()
            except HostError as e:
                t.close()
                self._failed = TransportFailed(e.reason, e.message)
                raise self._failed from None
            self._transport = t
        return self._transport

    def run(self, command: str, *args: str, **kwargs: Any) -> CommandResult:
        cmd = self.get_command(command, *args)
        transport = self._connected()
        out, err = bytearray(), bytearray()

        def sink(buf):
            def add(data: bytes) -> None:
                if len(buf) < MAX_BYTES:
                    buf.extend(data[:MAX_BYTES - len(buf)])
            return add

        timeout = _SETUP.command_timeout or self.inventory_host.command_timeout
        started = time.time()
        try:
            res = transport.run_script(f"/bin/sh -c {shlex.quote(cmd)} </dev/null\n", sink(out), sink(err),
                                       timeout=timeout)
        except HostError as e:
            self._record(cmd, None, out, err, started)
            raise TransportFailed(e.reason, e.message) from None
        self._record(cmd, res.exit_code, out, err, started)
        if res.exit_code is None:
            raise TransportFailed("timeout", f"the command did not finish within {timeout:g} s: {cmd}")
        return self.result(res.exit_code, self.encode(cmd), bytes(out), bytes(err))

    def _record(self, cmd: str, exit_code, out: bytearray, err: bytearray, started: float) -> None:
        stdout, out_cut = _bounded(bytes(out))
        stderr, err_cut = _bounded(bytes(err))
        self.log.append({"command": cmd, "exit_code": exit_code, "stdout": stdout, "stderr": stderr,
                         "stdout_bytes": len(out), "stderr_bytes": len(err), "truncated": out_cut or err_cut,
                         "started_at": started, "ended_at": time.time()})

    def take_log(self) -> list[dict[str, Any]]:
        log, self.log = self.log, []
        return log

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
