"""sshd.config: the effective OpenSSH server configuration (``sshd -T``), and where each setting
comes from: ``setting_sources`` (keyword -> ``file:line`` of the line sshd uses; a list for
repeatable keywords; absent: the compiled-in default), ``setting_overridden`` (later lines sshd
ignores, e.g. a ``PermitRootLogin no`` in sshd_config below a drop-in's ``yes``),
``setting_conditional`` (lines inside Match blocks) and ``config_files`` (see sshd_sources)."""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, complete_section, section_failure
from hardencheck.collect.probes.base import Probe
from hardencheck.collect.probes.sshd_sources import SOURCES_SNIPPET, attribute, parse_listing

#: Keywords ``sshd -T`` prints once per value. They are always lists in the fact (even with one
#: value) so their type does not depend on the host. Any other keyword that happens to repeat
#: becomes a list too; the rest are strings.
MULTI = frozenset({
    "port", "listenaddress", "hostkey", "hostcertificate", "acceptenv", "setenv", "subsystem",
    "allowusers", "denyusers", "allowgroups", "denygroups",
})

#: Keywords whose value ``sshd -T`` prints as a plain integer (LoginGraceTime in seconds). They
#: are ints in the fact, so controls can compare them with at_most / at_least.
INTEGER = frozenset({
    "maxauthtries", "logingracetime", "clientaliveinterval", "clientalivecountmax", "maxsessions",
    "x11displayoffset", "requiredrsasize",
})

#: Names older OpenSSH releases (< 8.5, e.g. RHEL 8) print for what is now called ``*algorithms``;
#: the new name is filled in from the old one so controls read one key everywhere.
ALIASES = {
    "pubkeyacceptedalgorithms": "pubkeyacceptedkeytypes",
    "hostbasedacceptedalgorithms": "hostbasedacceptedkeytypes",
    "kbdinteractiveauthentication": "challengeresponseauthentication",
}

#: Forwarding switches that ``DisableForwarding yes`` overrides (sshd -T still prints them as set).
FORWARDING = {"tcp": "allowtcpforwarding", "agent": "allowagentforwarding",
              "x11": "x11forwarding", "streamlocal": "allowstreamlocalforwarding"}

_LINE = re.compile(r"^([a-z][a-z0-9]*)(?:[ \t]+(.*))?$")
_INT = re.compile(r"^-?[0-9]{1,10}$")


class SshdConfig(Probe):
    name = "sshd.config"
    summary = ("Effective OpenSSH server configuration from `sshd -T` (keys lower-cased, counters "
               "and timeouts as integers, effective forwarding)")
    timeout = 30
    tools = {"effective": ("sshd",)}
    commands = {
        "effective": "command -v sshd >/dev/null 2>&1 || exit 127; sshd -T",
        "sources": SOURCES_SNIPPET,
    }

    def parse(self, out, args):
        # sshd -T reports a config error or a missing /run/sshd with exit 255; without root it
        # stops with "no hostkeys available" (exit 1) -> permission_denied via require_success.
        sec = complete_section(out, "effective", "sshd -T", truncated="sshd -T: output was truncated")
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
        for key in INTEGER & config.keys():
            value = config[key]
            if not isinstance(value, str) or not _INT.match(value):
                raise ProbeError("unparsable", f"sshd -T: {key} is not a number: {str(value)[:40]!r}")
            config[key] = int(value)
        # OpenSSH < 8.7 (RHEL 8) names the keyboard-interactive switch and the key-type lists
        # differently
        for new, old in ALIASES.items():
            if new not in config and old in config:
                config[new] = config[old]
        # "without-password" is the deprecated spelling of "prohibit-password"
        if config.get("permitrootlogin") == "without-password":
            config["permitrootlogin"] = "prohibit-password"
        # What forwarding is really allowed: DisableForwarding yes switches all of it off. sshd
        # keywords never contain "_", so this derived key cannot clash with one.
        disabled = config.get("disableforwarding") == "yes"
        config["effective_forwarding"] = {
            short: ("no" if disabled else config.get(key)) for short, key in FORWARDING.items()}
        config.update(_sources(out))
        return config


def _sources(out) -> dict:
    """The origin facts; informational, so a missing or failed listing leaves them null (with
    ``setting_sources_error``) and never costs the effective configuration."""
    names = ("setting_sources", "setting_overridden", "setting_conditional", "config_files")
    sec = out.get("sources")
    if sec is None:
        return dict.fromkeys(names)
    err = section_failure(sec, "listing the sshd configuration files")
    if err is None and sec.exit_code != 0:
        err = f"listing the sshd configuration files exited with {sec.exit_code}: {clean(sec.stderr, 200)}"
    if err is None and sec.truncated:
        err = "listing the sshd configuration files: output truncated"
    if err is not None:
        return {**dict.fromkeys(names), "setting_sources_error": getattr(err, "message", str(err))}
    found = attribute(parse_listing(sec.stdout), MULTI, ALIASES)
    return {"setting_sources": found["sources"], "setting_overridden": found["overridden"],
            "setting_conditional": found["conditional"], "config_files": found["config_files"]}
