"""clamav.status: ClamAV installed, age of its daily signature database (sigtool's build time
where available, else the file's mtime) and the freshclam service state."""

from __future__ import annotations

from datetime import datetime, timezone

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, complete_section, epoch, iso_utc
from hardencheck.collect.probes.base import Probe


def _build_time(text: str) -> str | None:
    """sigtool's 'Build time: 23 Nov 2026 08:27 -0500' -> ISO UTC, None when unparsable."""
    try:
        t = datetime.strptime(" ".join(text.split()), "%d %b %Y %H:%M %z")
    except ValueError:
        return None
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class ClamavStatus(Probe):
    name = "clamav.status"
    summary = "ClamAV: installed, daily signature database build time/age, freshclam service state"
    timeout = 60
    tools = {"status": ("clamscan", "clamd", "clamdscan", "freshclam", "sigtool", "systemctl")}
    commands = {
        "status": (
            "i=no; for b in clamscan clamd clamdscan freshclam; do command -v $b >/dev/null 2>&1 && i=yes; done; "
            "printf 'installed\\t%s\\n' $i; "
            "for f in /var/lib/clamav/daily.cld /var/lib/clamav/daily.cvd; do [ -f $f ] || continue; "
            "printf 'db\\t%s\\t%s\\n' $f \"$(stat -c %Y $f)\"; "
            "if command -v sigtool >/dev/null 2>&1; then sigtool --info $f 2>/dev/null | "
            "grep -aE '^(Build time|Version):' | head -n 2 | cut -c 1-100 | sed 's/^/info\\t/'; fi; done; "
            "if command -v systemctl >/dev/null 2>&1; then "
            "printf 'freshclam\\t%s\\n' \"$(systemctl is-active clamav-freshclam 2>/dev/null | head -n 1)\"; fi; exit 0"
        ),
    }

    def parse(self, out, args):
        sec = complete_section(out, "status", "ClamAV status", truncated="ClamAV status truncated")
        installed, dbs, freshclam = None, [], None
        for line in sec.stdout.splitlines():
            if not line.strip():
                continue
            parts = line.split("\t")
            if parts[0] == "installed" and len(parts) == 2 and parts[1] in ("yes", "no"):
                installed = parts[1] == "yes"
            elif parts[0] == "db" and len(parts) == 3:
                dbs.append({"path": clean(parts[1], 200), "mtime": epoch(parts[2], "ClamAV database mtime"),
                            "built": None, "version": None})
            elif parts[0] == "info" and len(parts) == 2 and dbs:
                key, _, value = parts[1].partition(":")
                if key == "Build time":
                    dbs[-1]["built"] = _build_time(value)
                elif key == "Version":
                    dbs[-1]["version"] = int(value.strip()) if value.strip().isdigit() and len(value.strip()) < 10 else None
            elif parts[0] == "freshclam" and len(parts) == 2:
                freshclam = clean(parts[1], 30) or "unknown"
            else:
                raise ProbeError("unparsable", f"ClamAV status: unexpected line {line[:80]!r}")
        if installed is None:
            raise ProbeError("unparsable", "ClamAV status: no installed line")
        db = max(dbs, key=lambda d: d["mtime"]) if dbs else None
        updated = (db["built"] or iso_utc(db["mtime"])) if db else None
        return {
            "installed": installed,
            "database": db["path"] if db else None,
            "database_modified_at": iso_utc(db["mtime"]) if db else None,
            "signatures_built_at": db["built"] if db else None,
            "signatures_version": db["version"] if db else None,
            # sigtool's build time when it could be read, else the file's mtime
            "signatures_updated_at": updated,
            "freshclam": freshclam,
        }
