"""Signing and checking a bundle's manifest with OpenSSH signatures (``ssh-keygen -Y``).

Why OpenSSH signatures: every scanner host and every auditor's machine already has ssh-keygen
(OpenSSH >= 8.1), the keys are the SSH keys ops already manage (Ed25519, ECDSA, RSA, FIDO keys,
keys held in an agent), the trust list is a plain ``allowed_signers`` file that can name who may
sign and since when, and the check needs nothing from hardencheck:

    ssh-keygen -Y verify -f allowed_signers -I <signer> -n hardencheck-manifest \\
        -s manifest.json.sig < manifest.json

The namespace ties a signature to its purpose: a signature made for git commits or for files
(``-n file``) does not verify as a hardencheck manifest, and the other way round.
hardencheck runs exactly these commands; it holds no key material itself.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hardencheck.errors import ConfigError

NAMESPACE = "hardencheck-manifest"
SIG_SUFFIX = ".sig"


def _ssh_keygen() -> str:
    exe = shutil.which("ssh-keygen")
    if not exe:
        raise ConfigError("ssh-keygen (OpenSSH 8.1 or newer) is needed to sign or check signatures "
                          "but is not on PATH")
    return exe


def check_key(key: str) -> None:
    """Refuse early (before scanning) a signing key that cannot be used."""
    p = Path(key)
    if not p.is_file():
        raise ConfigError("signing key not found", file=key, field="sign_key")
    if not p.name.endswith(".pub") and p.stat().st_mode & 0o077:
        raise ConfigError("the private signing key is readable by group or others (chmod 600 it)",
                          file=key, field="sign_key")
    _ssh_keygen()


def key_fingerprint(key: str) -> str | None:
    """``ED25519 key SHA256:…`` of a signing key (private or public key file), as ``verify`` names a
    signer; None when ssh-keygen cannot read it (the signing itself then says why)."""
    try:
        proc = subprocess.run([_ssh_keygen(), "-l", "-f", key], stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=30)
    except (OSError, subprocess.SubprocessError, ConfigError):
        return None
    parts = proc.stdout.split()
    if proc.returncode != 0 or len(parts) < 2 or not parts[1].startswith("SHA256:"):
        return None
    kind = parts[-1].strip("()") if parts[-1].startswith("(") else "SSH"
    return f"{kind} key {parts[1]}"


def sign_bytes(data: bytes, key: str, sig_path: Path, namespace: str = NAMESPACE) -> None:
    """Sign ``data`` with ``key`` (a private key file, or a public key whose private half is in the
    agent) for ``namespace`` and write the armoured signature to ``sig_path`` atomically."""
    exe = _ssh_keygen()
    folder = sig_path.parent
    fd, tmp = tempfile.mkstemp(prefix=f".{sig_path.name}.", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        proc = subprocess.run([exe, "-Y", "sign", "-q", "-f", key, "-n", namespace, tmp],
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        if proc.returncode != 0:
            raise ConfigError(f"ssh-keygen could not sign: {proc.stderr.decode(errors='replace').strip()}",
                              file=key, field="sign_key")
        os.replace(tmp + SIG_SUFFIX, sig_path)
    finally:
        for leftover in (tmp, tmp + SIG_SUFFIX):
            try:
                os.unlink(leftover)
            except OSError:
                pass


@dataclass
class Check:
    ok: bool
    signers: list[str]      # principals of the allowed-signers file that match the signing key
    message: str
    signer: str | None = None   # the principal whose line verified it


def verify_bytes(data: bytes, sig_path: Path, allowed_signers: str, namespace: str = NAMESPACE,
                 what: str = "the manifest") -> Check:
    """Check the signature of ``data`` against an allowed-signers file, as ``ssh-keygen -Y verify``."""
    exe = _ssh_keygen()
    if not Path(allowed_signers).is_file():
        raise ConfigError("allowed-signers file not found", file=allowed_signers)
    found = subprocess.run([exe, "-Y", "find-principals", "-f", allowed_signers, "-s", str(sig_path)],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    principals = [p for p in found.stdout.decode(errors="replace").split() if p]
    if found.returncode != 0 or not principals:
        detail = found.stderr.decode(errors="replace").strip()
        return Check(False, [], "signed by a key that is not in the allowed signers"
                     + (f" ({_last_line(detail)})" if detail else ""))
    for principal in principals:
        proc = subprocess.run([exe, "-Y", "verify", "-f", allowed_signers, "-I", principal, "-n", namespace,
                               "-s", str(sig_path)], input=data, capture_output=True, timeout=60)
        if proc.returncode == 0:
            return Check(True, principals, f"good signature by {principal}", principal)
    detail = _last_line(proc.stderr.decode(errors="replace").strip() or proc.stdout.decode(errors="replace"))
    return Check(False, principals, f"the signature does not match {what} ({detail})")


def matches_novalidate(data: bytes, sig_path: Path, namespace: str) -> bool:
    """Whether the signature is one of ``data`` for ``namespace``, whoever made it
    (``ssh-keygen -Y check-novalidate``: no allowed-signers file, so nothing about the signer)."""
    proc = subprocess.run([_ssh_keygen(), "-Y", "check-novalidate", "-n", namespace, "-s", str(sig_path)],
                          input=data, capture_output=True, timeout=60)
    return proc.returncode == 0


def signing_key(data: bytes, sig_path: Path, namespace: str = NAMESPACE) -> str | None:
    """The key that made a signature of ``data`` for ``namespace`` (``ED25519 key SHA256:…`` as
    ``ssh-keygen -Y check-novalidate`` names it), checked against nobody: None when the signature is not
    one of ``data``. Says which key signed, never whether that key may sign."""
    proc = subprocess.run([_ssh_keygen(), "-Y", "check-novalidate", "-n", namespace, "-s", str(sig_path)],
                          input=data, capture_output=True, timeout=60)
    if proc.returncode != 0:
        return None
    m = re.search(r"with (\S+ key \S+)", proc.stdout.decode(errors="replace"))
    return m.group(1) if m else "an unnamed key"


def _last_line(text: str) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else ""
