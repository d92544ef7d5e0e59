"""files.world_writable: world-writable files, world-writable directories without the sticky bit,
and files without a known owner or group, on every local writable filesystem.

One ``find -xdev`` per filesystem (bind mounts of the same filesystem are walked once), at the
lowest CPU and I/O priority and under ``timeout``. Only a bounded number of paths per kind travels
(names are NUL-terminated by find and newlines inside names become ``?`` on the host, so a file
name cannot forge an entry); the totals are counted on the host.
"""

from __future__ import annotations

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, complete_section
from hardencheck.collect.probes.base import Arg, Probe

#: Filesystems with real Unix permissions that hold local data (vfat/ntfs/network mounts do not).
LOCAL_FS = "ext2|ext3|ext4|xfs|btrfs|overlay|zfs|jfs|reiserfs|f2fs|bcachefs|nilfs2"
#: Paths listed per kind; the count covers all of them.
LIMIT = 200
#: Seconds one filesystem walk may take on the host.
FIND_TIMEOUT = 240
#: The walk sends nothing until it is done (its output is counted and cut on the host), so it may
#: be silent for as long as the host lets the section run (the probe's ``timeout`` and the 5 s of
#: ``timeout -k``): the engine's idle limit is this long while a walk runs, not the host's
#: ``idle_timeout``. A host that dies during a walk is cut by the command timeout.
WALK_IDLE_TIMEOUT = 600 + 15

# "$1": newline-separated find -path patterns to prune. Prints, NUL-terminated:
#   M<TAB>mountpoint     a filesystem about to be walked
#   R<TAB>rc             find's exit code for it
#   <tag><TAB>path       a hit; the find expression that follows decides the tags
# $HC_EXPR is the find expression (as words; set by each probe).
WALK = (
    "command -v find >/dev/null 2>&1 || exit 127; "
    "[ -r /proc/self/mounts ] || { echo '/proc/self/mounts: No such file or directory' >&2; exit 127; }; "
    "ex=$1; set --; set -f; oifs=$IFS; IFS='\n'; "
    "for p in $ex; do [ -n \"$p\" ] && set -- \"$@\" -path \"$p\" -prune -o; done; "
    "IFS=$oifs; set +f; "
    "io=; command -v ionice >/dev/null 2>&1 && io='ionice -c 3'; "
    "to=; command -v timeout >/dev/null 2>&1 && to='timeout -k 5 %(timeout)d'; "
    "seen=' '; "
    "while read -r src mp fstype opts rest; do "
    "case $fstype in %(fs)s) ;; *) continue ;; esac; "
    "case \",$opts,\" in *,ro,*) continue ;; esac; "
    "mp=$(printf '%%b' \"$mp\"); "
    "d=$(stat -c %%d -- \"$mp\" 2>/dev/null) || continue; "
    "case $seen in *\" $d \"*) continue ;; esac; seen=\"$seen$d \"; "
    "printf 'M\\t%%s\\0' \"$mp\"; "
    "$to nice -n 19 $io find \"$mp\" -xdev \"$@\" \\( %(expr)s \\); "
    "printf 'R\\t%%s\\0' $?; "
    "done < /proc/self/mounts | tr '\\n\\000' '?\\n' | "
    "awk -F '\\t' -v n=%(limit)d '$1 == \"M\" || $1 == \"R\" { print; next } "
    "{ c[$1]++; if (c[$1] <= n) print substr($0, 1, 1100) } "
    "END { for (k in c) print \"C\\t\" k \"\\t\" c[k] }'"
)


def walk_snippet(expr: str) -> str:
    return WALK % {"timeout": FIND_TIMEOUT, "fs": LOCAL_FS, "expr": expr, "limit": LIMIT}


