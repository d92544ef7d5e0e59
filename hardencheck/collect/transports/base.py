"""The transport: the one way hardencheck reaches a host.

A transport runs one script (the generated probe script) on the host and streams the host's
stdout and stderr to two callbacks as the bytes arrive, so the caller decides what to keep.
Everything that prevents that is raised as ``HostError`` with a reason code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Protocol

Sink = Callable[[bytes], None]


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
    timed_out: bool = False


class Transport(Protocol):
    identity: HostIdentity

    def connect(self) -> None:
        """Open the connection (verifying the host key); raise HostError."""

    def run_script(self, script: str, on_stdout: Sink, on_stderr: Sink, *,
                   timeout: float, done: Callable[[], bool] | None = None) -> ExecResult:
        """Run ``script`` with ``/bin/sh -s`` (under ``sudo -n`` if the host needs it)."""

    def close(self) -> None:
        """Release everything; never raises."""
