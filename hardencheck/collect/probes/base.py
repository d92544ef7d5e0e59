"""What a probe is: read-only shell snippets plus a parser that turns their output into facts.

A probe never decides pass or fail; a control never contains shell. To add a kind of probe, write
one module in this package with a ``Probe`` subclass and add its fixtures under
``tests/probes/<probe.name>/``; the registry finds it by its ``name``.

    class SshdConfig(Probe):
        name = "sshd.config"
        commands = {"effective": "sshd -T"}

        def parse(self, out, args):
            sec = complete_section(out, "effective", "sshd -T")   # from probes._common
            return {...}

Every command runs as its own framed section (its own exit code and stderr), under ``LC_ALL=C``
with a fixed ``PATH`` (system directories first), with ``/dev/null`` on stdin and ``timeout``
seconds on the clock. The commands a snippet calls by name beyond ``probe_script.BASE_TOOLS`` are
declared in ``tools`` (command name -> tool names): before the snippet runs, each is resolved and
its path, owner and mode recorded in the evidence; one that is not root's or is writable by group
or others stops the snippet and makes the probe an ``untrusted_binary`` error, never a fact. Probe
arguments reach the snippet as positional parameters ``"$1"``, ``"$2"`` … in the order of
``args`` (only those with ``remote=True``), never pasted into the code.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from hardencheck.errors import ProbeError
from hardencheck.collect.probe_script import TOOL_NAME, Section, tool_problem

_REGISTRY: dict[str, type["Probe"]] = {}

PROBE_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
COMMAND_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_ABS_PATH = re.compile(r"^/[^\x00\n\r]*$")


@dataclass(frozen=True)
class Arg:
    """A declared probe argument.

    kind: ``path`` (absolute, no NUL or newline), ``name`` (``[A-Za-z0-9_.@:+-]``, no leading
    ``-``), ``int``, ``str_list`` or ``path_list``. ``remote`` arguments are passed to the shell
    snippets (in declaration order); the others only reach ``parse``.
    """

    kind: str
    default: Any = None
    remote: bool = False
    doc: str = ""

    def validate(self, name: str, value: Any) -> Any:
        def bad(why: str):
            raise ValueError(f"argument {name!r}: {why}")

        if self.kind == "path":
            if not isinstance(value, str) or not _ABS_PATH.match(value):
                bad("must be an absolute path without control characters")
        elif self.kind == "name":
            if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_.@:+][A-Za-z0-9_.@:+-]*", value):
                bad("must be a plain name (letters, digits, _ . @ : + -, not starting with -)")
        elif self.kind == "int":
            if not isinstance(value, int) or isinstance(value, bool):
                bad("must be an integer")
        elif self.kind in ("str_list", "path_list"):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                bad("must be a list of strings")
            if self.kind == "path_list" and not all(_ABS_PATH.match(v) for v in value):
                bad("must be a list of absolute paths")
        else:  # pragma: no cover - a probe author's mistake
            raise AssertionError(f"unknown Arg kind {self.kind}")
        return value

    def to_shell(self, value: Any) -> str:
        if isinstance(value, list):
            return "\n".join(value)
        return str(value)


class Probe:
    """Base class of all probes. Subclasses set ``name``, ``commands`` and implement ``parse``."""

    name: ClassVar[str]
    commands: ClassVar[dict[str, str]]
    args: ClassVar[dict[str, Arg]] = {}
    #: command name -> the commands its snippet calls by name (besides probe_script.BASE_TOOLS):
    #: resolved from the system directories first, recorded, and refused when untrustworthy.
    tools: ClassVar[dict[str, tuple[str, ...]]] = {}
    timeout: ClassVar[int] = 60
    #: Bytes kept per command and stream; more is counted and the section marked truncated.
    #: Raise it for probes whose honest output can be large (nft JSON, apt simulations).
    max_output_bytes: ClassVar[int] = 64 * 1024
    #: One line for `hardencheck probes` and the report's method appendix.
    summary: ClassVar[str] = ""

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if "parse" in cls.__dict__:   # no parser reads the output of an untrustworthy tool
            cls.parse = _refusing_untrusted_tools(cls.__dict__["parse"])
        if "name" not in cls.__dict__:
            return  # an abstract intermediate class
        if not PROBE_NAME.match(cls.name):
            raise TypeError(f"probe name {cls.name!r} must look like 'area.thing'")
        if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
            raise TypeError(f"duplicate probe name {cls.name!r}")
        for cname in cls.commands:
            if not COMMAND_NAME.match(cname):
                raise TypeError(f"{cls.name}: bad command name {cname!r}")
        for cname, tools in cls.tools.items():
            if cname not in cls.commands or not isinstance(tools, tuple) or \
                    not all(isinstance(t, str) and TOOL_NAME.match(t) for t in tools):
                raise TypeError(f"{cls.name}: tools[{cname!r}] must be a tuple of tool names of a command")
        _REGISTRY[cls.name] = cls

    # -- arguments ---------------------------------------------------------------------------
    @classmethod
    def resolve_args(cls, given: dict[str, Any] | None) -> dict[str, Any]:
        """Defaults filled in, unknown names and bad values refused (ValueError)."""
        given = dict(given or {})
        unknown = set(given) - set(cls.args)
        if unknown:
            raise ValueError(f"probe {cls.name} has no argument(s) {', '.join(sorted(unknown))}")
        out = {}
        for name, spec in cls.args.items():
            value = given.get(name, spec.default)
            out[name] = spec.validate(name, value) if value is not None else None
        return out

    @classmethod
    def remote_args(cls, args: dict[str, Any]) -> tuple[str, ...]:
        return tuple(spec.to_shell(args[n]) if args[n] is not None else ""
                     for n, spec in cls.args.items() if spec.remote)

    # -- parsing -----------------------------------------------------------------------------
    def parse(self, out: dict[str, Section], args: dict[str, Any]) -> Any:
        """Turn the sections (keyed by command name) into a JSON-able fact.

        Raise ``ProbeError`` (see ``hardencheck.errors.REASONS``) when the output does not allow a
        fact to be stated: a missing command the probe *needs*, permission denied, garbage.
        Absence of a component is a fact (``{"installed": False}``), not an error.
        """
        raise NotImplementedError


def registry() -> dict[str, type[Probe]]:
    """All probes by name (importing the probe modules on first use)."""
    # Imported here, not at the top: the package imports every probe module, and each of them
    # imports this one first (a top-level import would be a cycle).
    import hardencheck.collect.probes  # noqa: F401

    return dict(_REGISTRY)


def get_probe(name: str) -> type[Probe]:
    """One probe by name (KeyError if there is none); no copy of the registry, as the engine asks
    for each control of each host."""
    probe = _REGISTRY.get(name)
    if probe is None:
        probe = registry()[name]       # the probe modules not imported yet, or an unknown name
    return probe


# -- helpers for parsers -----------------------------------------------------------------------

_PERMISSION = re.compile(r"permission denied|operation not permitted|must be (run as )?root|"
                         r"you must be root|need to be root|are you root|no hostkeys available|"
                         r"insufficient privileges?", re.I)
_NOT_FOUND = re.compile(r"(command )?not found|no such file or directory", re.I)


def untrusted_tools(sections) -> ProbeError | None:
    """``untrusted_binary`` naming each untrustworthy tool the sections recorded, else None."""
    problems: list[str] = []
    for sec in sections:
        for rec in getattr(sec, "tools", None) or []:
            why = tool_problem(rec)
            if why and why not in problems:
                problems.append(why)
    if problems:
        return ProbeError("untrusted_binary", "; ".join(problems))
    return None


def _refusing_untrusted_tools(parse):
    """``parse`` that first refuses sections whose tools are untrustworthy: a parser never states a
    fact from them, whichever sections it reads (every probe's parse is wrapped by Probe)."""
    @functools.wraps(parse)
    def checked(self, out, args):
        err = untrusted_tools(out.values())
        if err:
            raise err
        return parse(self, out, args)
    return checked


def section_failure(sec: Section, what: str) -> ProbeError | None:
    """The error to report when a section did not run to completion, else None."""
    err = untrusted_tools([sec])
    if err:
        return err
    if not sec.complete or sec.exit_code is None:
        return ProbeError("incomplete_output", f"{what}: the output ended before the command finished")
    if sec.exit_code in (124, 137):
        return ProbeError("timeout", f"{what}: timed out on the host")
    return None


def require_success(sec: Section, what: str, ok_codes: tuple[int, ...] = (0,)) -> None:
    """Raise the right ProbeError unless ``sec`` ran and exited with one of ``ok_codes``."""
    err = section_failure(sec, what)
    if err:
        raise err
    if sec.exit_code in ok_codes:
        return
    detail = first_line(sec.stderr) or first_line(sec.stdout) or f"exit code {sec.exit_code}"
    if sec.exit_code == 127 or (sec.exit_code == 126 and _NOT_FOUND.search(sec.stderr)):
        raise ProbeError("command_missing", f"{what}: command not found ({detail})")
    if sec.exit_code == 126 or _PERMISSION.search(sec.stderr):
        raise ProbeError("permission_denied", f"{what}: {detail}")
    raise ProbeError("probe_failed", f"{what} exited with {sec.exit_code}: {detail}")


def first_line(text: str, limit: int = 200) -> str:
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line[:limit]
    return ""


@dataclass
class KeyValues:
    """Small helper for ``key value`` / ``key=value`` outputs."""

    values: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str, sep: str | None = None) -> "KeyValues":
        kv = cls()
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if sep is None:
                key, _, value = line.partition(" ")
            else:
                key, _, value = line.partition(sep)
            kv.values[key.strip()] = value.strip()
        return kv
