"""The inventory of a scan without one: this machine, through the local transport."""

from __future__ import annotations

from hardencheck.inventory.model import Host, Inventory


def local_inventory() -> Inventory:
    return Inventory(path=None, hosts=[Host(name="localhost", address="localhost",
                                            transport="local", explicit={"transport"})],
                     sha256=None)
