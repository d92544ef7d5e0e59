"""access.roster: who holds privileged access - the accounts sudo lets act as root and the SSH keys
that open each account - for comparison with the roster a TOM approves.

Needs root (sudoers is 0440, other users' authorized_keys are private). What leaves the host:

- ``getent group`` (name, gid, members) and ``getent passwd`` (name, uid, gid, home): no secrets;
- of sudoers (and the files it includes, as sudo.config reads them) only each rule's *text before
  the first ``=``* (user list and host list: the commands never leave the host) and the
  ``User_Alias`` definitions;
- for each account and each ``AuthorizedKeysFile`` of ``sshd -T`` (``%h``, ``%u``, ``%U``, ``%%``
  expanded; relative to the home), the key *fingerprints and types* that ``ssh-keygen -lf`` prints:
  key options and comments stay on the host.

``privileged_accounts``: every account sudo names in a rule, directly, through a ``User_Alias`` or
through a ``%group`` (its members and the accounts whose primary group it is), plus the members of
the admin groups (``admin_groups``: sudo, wheel, admin by default), however sudoers treats them.
Principals that cannot be resolved to accounts (``#uid`` without an account, ``%#gid``, netgroups
``+ng``, ``ALL``) are kept as written, so they are never approved by accident.

``approved``/``approved_keys`` (parse-only) are the roster the control compares with; the probe
reports only whether one was given (``roster_given``, ``keys_roster_given``).
Limitation: ``Match`` blocks that change AuthorizedKeysFile per user are not expanded (``sshd -T``
without ``-C``); an ``AuthorizedKeysCommand`` other than ``none`` is reported, since its keys cannot
be listed.
"""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, complete_section
from hardencheck.collect.probes.base import Arg, Probe
from hardencheck.collect.probes.sudo_config import _split_commas

ABSENT = "HC_ABSENT"
MAX_LINES = 20000
_SUDO_AWK = (
    "awk '{ line = $0; while (line ~ /\\\\$/ && (getline nxt) > 0) { sub(/\\\\$/, \"\", line); "
    "line = line \" \" nxt } sub(/^[ \\t]+/, \"\", line); "
    "if (line == \"\") next; "
    "if (line ~ /^#/ && line !~ /^#[0-9]+[ \\t,]/) next; "
    "if (line ~ /^(Defaults|@include|Runas_Alias|Host_Alias|Cmnd_Alias|Cmd_Alias)/) next; "
    "if (line ~ /^User_Alias[ \\t]/) { print \"A \" substr(line, 1, 2000); next } "
    "i = index(line, \"=\"); if (i > 1) print \"R \" substr(line, 1, i - 1) }'"
)
_SUDOERS = (
    f"f=/etc/sudoers; if [ ! -e \"$f\" ]; then echo {ABSENT}; exit 0; fi; "
    "if [ ! -r \"$f\" ]; then echo \"$f: Permission denied\" >&2; exit 13; fi; "
    "dirs=$(sed -n 's/^[#@]includedir[ \t][ \t]*//p' \"$f\"); "
    "incs=$(sed -n 's/^[#@]include[ \t][ \t]*//p' \"$f\"); "
    "show() { [ -f \"$1\" ] || return 0; "
    "if [ ! -r \"$1\" ]; then echo \"$1: Permission denied\" >&2; exit 13; fi; "
    "echo \"== $1\"; " + _SUDO_AWK + " \"$1\"; }; "
    "show \"$f\"; for g in $incs; do show \"$g\"; done; "
    "for d in $dirs; do for g in \"$d\"/*; do case \"${g##*/}\" in *~|*.*) continue;; esac; "
    "show \"$g\"; done; done; exit 0"
)
_EXPAND = (
    "awk -F: 'BEGIN { n = split(ENVIRON[\"HC_P\"], p, \" \") } "
    "{ for (i = 1; i <= n; i++) { f = p[i]; r = \"\"; while ((j = index(f, \"%\")) > 0) { "
    "c = substr(f, j + 1, 1); r = r substr(f, 1, j - 1); if (c == \"h\") r = r $6; "
    "else if (c == \"u\") r = r $1; else if (c == \"U\") r = r $3; else if (c == \"%\") r = r \"%\"; "
    "else r = r \"%\" c; f = substr(f, j + 2) } r = r f; if (r !~ /^\\//) r = $6 \"/\" r; "
    "print $1 \"\\t\" r } }'"
)
_KEYS = (
    "out=$(sshd -T 2>&1) || { rc=$?; printf '%s\\n' \"$out\" | head -n 5 >&2; exit $rc; }; "
    "printf '%s\\n' \"$out\" | awk '$1 == \"authorizedkeysfile\" || $1 == \"authorizedkeyscommand\" "
    "{ print \"S \" $0 }'; "
    "HC_P=$(printf '%s\\n' \"$out\" | awk '$1 == \"authorizedkeysfile\" { for (i = 2; i <= NF; i++) "
    "printf \"%s \", $i }'); export HC_P; "
    "getent passwd | " + _EXPAND + " | while IFS='\t' read -r u f; do "
    "[ -e \"$f\" ] || continue; "
    "if [ ! -r \"$f\" ]; then echo \"$f: Permission denied\" >&2; exit 13; fi; "
    "[ -f \"$f\" ] || continue; printf 'F %s\\t%s\\n' \"$u\" \"$f\"; [ -s \"$f\" ] || continue; "
    "ssh-keygen -lf \"$f\" 2>/dev/null | awk '{ print \"K \" $2 \" \" $NF }'; done"
)
_FP = re.compile(r"^(SHA256:[A-Za-z0-9+/]{43}|MD5(:[0-9a-f]{2}){16}) \(([A-Z0-9-]{2,20})\)$")


