"""sudo.config: who may use sudo without a password, and whether sudo uses a pty and logs.

Needs root (sudoers is mode 0440). On the host, awk joins continued lines, drops comments and
prints only what the controls judge, per file: ``Defaults`` lines that mention pty, logging or
authentication, and rule lines with ``NOPASSWD`` *cut right after the tag*, so the commands of a
rule (which may carry arguments nobody should see) never leave the host. Files are /etc/sudoers,
files it ``@include``s / ``#include``s and the files of every ``@includedir`` / ``#includedir``
(skipping names with a ``.`` or ending in ``~``, as sudo does).

Principals are reported as written (user, ``%group``, ``#uid``, User_Alias name, ``ALL``); aliases
are not expanded. ``use_pty`` is sudo's default when not set (on since sudo 1.9.14).
"""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, complete_section, require_success, section
from hardencheck.collect.probes.base import Probe

ABSENT = "HC_ABSENT"
MAX_LINES = 5000
_AWK = (
    "awk '{ line = $0; while (line ~ /\\\\$/ && (getline nxt) > 0) { sub(/\\\\$/, \"\", line); "
    "line = line \" \" nxt } sub(/^[ \\t]+/, \"\", line); "
    "if (line == \"\" || line ~ /^#/) next; "
    "if (line ~ /^Defaults/) { if (line ~ /use_pty|logfile|log_output|log_input|iolog|authenticate/) "
    "print \"D \" substr(line, 1, 400); next } "
    "if (line ~ /^(User|Runas|Host|Cmnd|Cmd)_Alias/) next; "
    "i = index(line, \"NOPASSWD\"); if (i > 0) print \"R \" substr(line, 1, i + 7) }'"
)
_RULES = (
    f"f=/etc/sudoers; if [ ! -e \"$f\" ]; then echo {ABSENT}; exit 0; fi; "
    "if [ ! -r \"$f\" ]; then echo \"$f: Permission denied\" >&2; exit 13; fi; "
    "dirs=$(sed -n 's/^[#@]includedir[ \t][ \t]*//p' \"$f\"); "
    "incs=$(sed -n 's/^[#@]include[ \t][ \t]*//p' \"$f\"); "
    "show() { [ -f \"$1\" ] || return 0; "
    "if [ ! -r \"$1\" ]; then echo \"$1: Permission denied\" >&2; exit 13; fi; "
    "echo \"== $1\"; " + _AWK + " \"$1\"; }; "
    "show \"$f\"; for g in $incs; do show \"$g\"; done; "
    "for d in $dirs; do for g in \"$d\"/*; do case \"${g##*/}\" in *~|*.*) continue;; esac; "
    "show \"$g\"; done; done; exit 0"
)


class SudoConfig(Probe):
    name = "sudo.config"
    summary = ("sudo: principals with NOPASSWD or !authenticate, use_pty, logfile/log_output "
               "(commands of rules never leave the host)")
    timeout = 30
    tools = {"version": ("sudo",)}
    commands = {
        "version": f"command -v sudo >/dev/null 2>&1 || {{ echo {ABSENT}; exit 0; }}; "
                   "sudo -V | head -n 1",
        "rules": _RULES,
    }

    def parse(self, out, args):
        vsec = section(out, "version", "sudo -V")
        require_success(vsec, "sudo -V")
        vtext = vsec.stdout.strip()
        if vtext == ABSENT:
            return _absent()
        m = re.match(r"^Sudo version ([0-9][0-9A-Za-z.+~-]{0,30})\s*$", vtext.splitlines()[0] if vtext else "")
        if not m:
            raise ProbeError("unparsable", f"sudo -V: unexpected first line {clean(vtext, 60)!r}")
        version = m.group(1)

        sec = complete_section(out, "rules", "sudoers", ran="reading sudoers",
                               truncated="sudoers: output was truncated",
                               refused=lambda s: f"sudoers: {clean(s.stderr, 120) or 'not readable'}")
        lines = sec.stdout.splitlines()
        if lines and lines[0].strip() == ABSENT:
            fact = _absent()
            fact.update(installed=True, version=version, use_pty=_default_pty(version))
            return fact

        files: list[str] = []
        current = None
        rules: list[dict] = []
        nopasswd: set[str] = set()
        no_auth: set[str] = set()
        use_pty = None
        logfile = None
        log_output = False
        for raw in lines[:MAX_LINES]:
            if raw.startswith("== "):
                current = clean(raw[3:], 200)
                if not current.startswith("/"):
                    raise ProbeError("unparsable", f"sudoers: bad file header {current[:60]!r}")
                files.append(current)
                continue
            if current is None or not raw.strip():
                if raw.strip():
                    raise ProbeError("unparsable", "sudoers: a line before any file header")
                continue
            kind, _, body = raw.partition(" ")
            if kind == "D":
                scope, options = _defaults(body)
                for name, value in options:
                    if scope is None:
                        if name == "use_pty":
                            use_pty = value is not False
                        elif name == "logfile":
                            logfile = value if isinstance(value, str) else None
                        elif name == "log_output":
                            log_output = value is not False
                        elif name == "authenticate" and value is False:
                            no_auth.add("ALL")
                    elif name == "authenticate" and value is False:
                        no_auth.update(scope)
            elif kind == "R":
                principals = _principals(body)
                if not principals:
                    raise ProbeError("unparsable", f"sudoers: rule without a user list {clean(body, 60)!r}")
                nopasswd.update(principals)
                rules.append({"file": current, "principals": principals, "rule": clean(body, 200)})
            else:
                raise ProbeError("unparsable", f"sudoers summary: unexpected line {clean(raw, 60)!r}")

        pty_explicit = use_pty is not None
        if use_pty is None:
            use_pty = _default_pty(version)
        return {
            "installed": True,
            "version": version,
            "sudoers_exists": True,
            "files": files,
            "nopasswd_principals": sorted(nopasswd),
            "nopasswd_rules": rules[:100],
            "no_authenticate_principals": sorted(no_auth),
            "use_pty": use_pty,
            "use_pty_explicit": pty_explicit,
            "logfile": logfile,
            "log_output": log_output,
            "logging_configured": bool(logfile) or log_output,
        }


