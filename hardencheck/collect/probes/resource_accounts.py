"""resource.user and resource.group: one account or group named by the control.

A user's ``locked`` is judged on the host from the shadow password field and only its verdict
travels (``set``, ``locked`` = starts with ``!``, ``none`` = ``*``/``!!``-style, ``empty``): never a
hash.
"""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean
from hardencheck.collect.probes.resource_base import ResourceProbe, absent_facts, item_loop
from hardencheck.collect.probes.base import Arg

USER_BODY = (
    "if ! l=$(getent passwd \"$n\" 2>/dev/null) || [ -z \"$l\" ]; then echo 'exists no'; else "
    "echo 'exists yes'; echo 'passwd'; printf '%s\\n' \"$l\" | head -n 1 | cut -c 1-1000 | sed 's/^/| /'; "
    "echo 'groups'; id -Gn \"$n\" 2>/dev/null | cut -c 1-4000 | sed 's/^/| /'; "
    "if sl=$(getent shadow \"$n\" 2>/dev/null) && [ -n \"$sl\" ]; then s=${sl#*:}; s=${s%%:*}; "
    "case $s in '') echo 'password empty' ;; '!!'*|'*'*) echo 'password none' ;; '!'*) echo 'password locked' ;; "
    "*) echo 'password set' ;; esac; "
    "elif [ -r /etc/shadow ]; then echo 'password no_entry'; "
    "else echo 'error permission_denied /etc/shadow is not readable: whether the account is locked is unknown'; "
    "fi; fi"
)

GROUP_BODY = (
    "if ! l=$(getent group \"$n\" 2>/dev/null) || [ -z \"$l\" ]; then echo 'exists no'; else "
    "echo 'exists yes'; echo 'group'; printf '%s\\n' \"$l\" | head -n 1 | cut -c 1-8000 | sed 's/^/| /'; fi"
)

USER_FACTS = ("name", "exists", "uid", "gid", "home", "shell", "groups", "password", "locked")
_NUM = re.compile(r"^[0-9]{1,10}$")


class ResourceUser(ResourceProbe):
    name = "resource.user"
    summary = "A user account named by the control: exists, uid, gid, home, shell, groups, locked"
    timeout = 30
    required_args = ("name",)
    tools = {"items": ("getent",)}
    args = {"name": Arg("name", remote=True, doc="the login name")}
    commands = {"items": item_loop(("n",), USER_BODY)}

    def parse(self, out, args):
        item = self.item(out, args)
        name = args.get("name")
        if item.get("exists") == "no":
            return absent_facts(USER_FACTS, name=name, exists=False)
        fields = "\n".join(item.data.get("passwd", [])).split(":")
        if len(fields) != 7 or fields[0] != name or not _NUM.match(fields[2]) or not _NUM.match(fields[3]):
            raise ProbeError("unparsable", f"{self.name}: unexpected passwd entry")
        password = item.get("password")
        if password not in ("set", "locked", "none", "empty", "no_entry"):
            raise ProbeError("unparsable", f"{self.name}: no password state")
        groups = " ".join(item.data.get("groups", [])).split()
        return {"name": name, "exists": True, "uid": int(fields[2]), "gid": int(fields[3]),
                "home": clean(fields[5], 300), "shell": clean(fields[6], 300),
                "groups": [clean(g, 64) for g in groups][:200], "password": password,
                "locked": password in ("locked", "none")}


class ResourceGroup(ResourceProbe):
    name = "resource.group"
    summary = "A group named by the control: exists, gid, members"
    timeout = 30
    required_args = ("name",)
    tools = {"items": ("getent",)}
    args = {"name": Arg("name", remote=True, doc="the group name")}
    commands = {"items": item_loop(("n",), GROUP_BODY)}

    def parse(self, out, args):
        item = self.item(out, args)
        name = args.get("name")
        if item.get("exists") == "no":
            return {"name": name, "exists": False, "gid": None, "members": None}
        fields = "\n".join(item.data.get("group", [])).split(":")
        if len(fields) != 4 or fields[0] != name or not _NUM.match(fields[2]):
            raise ProbeError("unparsable", f"{self.name}: unexpected group entry")
        members = [clean(m, 64) for m in fields[3].split(",") if m.strip()]
        return {"name": name, "exists": True, "gid": int(fields[2]), "members": members[:500]}
