"""sshd.config: the effective OpenSSH server configuration (``sshd -T``)."""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.probes._common import require_success, section
from hardencheck.probes.base import Probe

#: Keywords ``sshd -T`` prints once per value. They are always lists in the fact (even with one
#: value) so their type does not depend on the host. Any other keyword that happens to repeat
#: becomes a list too; the rest are strings.
MULTI = frozenset({
    "port", "listenaddress", "hostkey", "hostcertificate", "acceptenv", "setenv", "subsystem",
    "allowusers", "denyusers", "allowgroups", "denygroups",
})

_LINE = re.compile(r"^([a-z][a-z0-9]*)(?:[ \t]+(.*))?$")


class SshdConfig(Probe):
    name = "sshd.config"
    summary = "Effective OpenSSH server configuration from `sshd -T` (keys lower-cased)"
    timeout = 30
    commands = {
        "effective": "command -v sshd >/dev/null 2>&1 || exit 127; sshd -T",
    }

    def parse(self, out, args):
        sec = section(out, "effective", "sshd -T")
        # sshd -T reports a config error or a missing /run/sshd with exit 255; without root it
        # stops with "no hostkeys available" (exit 1) -> permission_denied via require_success.
        require_success(sec, "sshd -T")
        if sec.truncated:
            raise ProbeError("incomplete_output", "sshd -T: output was truncated")
        config: dict[str, object] = {}
        for raw in sec.stdout.splitlines():
            line = raw.strip()
            if not line:
                continue
            m = _LINE.match(line)
            if not m:
                raise ProbeError("unparsable", f"sshd -T: unexpected line {line[:80]!r}")
            key, value = m.group(1), (m.group(2) or "").strip()
            if key in MULTI:
                config.setdefault(key, [])
                config[key].append(value)  # type: ignore[union-attr]
            elif key in config:
                prev = config[key]
                config[key] = (prev if isinstance(prev, list) else [prev]) + [value]
            else:
                config[key] = value
        if "passwordauthentication" not in config and "pubkeyauthentication" not in config:
            raise ProbeError("unparsable", "sshd -T printed no authentication settings")
        # OpenSSH < 8.7 (RHEL 8) names the keyboard-interactive switch differently
        if "kbdinteractiveauthentication" not in config and \
                "challengeresponseauthentication" in config:
            config["kbdinteractiveauthentication"] = config["challengeresponseauthentication"]
        # "without-password" is the deprecated spelling of "prohibit-password"
        if config.get("permitrootlogin") == "without-password":
            config["permitrootlogin"] = "prohibit-password"
        return config
