"""pam.auth: account lockout (pam_faillock) and password quality (pam_pwquality) as PAM applies them.

Read on the host, filtered by a fixed grep so only the relevant lines travel: the pam_faillock,
pam_pwquality/pam_cracklib and pam_unix lines of the shared PAM stacks (Debian common-auth,
common-account, common-password; RHEL system-auth, password-auth), the settings lines of
/etc/security/faillock.conf, and those of /etc/security/pwquality.conf plus pwquality.conf.d/*.conf.

The facts are the *effective* values: module defaults, overridden by the configuration files (in
the order libpwquality reads them), overridden by arguments on the module's PAM line. Like PAM, an
unreadable value is ignored (the previous value stays). ``faillock.unlock_time_ok`` judges the
unlock time against the non-remote argument ``min_unlock_time``: 0 ("never", an administrator
unlocks) or at least that many seconds.
"""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, complete_section, require_success, section
from hardencheck.collect.probes.base import Arg, Probe

ABSENT = "HC_ABSENT"
PAM_FILES = ("/etc/pam.d/common-auth", "/etc/pam.d/common-account", "/etc/pam.d/common-password",
             "/etc/pam.d/system-auth", "/etc/pam.d/password-auth")
FAILLOCK_KEYS = ("deny", "unlock_time", "fail_interval", "even_deny_root", "root_unlock_time",
                 "local_users_only")
PWQ_KEYS = ("minlen", "minclass", "dcredit", "ucredit", "lcredit", "ocredit", "dictcheck",
            "enforce_for_root", "enforcing", "maxrepeat", "retry", "difok", "local_users_only")
#: pam_faillock and libpwquality compiled-in defaults
FAILLOCK_DEFAULTS = {"deny": 3, "unlock_time": 600, "fail_interval": 900, "even_deny_root": False,
                     "root_unlock_time": None}
PWQ_DEFAULTS = {"minlen": 8, "minclass": 0, "dcredit": 0, "ucredit": 0, "lcredit": 0, "ocredit": 0,
                "dictcheck": 1, "enforce_for_root": False, "enforcing": 1, "maxrepeat": 0,
                "difok": 1, "retry": 1}
PWQ_FLAGS = {"enforce_for_root", "local_users_only"}
MAX_LINES = 2000

_KEYS_RE = lambda keys: "|".join(keys)  # noqa: E731
_PAM_CMD = (
    "for f in " + " ".join(PAM_FILES) + "; do [ -e \"$f\" ] || continue; "
    "if [ ! -r \"$f\" ]; then echo \"$f: Permission denied\" >&2; exit 13; fi; echo \"== $f\"; "
    "grep -aE '^[[:space:]]*-?(auth|account|password)[[:space:]].*"
    "(pam_faillock|pam_pwquality|pam_cracklib|pam_unix)[.]so' \"$f\" | cut -c 1-400; done; exit 0"
)
_FAILLOCK_CMD = (
    f"f=/etc/security/faillock.conf; if [ ! -e \"$f\" ]; then echo {ABSENT}; exit 0; fi; "
    "if [ ! -r \"$f\" ]; then echo \"$f: Permission denied\" >&2; exit 13; fi; "
    "grep -aE '^[[:space:]]*(" + _KEYS_RE(FAILLOCK_KEYS) + ")([[:space:]=]|$)' \"$f\" | cut -c 1-200; exit 0"
)
_PWQ_CMD = (
    "for f in /etc/security/pwquality.conf /etc/security/pwquality.conf.d/*.conf; do "
    "[ -f \"$f\" ] || continue; "
    "if [ ! -r \"$f\" ]; then echo \"$f: Permission denied\" >&2; exit 13; fi; echo \"== $f\"; "
    "grep -aE '^[[:space:]]*(" + _KEYS_RE(PWQ_KEYS) + ")([[:space:]=]|$)' \"$f\" | cut -c 1-200; "
    "done; exit 0"
)
_INT = re.compile(r"^-?[0-9]{1,9}$")


