"""Transports by name: how the probe script reaches a host."""

from __future__ import annotations


def make_transport(host, **options):
    """The transport for ``host.transport`` ("ssh" or "local")."""
    if host.transport == "local":
        from hardencheck.collect.transports.local import LocalTransport

        return LocalTransport(host)
    from hardencheck.collect.transports.ssh import SshTransport

    return SshTransport(host, **options)