class AccessRoster(Probe):
    name = "access.roster"
    summary = ("Privileged access: accounts sudo names (users, aliases, groups) and admin-group members; "
               "authorized_keys fingerprints per account (no commands, options or comments)")
    timeout = 60
    max_output_bytes = 512 * 1024
    args = {
        "admin_groups": Arg("str_list", default=["sudo", "wheel", "admin"],
                            doc="groups whose members count as administrators"),
        "approved": Arg("str_list", default=[], doc="the approved privileged accounts (roster)"),
        "approved_keys": Arg("str_list", default=[], doc="approved 'account SHA256:...' pairs"),
    }
    tools = {"groups": ("getent",), "passwd": ("getent",), "keys": ("sshd", "getent", "ssh-keygen")}
    commands = {
        "groups": "getent group | cut -d: -f1,3,4",
        "passwd": "getent passwd | cut -d: -f1,3,4,6",
        "sudoers": _SUDOERS,
        "keys": _KEYS,
    }

    def parse(self, out, args):
        groups, gid_names = _groups(complete_section(out, "groups", "getent group").stdout)
        accounts = _accounts(complete_section(out, "passwd", "getent passwd").stdout)
        members_of = _members_of(groups, gid_names, accounts)
        sudo = complete_section(out, "sudoers", "sudoers", ran="reading sudoers",
                                truncated="sudoers: output was truncated",
                                refused=lambda s: f"sudoers: {clean(s.stderr, 120) or 'not readable'}")
        principals = _sudo_principals(sudo.stdout)
        admin_groups = list(args.get("admin_groups") or [])
        privileged: set[str] = set()
        unresolved: set[str] = set()
        for p in principals:
            resolved = _resolve(p, members_of, accounts)
            if resolved is None:
                unresolved.add(p)
            else:
                privileged.update(resolved)
        admin_members = sorted({m for g in admin_groups for m in members_of.get(g, ())})
        privileged.update(admin_members)

        ks = complete_section(out, "keys", "authorized keys", ran="sshd -T / reading authorized_keys",
                              truncated="authorized keys: output was truncated",
                              refused=lambda s: f"authorized keys: {clean(s.stderr, 160) or 'not readable'}")
        keys, files, akc = _keys(ks.stdout)
        by_fp: dict[str, set[str]] = {}
        for pair in keys:
            acct, fp = pair.rsplit(" ", 1)
            by_fp.setdefault(fp, set()).add(acct)
        shared = sorted(f"{fp}: {', '.join(sorted(a))}" for fp, a in by_fp.items() if len(a) > 1)
        return {
            "roster_given": bool(args.get("approved")),
            "keys_roster_given": bool(args.get("approved_keys")),
            "admin_groups": admin_groups,
            "admin_group_members": admin_members,
            "sudo_principals": sorted(principals),
            "privileged_accounts": sorted(privileged | unresolved),
            "unresolved_principals": sorted(unresolved),
            "authorized_keys_command": akc,
            "key_files": files[:200],
            "keys": sorted(set(keys)),
            "key_accounts": sorted({k.rsplit(" ", 1)[0] for k in keys}),
            "shared_keys": shared,
        }


