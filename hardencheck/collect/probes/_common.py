"""Small helpers shared by the probe modules (not a probe itself)."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from hardencheck.errors import ProbeError
from hardencheck.collect.probe_script import Section
from hardencheck.collect.probes.base import require_success, section_failure

__all__ = ["section", "iso_utc", "epoch", "clean", "require_success", "section_failure",
           "ok_or_absent"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def section(out: dict[str, Section], name: str, what: str) -> Section:
    """The section ``name`` or ``incomplete_output`` when the host never sent it."""
    sec = out.get(name)
    if sec is None:
        raise ProbeError("incomplete_output", f"{what}: no output came back for this command")
    err = section_failure(sec, what)
    if err:
        raise err
    return sec


def epoch(text: str, what: str) -> int:
    """An epoch-seconds integer as printed by ``stat -c %Y`` (sane range), else ``unparsable``."""
    text = text.strip()
    if not re.fullmatch(r"[0-9]{1,12}", text):
        raise ProbeError("unparsable", f"{what}: expected epoch seconds, got {text[:40]!r}")
    value = int(text)
    if value > 253402300799:  # 9999-12-31
        raise ProbeError("unparsable", f"{what}: timestamp out of range")
    return value


def iso_utc(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def clean(text: str, limit: int = 300) -> str:
    """One line of host text for a fact: control characters replaced, length bounded."""
    text = _CONTROL.sub("?", text.strip().replace("\t", " "))
    return text if len(text) <= limit else text[:limit] + "…"


def ok_or_absent(sec: Section, what: str, ok_codes: tuple[int, ...] = (0,)) -> bool:
    """False when the command is not installed (exit 127), True when it ran with an ok code;
    any other outcome raises the matching ProbeError."""
    if sec.exit_code == 127:
        return False
    require_success(sec, what, ok_codes)
    return True


def load_json(text: str, what: str):
    """json.loads that turns every failure (syntax, absurd nesting) into ``unparsable``."""
    import json

    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ProbeError("unparsable", f"{what}: not valid JSON ({str(exc)[:100]})") from None


def lsblk_devices(out, command: str = "lsblk") -> list:
    """The ``blockdevices`` tree of an ``lsblk -J`` section (named ``command``), or ProbeError."""
    sec = section(out, command, "lsblk")
    require_success(sec, "lsblk -J")
    if sec.truncated:
        raise ProbeError("incomplete_output", "lsblk: output truncated")
    doc = load_json(sec.stdout, "lsblk -J")
    devices = doc.get("blockdevices") if isinstance(doc, dict) else None
    if not isinstance(devices, list):
        raise ProbeError("unparsable", "lsblk -J: no 'blockdevices' array")
    return devices
