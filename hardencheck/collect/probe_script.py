"""The one-exec probe script: how all probes of a host travel in a single SSH command and come back.

For each host the engine hands us the distinct probe commands it needs. We generate one POSIX
``sh`` script that runs each command as its own *section* and frames the section's stdout **and**
stderr with marker lines that start with a random per-run nonce::

    <nonce> B <section-id>                 (on stdout and on stderr)
    ... the command's own output ...
    <newline><nonce> E <section-id> <rc>   (on stdout and on stderr)

The nonce is 128 random bits chosen when the script is built, so nothing a probe reads (a log
line, a file, a package description) can forge a boundary. Everything outside the markers, for
instance what a login shell's rc file prints, is kept apart as ``noise`` and never parsed.

Inventory- or control-derived values never become shell code: they are passed to the snippet as
positional parameters (``"$1"``), each one ``shlex.quote``-d in the script text.

Before a section runs, the script resolves every tool the section relies on (system directories
first), prints a tool marker line for each on stdout and does not run the section when one of them
is not trustworthy: see ``hardencheck.collect.tool_trust``. The records end up in ``Section.tools``.

The splitter reads the byte streams incrementally and keeps at most ``max_bytes`` per section and
stream (the rest is counted and the section marked truncated), so a hostile host that prints
gigabytes costs bounded memory.
"""

from __future__ import annotations

import re
import secrets
import shlex
import time
from dataclasses import dataclass, field

from hardencheck.collect.tool_trust import (BASE_TOOLS, REFUSED_RC, SYSTEM_DIRS, TOOL_NAME,  # noqa: F401
                                            tool_line, tool_problem, tool_record)

SECTION_ID = re.compile(r"^[a-z0-9][a-z0-9._/-]{0,100}$")
DEFAULT_MAX_BYTES = 64 * 1024
NOISE_MAX_BYTES = 4 * 1024
# A marker line is short; a partial line longer than this is certainly data (a tool record with
# two paths is the longest marker).
_MARKER_MAX = 2048

