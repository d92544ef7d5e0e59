"""firewall.egress: whether the host's firewall denies outbound traffic by default (egress filtering),
from the nftables ruleset (``nft -j list ruleset``).

Needs root. The output hook's base chains are analysed like firewall.status analyses the input hook
(``_netfilter``): a chain denies by default only when it proves it (a drop policy with no
unconditional accept, or an unconditional final drop/reject). Rules loaded through iptables-nft are
part of that ruleset; tables of *legacy* iptables (x_tables: ``/proc/net/ip_tables_names`` or
``ip6_tables_names`` not empty) are not analysed, and their presence is reported
(``legacy_iptables``) so that a control can refuse to judge. IPv6 counts only where it is enabled.
"""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, complete_section
from hardencheck.collect.probes._netfilter import DENY, FALLTHROUGH, analyse_chain, nft_chains
from hardencheck.collect.probes.base import Probe

_EXTRA = (
    "for f in /proc/net/ip_tables_names /proc/net/ip6_tables_names; do "
    "[ -r \"$f\" ] && printf 'legacy %s %s\\n' \"${f##*/}\" \"$(wc -l < \"$f\")\"; done; "
    "f=/proc/sys/net/ipv6/conf/all/disable_ipv6; [ -r $f ] && printf 'disable_ipv6 %s\\n' \"$(cat $f)\"; exit 0"
)


class FirewallEgress(Probe):
    name = "firewall.egress"
    summary = "Outbound default deny: the nftables output-hook chains (policy, unconditional drops)"
    timeout = 30
    max_output_bytes = 2 * 1024 * 1024
    tools = {"ruleset": ("nft",)}
    commands = {"ruleset": "nft -j list ruleset", "kernel": _EXTRA}

    def parse(self, out, args):
        sec = complete_section(out, "ruleset", "nft -j list ruleset")
        chains = _output_chains(sec.stdout)
        ks = complete_section(out, "kernel", "legacy iptables and IPv6 state")
        legacy, ipv6_enabled = [], True
        for line in ks.stdout.splitlines():
            m = re.fullmatch(r"legacy (ip6?_tables_names) +([0-9]{1,6})", line.strip())
            if m:
                if int(m.group(2)) > 0:
                    legacy.append(m.group(1).split("_")[0])
                continue
            m = re.fullmatch(r"disable_ipv6 ([0-9])", line.strip())
            if m:
                ipv6_enabled = m.group(1) != "1"
                continue
            if line.strip():
                raise ProbeError("unparsable", f"kernel state: unexpected line {clean(line, 60)!r}")
        deny4 = any(c["default_deny"] for c in chains if c["family"] in ("ip", "inet"))
        deny6 = any(c["default_deny"] for c in chains if c["family"] in ("ip6", "inet"))
        return {
            "output_chains": chains,
            "outbound_default_deny_ipv4": deny4,
            "outbound_default_deny_ipv6": deny6,
            "ipv6_enabled": ipv6_enabled,
            "outbound_default_deny": deny4 and (deny6 or not ipv6_enabled),
            "legacy_iptables": legacy,
        }


def _output_chains(text: str) -> list[dict]:
    chains, rules, _ = nft_chains(text)
    out = []
    for key, c in chains.items():
        family, table, name = key
        if c.get("hook") != "output" or family not in ("ip", "ip6", "inet") or c.get("type", "filter") != "filter":
            continue
        table_chains = {k[2]: v for k, v in rules.items() if k[0] == family and k[1] == table}
        result = analyse_chain(table_chains, name)
        policy = str(c.get("policy", "accept"))
        out.append({"family": family, "table": clean(table, 100), "chain": clean(name, 100),
                    "policy": clean(policy, 20), "rules": len(rules.get(key, [])),
                    "default_deny": result == DENY or (result == FALLTHROUGH and policy == "drop")})
    out.sort(key=lambda c: (c["family"], c["table"], c["chain"]))
    return out
