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
"""

from __future__ import annotations

import re
import shlex

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, load_json, require_success, require_whole, section
from hardencheck.collect.probes.base import Probe

_NEED_ROOT = re.compile(r"need to be root|must be root|permission denied|operation not permitted|"
                        r"not authorized|authorization failed|access denied", re.I)

# rule analysis results
DENY, FALLTHROUGH, MAYBE_ACCEPT = "deny", "fallthrough", "maybe_accept"
_MAX_DEPTH = 16


class Rule:
    __slots__ = ("unconditional_deny", "maybe_unconditional", "verdict", "target")

    def __init__(self, verdict: str, target: str | None, unconditional_deny: bool,
                 maybe_unconditional: bool):
        self.verdict = verdict            # accept | deny | jump | goto | return | other | none
        self.target = target              # chain for jump/goto
        self.unconditional_deny = unconditional_deny
        self.maybe_unconditional = maybe_unconditional


def analyse_chain(chains: dict[str, list[Rule]], name: str, depth: int = 0,
                  seen: frozenset = frozenset()) -> str:
    """DENY: everything that gets to the end of the chain's unconditional path is dropped.
    FALLTHROUGH: traffic not explicitly handled reaches the end (policy applies).
    MAYBE_ACCEPT: some unconditional (or unclassifiable) path may accept everything."""
    if depth > _MAX_DEPTH or name in seen or name not in chains:
        return MAYBE_ACCEPT
    returned = False   # some traffic may already have gone back to the calling chain
    for rule in chains[name]:
        if rule.verdict == "deny":
            if rule.unconditional_deny:
                return FALLTHROUGH if returned else DENY
            continue
        if not rule.maybe_unconditional:
            if rule.verdict == "return":
                returned = True
            continue  # a conditional accept/jump: the explicitly allowed traffic
        if rule.verdict == "accept" or rule.verdict == "other":
            return MAYBE_ACCEPT
        if rule.verdict in ("jump", "goto"):
            sub = analyse_chain(chains, rule.target or "", depth + 1, seen | {name})
            if sub == DENY and returned:
                return FALLTHROUGH
            if sub != FALLTHROUGH:
                return sub
            if rule.verdict == "goto":
                return FALLTHROUGH
            continue
        if rule.verdict == "return":
            return FALLTHROUGH
        # verdict "none": a log/counter/mark statement, the packet goes on
    return FALLTHROUGH


# -- nftables ------------------------------------------------------------------------------------
_NFT_CONDITIONAL = {"match", "limit", "quota", "ct count", "connlimit", "fib", "set", "map",
                    "vmap", "xt"}
_NFT_NEUTRAL = {"counter", "log", "comment"}


def _nft_rule(exprs: list) -> Rule:
    if not isinstance(exprs, list) or not exprs or not all(isinstance(e, dict) and len(e) == 1
                                                           for e in exprs):
        return Rule("other", None, False, False)
    keys = [next(iter(e)) for e in exprs]
    last_key, last_val = keys[-1], exprs[-1][keys[-1]]
    verdict, target = "none", None
    if last_key in ("drop", "reject"):
        verdict = "deny"
    elif last_key == "xt" and isinstance(last_val, dict) and last_val.get("type") == "target":
        verdict = "deny" if last_val.get("name") in ("REJECT", "DROP") else "other"
    elif last_key == "accept":
        verdict = "accept"
    elif last_key in ("jump", "goto"):
        verdict = last_key
        target = last_val.get("target") if isinstance(last_val, dict) else None
        if not isinstance(target, str):
            verdict = "other"
    elif last_key == "return":
        verdict = "return"
    elif last_key in ("queue", "vmap"):
        verdict = "other"
    before = keys[:-1]
    unconditional_deny = verdict == "deny" and all(k in _NFT_NEUTRAL for k in before)
    conditional = any(k in _NFT_CONDITIONAL for k in before) or \
        any(k == "xt" and isinstance(e.get("xt"), dict) and e["xt"].get("type") == "match"
            for k, e in zip(before, exprs))
    if last_key == "vmap" or any(k == "vmap" for k in keys):
        return Rule("other", None, False, True)   # verdict maps: cannot tell, assume the worst
    return Rule(verdict, target, unconditional_deny, not conditional)


def parse_nft(text: str) -> dict:
    doc = load_json(text, "nft -j list ruleset")
    items = doc.get("nftables") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise ProbeError("unparsable", "nft -j list ruleset: no 'nftables' array")
    chains: dict[tuple, dict] = {}
    rules: dict[tuple, list[Rule]] = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("chain"), dict):
            c = item["chain"]
            key = (str(c.get("family")), str(c.get("table")), str(c.get("name")))
            chains[key] = c
            rules.setdefault(key, [])
        elif isinstance(item.get("rule"), dict):
            r = item["rule"]
            key = (str(r.get("family")), str(r.get("table")), str(r.get("chain")))
            rules.setdefault(key, []).append(_nft_rule(r.get("expr")))
    inputs = []
    for key, c in chains.items():
        family, table, name = key
        if c.get("hook") != "input" or family not in ("ip", "ip6", "inet"):
            continue
        if c.get("type", "filter") != "filter":
            continue
        # chains of the same table, by name, for jump/goto
        table_chains = {k[2]: v for k, v in rules.items() if k[0] == family and k[1] == table}
        result = analyse_chain(table_chains, name)
        policy = str(c.get("policy", "accept"))
        chain_rules = rules.get(key, [])
        last = chain_rules[-1] if chain_rules else None
        prio = c.get("prio")
        inputs.append({
            "family": family,
            "table": clean(table, 100),
            "chain": clean(name, 100),
            "hook": "input",
            "priority": prio if isinstance(prio, (int, str)) and not isinstance(prio, bool) else None,
            "policy": clean(policy, 20),
            "ends_with_drop": bool(last and last.unconditional_deny),
            "rules": len(chain_rules),
            "default_deny": result == DENY or (result == FALLTHROUGH and policy == "drop"),
        })
    inputs.sort(key=lambda c: (c["family"], c["table"], c["chain"]))
    active = any(c["rules"] > 0 or c["policy"] != "accept" for c in inputs)
    return {
        "tables": sum(1 for i in items if isinstance(i, dict) and "table" in i),
        "input_chains": inputs,
        "active": active,
        "deny_ipv4": any(c["default_deny"] for c in inputs if c["family"] in ("ip", "inet")),
        "deny_ipv6": any(c["default_deny"] for c in inputs if c["family"] in ("ip6", "inet")),
    }


# -- iptables ------------------------------------------------------------------------------------
_IPT_DENY = {"DROP", "REJECT"}
_IPT_NEUTRAL_TARGETS = {"LOG", "NFLOG", "ULOG", "AUDIT"}


def _ipt_rule(tokens: list[str], chains: set[str]) -> Rule:
    target, i, conditional = None, 0, False
    goto = False
    while i < len(tokens):
        tok = tokens[i]
        if tok in ("-j", "--jump", "-g", "--goto") and i + 1 < len(tokens):
            target, goto = tokens[i + 1], tok in ("-g", "--goto")
            i += 2
            # the rest are target options (--reject-with, --log-prefix ...)
            break
        if tok == "-m" and i + 3 < len(tokens) and tokens[i + 1] == "comment" \
                and tokens[i + 2] == "--comment":
            i += 4
            continue
        conditional = True
        i += 1
    if target is None:
        return Rule("none", None, False, False)
    if target in _IPT_DENY:
        return Rule("deny", None, not conditional, not conditional)
    if target == "ACCEPT":
        return Rule("accept", None, False, not conditional)
    if target == "RETURN":
        return Rule("return", None, False, not conditional)
    if target in _IPT_NEUTRAL_TARGETS:
        return Rule("none", None, False, not conditional)
    if target in chains:
        return Rule("goto" if goto else "jump", target, False, not conditional)
    return Rule("other", None, False, not conditional)


def parse_iptables(text: str, what: str) -> dict:
    policies: dict[str, str] = {}
    lines: list[list[str]] = []
    notes = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#") or line.startswith("iptables v") or line.startswith("ip6tables v"):
            notes.append(clean(line, 200))
            continue
        if len(line) > 8192:
            raise ProbeError("unparsable", f"{what}: line too long")
        try:
            tokens = shlex.split(line)
        except ValueError:
            raise ProbeError("unparsable", f"{what}: cannot split line {line[:80]!r}") from None
        if len(tokens) >= 3 and tokens[0] == "-P":
            policies[tokens[1]] = tokens[2]
        elif len(tokens) >= 2 and tokens[0] == "-N":
            policies.setdefault(tokens[1], "-")
        elif len(tokens) >= 2 and tokens[0] == "-A":
            lines.append(tokens)
        else:
            raise ProbeError("unparsable", f"{what}: unexpected line {line[:80]!r}")
    names = set(policies) | {t[1] for t in lines}
    chains: dict[str, list[Rule]] = {n: [] for n in names}
    for tokens in lines:
        chains[tokens[1]].append(_ipt_rule(tokens[2:], names))
    loaded = "INPUT" in policies
    policy = policies.get("INPUT")
    incompatible = any("incompatible" in n for n in notes)
    result = analyse_chain(chains, "INPUT") if loaded else FALLTHROUGH
    input_rules = chains.get("INPUT", [])
    deny = loaded and not incompatible and (
        result == DENY or (result == FALLTHROUGH and policy == "DROP"))
    return {
        "loaded": loaded,
        "input_policy": policy,
        "input_rules": len(input_rules),
        "rules": len(lines),
        "incompatible_tables": incompatible,
        "ends_with_drop": bool(input_rules and input_rules[-1].unconditional_deny),
        "active": loaded and (bool(input_rules) or policy not in (None, "ACCEPT")),
        "default_deny": deny,
    }


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
    commands = {
        "nft": "command -v nft >/dev/null 2>&1 || exit 127; nft -j list ruleset",
        # legacy iptables: only list when the filter table is already loaded (listing would
        # otherwise load kernel modules)
        "iptables": (
            "command -v iptables >/dev/null 2>&1 || exit 127; v=$(iptables -V 2>&1); "
            "printf '%s\\n' \"$v\"; case \"$v\" in *nf_tables*) ;; "
            "*) grep -qx filter /proc/net/ip_tables_names 2>/dev/null || "
            "{ echo '# legacy filter table not loaded'; exit 0; } ;; esac; iptables -S"
        ),
        "ip6tables": (
            "command -v ip6tables >/dev/null 2>&1 || exit 127; v=$(ip6tables -V 2>&1); "
            "printf '%s\\n' \"$v\"; case \"$v\" in *nf_tables*) ;; "
            "*) grep -qx filter /proc/net/ip6_tables_names 2>/dev/null || "
            "{ echo '# legacy filter table not loaded'; exit 0; } ;; esac; ip6tables -S"
        ),
        # legacy tables next to iptables-nft (both are enforced)
        "iptables_legacy": (
            "command -v iptables-legacy >/dev/null 2>&1 || exit 127; "
            "grep -qx filter /proc/net/ip_tables_names 2>/dev/null || "
            "{ echo '# legacy filter table not loaded'; exit 0; }; iptables-legacy -S"
        ),
        "ip6tables_legacy": (
            "command -v ip6tables-legacy >/dev/null 2>&1 || exit 127; "
            "grep -qx filter /proc/net/ip6_tables_names 2>/dev/null || "
            "{ echo '# legacy filter table not loaded'; exit 0; }; ip6tables-legacy -S"
        ),
        "ufw": "command -v ufw >/dev/null 2>&1 || exit 127; ufw status verbose",
        "ufw_conf": "[ -r /etc/default/ufw ] || exit 0; grep -E '^[[:space:]]*IPV6=' /etc/default/ufw || true",
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
