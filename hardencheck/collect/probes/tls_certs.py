"""tls.certs: expiry date and subject of configured X.509 certificate files (openssl x509).

Only the ``notAfter`` and ``subject`` lines leave the host. Days left are counted against the
host's clock, which the probe reports too.
"""

from __future__ import annotations

from datetime import datetime, timezone

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, complete_section, epoch, iso_utc
from hardencheck.collect.probes.base import Arg, Probe

STATUSES = ("absent", "unreadable")


def _openssl_date(text: str) -> datetime:
    """'Nov 23 12:00:00 2026 GMT' (day may be space-padded)."""
    norm = " ".join(text.split())
    try:
        return datetime.strptime(norm, "%b %d %H:%M:%S %Y GMT").replace(tzinfo=timezone.utc)
    except ValueError:
        raise ProbeError("unparsable", f"openssl x509: bad date {norm[:40]!r}") from None


class TlsCerts(Probe):
    name = "tls.certs"
    summary = "Expiry date and subject of configured certificate files (openssl x509), days left"
    timeout = 30
    args = {
        "paths": Arg("path_list", default=[], remote=True, doc="PEM certificate files to check"),
    }
    tools = {"certs": ("openssl",)}
    commands = {
        "certs": (
            "printf 'now\\t%s\\n' \"$(date +%s)\"; "
            "[ -n \"$1\" ] || exit 0; "
            "command -v openssl >/dev/null 2>&1 || { echo 'openssl: not found' >&2; exit 127; }; "
            "printf '%s\\n' \"$1\" | while IFS= read -r p; do [ -n \"$p\" ] || continue; "
            "if [ ! -e \"$p\" ]; then printf 'absent\\t%s\\n' \"$p\"; continue; fi; "
            "if [ ! -r \"$p\" ]; then printf 'unreadable\\t%s\\n' \"$p\"; continue; fi; "
            "printf 'cert\\t%s\\n' \"$p\"; "
            "o=$(openssl x509 -noout -enddate -subject -nameopt RFC2253 -in \"$p\" 2>/dev/null); rc=$?; "
            "printf '%s\\n' \"$o\" | grep -aE '^(notAfter|subject)=' | cut -c 1-300; "
            "printf 'rc\\t%s\\n' \"$rc\"; done"
        ),
    }

    def parse(self, out, args):
        configured = [p for p in (args.get("paths") or []) if p]
        sec = complete_section(out, "certs", "reading certificates", ran="openssl x509",
                               truncated="certificate listing truncated")
        lines = sec.stdout.splitlines()
        if not lines or not lines[0].startswith("now\t"):
            raise ProbeError("unparsable", "certificate listing: no host time")
        now = epoch(lines[0][4:], "host time")
        certs: list[dict] = []
        for line in lines[1:]:
            if not line.strip():
                continue
            key, sep, value = line.partition("\t") if "\t" in line else line.partition("=")
            if key in STATUSES and sep:
                certs.append({"path": clean(value, 4096), "status": key, "not_after": None,
                              "subject": None, "days_left": None})
            elif key == "cert" and sep:
                certs.append({"path": clean(value, 4096), "status": None, "not_after": None,
                              "subject": None, "days_left": None})
            elif not certs or certs[-1]["status"] is not None:
                raise ProbeError("unparsable", f"certificate listing: unexpected line {line[:80]!r}")
            elif key == "notAfter" and sep:
                end = _openssl_date(value)
                certs[-1]["not_after"] = end.strftime("%Y-%m-%dT%H:%M:%SZ")
                certs[-1]["days_left"] = int((end.timestamp() - now) // 86400)
            elif key == "subject" and sep:
                certs[-1]["subject"] = clean(value, 300)
            elif key == "rc" and sep:
                ok = value.strip() == "0" and certs[-1]["not_after"] is not None
                certs[-1]["status"] = "ok" if ok else "invalid"
                if not ok:
                    certs[-1]["days_left"] = certs[-1]["not_after"] = None
            else:
                raise ProbeError("unparsable", f"certificate listing: unexpected line {line[:80]!r}")
        if certs and certs[-1]["status"] is None:
            raise ProbeError("incomplete_output", "certificate listing ended inside an openssl run")
        unreadable = [c["path"] for c in certs if c["status"] == "unreadable"]
        if unreadable:
            raise ProbeError("permission_denied", f"certificate not readable: {unreadable[0]}")
        if len(certs) != len(configured):
            raise ProbeError("incomplete_output",
                             f"{len(configured)} certificate path(s) configured, {len(certs)} answered")
        valid = [c for c in certs if c["status"] == "ok"]
        first = min(valid, key=lambda c: c["days_left"]) if valid else None
        return {
            "configured": len(configured),
            "host_time": iso_utc(now),
            "certificates": certs,
            "problems": [f"{c['path']}: {c['status']}" for c in certs if c["status"] != "ok"],
            "min_days_left": first["days_left"] if first else None,
            "expiring_first": first["path"] if first else None,
        }
