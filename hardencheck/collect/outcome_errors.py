"""What the engine says when a probe script's output falls short: a parser asking for a command
that sent nothing (``MissingSections``), or a script that produced no sections at all
(``no_sections_error``: sudo refused, idle timeout, timeout, or no output)."""

from __future__ import annotations

from hardencheck.collect.probe_script import Section
from hardencheck.errors import HostError, ProbeError


class MissingSections(dict):
    """The sections dict handed to a parser; a missing command raises a clear ProbeError."""

    def __init__(self, out: dict[str, Section], missing: list[str], probe: str):
        super().__init__(out)
        self._missing = missing
        self._probe = probe

    def __missing__(self, key):
        raise ProbeError("incomplete_output", f"{self._probe}: no output for command {key!r} "
                                              "(the script was cut off before it)")


def no_sections_error(noise: str, result) -> HostError:
    text = noise.strip()
    low = text.lower()
    if "sudo" in low and ("password" in low or "not allowed" in low or "not in the sudoers" in low
                          or "no tty" in low or "a terminal is required" in low):
        return HostError("sudo_failed", f"sudo -n refused to run the probes: {text[:300]}")
    stalled_for = getattr(result, "stalled_for", None)
    if stalled_for is not None:
        return HostError("timeout", f"no output for {stalled_for:g} s (idle timeout): the host accepted the "
                                    "command but its probe script never answered"
                                    + (f"; it printed only: {text[:200]}" if text else ""))
    if result.timed_out:
        return HostError("timeout", "the host accepted the command but sent no output in time")
    return HostError("incomplete_output", f"the probe script produced no sections (exit code "
                                          f"{result.exit_code}): {text[:300] or 'no output'}")
