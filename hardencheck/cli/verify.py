"""``hardencheck verify``: check run bundles offline (hashes, completeness, signature, chain)."""

from __future__ import annotations

import argparse
from pathlib import Path

from hardencheck.config import load_settings
from hardencheck.errors import ConfigError
from hardencheck.records.verify import BundleCheck, verify_bundle, verify_chain
from hardencheck.report.terminal import safe

COMMANDS = {"verify": "check run bundles: every hash, no file added or removed, the signature, the chain"}

_STYLE = {"ok": "[green]ok[/]", "bad": "[red]FAIL[/]", "incomplete": "[yellow]INCOMPLETE[/]", "note": "[dim]note[/]"}


def add_parsers(sub) -> None:
    v = sub.add_parser("verify", help=COMMANDS["verify"],
                       description="Exit 0: intact and complete; 1: something does not hold; 2: intact "
                                   "but the run is incomplete; 3: usage or configuration error.")
    v.add_argument("bundles", nargs="+", metavar="BUNDLE",
                   help="a run folder (with manifest.json); with --chain, the folder that holds the runs")
    v.add_argument("--allowed-signers", help="OpenSSH allowed_signers file: the signature must verify against "
                                             "it (default: allowed_signers from hardencheck.yml)")
    v.add_argument("--chain", action="store_true",
                   help="also check that no run of the same inventory was removed or replaced")
    v.add_argument("--config", help="hardencheck.yml (default: $HARDENCHECK_CONFIG, else ./hardencheck.yml)")


def signature_line(rep: BundleCheck, allowed: str | None) -> str:
    """The first line of ``verify``: who vouches for the bundles (signed by whom, or unsigned)."""
    sigs = list(rep.signatures.values())
    n = {k: sum(s["status"] == k for s in sigs) for k in ("good", "unchecked", "unsigned", "bad")}
    who = sorted({s["by"] for s in sigs if s["by"] and s["status"] in ("good", "unchecked")})
    by = f" ({', '.join(safe(w) for w in who)})" if who else ""
    if allowed:
        return (f"signature policy {safe(allowed)}: {n['good']} bundle(s) signed by an allowed signer{by}, "
                f"{n['unsigned']} [red]unsigned[/], {n['bad']} [red]with a bad or unknown signature[/]")
    if len(sigs) == 1:
        s = sigs[0]
        if s["status"] == "unsigned":
            return ("[yellow]UNSIGNED[/]: nothing vouches for who wrote this bundle; no allowed_signers "
                    "policy is configured")
        if s["status"] == "unchecked":
            return (f"[yellow]SIGNED by {safe(s['by'])}, NOT CHECKED[/] against any allowed signers "
                    "(no allowed_signers policy): who holds that key is not proven")
        return "[red]BAD SIGNATURE[/]: the signature does not match the manifest (no allowed_signers policy)"
    return (f"no signer policy (allowed_signers): {n['unsigned']} bundle(s) [yellow]unsigned[/], "
            f"{n['unchecked']} signed and not checked against anyone{by}, {n['bad']} [red]with a bad signature[/]")


def run(args: argparse.Namespace, console) -> int:
    allowed = args.allowed_signers or load_settings(args.config).allowed_signers
    if allowed and not Path(allowed).is_file():
        raise ConfigError("allowed-signers file not found", file=allowed, field="--allowed-signers")
    rep = BundleCheck()
    for b in args.bundles:
        folder = Path(b)
        if folder.is_file() and folder.name == "manifest.json":
            folder = folder.parent
        if not folder.is_dir():
            raise ConfigError("no such folder", file=b)
        if args.chain:
            chain = verify_chain(folder, allowed)
            rep.findings += chain.findings
            rep.bundles.update(chain.bundles)
            rep.chains.update(chain.chains)
            rep.signatures.update(chain.signatures)
        else:
            verify_bundle(folder, allowed, rep)
    console.print(signature_line(rep, allowed), highlight=False, soft_wrap=True)
    for f in rep.findings:
        console.print(f"{_STYLE[f.level]} {safe(f.where)}: {safe(f.message)}", highlight=False, soft_wrap=True)
    states = list(rep.bundles.values())
    counts = (f"{len(states)} bundle(s) checked: {states.count('ok')} intact and complete, "
              f"{states.count('incomplete')} incomplete, {states.count('bad')} with problems")
    if args.chain:
        counts += "; " + ", ".join(f"inventory {safe(k)}: {n} run(s) in the chain" for k, n in rep.chains.items())
    console.print(counts, highlight=False, soft_wrap=True)
    bad = sum(f.level == "bad" for f in rep.findings)
    verdict = {0: "[green]verified[/]: every file is as the manifest lists it",
               1: f"[red]NOT verified[/]: {bad} problem(s)",
               2: "[yellow]intact but incomplete[/]: the run did not finish"}[rep.code]
    console.print(verdict, soft_wrap=True)
    return rep.code
