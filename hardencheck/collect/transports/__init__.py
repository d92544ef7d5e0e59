"""Transports by name: how the probe script reaches a host.

``TRANSPORTS`` is the registry: a transport's name (what ``Host.transport`` says) -> the class
that implements it, as ``"module:Class"``. A new transport is one module in this package and one
line here; the inventory validates ``Host.transport`` against ``TRANSPORT_NAMES``.
"""

from __future__ import annotations

import importlib

TRANSPORTS: dict[str, str] = {
    "ssh": "hardencheck.collect.transports.ssh:SshTransport",
    "local": "hardencheck.collect.transports.local:LocalTransport",
    "replay": "hardencheck.collect.transports.replay:ReplayTransport",
}

TRANSPORT_NAMES: tuple[str, ...] = tuple(TRANSPORTS)


def transport_class(name: str) -> type:
    """The class registered for ``name`` (KeyError for an unknown name)."""
    module, _, cls = TRANSPORTS[name].partition(":")
    # Imported on first use, not at package import: the ssh transport pulls in paramiko (heavy,
    # and not needed for local or replayed hosts, nor by the inventory importing TRANSPORT_NAMES).
    return getattr(importlib.import_module(module), cls)


def make_transport(host, **options):
    """The transport for ``host.transport`` (one of ``TRANSPORT_NAMES``), built with ``options``."""
    if host.transport not in TRANSPORTS:
        raise ValueError(f"host {host.name}: unknown transport {host.transport!r} "
                         f"(one of {', '.join(TRANSPORT_NAMES)})")
    return transport_class(host.transport)(host, **options)
