"""The transport: the one way hardencheck reaches a host.

A transport runs one script (the generated probe script) on the host and streams the host's
stdout and stderr to two callbacks as the bytes arrive, so the caller decides what to keep.
Everything that prevents that is raised as ``HostError`` with a reason code.

Two clocks stop a script: ``timeout``, the budget for the whole script, and ``idle_timeout``, the
longest the host may stay silent. Progress is the arrival of bytes (stdout or stderr, also login
noise): a host whose command never answers is cut after the idle limit, not after the whole
budget. ``idle_timeout`` may be a function, asked again while waiting, so that the caller can
allow a longer silence while a probe known to be quiet runs (``Liveness``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Protocol, Union

Sink = Callable[[bytes], None]
#: seconds of silence after which a command is cut (None or <= 0: no idle limit), or a function
#: returning that number for the moment it is asked
IdleLimit = Union[float, None, Callable[[], "float | None"]]


@dataclass
class HostIdentity:
    """Who we actually talked to. Goes into every evidence record."""

    name: str                      # inventory name
    address: str                   # address or host name dialled ("local" for the local transport)
    port: int | None = None
    user: str | None = None
    transport: str = "ssh"
    host_key_type: str | None = None
    host_key_fingerprint: str | None = None   # "SHA256:..." as ssh-keygen -l prints it
    host_key_trusted_on_first_use: bool = False
    via: list[str] = field(default_factory=list)  # jump hosts, outermost first
    sudo: bool = False

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


@dataclass
class ExecResult:
    exit_code: int | None          # None when the command was cut off (timeout, channel closed)
    timed_out: bool = False        # cut off by the budget or by the idle limit
    stalled_for: float | None = None   # cut off after this many seconds without output (idle limit)


class Liveness:
    """When did the host last send a byte, and has it been silent for longer than the idle limit?"""

    def __init__(self, idle_timeout: IdleLimit, clock: Callable[[], float] = time.monotonic):
        self._limit = idle_timeout if callable(idle_timeout) else (lambda: idle_timeout)
        self._clock = clock
        self.last = clock()

    def progress(self) -> None:
        """Bytes arrived."""
        self.last = self._clock()

    def limit(self) -> float | None:
        value = self._limit()
        return float(value) if value is not None and value > 0 else None

    def stalled(self) -> float | None:
        """The idle limit (seconds) if the host has been silent for at least that long, else None."""
        limit = self.limit()
        if limit is not None and self._clock() - self.last >= limit:
            return limit
        return None

    def wait_at_most(self, cap: float) -> float:
        """How long a wait for the next bytes may last before the idle limit needs checking."""
        limit = self.limit()
        if limit is None:
            return cap
        return max(0.0, min(cap, self.last + limit - self._clock()))


class Transport(Protocol):
    identity: HostIdentity

    def connect(self) -> None:
        """Open the connection (verifying the host key); raise HostError."""

    def run_script(self, script: str, on_stdout: Sink, on_stderr: Sink, *,
                   timeout: float, idle_timeout: IdleLimit = None,
                   done: Callable[[], bool] | None = None) -> ExecResult:
        """Run ``script`` with ``/bin/sh -s`` (under ``sudo -n`` if the host needs it): cut off
        after ``timeout`` seconds in all, or after ``idle_timeout`` seconds without output
        (``ExecResult.stalled_for``); what arrived until then has been handed to the sinks."""

    def close(self) -> None:
        """Release everything; never raises."""
