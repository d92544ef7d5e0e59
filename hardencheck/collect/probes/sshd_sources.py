"""Where each sshd setting comes from (issue 14.4b; not a probe: used by sshd.config).

``sshd -T`` says what is in force, not why. The snippet lists the keyword lines of
/etc/ssh/sshd_config and of every file it includes (``Include``, globs, relative to /etc/ssh,
three levels deep), each as grep -n prints it after an ``F <file>`` line, and each include as
``I <file>:<line> <included file>``. The parser reads them in sshd's order (an included file's
lines where its Include stands) and applies sshd's rule: for a keyword the FIRST value obtained
is used (keywords that may repeat, such as Port or HostKey, take every occurrence), lines after a
``Match`` in the same file only apply to some connections. So an auditor sees that
``PermitRootLogin yes`` came from ``/etc/ssh/sshd_config.d/50-cloud-init.conf:1`` and that the
``PermitRootLogin no`` further down sshd_config is ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAIN = "/etc/ssh/sshd_config"

SOURCES_SNIPPET = (
    "m=" + MAIN + "; if [ ! -e \"$m\" ]; then exit 0; fi; "
    "if [ ! -r \"$m\" ]; then echo \"$m: Permission denied\" >&2; exit 13; fi; "
    "hc_list() { printf 'F %s\\n' \"$1\"; grep -anE '^[[:space:]]*[A-Za-z]' \"$1\" | head -n 3000 | cut -c 1-500; "
    "[ \"$2\" -lt 3 ] || return 0; "
    "grep -aniE '^[[:space:]]*include[[:space:]]' \"$1\" | head -n 50 | while IFS=: read -r n rest; do "
    "for p in $(printf '%s\\n' \"$rest\" | sed 's/^[[:space:]]*[^[:space:]]*//'); do "
    "case $p in /*) ;; *) p=/etc/ssh/$p ;; esac; "
    "for f in $p; do [ -f \"$f\" ] || continue; "
    "case $f in *[!A-Za-z0-9._/@+,=-]*) printf 'S %s\\n' \"$1\"; continue ;; esac; "
    "printf 'I %s:%s %s\\n' \"$1\" \"$n\" \"$f\"; hc_list \"$f\" $(($2 + 1)); done; done; done; }; "
    "hc_list \"$m\" 0"
)

_LINE = re.compile(r"^([0-9]{1,7}):[ \t]*([A-Za-z][A-Za-z0-9]*)(?:[ \t]*=[ \t]*|[ \t]+|$)(.*?)[ \t\r]*$")
MAX_OVERRIDDEN = 20


@dataclass
class Listing:
    files: dict[str, list[tuple[int, str, str]]] = field(default_factory=dict)   # file -> (line, key, value)
    includes: dict[tuple[str, int], list[str]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    odd: list[str] = field(default_factory=list)


def parse_listing(text: str) -> Listing:
    out = Listing()
    current = None
    for raw in text.split("\n"):
        if raw.startswith("F /"):
            current = raw[2:1000]
            out.files.setdefault(current, [])
            out.order.append(current)
        elif raw.startswith("I /"):
            where, _, child = raw[2:].partition(" ")
            parent, _, line = where.rpartition(":")
            if line.isdigit() and child.startswith("/"):
                out.includes.setdefault((parent, int(line)), []).append(child[:1000])
        elif raw.startswith("S /"):
            out.odd.append(raw[2:300])
        elif current is not None:
            m = _LINE.match(raw)
            if m:
                out.files[current].append((int(m.group(1)), m.group(2).lower(), m.group(3)[:300]))
    return out


def _settings(listing: Listing, f: str, depth: int, files: list[str]):
    """(``file:line``, keyword, value, inside a Match block?) of file ``f`` and, where it includes
    others, of theirs at that point, in the order sshd reads them; ``files`` gets each file read."""
    if f not in listing.files or depth > 4 or f in files:
        return
    files.append(f)
    in_match = False
    for line, key, value in listing.files[f]:
        if key == "include":
            for child in listing.includes.get((f, line), []):
                yield from _settings(listing, child, depth + 1, files)
            continue
        if key == "match":
            in_match = True
            continue
        yield f"{f}:{line}", key, value, in_match


def attribute(listing: Listing, multi: frozenset, aliases: dict[str, str]) -> dict:
    """``sources`` (keyword -> ``file:line``, a list for repeatable keywords), ``overridden``
    (keyword -> the later lines sshd ignores), ``conditional`` (keyword -> lines inside a Match
    block) and ``config_files`` (in the order sshd reads them)."""
    old_to_new = {old: new for new, old in aliases.items()}
    sources: dict[str, object] = {}
    overridden: dict[str, list[str]] = {}
    conditional: dict[str, list[str]] = {}
    files: list[str] = []
    # the main file comes first
    for where, key, value, in_match in (_settings(listing, listing.order[0], 0, files) if listing.order else ()):
        key = old_to_new.get(key, key)
        if in_match:
            conditional.setdefault(key, []).append(f"{where}: {value}"[:300])
        elif key in multi:
            sources.setdefault(key, []).append(where)          # type: ignore[union-attr]
        elif key in sources:
            if len(overridden.setdefault(key, [])) < MAX_OVERRIDDEN:
                overridden[key].append(f"{where}: {value}"[:300])
        else:
            sources[key] = where
    return {"sources": sources, "overridden": overridden, "conditional": conditional, "config_files": files}