PRELUDE = r"""# hardencheck probe script: read-only; each section is framed by nonce markers.
LC_ALL=C; LANG=C; export LC_ALL LANG
PATH=/usr/sbin:/usr/bin:/sbin:/bin:/usr/local/sbin:/usr/local/bin; export PATH
IFS=' 	
'
umask 077
cd / || exit 1
hc_n=%(nonce)s
hc_t=$(command -v timeout 2>/dev/null)
# hc_resolve: resolve every tool of the table (hc_m1 .. hc_mN) as a snippet would and judge it,
# all at once before the first section: one subshell for every `command -v`, readlink only where
# the path runs through a symlink, one stat for every file and directory involved. Sets hc_kI (ok,
# untrusted, missing, oddpath, unchecked) and hc_cI (the tool record; see tool_trust.py) for each
# tool number I. The numbers come from the script builder, so the evals only ever see digits.
hc_nl='
'
hc_resolve() {
  hc_ps=$(hc_j=1; while [ "$hc_j" -le "$1" ]; do eval "command -v \"\$hc_m$hc_j\"" 2>/dev/null || echo -; hc_j=$((hc_j + 1)); done)
  hc_j=0; hc_all=' / '
  while IFS= read -r hc_p; do
    hc_j=$((hc_j + 1)); eval "hc_nm=\$hc_m$hc_j"
    case $hc_p in /*) ;; *) eval "hc_k$hc_j=missing hc_c$hc_j=\"\$hc_n T \$hc_nm missing\""; continue ;; esac
    hc_r=$hc_p; hc_d=$hc_p
    while [ -n "$hc_d" ]; do
      if [ -h "$hc_d" ]; then hc_r=$(readlink -f "$hc_p" 2>/dev/null) || hc_r=; break; fi
      hc_d=${hc_d%%/*}
    done
    case $hc_r in /*) ;; *) hc_r=$hc_p ;; esac
    case $hc_p$hc_r in *[!A-Za-z0-9._/+@:-]*) eval "hc_k$hc_j=oddpath hc_c$hc_j=\"\$hc_n T \$hc_nm oddpath\""; continue ;; esac
    hc_l="$hc_r"; hc_d=$hc_r
    while hc_d=${hc_d%%/*}; [ -n "$hc_d" ]; do hc_l="$hc_l $hc_d"; done
    hc_l="$hc_l / ${hc_p%%/*}"
    for hc_x in $hc_l; do case $hc_all in *" $hc_x "*) ;; *) hc_all="$hc_all$hc_x " ;; esac; done
    eval "hc_p$hc_j=\$hc_p hc_r$hc_j=\$hc_r hc_l$hc_j=\$hc_l"
  done <<HC_EOF
$hc_ps
HC_EOF
  hc_st="$hc_nl$(stat -L -c '%%n %%u %%g %%a' $hc_all 2>/dev/null)$hc_nl"
  hc_j=0
  while [ "$hc_j" -lt "$1" ]; do
    hc_j=$((hc_j + 1)); eval "hc_v=\${hc_k$hc_j-}"
    [ -z "$hc_v" ] || continue
    eval "hc_nm=\$hc_m$hc_j hc_p=\$hc_p$hc_j hc_r=\$hc_r$hc_j hc_l=\$hc_l$hc_j"
    hc_f=; hc_b='- - -'; hc_v=ok
    for hc_x in $hc_l; do
      case $hc_st in
        *"$hc_nl$hc_x "*) hc_u=${hc_st#*"$hc_nl$hc_x "}; hc_u=${hc_u%%%%"$hc_nl"*} ;;
        *) [ -n "$hc_f" ] || hc_v=unchecked; [ -n "$hc_f" ] || break; continue ;;
      esac
      set -- "$1" $hc_u
      [ -n "$hc_f" ] || hc_f="$2 $3 $4"
      case $2$4 in *[!0-9]*|'') hc_v=unchecked; break ;; esac
      if [ "$2" != 0 ] || [ $(( 0$4 & 18 )) -ne 0 ]; then hc_v=untrusted; hc_b="$hc_x $2 $4"; break; fi
    done
    if [ -z "$hc_f" ] || [ "$hc_v" = unchecked ]; then
      eval "hc_k$hc_j=unchecked hc_c$hc_j=\"\$hc_n T \$hc_nm unchecked \$hc_p \$hc_r\""
    else
      eval "hc_k$hc_j=\$hc_v hc_c$hc_j=\"\$hc_n T \$hc_nm \$hc_v \$hc_p \$hc_r \$hc_f \$hc_b\""
    fi
  done
}
# hc_tool I: print the tool record of tool number I; false when it must not be run
hc_tool() {
  eval "hc_v=\$hc_k$1; printf '%%s\\n' \"\$hc_c$1\""
  [ "$hc_v" = ok ] || [ "$hc_v" = missing ]
}
%(tools)s
hc_resolve %(count)s
hc_bad=
for hc_x in %(base)s; do hc_tool "$hc_x" >/dev/null || hc_bad="$hc_bad $hc_x"; done
hc_run() {
  hc_id=$1; hc_to=$2; hc_tl=$3; hc_code=$4; shift 4
  printf '%%s B %%s\n' "$hc_n" "$hc_id"; printf '%%s B %%s\n' "$hc_n" "$hc_id" >&2
  hc_ok=0
  for hc_x in $hc_tl $hc_bad; do hc_tool "$hc_x" || hc_ok=1; done
  if [ "$hc_ok" != 0 ]; then
    echo "hardencheck: not run: a tool it relies on is not trustworthy (see its tool records)" >&2
    (exit %(refused)s)
  elif [ -n "$hc_t" ]; then
    "$hc_t" -k 5 "$hc_to" /bin/sh -c "$hc_code" hardencheck "$@" </dev/null
  else
    /bin/sh -c "$hc_code" hardencheck "$@" </dev/null
  fi
  hc_rc=$?
  printf '\n%%s E %%s %%s\n' "$hc_n" "$hc_id" "$hc_rc"; printf '\n%%s E %%s %%s\n' "$hc_n" "$hc_id" "$hc_rc" >&2
}
"""


@dataclass(frozen=True)
class SectionSpec:
    """One command to run on the host, as one framed section."""

    id: str                 # unique within the script, e.g. "sshd.config/effective"
    code: str               # the POSIX sh snippet (fixed text from a probe module)
    args: tuple[str, ...] = ()   # positional parameters "$1".. (already validated values)
    timeout: int = 60       # seconds, enforced on the host with timeout(1) when it exists
    tools: tuple[str, ...] = ()  # commands the snippet relies on: resolved, recorded, checked first

    def __post_init__(self):
        if not SECTION_ID.match(self.id):
            raise ValueError(f"bad section id {self.id!r}")
        for t in self.tools:
            if not TOOL_NAME.match(t):
                raise ValueError(f"bad tool name {t!r}")
        for a in self.args:
            if "\x00" in a:
                raise ValueError("NUL byte in a probe argument")


