"""auth.mfa: whether SSH logins and sudo need a second factor.

Needs root (``sshd -T``). What leaves the host: five keywords of ``sshd -T``; the ``Match`` lines of
sshd_config and its ``Include``d files together with the authentication keywords set inside them;
and the ``auth`` lines of the PAM stacks of sshd and sudo (includes and substacks followed, as PAM
reads them) reduced to control, module and whether ``nullok`` is given - other module arguments
stay on the host.

SSH has two factors when every list of ``AuthenticationMethods`` holds at least two methods, one of
them ``keyboard-interactive`` answered by a one-time-password or security-key PAM module
(pam_google_authenticator, pam_oath, pam_u2f, pam_yubico, pam_duo) that is ``required``/``requisite``
and not ``nullok`` in sshd's stack (with UsePAM yes); or when only security-key (``sk-``) public
keys are accepted and no password or keyboard-interactive login is possible. ``Match`` blocks that
set authentication keywords (which can exempt users or addresses) are listed as
``match_exemptions`` ("Match <criteria>"). sudo has two factors when its PAM stack requires such a
module (NOPASSWD rules bypass PAM entirely: ACCT-008).
"""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, complete_section
from hardencheck.collect.probes.base import Probe

ABSENT = "HC_ABSENT"
OTP_MODULES = ("pam_google_authenticator", "pam_oath", "pam_u2f", "pam_yubico", "pam_duo")
KEYWORDS = ("authenticationmethods", "usepam", "kbdinteractiveauthentication", "passwordauthentication",
            "pubkeyacceptedalgorithms", "challengeresponseauthentication", "pubkeyacceptedkeytypes")
_SSHD = (
    "out=$(sshd -T 2>&1) || { rc=$?; printf '%s\\n' \"$out\" | head -n 5 >&2; exit $rc; }; "
    "printf '%s\\n' \"$out\" | awk '$1 ~ /^(" + "|".join(KEYWORDS) + ")$/'"
)
_MATCH = (
    "c=/etc/ssh/sshd_config; [ -r \"$c\" ] || { echo \"$c: Permission denied\" >&2; exit 13; }; "
    "for f in \"$c\" $(sed -n -E 's/^[[:space:]]*[Ii]nclude[[:space:]]+//p' \"$c\" | "
    "sed -E 's#^([^/])#/etc/ssh/\\1#'); do [ -f \"$f\" ] && [ -r \"$f\" ] || continue; "
    "awk -v F=\"$f\" 'BEGIN { m = \"\" } { sub(/^[ \\t]+/, \"\") } "
    "tolower($1) == \"match\" { m = substr($0, 1, 300); next } "
    "m != \"\" && tolower($1) ~ /^(authenticationmethods|passwordauthentication|kbdinteractiveauthentication|"
    "challengeresponseauthentication|pubkeyacceptedalgorithms|pubkeyacceptedkeytypes|usepam)$/ "
    "{ print \"M \" m \" | \" tolower($1) }' \"$f\"; done; exit 0"
)
_PAM_AWK = (
    "awk -v S=\"$1\" 'function show(f, d,   line, w, n) { if (d > 4) return; "
    "while ((getline line < f) > 0) { sub(/^[ \\t]+/, \"\", line); if (line ~ /^#/ || line == \"\") continue; "
    "n = split(line, w, /[ \\t]+/); "
    "if (w[1] == \"@include\") { show(\"/etc/pam.d/\" w[2], d + 1); continue } "
    "sub(/^-/, \"\", w[1]); if (w[1] != \"auth\") continue; "
    "if (w[2] == \"include\" || w[2] == \"substack\") { show(\"/etc/pam.d/\" w[3], d + 1); continue } "
    "if (w[2] ~ /^\\[/) { ctl = w[2]; i = 3; while (ctl !~ /\\]$/ && i <= n) { ctl = ctl \" \" w[i]; i++ } mod = w[i] } "
    "else { ctl = w[2]; i = 3; mod = w[3] } nullok = 0; for (j = i + 1; j <= n; j++) if (w[j] ~ /^nullok/) nullok = 1; "
    "print \"P \" S \" \" mod \" \" nullok \" \" substr(ctl, 1, 200) } close(f) } "
    "BEGIN { show(\"/etc/pam.d/\" S, 0) }'"
)
_PAM = (
    "for s in sshd sudo; do f=/etc/pam.d/$s; if [ ! -e \"$f\" ]; then echo \"N $s\"; continue; fi; "
    "[ -r \"$f\" ] || { echo \"$f: Permission denied\" >&2; exit 13; }; set -- \"$s\"; echo \"S $s\"; "
    + _PAM_AWK + "; done"
)
_SK = re.compile(r"^sk-[a-z0-9-]+@openssh\.com$|^sk-[a-z0-9-]+-cert-v01@openssh\.com$")


