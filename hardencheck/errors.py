"""The error tree.

Two families with different fates:

* ``ConfigError`` is the operator's input being wrong (a control file, an inventory, an SSH
  config). It stops the run before any host is touched and names file, line and field.
* ``HostError`` and ``ProbeError`` are things that went wrong *on a host*. They never escape the
  engine: they become ``error`` results carrying a reason code, so one bad host never stops the
  others and "could not check" is never read as "passed".
"""

from __future__ import annotations


class HardencheckError(Exception):
    """Root of every error hardencheck raises on purpose."""


class ConfigError(HardencheckError):
    """Bad operator input: names the file, the line and the field when they are known."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 field: str | None = None):
        self.message = message
        self.file = file
        self.line = line
        self.field = field
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "")
        if self.field:
            where = f"{where} [{self.field}]" if where else f"[{self.field}]"
        return f"{where}: {self.message}" if where else self.message


class ConfigErrors(ConfigError):
    """Several configuration errors found in one pass (lint reports all of them at once)."""

    def __init__(self, errors: list[ConfigError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


# Reason codes of an ``error`` result. They are part of the results.json schema: add, never rename.
REASONS = {
    "unreachable": "the host could not be reached (DNS, refused, no route, connect timeout)",
    "hostkey_unknown": "the host's SSH key is not in known_hosts",
    "hostkey_mismatch": "the host presented a different SSH key than known_hosts records",
    "hostkey_revoked": "the host presented an SSH key that known_hosts marks @revoked",
    "auth_failed": "SSH authentication was rejected",
    "timeout": "the host or a command did not answer in time",
    "sudo_failed": "sudo -n could not run the probes as root",
    "command_missing": "a command the probe needs is not installed",
    "permission_denied": "the probe was not allowed to read what it needs",
    "unparsable": "the output could not be understood",
    "incomplete_output": "the output ended before the probe's section was complete",
    "probe_failed": "the probe's command failed",
    "stale_evidence": "the data the verdict depends on is too old to be trusted (e.g. a stale package index)",
    "invalid_value": "a fact or parameter did not have the type the expectation needs",
    "transport": "the connection failed in another way",
    "untrusted_binary": "a tool the probe relies on is not owned by root or is writable by group or others "
                        "(not run; its path and mode are in the evidence)",
    "not_ssh": "the port answered, but not with SSH (another service listens there)",
    "test_error": "a testinfra test raised an exception other than a failed assertion (its report is in the evidence)",
    "nmap_missing": "nmap is not installed on the scanner (or not on its PATH): no outside-in view",
    "port_not_scanned": "a port the host listens on was not among the ports the outside-in scan probed "
                        "(extend exposure.ports)",
    "ambiguous_address": "the host's name resolves to several addresses; the outside-in scan probes one address "
                         "per host (pin it in the inventory)",
    "internal": "hardencheck itself failed while judging this control (a bug: please report it)",
}


class HostError(HardencheckError):
    """Something that prevents collecting facts from a host at all."""

    def __init__(self, reason: str, message: str, **details):
        assert reason in REASONS, reason
        self.reason = reason
        self.message = message
        self.details = details
        super().__init__(f"{reason}: {message}")


class ProbeError(HardencheckError):
    """A probe's output does not allow a fact to be stated; the controls reading it are ``error``."""

    def __init__(self, reason: str, message: str):
        assert reason in REASONS, reason
        self.reason = reason
        self.message = message
        super().__init__(f"{reason}: {message}")
