"""Which binary answers a probe, and whether it may: the trust policy for the tools on a host.

A probe calls ``sshd -T``, ``nft`` … by name, so whoever controls ``PATH`` on the host could answer
instead of the real tool (a script at /usr/local/sbin/sshd printing ``passwordauthentication no``
turned failing SSH controls into passes). The probe script therefore

* searches the system directories first: ``PATH`` is
  ``/usr/sbin:/usr/bin:/sbin:/bin:/usr/local/sbin:/usr/local/bin``, so a binary in /usr/local
  cannot stand in for one the distribution installed. A tool that exists *only* in /usr/local
  (installed by an admin) is used, and its record says ``system_dir: false``;
* before a section runs, resolves every tool it relies on (once per script: a later section
  that relies on the same tool repeats its record; all tools are resolved together before the
  first section: one ``stat`` for all of them) (``Probe.tools`` of its command, plus
  any of ``BASE_TOOLS`` found untrustworthy before the first section) exactly as the snippet will
  (``command -v``) and prints a marker line on stdout, which the splitter turns into a record of
  ``Section.tools`` (kept in the evidence)::

    <nonce> T <tool> ok|untrusted <path> <real path> <uid> <gid> <mode> <offending path|-> <uid|-> <mode|->
    <nonce> T <tool> missing
    <nonce> T <tool> oddpath            (a path with characters other than [A-Za-z0-9._/+@:-])
    <nonce> T <tool> unchecked <path> <real path>      (stat could not report it)

A tool is trustworthy when its real file, every directory above it and the directory it was found
in belong to root and are not writable by group or others (as OpenSSH demands of an
AuthorizedKeysCommand). A section with an untrustworthy tool is **not run** (it ends with
``REFUSED_RC``): running an attacker-writable binary as root would hand its writer root, and its
output would be whatever they chose. Its probe is an ``untrusted_binary`` error naming the path,
owner and mode (``tool_problem``), never a fact.

What this does not cover: a host whose root is compromised can answer anything (see the README).
"""

from __future__ import annotations

import re

#: Where the distribution installs binaries: searched first. Anything else in PATH comes after.
SYSTEM_DIRS = ("/usr/sbin", "/usr/bin", "/sbin", "/bin")
LOCAL_DIRS = ("/usr/local/sbin", "/usr/local/bin")
#: Tools every snippet may use without declaring them. Checked before the first section: if one of
#: them is untrustworthy, every section is refused (each one records it); host.os records them all.
BASE_TOOLS = ("/bin/sh", "timeout", "readlink", "stat", "cat", "grep", "sed", "awk", "cut", "head",
              "tail", "sort", "uniq", "tr", "wc", "date", "uname", "id", "find", "df", "nice", "ionice")
#: Exit code of a section that was not run because a tool it relies on is untrustworthy.
REFUSED_RC = 120
TOOL_NAME = re.compile(r"^(?:[A-Za-z0-9_][A-Za-z0-9_.+-]{0,63}|/[A-Za-z0-9_./+-]{1,200})$")


def tool_record(words: list[str]) -> dict:
    """A tool marker's words after ``T`` as a JSON-able record: ``tool``, ``status`` (ok,
    untrusted, missing, oddpath, unchecked, malformed), ``path`` (where ``command -v`` found it),
    ``real_path`` (symlinks resolved), ``uid``, ``gid``, ``mode`` (octal string) of the real file,
    ``system_dir`` (found in one of SYSTEM_DIRS) and, when untrusted, ``offending``: the path
    (file or directory) that is not root's or is writable by group/others, with its uid and mode."""
    tool, status, rest = words[0], words[1], words[2:]
    rec: dict = {"tool": tool[:200], "status": status}
    if status == "missing" and not rest:
        return rec
    if status == "oddpath" and not rest:
        return rec
    if status == "unchecked" and len(rest) == 2:
        return {**rec, "path": rest[0], "real_path": rest[1],
                "system_dir": rest[0].rsplit("/", 1)[0] in SYSTEM_DIRS}
    if status in ("ok", "untrusted") and len(rest) == 8 and all(
            re.fullmatch(r"[0-7]{1,4}", m) for m in (rest[4],)) and rest[2].isdigit() and rest[3].isdigit():
        rec.update(path=rest[0], real_path=rest[1], uid=int(rest[2]), gid=int(rest[3]), mode=rest[4],
                   system_dir=rest[0].rsplit("/", 1)[0] in SYSTEM_DIRS)
        if status == "untrusted" and rest[5] != "-" and rest[6].isdigit():
            rec["offending"] = {"path": rest[5], "uid": int(rest[6]), "mode": rest[7]}
        return rec
    return {"tool": tool[:200], "status": "malformed", "record": " ".join(words)[:300]}


def tool_problem(rec: dict) -> str | None:
    """Why the tool of this record must not be trusted (a sentence), or None when it may be."""
    status = rec.get("status")
    if status == "missing":
        return None
    if status == "ok":
        # the host's shell decided; check its facts again here
        if rec.get("uid") == 0 and not int(rec.get("mode", "0"), 8) & 0o022:
            return None
        return (f"{rec['tool']}: {rec.get('real_path')} (uid {rec.get('uid')}, mode {rec.get('mode')}) "
                "is not root's or is writable by group or others")
    where = rec.get("path")
    if rec.get("real_path") and rec.get("real_path") != where:
        where = f"{where} -> {rec['real_path']}"
    if status == "untrusted":
        off = rec.get("offending") or {}
        what = "the binary" if off.get("path") == rec.get("real_path") else f"its directory {off.get('path')}"
        why = "is not owned by root" if off.get("uid") != 0 else "is writable by group or others"
        return (f"{rec['tool']} resolved to {where}: {what} {why} (uid {off.get('uid')}, mode "
                f"{off.get('mode')}); not run")
    if status == "oddpath":
        return f"{rec['tool']} resolves through a path with unusual characters; not run"
    if status == "unchecked":
        return f"{rec['tool']} resolved to {where}, whose owner and mode could not be read; not run"
    return f"{rec.get('tool')}: unreadable tool record {rec.get('record', '')!r}"


def tool_line(rec: dict) -> str:
    """The marker words after ``T`` that give ``rec`` back (a replay of kept evidence)."""
    def w(value) -> str:
        return re.sub(r"\s", "?", str(value)) or "-"

    tool, status = w(rec.get("tool", "?")), rec.get("status")
    if status in ("missing", "oddpath"):
        return f"{tool} {status}"
    if status == "unchecked":
        return f"{tool} unchecked {w(rec.get('path'))} {w(rec.get('real_path'))}"
    if status in ("ok", "untrusted"):
        off = rec.get("offending") or {}
        return " ".join(w(x) for x in (tool, status, rec.get("path"), rec.get("real_path"), rec.get("uid"),
                                       rec.get("gid"), rec.get("mode"), off.get("path", "-"),
                                       off.get("uid", "-"), off.get("mode", "-")))
    return f"{tool} malformed"
