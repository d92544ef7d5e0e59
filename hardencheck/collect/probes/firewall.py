"""firewall.status: which host firewall enforces rules on inbound traffic, and does it deny by default.

Netfilter runs every base chain registered on the input hook (nftables tables, legacy iptables,
iptables-nft tables) one after the other: an ``accept`` in one only hands the packet on, a drop in
any of them is final. So inbound traffic is "default deny" for a family as soon as one input base
chain of that family drops everything it does not explicitly allow. We only say so when a chain
proves it: a ``drop`` policy with no unconditional way to accept everything, or an unconditional
final drop/reject. Unconditional jumps are followed (bounded); anything we cannot classify counts
as "might accept everything". Conditions that are always true (``ip saddr 0.0.0.0/0 accept``,
``meta nfproto ipv4 accept``) are not recognised: documented limitation.

When ``iptables`` is the nf_tables variant its rules are also in ``nft -j list ruleset``; they are
judged there (its ``-S`` output is unreliable for tables with native nft chains).

The chain analysis (nftables JSON, ``iptables -S``) is in ``_netfilter.py``; this module runs the
commands and combines the frameworks into one fact.
"""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, require_success, require_whole, section
from hardencheck.collect.probes._netfilter import parse_iptables, parse_nft
from hardencheck.collect.probes.base import Probe

_NEED_ROOT = re.compile(r"need to be root|must be root|permission denied|operation not permitted|"
                        r"not authorized|authorization failed|access denied", re.I)


def _iptables_section(out, name: str, what: str) -> dict | None:
    sec = section(out, name, what)
    if sec.exit_code == 127:
        return None
    if sec.exit_code != 0 and _NEED_ROOT.search(sec.stderr + sec.stdout):
        raise ProbeError("permission_denied", f"{what}: {clean(sec.stderr, 200)}")
    if sec.exit_code != 0 and re.search(r"Table does not exist|can't initialize", sec.stderr):
        return {"loaded": False, "input_policy": None, "input_rules": 0, "rules": 0,
                "incompatible_tables": False, "ends_with_drop": False, "active": False,
                "default_deny": False}
    require_success(sec, what)
    variant = None
    m = re.search(r"^ip6?tables v([0-9.]+)(?: \((legacy|nf_tables)\))?", sec.stdout, re.M)
    if m:
        variant = m.group(2) or "legacy"
    parsed = parse_iptables(sec.stdout, what)
    parsed["variant"] = variant
    return parsed


# -- ufw / firewalld -----------------------------------------------------------------------------
def parse_ufw(text: str) -> dict:
    status = re.search(r"^Status:\s*(\S+)", text, re.M)
    if not status:
        raise ProbeError("unparsable", "ufw status verbose: no 'Status:' line")
    default = re.search(r"^Default:\s*(.*)$", text, re.M)
    defaults: dict[str, str] = {}
    if default:
        for part in default.group(1).split(","):
            m = re.match(r"\s*(\S+)\s*\((\w+)\)", part)
            if m:
                defaults[m.group(2)] = m.group(1)
    active = status.group(1) == "active"
    return {
        "status": clean(status.group(1), 20),
        "default_incoming": defaults.get("incoming"),
        "default_outgoing": defaults.get("outgoing"),
        "default_routed": defaults.get("routed"),
        "active": active,
        "default_deny": active and defaults.get("incoming") in ("deny", "reject"),
    }


