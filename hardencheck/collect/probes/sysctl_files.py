"""The sysctl configuration files: which value the next boot gives a kernel parameter, and from
which file and line (not a probe; used by kernel.sysctl and resource.kernel_param).

Order, as systemd-sysctl (and ``sysctl --system``) apply them: the ``*.conf`` files of
/etc/sysctl.d, /run/sysctl.d, /usr/local/lib/sysctl.d, /usr/lib/sysctl.d and /lib/sysctl.d; of
several files with the same name the one in the earliest folder wins (so /etc overrides /usr/lib);
the files are applied sorted by name, and /etc/sysctl.conf after them. A later assignment of a key
overrides an earlier one. Keys may be written with ``/`` (``net/ipv4/ip_forward``), a leading
``-`` (ignore errors) and, in systemd >= 245, globs (``net.ipv4.conf.*.rp_filter``).

The snippet lists each readable file (``F <file>``), an unreadable one (``U <file>``) and a folder
holding a name with odd characters (``S <folder>``), then sends the assignment lines of all readable
files from one ``grep -nH`` (``<file>:<line>:<text>``). Recordings of the older form, each file's
``grep -n`` lines after its ``F`` line, still parse.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

FOLDERS = ("/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d", "/lib/sysctl.d")
MAIN = "/etc/sysctl.conf"

_KEYS = "'^[[:space:]]*-?[A-Za-z0-9_./*-]+[[:space:]]*(=|$)'"
PERSISTED_SNIPPET = (
    "fl=; for d in " + " ".join(FOLDERS) + "; do [ -d \"$d\" ] || continue; "
    "for f in \"$d\"/*.conf; do [ -f \"$f\" ] || continue; "
    "case $f in *[!A-Za-z0-9._/@+,=-]*) printf 'S %s\\n' \"$d\"; continue ;; esac; "
    "if [ -r \"$f\" ]; then printf 'F %s\\n' \"$f\"; fl=\"$fl $f\"; else printf 'U %s\\n' \"$f\"; fi; done; done; "
    f"f={MAIN}; if [ -f \"$f\" ]; then if [ -r \"$f\" ]; then printf 'F %s\\n' \"$f\"; fl=\"$fl $f\"; "
    "else printf 'U %s\\n' \"$f\"; fi; fi; "
    # one grep for every file (names are plain: checked above): "<file>:<line>:<text>"
    f"[ -z \"$fl\" ] || grep -anHE {_KEYS} $fl | head -n 20000 | cut -c 1-500; exit 0"
)

_GREPPED = re.compile(r"^(/[A-Za-z0-9._/@+,=-]+):([0-9]{1,7}:.*)$", re.S)
_LINE = re.compile(r"^([0-9]{1,7}):[ \t]*(-?)([A-Za-z0-9_./*-]+)[ \t]*=[ \t]*(.*?)[ \t\r]*$")
_EXCLUDE = re.compile(r"^[0-9]{1,7}:[ \t]*-([A-Za-z0-9_./-]+)[ \t\r]*$")


@dataclass
class Setting:
    value: str
    file: str
    line: int
    overrides: list[str] = field(default_factory=list)   # earlier assignments it replaced ("file:line = v")

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class Listing:
    files: dict[str, list[tuple[int, str, str]]] = field(default_factory=dict)  # file -> (line, key, value)
    unreadable: list[str] = field(default_factory=list)
    excluded: set[str] = field(default_factory=set)       # "-key" lines: no glob assigns these keys
    odd_names: list[str] = field(default_factory=list)    # folders holding a file with an odd name


def parse_listing(text: str) -> Listing:
    out = Listing()
    current = None
    for raw in text.split("\n"):
        if raw.startswith("F /"):
            current = raw[2:]
            out.files.setdefault(current, [])
        elif raw.startswith("U /"):
            out.unreadable.append(raw[2:300])
            current = None
        elif raw.startswith("S /"):
            out.odd_names.append(raw[2:300])
            current = None
        else:
            # "<file>:<line>:<text>" (one grep for all files), or "<line>:<text>" after "F <file>"
            # (the one-grep-per-file form of older recordings)
            g = _GREPPED.match(raw)
            target, raw = (g.group(1), g.group(2)) if g and g.group(1) in out.files else (current, raw)
            if target is None:
                continue
            m = _LINE.match(raw)
            x = None if m else _EXCLUDE.match(raw)
            if x:
                out.excluded.add(normalise(x.group(1)))
            if m:
                out.files[target].append((int(m.group(1)), normalise(m.group(3)), m.group(4)[:200]))
    return out


def normalise(key: str) -> str:
    """``net/ipv4/ip_forward`` -> ``net.ipv4.ip_forward`` (systemd: the first separator decides)."""
    first = re.search(r"[./]", key)
    if first and first.group(0) == "/":
        key = key.replace(".", "\x00").replace("/", ".").replace("\x00", "/")
    return key


def ordered_files(files) -> list[str]:
    """The files in the order they are applied (see the module docstring)."""
    chosen: dict[str, str] = {}
    for f in files:
        p = PurePosixPath(f)
        if str(p.parent) in FOLDERS and p.name not in chosen:
            chosen[p.name] = f
    order = [chosen[n] for n in sorted(chosen)]
    return order + ([MAIN] if MAIN in files else [])


def effective(listing: Listing, keys) -> dict[str, Setting]:
    """key -> the Setting the next boot applies, for each of ``keys`` some file sets."""
    found: dict[str, Setting] = {}
    for f in ordered_files(listing.files):
        for line, pattern, value in listing.files[f]:
            targets = [k for k in keys if fnmatch.fnmatchcase(k, pattern) and k not in listing.excluded] \
                if "*" in pattern else \
                ([pattern] if pattern in keys else [])
            for k in targets:
                prev = found.get(k)
                overrides = (prev.overrides + [f"{prev.where} = {prev.value}"]) if prev else []
                found[k] = Setting(value, f, line, overrides[-10:])
    return found