@dataclass
class Section:
    """What came back for one section."""

    id: str
    exit_code: int | None = None     # None: no end marker was seen (killed, cut off, truncated run)
    stdout: str = ""
    stderr: str = ""
    stdout_bytes: int = 0            # bytes the host sent, kept or not
    stderr_bytes: int = 0
    truncated: bool = False          # more than max_bytes on a stream: the excess was dropped
    complete: bool = False           # both begin and end markers seen on stdout
    started_at: float | None = None  # local receive time of the begin marker (epoch seconds)
    ended_at: float | None = None
    tools: list[dict] = field(default_factory=list)   # tool records (see tool_record), in order


def new_nonce() -> str:
    return "HC" + secrets.token_hex(16)


def script_parts(specs: list[SectionSpec], nonce: str) -> tuple[str, list[str]]:
    """The prelude (with the table of every tool the script resolves) and one ``hc_run`` line per
    section, in order: build_script joins them; bench/host_cost.py wraps each line in timings."""
    if not re.fullmatch(r"HC[0-9a-f]{32}", nonce):
        raise ValueError("nonce must come from new_nonce()")
    ids = [s.id for s in specs]
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate section ids")
    index: dict[str, int] = {}
    for tool in (*BASE_TOOLS, *(t for s in specs for t in s.tools)):
        index.setdefault(tool, len(index) + 1)
    table = "\n".join(f"hc_m{i}={shlex.quote(tool)}" for tool, i in index.items())
    prelude = PRELUDE % {"nonce": nonce, "refused": REFUSED_RC, "tools": table, "count": len(index),
                         "base": " ".join(str(index[t]) for t in BASE_TOOLS)}
    lines = []
    for s in specs:
        parts = ["hc_run", shlex.quote(s.id), str(int(s.timeout)),
                 shlex.quote(" ".join(str(index[t]) for t in s.tools)), shlex.quote(s.code)]
        parts += [shlex.quote(a) for a in s.args]
        lines.append(" ".join(parts))
    return prelude, lines


def build_script(specs: list[SectionSpec], nonce: str) -> str:
    """The whole script for one host."""
    prelude, lines = script_parts(specs, nonce)
    return "\n".join([prelude, *lines, "printf '%s DONE\\n' \"$hc_n\""]) + "\n"


