"""Netfilter rule analysis for firewall.status: nftables JSON and ``iptables -S`` rules -> does a
family's input path deny by default. Pure parsing, no probe (the probe is ``firewall.py``).

Netfilter runs every base chain registered on the input hook (nftables tables, legacy iptables,
iptables-nft tables) one after the other: an ``accept`` in one only hands the packet on, a drop in
any of them is final. A chain denies by default only when it proves it: a ``drop`` policy with no
unconditional way to accept everything, or an unconditional final drop/reject. Unconditional
jumps are followed (bounded); anything we cannot classify counts as "might accept everything".
"""

from __future__ import annotations

import shlex

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, load_json

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


def nft_chains(text: str) -> tuple[dict[tuple, dict], dict[tuple, list[Rule]], int]:
    """``nft -j list ruleset`` -> (chains, rules, number of tables); chains and rules keyed by
    (family, table, chain name)."""
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
    return chains, rules, sum(1 for i in items if isinstance(i, dict) and "table" in i)


def parse_nft(text: str) -> dict:
    chains, rules, tables = nft_chains(text)
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
        "tables": tables,
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