class FirewallStatus(Probe):
    name = "firewall.status"
    summary = "Host firewall (nftables, iptables, ufw, firewalld): active, inbound default deny, IPv6"
    timeout = 60
    max_output_bytes = 1024 * 1024
    tools = {"nft": ("nft",), "iptables": ("iptables",), "ip6tables": ("ip6tables",),
             "iptables_legacy": ("iptables-legacy",), "ip6tables_legacy": ("ip6tables-legacy",),
             "ufw": ("ufw",), "firewalld": ("firewall-cmd",), "firewalld_zone": ("firewall-cmd",)}
    commands = {
        "nft": "command -v nft >/dev/null 2>&1 || exit 127; nft -j list ruleset",
        # legacy iptables: only list when the filter table is already loaded (listing would
        # otherwise load kernel modules)
        "iptables": (
            "command -v iptables >/dev/null 2>&1 || exit 127; v=$(iptables -V 2>&1); "
            "printf '%s\\n' \"$v\"; case \"$v\" in *nf_tables*) ;; "
            "*) grep -aqx filter /proc/net/ip_tables_names 2>/dev/null || "
            "{ echo '# legacy filter table not loaded'; exit 0; } ;; esac; iptables -S"
        ),
        "ip6tables": (
            "command -v ip6tables >/dev/null 2>&1 || exit 127; v=$(ip6tables -V 2>&1); "
            "printf '%s\\n' \"$v\"; case \"$v\" in *nf_tables*) ;; "
            "*) grep -aqx filter /proc/net/ip6_tables_names 2>/dev/null || "
            "{ echo '# legacy filter table not loaded'; exit 0; } ;; esac; ip6tables -S"
        ),
        # legacy tables next to iptables-nft (both are enforced)
        "iptables_legacy": (
            "command -v iptables-legacy >/dev/null 2>&1 || exit 127; "
            "grep -aqx filter /proc/net/ip_tables_names 2>/dev/null || "
            "{ echo '# legacy filter table not loaded'; exit 0; }; iptables-legacy -S"
        ),
        "ip6tables_legacy": (
            "command -v ip6tables-legacy >/dev/null 2>&1 || exit 127; "
            "grep -aqx filter /proc/net/ip6_tables_names 2>/dev/null || "
            "{ echo '# legacy filter table not loaded'; exit 0; }; ip6tables-legacy -S"
        ),
        "ufw": "command -v ufw >/dev/null 2>&1 || exit 127; ufw status verbose",
        "ufw_conf": "[ -r /etc/default/ufw ] || exit 0; grep -aE '^[[:space:]]*IPV6=' /etc/default/ufw || true",
        # "running" (exit 0) or "not running" (exit 252)
        "firewalld": "command -v firewall-cmd >/dev/null 2>&1 || exit 127; firewall-cmd --state",
        "firewalld_zone": (
            "command -v firewall-cmd >/dev/null 2>&1 || exit 127; "
            "firewall-cmd --state >/dev/null 2>&1 || exit 0; "
            "z=$(firewall-cmd --get-default-zone) || exit $?; printf 'default-zone: %s\\n' \"$z\"; "
            "firewall-cmd --info-zone=\"$z\""
        ),
        "ipv6": (
            "if [ -e /proc/net/if_inet6 ]; then n=$(wc -l < /proc/net/if_inet6); "
            "printf 'if_inet6 %s\\n' $n; else echo 'if_inet6 absent'; fi; "
            "f=/proc/sys/net/ipv6/conf/all/disable_ipv6; "
            "if [ -r $f ]; then printf 'disable_ipv6 %s\\n' \"$(cat $f)\"; fi"
        ),
    }

    def parse(self, out, args):
        frameworks: dict[str, dict] = {}

        # nftables
        sec = section(out, "nft", "nft list ruleset")
        if sec.exit_code != 127:
            if sec.exit_code != 0 and _NEED_ROOT.search(sec.stderr):
                raise ProbeError("permission_denied", f"nft: {clean(sec.stderr, 200)}")
            require_whole(sec, "nft -j list ruleset")
            frameworks["nftables"] = parse_nft(sec.stdout) if sec.stdout.strip() else \
                {"tables": 0, "input_chains": [], "active": False, "deny_ipv4": False,
                 "deny_ipv6": False}
        nft_seen = "nftables" in frameworks

        # iptables (v4 and v6, plus legacy tables next to iptables-nft)
        ipt = {}
        for cmd, fam in (("iptables", "ipv4"), ("ip6tables", "ipv6"),
                         ("iptables_legacy", "legacy_ipv4"), ("ip6tables_legacy", "legacy_ipv6")):
            res = _iptables_section(out, cmd, cmd.replace("_", "-") + " -S")
            if res is not None:
                ipt[fam] = res
        variant = (ipt.get("ipv4") or ipt.get("ipv6") or {}).get("variant")
        legacy_alongside = variant == "nf_tables"
        if not legacy_alongside:
            ipt.pop("legacy_ipv4", None)
            ipt.pop("legacy_ipv6", None)
        if ipt:
            judged_by_nft = variant == "nf_tables" and nft_seen
            frameworks["iptables"] = {"variant": variant, "judged_via_nft": judged_by_nft, **ipt}

        # ufw
        sec = section(out, "ufw", "ufw status verbose")
        if sec.exit_code != 127:
            if sec.exit_code != 0 and _NEED_ROOT.search(sec.stderr + sec.stdout):
                raise ProbeError("permission_denied", f"ufw: {clean(sec.stderr or sec.stdout, 200)}")
            require_success(sec, "ufw status verbose")
            ufw = parse_ufw(sec.stdout)
            conf = section(out, "ufw_conf", "/etc/default/ufw")
            m = re.search(r"^\s*IPV6=\"?(\w+)", conf.stdout, re.M)
            ufw["ipv6"] = (m.group(1).lower() == "yes") if m else None
            frameworks["ufw"] = ufw

        # firewalld
        sec = section(out, "firewalld", "firewall-cmd --state")
        if sec.exit_code != 127:
            if sec.exit_code not in (0, 252) and _NEED_ROOT.search(sec.stderr + sec.stdout):
                raise ProbeError("permission_denied", f"firewall-cmd: {clean(sec.stderr, 200)}")
            require_success(sec, "firewall-cmd --state", ok_codes=(0, 252))
            state = sec.stdout.strip().splitlines()[0].strip() if sec.stdout.strip() else ""
            if state not in ("running", "not running"):
                raise ProbeError("unparsable", f"firewall-cmd --state: {state[:60]!r}")
            fw = {"state": state, "default_zone": None, "target": None, "active": False,
                  "default_deny": False}
            if state == "running":
                zsec = section(out, "firewalld_zone", "firewall-cmd --info-zone")
                if zsec.exit_code != 0 and _NEED_ROOT.search(zsec.stderr + zsec.stdout):
                    raise ProbeError("permission_denied",
                                     f"firewall-cmd: {clean(zsec.stderr, 200)}")
                require_success(zsec, "firewall-cmd --info-zone")
                zone = re.search(r"^default-zone:\s*(\S+)", zsec.stdout, re.M)
                target = re.search(r"^\s*target:\s*(\S+)", zsec.stdout, re.M)
                if not zone or not target:
                    raise ProbeError("unparsable", "firewall-cmd --info-zone: no zone or target")
                services = re.search(r"^\s*services:[ \t]*(.*)$", zsec.stdout, re.M)
                fw.update(default_zone=clean(zone.group(1), 100), target=clean(target.group(1), 40),
                          services=services.group(1).split() if services else [],
                          active=True)
                # "default" behaves like REJECT; only ACCEPT lets unlisted traffic in
                fw["default_deny"] = target.group(1).upper() != "ACCEPT"
            frameworks["firewalld"] = fw

        # IPv6
        sec = section(out, "ipv6", "IPv6 state")
        require_success(sec, "IPv6 state")
        m = re.search(r"^if_inet6 (\S+)", sec.stdout, re.M)
        if not m:
            raise ProbeError("unparsable", "IPv6 state: no if_inet6 line")
        dis = re.search(r"^disable_ipv6 (\S+)", sec.stdout, re.M)
        if m.group(1) == "absent":
            ipv6_enabled = False
        elif m.group(1).isdigit():
            # addresses present, or none yet but not switched off: treat as enabled
            ipv6_enabled = int(m.group(1)) > 0 or not (dis and dis.group(1) == "1")
        else:
            raise ProbeError("unparsable", "IPv6 state: bad if_inet6 count")

        # -- judgement ---------------------------------------------------------------------
        deny4 = deny6 = False
        actives = {}
        nft = frameworks.get("nftables")
        if nft:
            actives["nftables"] = nft["active"]
            deny4 |= nft["deny_ipv4"]
            deny6 |= nft["deny_ipv6"]
        ipf = frameworks.get("iptables")
        if ipf:
            any_active = any(ipf[k]["active"] for k in ("ipv4", "ipv6", "legacy_ipv4", "legacy_ipv6")
                             if k in ipf)
            actives["iptables"] = any_active
            for key, is_v6 in (("ipv4", False), ("ipv6", True), ("legacy_ipv4", False),
                               ("legacy_ipv6", True)):
                if key not in ipf:
                    continue
                if key in ("ipv4", "ipv6") and ipf["judged_via_nft"]:
                    continue  # the same rules were judged from the nft ruleset
                if ipf[key]["default_deny"]:
                    if is_v6:
                        deny6 = True
                    else:
                        deny4 = True
        ufw = frameworks.get("ufw")
        if ufw:
            actives["ufw"] = ufw["active"]
            if ufw["default_deny"]:
                deny4 = True
                deny6 = deny6 or ufw["ipv6"] is True
        fwd = frameworks.get("firewalld")
        if fwd:
            actives["firewalld"] = fwd["active"]
            if fwd["default_deny"]:
                deny4 = deny6 = True
        active = any(actives.values())

        backend = None
        for candidate in ("firewalld", "ufw", "iptables", "nftables"):
            if actives.get(candidate):
                backend = candidate
                break
        else:
            for candidate in ("firewalld", "ufw", "nftables", "iptables"):
                if candidate in frameworks:
                    backend = candidate
                    break
        for fw in frameworks.values():
            fw["active"] = bool(fw.get("active")) or any(
                isinstance(v, dict) and v.get("active") for v in fw.values())
        return {
            "backend": backend,
            "active": active,
            "inbound_default_deny": bool(active and deny4 and (deny6 or not ipv6_enabled)),
            "inbound_default_deny_ipv4": bool(active and deny4),
            "inbound_default_deny_ipv6": bool(active and deny6),
            "ipv6_enabled": ipv6_enabled,
            "frameworks": frameworks,
        }
