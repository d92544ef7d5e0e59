"""``scan --shard K/N``: a stable share of the selected hosts, for one job of a CI matrix.

``by="host"``: a host belongs to shard ``sha256(name) mod N + 1``, so the same host always lands in
the same shard whatever else changes in the inventory. ``by="group"``: whole groups (network
zones, one runner each) are dealt to the shards in name order: the i-th group (0-based, names
sorted) goes to shard ``i mod N + 1``; a host counts under its first group (its inventory order),
a host in no group under ``ungrouped``. A shard may be empty; ``hardencheck merge`` checks that
the shards cover every planned host exactly once.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from hardencheck.errors import ConfigError

SHARD_RE = re.compile(r"^([1-9][0-9]{0,4})/([1-9][0-9]{0,4})$")
BY = ("host", "group")
UNGROUPED = "ungrouped"


@dataclass(frozen=True)
class Shard:
    index: int          # 1-based
    count: int
    by: str = "host"

    @property
    def label(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str, by: str = "host") -> Shard:
    m = SHARD_RE.match(text or "")
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise ConfigError(f"{text!r}: give K/N with 1 <= K <= N, e.g. 2/4", field="--shard")
    if by not in BY:
        raise ConfigError(f"{by!r}: one of {', '.join(BY)}", field="--shard-by")
    return Shard(int(m.group(1)), int(m.group(2)), by)


def shard_of(host, shard_count: int, by: str, groups_sorted: list[str]) -> int:
    if by == "host":
        return int(hashlib.sha256(host.name.encode()).hexdigest()[:12], 16) % shard_count + 1
    group = (list(getattr(host, "groups", None) or []) or [UNGROUPED])[0]
    return groups_sorted.index(group) % shard_count + 1


def select(hosts: list, shard: Shard) -> list:
    """The hosts of ``shard`` among ``hosts`` (all selected hosts, in inventory order)."""
    groups = sorted({(list(getattr(h, "groups", None) or []) or [UNGROUPED])[0] for h in hosts})
    return [h for h in hosts if shard_of(h, shard.count, shard.by, groups) == shard.index]