def parse_walk(out, what: str, tags: set[str], *, bare_paths: bool = True
               ) -> tuple[list[str], dict[str, list[str]], dict[str, int]]:
    """(mountpoints walked, first paths per tag, totals per tag); errors as ProbeError."""
    sec = complete_section(out, "walk", what)
    mounts: list[str] = []
    paths: dict[str, list[str]] = {t: [] for t in tags}
    counts: dict[str, int] = {t: 0 for t in tags}
    rcs: list[int] = []
    for line in sec.stdout.split("\n"):
        if not line:
            continue
        tag, sep, rest = line.partition("\t")
        if not sep:
            raise ProbeError("unparsable", f"{what}: unexpected line {line[:80]!r}")
        if tag == "M":
            mounts.append(clean(rest, 4096))
        elif tag == "R":
            if not rest.strip().isdigit() or len(rest.strip()) > 3:
                raise ProbeError("unparsable", f"{what}: bad exit code line")
            rcs.append(int(rest.strip()))
        elif tag == "C":
            kind, _, n = rest.partition("\t")
            if kind not in tags or not n.strip().isdigit() or len(n.strip()) > 12:
                raise ProbeError("unparsable", f"{what}: bad count line {line[:80]!r}")
            counts[kind] = int(n)
        elif tag in tags:
            if bare_paths and not rest.startswith("/"):
                raise ProbeError("unparsable", f"{what}: not a path {rest[:80]!r}")
            if len(paths[tag]) < LIMIT:
                paths[tag].append(clean(rest, 1024))
        else:
            raise ProbeError("unparsable", f"{what}: unexpected line {line[:80]!r}")
    if len(rcs) != len(mounts):
        raise ProbeError("incomplete_output", f"{what}: a filesystem walk did not finish")
    if not mounts:
        raise ProbeError("unparsable", f"{what}: no local writable filesystem found in /proc/self/mounts")
    for rc in rcs:
        if rc in (124, 137):
            raise ProbeError("timeout", f"{what}: a filesystem walk hit the {FIND_TIMEOUT}s limit")
        if rc == 0:
            continue
        errors = [ln for ln in sec.stderr.splitlines() if ln.strip()]
        if any("ermission denied" in ln or "not permitted" in ln for ln in errors):
            raise ProbeError("permission_denied", f"{what}: find could not read everything (run as root)")
        # files that vanish during the walk are harmless; anything else is a failed walk
        if not errors or not all("No such file or directory" in ln for ln in errors):
            detail = clean(errors[0], 200) if errors else f"exit code {rc}"
            raise ProbeError("probe_failed", f"{what}: find failed: {detail}")
    for t in tags:
        counts[t] = max(counts[t], len(paths[t]))
    return mounts, paths, counts


def allowed(path: str, allow: list[str]) -> bool:
    for a in allow:
        a = a.rstrip("/") or "/"
        if path == a or path.startswith(a + "/") or a == "/":
            return True
    return False


class FilesWorldWritable(Probe):
    name = "files.world_writable"
    summary = ("World-writable files, world-writable directories without sticky bit and unowned "
               "files on local writable filesystems (counts and the first paths)")
    timeout = 600
    idle_timeout = WALK_IDLE_TIMEOUT     # quiet while it walks (see WALK_IDLE_TIMEOUT)
    max_output_bytes = 1024 * 1024
    args = {
        "exclude": Arg("path_list", default=[], remote=True,
                       doc="find -path patterns to skip (e.g. container storage)"),
        "allow": Arg("path_list", default=[], remote=False,
                     doc="world-writable files approved here (a path or a folder and all below it)"),
    }
    commands = {
        "walk": walk_snippet(
            "\\( -type f -perm -0002 -printf 'W\\t%p\\0' \\) , "
            "\\( -type d -perm -0002 ! -perm -1000 -printf 'D\\t%p\\0' \\) , "
            "\\( \\( -nouser -o -nogroup \\) -printf 'U\\t%p\\0' \\)"
        ),
    }

    def parse(self, out, args):
        allow = list(args.get("allow") or [])
        mounts, paths, counts = parse_walk(out, "world-writable/unowned file search", {"W", "D", "U"})
        files = [p for p in paths["W"] if not allowed(p, allow)]
        approved = len(paths["W"]) - len(files)
        return {
            "filesystems": mounts,
            "world_writable_files": files,
            # entries beyond the listed ones cannot be matched with the allowlist: they count
            "world_writable_file_count": counts["W"] - approved,
            "world_writable_files_allowed": approved,
            "dirs_without_sticky": paths["D"],
            "dirs_without_sticky_count": counts["D"],
            "unowned": paths["U"],
            "unowned_count": counts["U"],
            "truncated": any(counts[t] > len(paths[t]) for t in paths),
        }
