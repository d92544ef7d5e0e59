"""syslog.forwarding: are logs sent to a remote collector (rsyslog forwarding, systemd-journal-upload)?

Only lines naming a forwarding action or its target/port/protocol/TLS settings are read from
rsyslog's configuration (never whole files), and only target host, port and protocol become
facts. Targets count when rsyslog is running; journal-upload counts when its unit is active.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, require_success, section
from hardencheck.collect.probes.base import Probe

NO_RSYSLOG = "HC_NO_RSYSLOG"
_LEGACY = re.compile(r"(?:^|\s)@(@)?(?:\([a-z0-9]*\))?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(?::(\d{1,5}))?")
_ATTR = re.compile(r"\b(target|port|protocol|streamdrivermode)\s*=\s*\"([^\"]{0,200})\"", re.I)


def _active(word: str) -> bool:
    return word.strip() == "active"


class SyslogForwarding(Probe):
    name = "syslog.forwarding"
    summary = "Remote log forwarding: rsyslog @/@@/omfwd targets (host, port, protocol), systemd-journal-upload"
    timeout = 20
    tools = {"rsyslog_conf": ("rsyslogd",), "services": ("systemctl", "pidof")}
    commands = {
        "rsyslog_conf": (
            f"command -v rsyslogd >/dev/null 2>&1 || {{ echo {NO_RSYSLOG}; exit 0; }}; "
            "for f in /etc/rsyslog.conf /etc/rsyslog.d/*.conf; do [ -f \"$f\" ] || continue; "
            "if [ ! -r \"$f\" ]; then echo \"$f: Permission denied\" >&2; exit 13; fi; "
            "grep -aiE '^[^#]*([[:space:]]@|omfwd|target[[:space:]]*=|port[[:space:]]*=|protocol[[:space:]]*=|"
            "StreamDriverMode)' \"$f\" | head -n 100 | "
            "while IFS= read -r l; do printf '%s\\t%s\\n' \"$f\" \"$l\"; done; done; exit 0"
        ),
        "services": (
            "if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then "
            "printf 'rsyslog=%s\\n' \"$(systemctl is-active rsyslog 2>/dev/null | head -n 1)\"; "
            "printf 'journal_upload=%s\\n' \"$(systemctl is-active systemd-journal-upload 2>/dev/null | head -n 1)\"; "
            "else if pidof rsyslogd >/dev/null 2>&1; then echo rsyslog=active; else echo rsyslog=inactive; fi; "
            "echo journal_upload=inactive; fi; "
            "for f in /etc/systemd/journal-upload.conf /etc/systemd/journal-upload.conf.d/*.conf; do "
            "[ -r \"$f\" ] && grep -aE '^[[:space:]]*URL[[:space:]]*=' \"$f\" | tail -n 1 | sed 's/^[[:space:]]*/upload_/'; "
            "done; exit 0"
        ),
    }

    def parse(self, out, args):
        csec = section(out, "rsyslog_conf", "rsyslog configuration")
        if csec.exit_code == 13:
            raise ProbeError("permission_denied", f"rsyslog configuration: {clean(csec.stderr, 120)}")
        require_success(csec, "reading rsyslog configuration")
        installed = csec.stdout.strip() != NO_RSYSLOG
        targets: list[dict] = []
        tls_lines = 0
        if installed:
            current = None
            for raw in csec.stdout.splitlines():
                path, sep, line = raw.partition("\t")
                if not sep or not path.startswith("/"):
                    raise ProbeError("unparsable", f"rsyslog configuration: unexpected line {clean(raw, 60)!r}")
                code = line.split("#", 1)[0] if not line.lstrip().startswith("$") else line
                if re.search(r"streamdrivermode\s*[=\s]\s*\"?1", code, re.I):
                    tls_lines += 1
                if "omfwd" in code.lower():
                    current = {"host": None, "port": 514, "protocol": "udp"}
                    targets.append(current)
                attrs = {k.lower(): v for k, v in _ATTR.findall(code)}
                if attrs and current is not None:
                    if "target" in attrs and current["host"] is None:
                        current["host"] = clean(attrs["target"], 100)
                    if "port" in attrs and attrs["port"].isdigit():
                        current["port"] = int(attrs["port"])
                    if "protocol" in attrs:
                        current["protocol"] = clean(attrs["protocol"].lower(), 10)
                    if ")" in code:
                        current = None
                    continue
                if "omfwd" in code.lower() or attrs:
                    continue
                for m in _LEGACY.finditer(code):
                    targets.append({"host": clean(m.group(2).strip("[]"), 100),
                                    "port": int(m.group(3)) if m.group(3) else 514,
                                    "protocol": "tcp" if m.group(1) else "udp"})
        targets = [t for t in targets if t["host"]]

        ssec = section(out, "services", "logging services")
        require_success(ssec, "checking logging services")
        kv: dict[str, str] = {}
        upload_url = None
        for line in ssec.stdout.splitlines():
            key, sep, value = line.strip().partition("=")
            if key in ("rsyslog", "journal_upload") and sep:
                kv[key] = value.strip()
            elif key == "upload_URL" or key.startswith("upload_URL"):
                upload_url = value.strip()
        if "rsyslog" not in kv or "journal_upload" not in kv:
            raise ProbeError("unparsable", "logging services: unexpected output")
        upload_host = None
        if upload_url:
            try:
                parts = urlsplit(upload_url if "://" in upload_url else "https://" + upload_url)
                upload_host = clean(f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else ""), 120)
            except ValueError:
                upload_host = None  # never echo a URL we could not take apart (it may hold a password)
        rsyslog_active = installed and _active(kv["rsyslog"])
        upload_active = _active(kv["journal_upload"])
        shown = sorted({f"{t['protocol']}://{t['host']}:{t['port']}" for t in targets})
        return {
            "rsyslog_installed": installed,
            "rsyslog_active": rsyslog_active,
            "rsyslog_targets": targets,
            "rsyslog_tls": tls_lines > 0,
            "journal_upload_active": upload_active,
            "journal_upload_url": upload_host,
            "targets": shown + ([upload_host] if upload_active and upload_host else []),
            "forwarding": bool(rsyslog_active and targets) or upload_active,
        }
