"""backup.restore_test: the record a restore-test job writes (``key=value`` lines or JSON):
only its ``date``, ``result`` and ``duration`` leave the host, plus the file's modification time.

``duration`` (also ``duration_s``/``duration_seconds``: how long the restore took) may be seconds (``1740``, ``1740s``), ``29m``, ``1h30m``,
``HH:MM:SS`` or ISO 8601 (``PT1H30M``); ``duration_seconds`` is None when the record has none or it
cannot be read (``duration_raw`` then shows what was written)."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, complete_section, epoch, iso_utc
from hardencheck.collect.probes.base import Arg, Probe

ABSENT = "HC_ABSENT"
_JSON = re.compile(r'^"(date|result|duration(?:_s|_seconds)?)"\s*:\s*(?:"([^"]*)"|([0-9][0-9.]{0,15}))$')
_KV = re.compile(r"^\s*(date|result|duration(?:_s|_seconds)?)\s*=\s*(.*?)\s*$")
_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


def _duration(text: str) -> int | None:
    """Seconds of a duration as restore jobs write it, or None."""
    t = text.strip().strip("'\"").lower()
    if re.fullmatch(r"[0-9]{1,9}(\.[0-9]+)?", t):
        return round(float(t))
    m = re.fullmatch(r"([0-9]{1,4}):([0-5][0-9]):([0-5][0-9])", t)
    if m:
        return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + int(m.group(3))
    t = t.removeprefix("pt").replace(" ", "")
    parts = re.findall(r"([0-9]{1,9}(?:\.[0-9]+)?)([wdhms])", t)
    if parts and "".join(a + u for a, u in parts) == t:
        return round(sum(float(a) * _UNITS[u] for a, u in parts))
    return None


def _date(text: str) -> str:
    text = text.strip().strip("'\"")
    if re.fullmatch(r"[0-9]{9,11}", text):
        return iso_utc(epoch(text, "restore test date"))
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ProbeError("unparsable", f"restore test record: date {text[:40]!r} is not ISO 8601") from None
    t = t if t.tzinfo else t.replace(tzinfo=timezone.utc)
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class BackupRestoreTest(Probe):
    name = "backup.restore_test"
    summary = "Restore-test record written by the restore job: its date and result (nothing else)"
    timeout = 30
    args = {
        "path": Arg("path", default="/var/lib/hardencheck/restore-test", remote=True,
                    doc="record file: key=value lines or JSON with at least date and result"),
    }
    commands = {
        "record": (
            f"f=$1; if [ ! -e \"$f\" ]; then echo {ABSENT}; exit 0; fi; "
            "if [ ! -r \"$f\" ] || [ -d \"$f\" ]; then echo \"$f: Permission denied\" >&2; exit 13; fi; "
            "printf 'mtime %s\\n' \"$(stat -c %Y \"$f\")\"; "
            "head -c 65536 \"$f\" | { grep -aoE '\"(date|result|duration(_s|_seconds)?)\"[[:space:]]*:[[:space:]]*\"[^\"]{0,80}\"|"
            "\"duration(_s|_seconds)?\"[[:space:]]*:[[:space:]]*[0-9][0-9.]{0,15}|"
            "^[[:space:]]*(date|result|duration(_s|_seconds)?)[[:space:]]*=.{0,80}$' || true; } | tail -n 30"
        ),
    }

    def parse(self, out, args):
        path = args.get("path") or "/var/lib/hardencheck/restore-test"
        sec = complete_section(out, "record", "restore test record",
                               truncated="restore test record truncated", refused=f"{path}: not readable")
        lines = [ln for ln in sec.stdout.splitlines() if ln.strip()]
        if lines and lines[0].strip() == ABSENT:
            return {"exists": False, "path": path, "modified_at": None, "date": None, "result": None,
                    "duration_seconds": None, "duration_raw": None}
        if not lines or not lines[0].startswith("mtime "):
            raise ProbeError("unparsable", "restore test record: no mtime line")
        modified = iso_utc(epoch(lines[0][6:], "restore test record mtime"))
        values: dict[str, str] = {}
        for line in lines[1:]:
            m = _JSON.match(line.strip()) or _KV.match(line)
            if not m:
                raise ProbeError("unparsable", f"restore test record: unexpected line {line[:80]!r}")
            key = "duration" if m.group(1).startswith("duration") else m.group(1)
            values[key] = m.group(2) if m.group(2) is not None else m.group(3)   # the last record wins
        date = _date(values["date"]) if "date" in values else None
        result = clean(values["result"].strip().strip("'\"").lower(), 40) if "result" in values else None
        raw = clean(values["duration"].strip().strip("'\""), 40) if "duration" in values else None
        return {"exists": True, "path": path, "modified_at": modified, "date": date, "result": result,
                "duration_seconds": _duration(raw) if raw else None, "duration_raw": raw}
