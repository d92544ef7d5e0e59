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

Each section has its own time limit, enforced on the host by ``timeout(1)`` (the end marker then
carries 124, or 137 when it had to be killed). A ``timeout`` and a fresh ``/bin/sh`` per section
were most of what the script cost a host beyond the commands themselves, so consecutive sections
with limits of at most ``BATCH_MAX_TIMEOUT`` s run as a *batch*: ``hc_run`` only queues them and
``hc_flush`` runs them in one ``timeout`` and one ``sh`` (``hc_in``), each section in a subshell of
its own (``( set -- <its arguments>; eval "$code" )``, stdin /dev/null, ``$0`` "hardencheck" as
before; the nonce is read from a here-document, never an argument another user could see in
``ps``), framed by the same markers, so its evidence record is the same as alone. The batch's limit
is the smallest of its sections' limits. Timeout semantics: when the batch ends before its last
section did (its limit ran out, or anything killed its shell), the section that was running when
it ended and every later one run again *alone*, each with its own full ``timeout``, as unbatched
sections do: their begin marker comes again (after a newline, in case the cut left half a line)
and the splitter keeps only the last run. So a hung section still ends as timed out with its own
exit code and costs the later sections nothing but the wait; the wait is at most the batch's limit
plus its own (two limits instead of one), and a section cut only because the batch's limit ran out
is simply run again with its whole limit.

