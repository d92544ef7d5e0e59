"""accounts.login_defs: password and account defaults from /etc/login.defs and `useradd -D`.

Only the settings the controls judge travel (a fixed grep on the host), each typed: the hash
method as written, day counts as ints, the umask as a 3-digit octal string plus the directory mode
it leaves (``0777 & ~umask``, for ``mode_at_most``), and the account inactivity default of new
users (``INACTIVE``, -1 = never locked). A setting that is not in the file is ``None``: shadow then
uses its compiled-in default (no ageing, DES for ENCRYPT_METHOD), which the controls treat as not
configured. As in shadow's own parser, the last occurrence of a key wins: ``setting_sources`` says
which line that is (``/etc/login.defs:N`` per key) and ``setting_overridden`` lists the earlier
lines of the same key that it overrides.
"""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, require_success, section
from hardencheck.collect.probes.base import Probe

ABSENT = "HC_ABSENT"
KEYS = ("ENCRYPT_METHOD", "PASS_MAX_DAYS", "PASS_MIN_DAYS", "PASS_WARN_AGE", "UMASK",
        "USERGROUPS_ENAB", "SHA_CRYPT_MIN_ROUNDS", "YESCRYPT_COST_FACTOR")
NUMERIC = {"PASS_MAX_DAYS", "PASS_MIN_DAYS", "PASS_WARN_AGE", "SHA_CRYPT_MIN_ROUNDS",
           "YESCRYPT_COST_FACTOR"}
_NUM = re.compile(r"^-?[0-9]{1,10}$")
_UMASK = re.compile(r"^0?[0-7]{1,3}$")


class LoginDefs(Probe):
    name = "accounts.login_defs"
    summary = ("Password/account defaults: ENCRYPT_METHOD, PASS_* ageing and UMASK from "
               "/etc/login.defs, INACTIVE from `useradd -D`")
    timeout = 20
    tools = {"useradd": ("useradd",)}
    commands = {
        # exit 13 = exists but unreadable; only the named settings leave the host
        "login_defs": (
            f"f=/etc/login.defs; if [ ! -e \"$f\" ]; then echo {ABSENT}; exit 0; fi; "
            "if [ ! -r \"$f\" ]; then echo \"$f: Permission denied\" >&2; exit 13; fi; "
            "grep -anE '^[[:space:]]*(" + "|".join(KEYS) + ")[[:space:]]' \"$f\" | cut -c 1-200; "
            "exit 0"
        ),
        "useradd": "command -v useradd >/dev/null 2>&1 || exit 127; useradd -D",
    }

    def parse(self, out, args):
        sec = section(out, "login_defs", "/etc/login.defs")
        if sec.exit_code == 13:
            raise ProbeError("permission_denied", "/etc/login.defs: not readable")
        require_success(sec, "reading /etc/login.defs")
        lines = sec.stdout.splitlines()
        exists = not (lines and lines[0].strip() == ABSENT)
        values: dict[str, str] = {}
        sources: dict[str, str] = {}
        overridden: dict[str, list[str]] = {}
        if exists:
            for raw in lines:
                number, sep, rest = raw.partition(":")
                if not (sep and number.isdigit()):   # a recording from before line numbers
                    number, rest = "", raw
                parts = rest.split()
                if len(parts) < 2 or parts[0] not in KEYS:
                    continue  # a key without a value is ignored by shadow too
                key = parts[0].lower()
                if key in sources:
                    overridden.setdefault(key, []).append(f"{sources[key]}: {clean(values[parts[0]], 60)}")
                values[parts[0]] = parts[1]
                sources[key] = f"/etc/login.defs:{number}" if number else "/etc/login.defs"
        fact: dict[str, object] = {"exists": exists, "setting_sources": sources,
                                   "setting_overridden": overridden}
        method = values.get("ENCRYPT_METHOD")
        fact["encrypt_method"] = clean(method, 40) if method is not None else None
        for key in sorted(NUMERIC):
            v = values.get(key)
            if v is not None and not _NUM.match(v):
                raise ProbeError("unparsable", f"/etc/login.defs: {key} is not a number: {clean(v, 40)!r}")
            fact[key.lower()] = int(v) if v is not None else None
        umask = values.get("UMASK")
        if umask is not None:
            if not _UMASK.match(umask):
                raise ProbeError("unparsable", f"/etc/login.defs: UMASK is not an octal mask: {clean(umask, 40)!r}")
            bits = int(umask, 8)
            fact["umask"] = f"{bits:03o}"
            fact["default_dir_mode"] = f"{0o777 & ~bits:04o}"
        else:
            fact["umask"] = fact["default_dir_mode"] = None
        ug = values.get("USERGROUPS_ENAB")
        fact["usergroups_enab"] = None if ug is None else ug.lower() == "yes"
        fact.update(self._useradd(out))
        return fact

    def _useradd(self, out) -> dict:
        sec = section(out, "useradd", "useradd -D")
        if sec.exit_code == 127:
            # no shadow useradd (busybox systems): the default is unknown, not an error of the
            # whole probe; a control reading it reports the null value.
            return {"useradd_available": False, "inactive": None}
        require_success(sec, "useradd -D")
        inactive = None
        seen = False
        for raw in sec.stdout.splitlines():
            key, sep, value = raw.strip().partition("=")
            if sep and key == "INACTIVE":
                value = value.strip()
                if not _NUM.match(value):
                    raise ProbeError("unparsable", f"useradd -D: INACTIVE is not a number: {clean(value, 40)!r}")
                inactive, seen = int(value), True
        if not seen:
            raise ProbeError("unparsable", "useradd -D printed no INACTIVE line")
        return {"useradd_available": True, "inactive": inactive}
