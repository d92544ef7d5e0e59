"""accounts.shadow: which password hash scheme each local account uses, computed on the host.

No hash, salt or password ever leaves the host: awk reads /etc/shadow (root only) and prints one
line per account with the user name and a *scheme id* only: the text between the first two ``$``
of the hash when it is a short algorithm id (``y``, ``6``, ``2b`` …), or ``empty``, ``locked``
(``!``/``*`` prefixes, including ``!$6$…`` of ``passwd -l``), ``des`` (13-character crypt) or
``other``. From /etc/passwd it prints the names of UID-0 accounts and of accounts whose password
field is empty or holds a hash itself instead of ``x``.

Which schemes count as strong is the non-remote argument ``strong_schemes`` (it only reaches the
parser): every account with a usable password in another scheme, unknown ones included, is listed
in ``weak_hash_users``.
"""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, complete_section
from hardencheck.collect.probes.base import Arg, Probe

SCHEMES = {
    "y": "yescrypt", "gy": "gost-yescrypt", "7": "scrypt", "6": "sha512", "5": "sha256",
    "2a": "bcrypt", "2b": "bcrypt", "2x": "bcrypt", "2y": "bcrypt", "1": "md5", "3": "nthash",
    "sha1": "sha1crypt", "md5": "sunmd5",
}
NOT_A_PASSWORD = ("empty", "locked")
MAX_ACCOUNTS = 5000
_USER = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_.@$-]{0,63}$")

_SHADOW = (
    "f=/etc/shadow; if [ ! -r \"$f\" ]; then echo \"$f: Permission denied\" >&2; exit 13; fi; "
    "awk -F: 'NF >= 2 && $1 != \"\" && $1 !~ /^[+#-]/ { h = $2; s = \"other\"; "
    "if (h == \"\") s = \"empty\"; "
    "else if (h ~ /^[!*]/) s = \"locked\"; "
    "else if (h ~ /^[$][0-9a-z]+[$]/) { s = substr(h, 2); s = substr(s, 1, index(s, \"$\") - 1); "
    "if (length(s) > 4) s = \"other\" } "
    "else if (length(h) == 13 && h ~ /^[.\\/0-9A-Za-z]+$/) s = \"des\"; "
    "print \"S\", $1, s }' \"$f\""
)
_PASSWD = (
    "awk -F: 'NF >= 3 && $1 != \"\" && $1 !~ /^[+#-]/ { "
    "if ($3 ~ /^0+$/) print \"U\", $1; "
    "if ($2 == \"\") print \"E\", $1; "
    "else if ($2 != \"x\" && $2 !~ /^[!*]/) print \"H\", $1 }' /etc/passwd"
)


class AccountsShadow(Probe):
    name = "accounts.shadow"
    summary = ("Password hash scheme per local account (computed on the host, never a hash), "
               "empty passwords, UID-0 accounts")
    timeout = 30
    args = {
        "strong_schemes": Arg("str_list", default=["yescrypt", "gost-yescrypt", "sha512", "scrypt"],
                              doc="hash schemes that are not reported in weak_hash_users"),
    }
    commands = {"shadow": _SHADOW, "passwd": _PASSWD}

    def parse(self, out, args):
        strong = set(args.get("strong_schemes") or [])
        cut = "account list was truncated"
        sec = complete_section(out, "shadow", "/etc/shadow", ran="reading /etc/shadow", truncated=cut,
                               refused="/etc/shadow: not readable (needs root)")
        psec = complete_section(out, "passwd", "/etc/passwd", ran="reading /etc/passwd", truncated=cut)

        scheme_of: dict[str, str] = {}
        for raw in sec.stdout.splitlines():
            parts = raw.split(" ")
            if len(parts) != 3 or parts[0] != "S":
                raise ProbeError("unparsable", f"/etc/shadow summary: unexpected line {clean(raw, 60)!r}")
            user, sid = _user(parts[1]), parts[2]
            if sid in NOT_A_PASSWORD or sid in ("des", "other"):
                scheme = sid
            elif re.fullmatch(r"[0-9a-z]{1,4}", sid):
                scheme = SCHEMES.get(sid, "unknown-" + sid)
            else:
                raise ProbeError("unparsable", f"/etc/shadow summary: bad scheme id {clean(sid, 20)!r}")
            scheme_of[user] = scheme
            if len(scheme_of) > MAX_ACCOUNTS:
                raise ProbeError("unparsable", "/etc/shadow: implausibly many accounts")
        if not scheme_of:
            raise ProbeError("unparsable", "/etc/shadow listed no accounts")

        uid0, empty, unshadowed = [], [], []
        for raw in psec.stdout.splitlines():
            parts = raw.split(" ")
            if len(parts) != 2 or parts[0] not in ("U", "E", "H"):
                raise ProbeError("unparsable", f"/etc/passwd summary: unexpected line {clean(raw, 60)!r}")
            {"U": uid0, "E": empty, "H": unshadowed}[parts[0]].append(_user(parts[1]))
        if not uid0 and "root" in scheme_of:
            # every Linux has UID 0; an empty list means the passwd summary is not trustworthy
            raise ProbeError("unparsable", "/etc/passwd summary lists no UID-0 account")

        schemes: dict[str, int] = {}
        for s in scheme_of.values():
            schemes[s] = schemes.get(s, 0) + 1
        with_password = sorted(u for u, s in scheme_of.items() if s not in NOT_A_PASSWORD)
        empty_all = sorted(set(empty) | {u for u, s in scheme_of.items() if s == "empty"})
        return {
            "accounts": len(scheme_of),
            "schemes": dict(sorted(schemes.items())),
            "password_users": with_password,
            "password_schemes": sorted({scheme_of[u] for u in with_password}),
            "weak_hash_users": sorted(u for u in with_password if scheme_of[u] not in strong),
            "empty_password_users": empty_all,
            "unshadowed_users": sorted(set(unshadowed)),
            "uid0_users": sorted(set(uid0)),
        }


def _user(name: str) -> str:
    if not _USER.match(name):
        # odd names are reported, not trusted: control characters and length are neutralised
        return clean(name, 64)
    return name