class PamAuth(Probe):
    name = "pam.auth"
    summary = ("Effective pam_faillock lockout and pam_pwquality password rules from the PAM stacks, "
               "faillock.conf and pwquality.conf(.d)")
    timeout = 20
    args = {
        "min_unlock_time": Arg("int", default=900,
                               doc="shortest acceptable automatic unlock time in seconds (0 always ok)"),
    }
    commands = {"pam": _PAM_CMD, "faillock": _FAILLOCK_CMD, "pwquality": _PWQ_CMD}

    def parse(self, out, args):
        files, lines = self._pam_lines(out)
        faillock = self._faillock(out, lines, args.get("min_unlock_time"))
        pwquality = self._pwquality(out, lines)
        unix = [ln for ln in lines if ln["module"] == "pam_unix"]
        hashes = [a for ln in unix if ln["type"] == "password" for a in ln["args"]
                  if a in ("yescrypt", "gost_yescrypt", "sha512", "sha256", "blowfish", "bigcrypt", "md5")]
        return {
            "pam_files": files,
            "faillock": faillock,
            "pwquality": pwquality,
            "unix": {
                "present": bool(unix),
                "nullok": any("nullok" in ln["args"] for ln in unix if ln["type"] == "auth"),
                "hash": hashes[-1] if hashes else None,
            },
        }

    # -- PAM stack lines ---------------------------------------------------------------------
    def _pam_lines(self, out):
        sec = complete_section(out, "pam", "PAM stacks", ran="reading the PAM stacks",
                               truncated="PAM stacks: output was truncated",
                               refused=lambda s: f"PAM stacks: {clean(s.stderr, 120)}")
        files, lines, current = [], [], None
        for raw in sec.stdout.splitlines()[:MAX_LINES]:
            if raw.startswith("== "):
                current = raw[3:].strip()
                if current not in PAM_FILES:
                    raise ProbeError("unparsable", f"PAM stacks: unexpected file {clean(current, 80)!r}")
                files.append(current)
                continue
            if not raw.strip():
                continue
            if current is None:
                raise ProbeError("unparsable", "PAM stacks: a line before any file header")
            parsed = _pam_line(raw)
            if parsed:
                parsed["file"] = current
                lines.append(parsed)
        return files, lines

    # -- pam_faillock ------------------------------------------------------------------------
    def _faillock(self, out, lines, min_unlock):
        sec = section(out, "faillock", "/etc/security/faillock.conf")
        if sec.exit_code == 13:
            raise ProbeError("permission_denied", "/etc/security/faillock.conf: not readable")
        require_success(sec, "reading faillock.conf")
        text = sec.stdout.splitlines()
        conf_exists = not (text and text[0].strip() == ABSENT)
        eff: dict[str, object] = dict(FAILLOCK_DEFAULTS)
        if conf_exists:
            for raw in text:
                key, value = _setting(raw)
                if key in FAILLOCK_KEYS:
                    _apply_faillock(eff, key, value)
        mine = [ln for ln in lines if ln["module"] == "pam_faillock"]
        auth = [ln for ln in mine if ln["type"] == "auth"]
        for ln in auth:
            for a in ln["args"]:
                key, _, value = a.partition("=")
                if key in FAILLOCK_KEYS:
                    _apply_faillock(eff, key, value if "=" in a else None)
        if eff["root_unlock_time"] is None:
            eff["root_unlock_time"] = eff["unlock_time"]
        unlock = eff["unlock_time"]
        ok = isinstance(min_unlock, int) and (unlock == 0 or unlock >= min_unlock)
        return {
            "active": bool(auth),
            "preauth": any("preauth" in ln["args"] for ln in auth),
            "authfail": any("authfail" in ln["args"] for ln in auth),
            "account": any(ln["type"] == "account" for ln in mine),
            "config_file": conf_exists,
            "deny": eff["deny"],
            "unlock_time": unlock,
            "unlock_time_ok": ok,
            "fail_interval": eff["fail_interval"],
            "even_deny_root": eff["even_deny_root"],
            "root_unlock_time": eff["root_unlock_time"],
        }

    # -- pam_pwquality -----------------------------------------------------------------------
    def _pwquality(self, out, lines):
        sec = section(out, "pwquality", "pwquality.conf")
        if sec.exit_code == 13:
            raise ProbeError("permission_denied", f"pwquality configuration: {clean(sec.stderr, 120)}")
        require_success(sec, "reading pwquality.conf")
        eff: dict[str, object] = dict(PWQ_DEFAULTS)
        files = []
        for raw in sec.stdout.splitlines()[:MAX_LINES]:
            if raw.startswith("== "):
                name = clean(raw[3:], 200)
                if not name.startswith("/etc/security/pwquality.conf"):
                    raise ProbeError("unparsable", f"pwquality: unexpected file {name[:80]!r}")
                files.append(name)
                continue
            key, value = _setting(raw)
            if key in PWQ_KEYS:
                _apply_pwq(eff, key, value)
        mods = [ln for ln in lines if ln["type"] == "password"
                and ln["module"] in ("pam_pwquality", "pam_cracklib")]
        for ln in mods:
            for a in ln["args"]:
                key, _, value = a.partition("=")
                if key in PWQ_KEYS:
                    _apply_pwq(eff, key, value if "=" in a else None)
        return {
            "active": any(ln["module"] == "pam_pwquality" for ln in mods),
            "module": mods[-1]["module"] if mods else None,
            "config_files": files,
            **{k: eff[k] for k in ("minlen", "minclass", "dcredit", "ucredit", "lcredit",
                                   "ocredit", "dictcheck", "enforce_for_root", "enforcing",
                                   "maxrepeat", "difok", "retry")},
        }