class AuthMfa(Probe):
    name = "auth.mfa"
    summary = ("Two-factor authentication: sshd AuthenticationMethods with an OTP/U2F PAM module or "
               "security-key-only keys, Match exemptions; sudo's PAM stack")
    timeout = 30
    tools = {"sshd": ("sshd",)}
    commands = {"sshd": _SSHD, "match": _MATCH, "pam": _PAM}

    def parse(self, out, args):
        sec = complete_section(out, "sshd", "sshd -T")
        kw: dict[str, str] = {}
        for line in sec.stdout.splitlines():
            key, _, value = line.strip().partition(" ")
            if key:
                kw[key] = clean(value, 2000)
        if "authenticationmethods" not in kw or "usepam" not in kw:
            raise ProbeError("unparsable", "sshd -T printed no authenticationmethods/usepam line")
        kbd = kw.get("kbdinteractiveauthentication", kw.get("challengeresponseauthentication", "yes"))
        algs = kw.get("pubkeyacceptedalgorithms", kw.get("pubkeyacceptedkeytypes", ""))
        msec = complete_section(out, "match", "sshd_config Match blocks",
                                refused=lambda s: clean(s.stderr, 160) or "sshd_config not readable")
        exemptions = []
        for line in msec.stdout.splitlines():
            if not line.startswith("M "):
                raise ProbeError("unparsable", f"sshd_config Match blocks: unexpected line {clean(line, 60)!r}")
            crit = clean(line[2:].rsplit(" | ", 1)[0], 300)
            if crit not in exemptions:
                exemptions.append(crit)
        stacks = _stacks(complete_section(out, "pam", "PAM stacks of sshd and sudo",
                                          refused=lambda s: clean(s.stderr, 160) or "not readable").stdout)
        ssh_otp = _otp_required(stacks.get("sshd") or [])
        methods = kw["authenticationmethods"]
        lists = [m.split(",") for m in methods.split()] if methods != "any" else [["any"]]
        kbd_otp = (kw["usepam"] == "yes" and kbd == "yes" and bool(ssh_otp))
        two_methods = methods != "any" and all(
            len(lst) >= 2 and any(m.startswith("keyboard-interactive") for m in lst) for lst in lists)
        alg_list = [a for a in algs.split(",") if a]
        sk_only = (bool(alg_list) and all(_SK.match(a) for a in alg_list)
                   and kw.get("passwordauthentication") == "no" and kbd == "no"
                   and all(m == "publickey" for lst in lists for m in lst if m != "any"))
        if two_methods and kbd_otp:
            ssh_how = f"AuthenticationMethods {methods} with {', '.join(ssh_otp)}"
        elif sk_only:
            ssh_how = "security-key (sk-) public keys only"
        else:
            ssh_how = None
        sudo = stacks.get("sudo")
        sudo_otp = _otp_required(sudo or [])
        return {
            "authenticationmethods": methods,
            "usepam": kw["usepam"],
            "kbdinteractiveauthentication": kbd,
            "pubkeyacceptedalgorithms": alg_list,
            "ssh_otp_modules": ssh_otp,
            "ssh_two_factor": ssh_how is not None,
            "ssh_two_factor_by": ssh_how,
            "match_exemptions": exemptions,
            "sudo_installed": sudo is not None,
            "sudo_otp_modules": sudo_otp,
            "sudo_two_factor": bool(sudo_otp),
            "pam_sshd": [_show(e) for e in stacks.get("sshd") or []][:60],
            "pam_sudo": [_show(e) for e in sudo or []][:60],
        }


def _stacks(text: str) -> dict[str, list[dict] | None]:
    stacks: dict[str, list[dict] | None] = {}
    cur = None
    for line in text.splitlines():
        kind, _, body = line.partition(" ")
        if kind == "N":
            stacks[body.strip()] = None
            cur = None
        elif kind == "S":
            cur = body.strip()
            stacks[cur] = []
        elif kind == "P" and cur is not None:
            parts = body.split(" ", 3)
            if len(parts) != 4 or parts[0] != cur or parts[2] not in ("0", "1"):
                raise ProbeError("unparsable", f"PAM stack: unexpected line {clean(line, 80)!r}")
            stacks[cur].append({"module": clean(parts[1], 80), "nullok": parts[2] == "1",
                                "control": clean(parts[3], 120)})
        elif line.strip():
            raise ProbeError("unparsable", f"PAM stack: unexpected line {clean(line, 80)!r}")
    return stacks


def _otp_required(stack: list[dict]) -> list[str]:
    """OTP/U2F modules the stack requires: control required/requisite (or a bracket control that
    ends the stack with an error when the module fails), not nullok, and no ``sufficient`` (or
    ``success=done``) module before it that could end the stack first."""
    found = []
    for e in stack:
        name = e["module"].rsplit("/", 1)[-1].removesuffix(".so")
        ctl = e["control"]
        if name not in OTP_MODULES and (ctl == "sufficient" or "success=done" in ctl):
            break   # a module before it can end the stack with success: the second factor is skippable
        if name not in OTP_MODULES or e["nullok"]:
            continue
        if ctl in ("required", "requisite") or (ctl.startswith("[") and re.search(r"default=(die|bad)", ctl)):
            found.append(name)
    return sorted(set(found))


def _show(e: dict) -> str:
    return f"{e['control']} {e['module']}" + (" nullok" if e["nullok"] else "")
