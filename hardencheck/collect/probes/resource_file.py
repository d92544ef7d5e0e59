"""resource.file and resource.directory: one path named by the control (``args: {path: …}``).

Facts: ``exists``, ``type`` (of the path itself: file, directory, symlink, fifo, socket,
block_device, character_device), ``link_target`` (a symlink's target as written), and of what the
path leads to (symlinks followed): ``target_type``, ``mode`` ("0640"), ``owner``, ``group``,
``uid``, ``gid``, ``size``, ``modified_at`` (UTC), for a regular file ``sha256`` (files up to
``hash_max_bytes``; larger ones ``sha256_skipped``) and, with ``content`` (a POSIX extended regular
expression, ``grep -E``), the matching lines: at most ``max_lines``, each cut at 300 characters,
``content_match_count`` counting all of them. Never the whole file.

A directory: the same without hash and content, plus ``entries`` (how many names it holds).
"""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, epoch, iso_utc
from hardencheck.collect.probes.resource_base import ResourceProbe, TextArg, absent_facts, item_loop
from hardencheck.collect.probes.base import Arg

TYPES = {"regular file": "file", "regular empty file": "file", "directory": "directory",
         "symbolic link": "symlink", "fifo": "fifo", "socket": "socket",
         "block special file": "block_device", "character special file": "character_device"}

# Forks per item: one stat for every attribute, one sha256sum for a file (test(1) is a builtin).
_STAT = (
    "if [ ! -e \"$p\" ] && [ ! -L \"$p\" ]; then echo 'exists no'; else echo 'exists yes'; "
    "if [ -L \"$p\" ]; then echo 'ltype symbolic link'; echo 'target'; "
    "readlink -- \"$p\" | cut -c 1-1000 | sed 's/^/| /'; "
    "elif [ -d \"$p\" ]; then echo 'ltype directory'; elif [ -f \"$p\" ]; then echo 'ltype regular file'; "
    "elif [ -p \"$p\" ]; then echo 'ltype fifo'; elif [ -S \"$p\" ]; then echo 'ltype socket'; "
    "elif [ -b \"$p\" ]; then echo 'ltype block special file'; "
    "elif [ -c \"$p\" ]; then echo 'ltype character special file'; else echo 'ltype other'; fi; "
    "if [ -L \"$p\" ] && [ ! -e \"$p\" ]; then echo 'dangling yes'; "
    "elif ! st=$(stat -L --printf 'ftype %F\\nmode %a\\nuid %u\\ngid %g\\nowner %U\\ngroup %G\\nsize %s\\nmtime %Y\\n'"
    " -- \"$p\" 2>/dev/null); then echo 'error permission_denied cannot stat the path'; "
    "else printf '%s\\n' \"$st\"; sz=${st#*size }; sz=${sz%%[!0-9]*}; "
)

FILE_BODY = _STAT + (
    "if [ -f \"$p\" ]; then "
    "if [ \"$hm\" -gt 0 ] 2>/dev/null && [ \"${sz:-0}\" -le \"$hm\" ]; then "
    "if [ ! -r \"$p\" ]; then echo 'error permission_denied the file is not readable'; "
    "elif h=$(sha256sum < \"$p\" 2>/dev/null); then printf 'sha256 %s\\n' \"${h%% *}\"; "
    "else echo 'sha256_skipped yes'; fi; "
    "else echo 'sha256_skipped yes'; fi; "
    "if [ -n \"$re\" ]; then "
    "if [ ! -r \"$p\" ]; then echo 'error permission_denied the file is not readable'; "
    "else grep -qaE -e \"$re\" /dev/null; "
    "if [ $? -eq 2 ]; then echo 'error unparsable the content pattern is no valid extended regular expression'; "
    "else echo 'content'; grep -aE -e \"$re\" -- \"$p\" 2>/dev/null | "
    "awk -v m=\"$mx\" '{c++; if (c<=m) print \"| \" substr($0,1,300)} END {print \"content_count \" c+0}'; "
    "fi; fi; fi; fi; fi; fi"
)

DIR_BODY = _STAT + (
    "if [ -d \"$p\" ]; then printf 'entries %s\\n' "
    "\"$(find \"$p\" -mindepth 1 -maxdepth 1 -printf . 2>/dev/null | wc -c)\"; fi; fi; fi"
)

