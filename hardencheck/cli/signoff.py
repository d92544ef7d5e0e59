"""``hardencheck signoff``: a reviewer's decision on a run bundle, signed, beside its sealed files."""

from __future__ import annotations

import argparse
from pathlib import Path

from hardencheck.cli.common import EXIT_OK
from hardencheck.config import load_settings
from hardencheck.errors import ConfigError
from hardencheck.records.signature import check_key
from hardencheck.records.signoff import DECISIONS, NAMESPACE, SIGNOFF, SIGNOFF_SIG, create_signoff
from hardencheck.records.verify import verify_bundle
from hardencheck.report.terminal import safe

COMMANDS = {"signoff": "record a reviewer's decision on a run bundle (signoff.json, signed, beside its files)"}


def add_parsers(sub) -> None:
    s = sub.add_parser(
        "signoff", help=COMMANDS["signoff"],
        description=f"Writes {SIGNOFF} (and {SIGNOFF_SIG} with --sign-key, an OpenSSH signature with namespace "
                    f"{NAMESPACE}) into the run folder, naming the SHA-256 of its manifest.json. The bundle's "
                    "listed files are not touched; `hardencheck verify` checks the sign-off. A bundle that does "
                    "not verify is refused, an incomplete run unless --allow-incomplete, and a bundle that has "
                    "a sign-off already.")
    s.add_argument("run", metavar="RUN_DIR", help="the run folder (with manifest.json)")
    s.add_argument("--reviewer", required=True, help="who reviewed the run (name, role)")
    s.add_argument("--decision", required=True, choices=DECISIONS)
    s.add_argument("--comment", required=True, help="the reviewer's comment (the reasons, conditions)")
    s.add_argument("--sign-key", help="the reviewer's SSH key (private key file, or .pub with the private half "
                                      "in the agent); without it the sign-off is unsigned")
    s.add_argument("--allowed-signers", help="the bundle must verify against it first (default: allowed_signers "
                                             "from hardencheck.yml)")
    s.add_argument("--allow-incomplete", action="store_true",
                   help="also sign off an interrupted or killed run (its state is recorded)")
    s.add_argument("--config", help="hardencheck.yml (default: $HARDENCHECK_CONFIG, else ./hardencheck.yml)")


def run(args: argparse.Namespace, console) -> int:
    folder = Path(args.run)
    if folder.is_file() and folder.name == "manifest.json":
        folder = folder.parent
    if not folder.is_dir():
        raise ConfigError("no such folder", file=args.run)
    allowed = args.allowed_signers or load_settings(args.config).allowed_signers
    if allowed and not Path(allowed).is_file():
        raise ConfigError("allowed-signers file not found", file=allowed, field="--allowed-signers")
    if args.sign_key:
        check_key(args.sign_key)
    check = verify_bundle(folder, allowed)
    doc = create_signoff(folder, args.reviewer, args.decision, args.comment, check=check,
                         sign_key=args.sign_key, allow_incomplete=args.allow_incomplete)
    signed = f"signed ({SIGNOFF_SIG}, namespace {NAMESPACE})" if args.sign_key else "UNSIGNED (no --sign-key)"
    for line in (f"sign-off written: {folder / SIGNOFF}, {signed}",
                 f"run {doc['run_id']} ({doc['run_state']}), manifest sha256 {doc['manifest_sha256']}",
                 f"{doc['decision']} by {doc['reviewer']} on {doc['date']}",
                 f"comment: {doc['comment']}"):
        console.print(safe(line, limit=2000), highlight=False, soft_wrap=True)
    return EXIT_OK