def _absent() -> dict:
    return {"installed": False, "version": None, "sudoers_exists": False, "files": [],
            "nopasswd_principals": [], "nopasswd_rules": [], "no_authenticate_principals": [],
            "use_pty": False, "use_pty_explicit": False, "logfile": None, "log_output": False,
            "logging_configured": False}


def _default_pty(version: str) -> bool:
    nums = [int(x) for x in re.findall(r"\d+", version)[:3]]
    return tuple(nums + [0] * (3 - len(nums))) >= (1, 9, 14)


def _split_commas(text: str) -> list[str]:
    """Split at commas outside double quotes."""
    parts, cur, quoted, esc = [], [], False, False
    for ch in text:
        if esc:
            cur.append(ch)
            esc = False
        elif ch == "\\":
            cur.append(ch)
            esc = True
        elif ch == '"':
            quoted = not quoted
            cur.append(ch)
        elif ch == "," and not quoted:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def _defaults(body: str):
    """``Defaults[:@!>]scope opts`` -> (scope principals or None for global/other scopes, options).

    Only ``Defaults`` (global) and ``Defaults:users`` (per user) matter here; host, command and
    runas scoped Defaults are returned with an empty scope list so they change nothing global.
    """
    m = re.match(r"^Defaults(?:([:@!>])\s*((?:[^\s,\\]|\\.)+(?:\s*,\s*(?:[^\s,\\]|\\.)+)*))?\s+(.*)$", body)
    if not m:
        return [], []
    sep, scope_text, opts = m.group(1), m.group(2), m.group(3)
    if sep is None:
        scope = None
    elif sep == ":":
        scope = [clean(s, 64) for s in _split_commas(scope_text or "")]
    else:
        scope = []
    options = []
    for opt in _split_commas(opts):
        neg = False
        while opt.startswith("!"):
            neg, opt = not neg, opt[1:].lstrip()
        m2 = re.match(r"^([A-Za-z_]+)\s*([+-]?=)\s*(.*)$", opt)
        name, eq, value = m2.groups() if m2 else (opt.strip(), "", "")
        if not re.fullmatch(r"[a-z_]{1,40}", name):
            continue
        if eq:
            options.append((name, clean(value.strip().strip('"'), 200)))
        else:
            options.append((name, not neg))
    return scope, options


def _principals(rule: str) -> list[str]:
    """The user list at the start of a rule: ``alice, %admins  ALL=(ALL) NOPASSWD``."""
    text = re.sub(r"\s*,\s*", ",", rule.strip())
    first = text.split(None, 1)[0] if text else ""
    if "=" in first:  # "alice=..." cannot be a user spec; be strict
        return []
    return sorted({clean(p, 64) for p in _split_commas(first) if p})