class _Stream:
    """Incremental splitter for one byte stream (stdout or stderr)."""

    def __init__(self, nonce: str, max_bytes: int, clock, limits: dict[str, int] | None = None):
        self._prefix = (nonce + " ").encode()
        self._max = max_bytes
        self._limits = limits or {}
        self._clock = clock
        self._pending = b""          # the current, not yet terminated line
        self._midline = False        # part of the current line was already consumed as data
        self.current: str | None = None
        self.chunks: dict[str, list[bytes]] = {}
        self.kept: dict[str, int] = {}
        self.total: dict[str, int] = {}
        self.ends: dict[str, int] = {}           # section id -> rc from its end marker
        self.begins: dict[str, float] = {}
        self.end_times: dict[str, float] = {}
        self.tools: dict[str, list[dict]] = {}   # section id -> tool records
        self.order: list[str] = []
        self.noise = bytearray()
        self.noise_total = 0
        self.done = False

    def _data(self, data: bytes):
        if not data:
            return
        if self.current is None:
            self.noise_total += len(data)
            room = NOISE_MAX_BYTES - len(self.noise)
            if room > 0:
                self.noise += data[:room]
            return
        sid = self.current
        self.total[sid] += len(data)
        room = self._limits.get(sid, self._max) - self.kept[sid]
        if room > 0:
            piece = data[:room]
            self.chunks[sid].append(piece)
            self.kept[sid] += len(piece)

    def _marker(self, line: bytes) -> bool:
        if not line.startswith(self._prefix):
            return False
        words = line[len(self._prefix):].decode("ascii", "replace").split(" ")
        now = self._clock()
        if words == ["DONE"]:
            self.current = None
            self.done = True
            return True
        if len(words) == 2 and words[0] == "B" and SECTION_ID.match(words[1]):
            sid = words[1]
            self.current = sid
            if sid not in self.chunks:
                self.order.append(sid)
            self.chunks[sid] = []
            self.kept[sid] = 0
            self.total[sid] = 0
            self.begins[sid] = now
            return True
        if words[0] == "T" and self.current is not None and len(words) >= 3:
            self.tools.setdefault(self.current, []).append(tool_record(words[1:]))
            return True
        if len(words) == 3 and words[0] == "E" and words[1] == self.current and words[2].isdigit():
            sid = self.current
            # The end marker is preceded by one newline the script added: take it back.
            self._drop_last_newline(sid)
            self.ends[sid] = int(words[2])
            self.end_times[sid] = now
            self.current = None
            return True
        return False

    def _drop_last_newline(self, sid: str):
        self.total[sid] = max(0, self.total[sid] - 1)
        if self.kept[sid] > self.total[sid]:
            # the newline we added was kept: remove it from the kept bytes
            chunks = self.chunks[sid]
            while chunks and not chunks[-1]:
                chunks.pop()
            if chunks and chunks[-1].endswith(b"\n"):
                chunks[-1] = chunks[-1][:-1]
                self.kept[sid] -= 1

    def feed(self, data: bytes):
        buf = self._pending + data
        start = 0
        while True:
            nl = buf.find(b"\n", start)
            if nl < 0:
                break
            line = buf[start:nl]
            if self._midline or not self._marker(line):
                self._data(line + b"\n")
            self._midline = False
            start = nl + 1
        rest = buf[start:]
        if len(rest) > _MARKER_MAX:
            # cannot be a marker line any more: hand it over as data now (bounded memory)
            self._data(rest)
            self._midline = True
            rest = b""
        self._pending = rest

    def close(self):
        if self._pending:
            if self._midline or not self._marker(self._pending):
                self._data(self._pending)
            self._pending = b""

    def text(self, sid: str) -> str:
        return b"".join(self.chunks.get(sid, [])).decode("utf-8", "replace")


class Splitter:
    """Feed it the host's stdout and stderr as they arrive; ask it for the sections at the end."""

    def __init__(self, nonce: str, max_bytes: int = DEFAULT_MAX_BYTES, clock=time.time,
                 limits: dict[str, int] | None = None):
        """``limits``: per-section byte limits (section id -> bytes) overriding ``max_bytes``."""
        self.out = _Stream(nonce, max_bytes, clock, limits)
        self.err = _Stream(nonce, max_bytes, clock, limits)

    def feed_stdout(self, data: bytes):
        self.out.feed(data)

    def feed_stderr(self, data: bytes):
        self.err.feed(data)

    @property
    def done(self) -> bool:
        """The script's final marker arrived: every section ran."""
        return self.out.done

    def noise(self) -> str:
        """What was printed outside any section (login banners, rc files), bounded: the first
        ``NOISE_MAX_BYTES`` of each stream."""
        both = bytes(self.out.noise) + bytes(self.err.noise)
        return both.decode("utf-8", "replace")

    def noise_bytes(self) -> int:
        """How many bytes were printed outside any section, on both streams (all of them, not
        only those kept)."""
        return self.out.noise_total + self.err.noise_total

    def noise_truncated(self) -> bool:
        """More noise arrived than ``noise()`` keeps."""
        return self.noise_bytes() > len(self.out.noise) + len(self.err.noise)

    def sections(self) -> dict[str, Section]:
        self.out.close()
        self.err.close()
        result: dict[str, Section] = {}
        for sid in self.out.order + [s for s in self.err.order if s not in self.out.chunks]:
            rc = self.out.ends.get(sid, self.err.ends.get(sid))
            so_total = self.out.total.get(sid, 0)
            se_total = self.err.total.get(sid, 0)
            result[sid] = Section(
                id=sid,
                exit_code=rc,
                stdout=self.out.text(sid),
                stderr=self.err.text(sid),
                stdout_bytes=so_total,
                stderr_bytes=se_total,
                truncated=so_total > self.out.kept.get(sid, 0) or se_total > self.err.kept.get(sid, 0),
                complete=sid in self.out.ends,
                started_at=self.out.begins.get(sid, self.err.begins.get(sid)),
                ended_at=self.out.end_times.get(sid, self.err.end_times.get(sid)),
                tools=self.out.tools.get(sid, []),
            )
        return result