def _groups(text: str):
    groups: dict[str, dict] = {}
    gid_names: dict[str, str] = {}
    for line in text.splitlines()[:MAX_LINES]:
        if not line.strip():
            continue
        parts = line.split(":")
        if len(parts) != 3:
            raise ProbeError("unparsable", f"getent group: unexpected line {clean(line, 60)!r}")
        name, gid, members = (clean(p, 256) for p in parts)
        groups[name] = {"gid": gid, "members": [m for m in members.split(",") if m]}
        gid_names.setdefault(gid, name)
    return groups, gid_names


def _accounts(text: str) -> dict[str, dict]:
    accounts: dict[str, dict] = {}
    for line in text.splitlines()[:MAX_LINES]:
        if not line.strip():
            continue
        parts = line.split(":")
        if len(parts) != 4:
            raise ProbeError("unparsable", f"getent passwd: unexpected line {clean(line, 60)!r}")
        name, uid, gid, home = (clean(p, 256) for p in parts)
        accounts.setdefault(name, {"uid": uid, "gid": gid, "home": home})
    return accounts


def _members_of(groups, gid_names, accounts) -> dict[str, set[str]]:
    """group name -> its members, listed ones and those whose primary group it is."""
    out = {name: set(g["members"]) for name, g in groups.items()}
    for acct, a in accounts.items():
        name = gid_names.get(a["gid"])
        if name:
            out[name].add(acct)
    return out


def _sudo_principals(text: str) -> set[str]:
    lines = text.splitlines()
    if lines and lines[0].strip() == ABSENT:
        return set()
    aliases: dict[str, list[str]] = {}
    raw_principals: list[str] = []
    current = None
    for raw in lines[:MAX_LINES]:
        if raw.startswith("== "):
            current = raw[3:]
            continue
        if not raw.strip():
            continue
        if current is None:
            raise ProbeError("unparsable", "sudoers: a line before any file header")
        kind, _, body = raw.partition(" ")
        if kind == "A":
            for part in re.split(r"\s:\s|\s:|:\s", body[len("User_Alias"):]):
                name, eq, members = part.partition("=")
                if eq and re.fullmatch(r"[A-Z][A-Z0-9_]*", name.strip()):
                    aliases[name.strip()] = _split_commas(members)
        elif kind == "R":
            text_ = re.sub(r"\s*,\s*", ",", body.strip())
            first = text_.split(None, 1)[0] if text_ else ""
            raw_principals.extend(_split_commas(first))
        else:
            raise ProbeError("unparsable", f"sudoers summary: unexpected line {clean(raw, 60)!r}")
    principals: set[str] = set()
    todo = [(p, 0) for p in reversed(raw_principals)]
    while todo:
        p, depth = todo.pop()
        p = p.strip()
        if not p or p.startswith("!"):
            continue   # a negated entry grants nothing
        if p in aliases and depth < 10:
            todo.extend((q, depth + 1) for q in reversed(aliases[p]))
        else:
            principals.add(clean(p, 64))
    return principals


def _resolve(p: str, members_of, accounts) -> set[str] | None:
    """The accounts a sudoers principal stands for, or None when it cannot be resolved."""
    if p == "ALL" or p.startswith(("+", "%#", "%:")):
        return None
    if p.startswith("%"):
        name = p[1:].strip('"')
        return set(members_of[name]) if name in members_of else None
    if p.startswith("#"):
        names = {a for a, v in accounts.items() if v["uid"] == p[1:]}
        return names or None
    return {p}


def _keys(text: str):
    keys: list[str] = []
    files: list[dict] = []
    akc = None
    acct = None
    for raw in text.splitlines()[:MAX_LINES]:
        kind, _, body = raw.partition(" ")
        if kind == "S":
            key, _, value = body.partition(" ")
            if key == "authorizedkeyscommand":
                akc = clean(value, 200)
        elif kind == "F":
            acct, tab, path = body.partition("\t")
            if not tab:
                raise ProbeError("unparsable", f"authorized keys: bad file line {clean(raw, 60)!r}")
            acct = clean(acct, 64)
            files.append({"account": acct, "path": clean(path, 300), "keys": 0})
        elif kind == "K":
            m = _FP.match(body.strip())
            if acct is None or not m:
                raise ProbeError("unparsable", f"authorized keys: unexpected key line {clean(raw, 80)!r}")
            keys.append(f"{acct} {m.group(1)}")
            files[-1]["keys"] += 1
        elif raw.strip():
            raise ProbeError("unparsable", f"authorized keys: unexpected line {clean(raw, 60)!r}")
    if akc is None:
        raise ProbeError("unparsable", "sshd -T printed no authorizedkeyscommand line")
    return keys, files, akc
