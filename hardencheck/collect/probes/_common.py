"""Small helpers shared by the probe modules (not a probe itself)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Callable

from hardencheck.errors import ProbeError
from hardencheck.collect.probe_script import Section
from hardencheck.collect.probes.base import require_success, section_failure

__all__ = ["section", "complete_section", "require_whole", "iso_utc", "epoch", "clean",
           "require_success", "section_failure", "ok_or_absent"]

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


def complete_section(out: dict[str, Section], name: str, what: str, *, ran: str | None = None,
                     truncated: str | None = None, ok_codes: tuple[int, ...] = (0,),
                     refused: str | Callable[[Section], str] | None = None) -> Section:
    """The section ``name``, successful and complete: what a parser needs of a command it relies on.

    In order, the ProbeError for: no section (``incomplete_output``), cut off or timed out; exit
    code 13 when ``refused`` is given (the snippets' "cannot read", ``permission_denied`` with
    ``refused`` as the message, or ``refused(sec)``); an exit code outside ``ok_codes`` (see
    ``require_success``); output cut at the section limit (``incomplete_output``).

    ``what`` names the command in the errors, ``ran`` instead of it in the exit-code error;
    ``truncated`` is the whole message for cut output (default ``"<what>: output truncated"``).
    """
    sec = section(out, name, what)
    if refused is not None and sec.exit_code == 13:
        raise ProbeError("permission_denied", refused(sec) if callable(refused) else refused)
    return require_whole(sec, ran or what, truncated or f"{what}: output truncated", ok_codes)


def require_whole(sec: Section, what: str, truncated: str | None = None,
                  ok_codes: tuple[int, ...] = (0,)) -> Section:
    """``sec`` exited with one of ``ok_codes`` (``require_success``) and none of its output was
    dropped at the section limit (``incomplete_output`` with ``truncated``, default
    ``"<what>: output truncated"``); returns ``sec``."""
    require_success(sec, what, ok_codes)
    if sec.truncated:
        raise ProbeError("incomplete_output", truncated or f"{what}: output truncated")
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
    """One line of host text for a fact or a message: its lines joined with "; " (a two-line error
    such as nft's reads as one sentence), other control characters replaced by "?", length bounded."""
    text = "; ".join(line.strip() for line in text.splitlines() if line.strip())
    text = _CONTROL.sub("?", text.replace("\t", " "))
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
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ProbeError("unparsable", f"{what}: not valid JSON ({str(exc)[:100]})") from None


def lsblk_devices(out, command: str = "lsblk") -> list:
    """The ``blockdevices`` tree of an ``lsblk -J`` section (named ``command``), or ProbeError."""
    sec = complete_section(out, command, "lsblk", ran="lsblk -J")
    doc = load_json(sec.stdout, "lsblk -J")
    devices = doc.get("blockdevices") if isinstance(doc, dict) else None
    if not isinstance(devices, list):
        raise ProbeError("unparsable", "lsblk -J: no 'blockdevices' array")
    return devices


def lsblk_walk(devices: list):
    """Every device of an ``lsblk -J`` tree, parents before their children (depth first, in
    lsblk's order), as (device, name, kname, crypt): ``crypt`` is the name of the nearest device
    of type ``crypt`` on its path (itself included), or None. A device occurs once for each of its
    parents. ProbeError for a tree that is not lsblk's (too deep, too large, without names)."""
    budget = 20000
    todo = [(dev, None, 0) for dev in reversed(devices)]
    while todo:
        dev, crypt, depth = todo.pop()
        budget -= 1
        if not isinstance(dev, dict) or depth > 32 or budget < 0:
            raise ProbeError("unparsable", "lsblk -J: unexpected device tree")
        name, kname = dev.get("name"), dev.get("kname") or dev.get("name")
        if not isinstance(name, str) or not isinstance(kname, str):
            raise ProbeError("unparsable", "lsblk -J: device without a name")
        if dev.get("type") == "crypt":
            crypt = name
        yield dev, name, kname, crypt
        children = dev.get("children") or []
        if not isinstance(children, list):
            raise ProbeError("unparsable", "lsblk -J: children is not a list")
        todo.extend((child, crypt, depth + 1) for child in reversed(children))