COMMON = ("path", "exists", "type", "link_target", "target_type", "mode", "owner", "group", "uid",
          "gid", "size", "modified_at")


def _kind(value: str | None) -> str | None:
    if value is None:
        return None
    return TYPES.get(value, "other")


def stat_facts(probe: str, item, path: str) -> dict:
    """The facts every path resource has, from its item (see the module docstring)."""
    if item.get("exists") == "no":
        return absent_facts(COMMON, path=path, exists=False)
    if item.get("exists") != "yes":
        raise ProbeError("unparsable", f"{probe}: no exists line")
    target = item.data.get("target")
    facts = absent_facts(COMMON, path=path, exists=True, type=_kind(item.get("ltype")),
                         link_target=clean("\n".join(target), 1000) if target else None)
    if item.get("dangling") == "yes":
        return facts
    mode = item.get("mode") or ""
    if not re.fullmatch(r"[0-7]{1,4}", mode):
        raise ProbeError("unparsable", f"{probe}: mode {clean(mode, 20)!r} is not octal")
    mtime = item.get("mtime")
    facts.update(target_type=_kind(item.get("ftype")), mode=f"{int(mode, 8):04o}",
                 owner=clean(item.get("owner") or "", 64) or None, group=clean(item.get("group") or "", 64) or None,
                 uid=item.int("uid"), gid=item.int("gid"), size=item.int("size"),
                 modified_at=iso_utc(epoch(mtime, f"{probe} mtime")) if mtime is not None else None)
    return facts


class ResourceFile(ResourceProbe):
    name = "resource.file"
    summary = ("A file named by the control: exists, type, mode, owner, group, size, mtime, SHA-256, "
               "link target; optionally the lines matching a regex (bounded)")
    timeout = 30
    required_args = ("path",)
    tools = {"items": ("sha256sum",)}
    args = {
        "path": Arg("path", remote=True, doc="the file (absolute path)"),
        "content": TextArg("ere", remote=True, doc="POSIX extended regex (grep -E): report the matching lines"),
        "max_lines": Arg("int", default=20, remote=True, doc="matching lines kept (at most 200)"),
        "hash_max_bytes": Arg("int", default=16 * 1024 * 1024, remote=True,
                              doc="hash files up to this size (0: never)"),
    }
    commands = {"items": item_loop(("p", "re", "mx", "hm"), FILE_BODY)}

    @classmethod
    def resolve_args(cls, given):
        out = super().resolve_args(given)
        if not 1 <= out["max_lines"] <= 200:
            raise ValueError("argument 'max_lines': between 1 and 200")
        if out["hash_max_bytes"] < 0:
            raise ValueError("argument 'hash_max_bytes': 0 or more")
        return out

    def parse(self, out, args):
        item = self.item(out, args)
        facts = stat_facts(self.name, item, args.get("path") or "")
        facts.update(sha256=None, sha256_skipped=None, content_matches=None, content_match_count=None,
                     content_truncated=None)
        if not facts["exists"] or facts["target_type"] != "file":
            return facts
        digest = item.get("sha256")
        if digest is not None and not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise ProbeError("unparsable", f"{self.name}: bad sha256 {clean(digest, 70)!r}")
        facts.update(sha256=digest, sha256_skipped=item.get("sha256_skipped") == "yes")
        if args.get("content"):
            if "content_count" not in item.fields:
                raise ProbeError("incomplete_output", f"{self.name}: the content search did not finish")
            count = item.int("content_count")
            lines = [clean(x, 300) for x in item.data.get("content", [])][:args["max_lines"]]
            facts.update(content_matches=lines, content_match_count=count,
                         content_truncated=count is not None and count > len(lines))
        return facts


class ResourceDirectory(ResourceProbe):
    name = "resource.directory"
    summary = "A directory named by the control: exists, type, mode, owner, group, mtime, number of entries"
    timeout = 30
    required_args = ("path",)
    args = {"path": Arg("path", remote=True, doc="the directory (absolute path)")}
    commands = {"items": item_loop(("p",), DIR_BODY)}

    def parse(self, out, args):
        item = self.item(out, args)
        facts = stat_facts(self.name, item, args.get("path") or "")
        facts["entries"] = item.int("entries") if facts["target_type"] == "directory" else None
        return facts