Every write to stdout or stderr tends to become an SSH packet of its own, and each packet costs the
scanner's client CPU (on virtual machines mostly the wake-up of paramiko's reader thread), so
output travels in as few writes as possible: a begin marker and the section's tool records in one
``printf``; in a batch, each section runs in a command substitution of the batch shell (the one
subshell it always had), whose stdout is written when it ends: its output, its end marker and the
next section's begin marker in one write. The batch's stderr, its markers and what its sections
print there, goes to the private descriptor (9) too, and the outer shell writes it in one piece
when the batch ends (before the sections it runs again alone, after a cut). The outer shell learns
from the same stream where a cut batch ended (the last begin marker in it) and that it finished
(``<nonce> DONE``: no section can write that without the nonce).
An EXIT trap in that subshell appends one ``/`` after the output, so trailing newlines survive the
substitution (its exit code is the section's). A snippet that could replace or skip that trap
(``exec``, ``trap``) therefore never joins a batch. What a batched section prints passes through
the shell, which drops NUL bytes; no probe prints them (the filesystem walks turn them into
newlines, and they run alone). A section that runs alone still streams its output as it comes;
its end markers wait for the next write to their stream (the next begin marker, or ``DONE``),
which follows at once; before a batch they are written on their own, so that nothing the batch's
shell itself prints can land inside the section before it.

The splitter (``hardencheck.collect.stream_split``) reads the byte streams back into sections.
"""

from __future__ import annotations

import re
import secrets
import shlex
from dataclasses import dataclass

from hardencheck.collect.stream_split import (DEFAULT_MAX_BYTES, NOISE_MAX_BYTES, SECTION_ID,  # noqa: F401
                                              Section, Splitter)
from hardencheck.collect.tool_trust import (BASE_TOOLS, REFUSED_RC, SYSTEM_DIRS, TOOL_NAME,  # noqa: F401
                                            tool_line, tool_problem, tool_record)

#: sections with a longer limit run alone (a hung one may wait up to two limits in a batch)
BATCH_MAX_TIMEOUT = 60
BATCH_MAX_ITEMS = 32
#: code and arguments of one batch, in bytes (they travel as the arguments of one exec)
BATCH_MAX_BYTES = 64 * 1024
#: a snippet with these words could replace its shell or its EXIT trap: it runs alone
_ENDS_ITS_SHELL = re.compile(r"(?<![\w.-])(exec|trap)(?![\w.-])")

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
# tool number I. The numbers come from the script builder, so the evals only ever see digits;
# the paths in hc_ix (a case statement built once, for the lookups in the stat output) are only
# those the oddpath check let through: [A-Za-z0-9._/+@:-], no pattern or shell characters.
hc_nl='
'
hc_resolve() {
  hc_ps=$(hc_j=1; while [ "$hc_j" -le "$1" ]; do eval "command -v \"\$hc_m$hc_j\"" 2>/dev/null || echo -; hc_j=$((hc_j + 1)); done)
  hc_j=0; hc_all=' / '; hc_cs=; hc_np=0
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
    for hc_x in $hc_l; do
      case $hc_all in *" $hc_x "*) ;; *) hc_all="$hc_all$hc_x " ;; esac
      case $hc_cs in *" $hc_x) "*) ;; *) hc_np=$((hc_np + 1)); hc_cs="$hc_cs $hc_x) hc_y=$hc_np ;;" ;; esac
    done
    eval "hc_p$hc_j=\$hc_p hc_r$hc_j=\$hc_r hc_l$hc_j=\$hc_l"
  done <<HC_EOF
$hc_ps
HC_EOF
  hc_st=$(stat -L -c '%%n %%u %%g %%a' $hc_all 2>/dev/null)
  # each path stat reported, by number (hc_ix PATH sets hc_y), once: no pattern search per lookup
  eval "hc_ix() { case \$1 in $hc_cs *) hc_y= ;; esac; }"
  set -f; hc_o=$IFS; IFS=$hc_nl
  for hc_x in $hc_st; do IFS=' '; hc_ix $hc_x; [ -z "$hc_y" ] || eval "hc_z$hc_y=\${hc_x#* }"; IFS=$hc_nl; done
  IFS=$hc_o; set +f
  hc_j=0
  while [ "$hc_j" -lt "$1" ]; do
    hc_j=$((hc_j + 1)); eval "hc_v=\${hc_k$hc_j-}"
    [ -z "$hc_v" ] || continue
    eval "hc_nm=\$hc_m$hc_j hc_p=\$hc_p$hc_j hc_r=\$hc_r$hc_j hc_l=\$hc_l$hc_j"
    hc_f=; hc_b='- - -'; hc_v=ok
    for hc_x in $hc_l; do
      hc_ix "$hc_x"; hc_u=; [ -z "$hc_y" ] || eval "hc_u=\${hc_z$hc_y-}"
      case $hc_u in
        ?*) ;;
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
hc_q=0; hc_b=; hc_po=; hc_pe=
# hc_tools LIST: the records of the tools numbered in LIST and of the base tools that failed
# (hc_tx, printed with the begin marker of the section), and whether the section may run (hc_ok 0)
hc_tools() {
  hc_ok=0; hc_tx=
  for hc_x in $1 $hc_bad; do
    eval "hc_v=\$hc_k$hc_x hc_tx=\"\$hc_tx\$hc_c$hc_x\$hc_nl\""
    [ "$hc_v" = ok ] || [ "$hc_v" = missing ] || hc_ok=1
  done
}
# hc_run ID TIMEOUT TOOLS CODE ARG...: one section; while a batch is open (hc_b) only queued. Its end
# markers wait in hc_po (stdout) and hc_pe (stderr) and go out with the next write to the stream.
hc_run() {
  if [ -n "$hc_b" ]; then
    hc_q=$((hc_q + 1))
    eval "hc_qi$hc_q=\$1 hc_qt$hc_q=\$2 hc_ql$hc_q=\$3 hc_qc$hc_q=\$4 hc_qn$hc_q=$(($# - 4))"
    shift 4; hc_j=0
    for hc_x do hc_j=$((hc_j + 1)); eval "hc_qa${hc_q}_$hc_j=\$hc_x"; done
    return 0
  fi
  hc_id=$1; hc_to=$2; hc_tl=$3; hc_code=$4; shift 4
  hc_tools "$hc_tl"
  printf '%%s%%s B %%s\n%%s' "$hc_po" "$hc_n" "$hc_id" "$hc_tx"; printf '%%s%%s B %%s\n' "$hc_pe" "$hc_n" "$hc_id" >&2
  hc_po=; hc_pe=
  if [ "$hc_ok" != 0 ]; then
    echo "hardencheck: not run: a tool it relies on is not trustworthy (see its tool records)" >&2
    (exit %(refused)s)
  elif [ -n "$hc_t" ]; then
    "$hc_t" -k 5 "$hc_to" /bin/sh -c "$hc_code" hardencheck "$@" </dev/null
  else
    /bin/sh -c "$hc_code" hardencheck "$@" </dev/null
  fi
  hc_rc=$?
  hc_po="$hc_nl$hc_n E $hc_id $hc_rc$hc_nl"; hc_pe=$hc_po
}
# hc_in: the script of a batch (its own sh). Arguments per section: id, tool verdict (0 = may run, else not)
# followed by its tool records, code, number of arguments, arguments. Its stderr (markers and what the
# sections print there) goes to 9, which hc_flush writes to stderr when the batch ends, "<nonce> DONE" last.
hc_in='IFS= read -r hc_n || exit 70
hc_e=; hc_f=
while [ "$#" -gt 0 ]; do
  hc_id=$1 hc_g=$2 hc_code=$3 hc_na=$4; shift 4
  printf "%%s%%s B %%s\n%%s" "$hc_e" "$hc_n" "$hc_id" "${hc_g#?}"; printf "%%s%%s B %%s\n" "$hc_f" "$hc_n" "$hc_id" >&9
  case $hc_g in
    0*) hc_o=$(hc_s= hc_j=0
      while [ "$hc_j" -lt "$hc_na" ]; do hc_j=$((hc_j + 1)); hc_s="$hc_s \"\${$hc_j}\""; done
      eval "set -- $hc_s"; unset hc_n hc_e hc_f hc_o hc_id hc_g hc_na hc_rc hc_s hc_j
      trap "printf /" EXIT
      eval "unset hc_code; $hc_code" </dev/null 2>&9 8>&- 9>&-)
      hc_rc=$?; hc_o=${hc_o%%/} ;;
    *) echo "hardencheck: not run: a tool it relies on is not trustworthy (see its tool records)" >&9
      hc_o=; hc_rc=%(refused)s ;;
  esac
  shift "$hc_na"
  hc_f="
$hc_n E $hc_id $hc_rc
"
  hc_e="$hc_o$hc_f"
done
printf "%%s" "$hc_e"; printf "%%s%%s DONE" "$hc_f" "$hc_n" >&9'
# hc_flush: run the queued sections as one batch; from the one it cut on, each again alone
hc_flush() {
  hc_b=; hc_s=; hc_bt=; hc_i=0
  while [ "$hc_i" -lt "$hc_q" ]; do
    hc_i=$((hc_i + 1)); eval "hc_tl=\$hc_ql$hc_i hc_x=\$hc_qt$hc_i hc_na=\$hc_qn$hc_i"
    [ -n "$hc_bt" ] && [ "$hc_bt" -le "$hc_x" ] || hc_bt=$hc_x
    hc_tools "$hc_tl"
    eval "hc_g$hc_i=\$hc_ok\$hc_tx"
    hc_s="$hc_s \"\$hc_qi$hc_i\" \"\$hc_g$hc_i\" \"\$hc_qc$hc_i\" \"\$hc_qn$hc_i\""
    hc_j=0
    while [ "$hc_j" -lt "$hc_na" ]; do hc_j=$((hc_j + 1)); hc_s="$hc_s \"\$hc_qa${hc_i}_$hc_j\""; done
  done
  eval "set -- $hc_s"
  # the end markers still waiting go out first: what the batch shell itself or timeout(1) may print
  # on stderr must not land inside the section before it
  [ -z "$hc_po" ] || printf '%%s' "$hc_po"; [ -z "$hc_pe" ] || printf '%%s' "$hc_pe" >&2; hc_po=; hc_pe=
  { hc_pg=$(if [ -n "$hc_t" ]; then "$hc_t" -k 5 "$hc_bt" /bin/sh -c "$hc_in" hardencheck "$@"
            else /bin/sh -c "$hc_in" hardencheck "$@"; fi 9>&1 >&8 8>&- <<HC_EOF
$hc_n
HC_EOF
); } 8>&1
  case $hc_pg in *"$hc_n DONE") printf '%%s' "${hc_pg%%"$hc_n DONE"}" >&2; hc_q=0; return 0 ;; esac
  printf '%%s' "$hc_pg" >&2
  # cut short: the section it was cut on is the last one it began (count its begin markers)
  hc_w=0; hc_x=$hc_pg
  while :; do case $hc_x in *"$hc_n B "*) hc_w=$((hc_w + 1)); hc_x=${hc_x#*"$hc_n B "} ;; *) break ;; esac; done
  [ "$hc_w" -gt 0 ] || hc_w=1
  hc_po=$hc_nl; hc_pe=$hc_nl; hc_i=$((hc_w - 1))
  while [ "$hc_i" -lt "$hc_q" ]; do
    hc_i=$((hc_i + 1)); eval "hc_na=\$hc_qn$hc_i"
    hc_s="\"\$hc_qi$hc_i\" \"\$hc_qt$hc_i\" \"\$hc_ql$hc_i\" \"\$hc_qc$hc_i\""
    hc_j=0
    while [ "$hc_j" -lt "$hc_na" ]; do hc_j=$((hc_j + 1)); hc_s="$hc_s \"\$hc_qa${hc_i}_$hc_j\""; done
    eval "hc_run $hc_s"
  done
  hc_q=0
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


#: the script's last line: the last end markers still waiting, and DONE
FINALE = """printf '%s%s DONE\\n' "$hc_po" "$hc_n"; [ -z "$hc_pe" ] || printf '%s' "$hc_pe" >&2"""


def new_nonce() -> str:
    return "HC" + secrets.token_hex(16)


def _check_nonce(nonce: str) -> None:
    if not re.fullmatch(r"HC[0-9a-f]{32}", nonce):
        raise ValueError("nonce must come from new_nonce()")


def script_parts(specs: list[SectionSpec], nonce: str, batch: bool = True) -> tuple[str, list[tuple[list[str], str]]]:
    """The prelude (with the table of every tool the script resolves) and the steps, in order: each
    one ``hc_run`` line, or a batch (``hc_b=1``, its ``hc_run`` lines, ``hc_flush``), with the ids
    of its sections. build_script joins them; bench/host_cost.py wraps each step in timings
    (``batch=False``: every section alone, as before batches, to see what each one costs)."""
    _check_nonce(nonce)
    ids = [s.id for s in specs]
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate section ids")
    index: dict[str, int] = {}
    for tool in (*BASE_TOOLS, *(t for s in specs for t in s.tools)):
        index.setdefault(tool, len(index) + 1)
    table = "\n".join(f"hc_m{i}={shlex.quote(tool)}" for tool, i in index.items())
    prelude = PRELUDE % {"nonce": nonce, "refused": REFUSED_RC, "tools": table, "count": len(index),
                         "base": " ".join(str(index[t]) for t in BASE_TOOLS)}
    groups: list[list[SectionSpec]] = []
    open_group: list[SectionSpec] | None = None     # the batch a next section may join
    size = 0
    for s in specs:
        n = len(s.code) + sum(len(a) + 1 for a in s.args)
        fits = (batch and s.timeout <= BATCH_MAX_TIMEOUT and n <= BATCH_MAX_BYTES
                and not _ENDS_ITS_SHELL.search(s.code))
        if fits and open_group and len(open_group) < BATCH_MAX_ITEMS and size + n <= BATCH_MAX_BYTES:
            open_group.append(s)
            size += n
        else:
            groups.append([s])
            open_group, size = (groups[-1] if fits else None), n
    steps = []
    for group in groups:
        lines = [_run_line(s, index) for s in group]
        text = "\n".join(["hc_b=1", *lines, "hc_flush"]) if len(group) > 1 else lines[0]
        steps.append(([s.id for s in group], text))
    return prelude, steps


def _run_line(s: SectionSpec, index: dict[str, int]) -> str:
    parts = ["hc_run", shlex.quote(s.id), str(int(s.timeout)),
             shlex.quote(" ".join(str(index[t]) for t in s.tools)), shlex.quote(s.code)]
    return " ".join(parts + [shlex.quote(a) for a in s.args])


#: the nonce a remembered script is built with; only its one place in the prelude is replaced
_SHAPE_NONCE = "HC" + "0" * 32
#: at most this many scripts are remembered (a fleet usually needs a few: one per set of
#: parameters and applicable probes); the memory is emptied when full
SHAPES_KEPT = 64
_shapes: dict[tuple[tuple[SectionSpec, ...], bool], str] = {}


def build_script(specs: list[SectionSpec], nonce: str, batch: bool = True) -> str:
    """The whole script for one host. Hosts that need the same sections get the same script but
    for the nonce: it is built once (shared by the host threads without a lock; a race builds it
    twice) and each host's nonce is put in its one place, the prelude's ``hc_n=`` line, which comes
    before anything taken from a section."""
    _check_nonce(nonce)
    key = (tuple(specs), batch)
    shape = _shapes.get(key)
    if shape is None:
        prelude, steps = script_parts(specs, _SHAPE_NONCE, batch)
        shape = "\n".join([prelude, *(text for _, text in steps), FINALE]) + "\n"
        if len(_shapes) >= SHAPES_KEPT:
            _shapes.clear()
        _shapes[key] = shape
    return shape.replace(f"\nhc_n={_SHAPE_NONCE}\n", f"\nhc_n={nonce}\n", 1)
