"""Transports by name: how the probe script reaches a host."""

from __future__ import annotations


def make_transport(host, **options):
    """The transport for ``host.transport`` ("ssh" or "local")."""
    if host.transport == "local":
        from hardencheck.transport.local import LocalTransport

        return LocalTransport(host)
    from hardencheck.transport.ssh import SshTransport

    return SshTransport(host, **options)