# -- helpers -----------------------------------------------------------------------------------

def _pam_line(raw: str) -> dict | None:
    """``[-]type control module [args]``; control may be a ``[...]`` list with spaces."""
    line = raw.strip()
    if not line or line.startswith("#"):
        return None
    m = re.match(r"^-?(auth|account|password)\s+(\[[^\]]*\]|\S+)\s+(\S+)(.*)$", line)
    if not m:
        return None  # grep matched a module name inside something else; not a stack line
    module = m.group(3).rsplit("/", 1)[-1]
    if module.endswith(".so"):
        module = module[:-3]
    args = [clean(a, 100) for a in m.group(4).split()]
    args = args[:args.index("#")] if "#" in args else args
    return {"type": m.group(1), "control": clean(m.group(2), 80), "module": clean(module, 60),
            "args": args}


def _setting(raw: str) -> tuple[str | None, str | None]:
    """``key = value`` / ``key value`` / a bare ``flag`` -> (key, value or None)."""
    line = raw.split("#", 1)[0].strip()
    if not line:
        return None, None
    m = re.match(r"^([a-z_]+)\s*(?:=\s*)?(.*)$", line)
    if not m:
        return None, None
    value = m.group(2).strip()
    return m.group(1), (value if value != "" else None)


def _int(value: str | None) -> int | None:
    if value is not None and _INT.match(value.strip()):
        return int(value.strip())
    return None


def _apply_faillock(eff: dict, key: str, value: str | None) -> None:
    if key in ("even_deny_root", "local_users_only"):
        if key == "even_deny_root":
            eff[key] = True
        return
    if key in ("unlock_time", "root_unlock_time") and value is not None and value.strip() == "never":
        eff[key] = 0
        return
    n = _int(value)
    if n is not None and n >= 0:
        eff[key] = n


def _apply_pwq(eff: dict, key: str, value: str | None) -> None:
    if key in PWQ_FLAGS:
        if key == "enforce_for_root":
            eff[key] = True
        return
    n = _int(value)
    if n is not None:
        eff[key] = n
