"""resource.command: a shell command written by the control's author, for what no resource covers.

The command is control text, never an inventory value: the control loader refuses ``{param: …}``
for ``run`` and ``tools`` (``literal_args``), so an inventory cannot change what runs. It travels as
a quoted positional parameter of a fixed snippet, like every probe argument, and is evaluated in a
subshell of the section's own shell with no positional parameters (``( c=$1; set --; eval "$c" )``:
no further shell is started), in its own section of the host's one exec: its own timeout
(``timeout``, seconds; with a limit of at most 60 s the section may share one ``timeout(1)`` with its
neighbours, and a command that hangs there ends after at most twice its limit, see
``probe_script``), the usual trust check of the programs it calls (``tools``; by default its first
word), stdin /dev/null.
Its stdout is cut at 60,000 bytes (more is an ``incomplete_output`` error: the exit code of a
command whose output was cut says nothing), its stderr at the section limit. The exit code is
printed after the output through the same ``head -c`` (one process less than capturing it apart):
when the bound cuts, it is lost or what precedes it is at least 60,000 bytes, so a command cannot
make its own last line pass for its exit code.

Facts: ``exit_code``, ``stdout`` (the first 4,096 characters), ``stdout_lines`` (the first
``max_lines``, each cut at 500 characters), ``line_count``, ``stderr_lines`` (the first 20), and
with ``match`` (a Python regular expression, applied here to each stdout line)
``matched_lines`` (the first ``max_lines``) and ``match_count``. Everything passes through
redaction like all host output. A control folder is code the scanner trusts, like the probes.
"""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, section, section_failure
from hardencheck.collect.probes.base import Arg, Probe
from hardencheck.collect.probes.resource_base import TextArg
from hardencheck.collect.probe_script import TOOL_NAME

STDOUT_MAX = 60000
_RC = re.compile(r"(?:^|\n)HCRC ([0-9]{1,3})\n$")
_TRAILER_MAX = len("\nHCRC 255\n")
_SHELL_WORDS = {"if", "then", "for", "while", "case", "until", "!", "{", "(", "[", "test", "echo", "printf",
                "exec", "command", "set", "export", "cd", "true", "false", "read", "eval", "."}


class ResourceCommand(Probe):
    name = "resource.command"
    summary = ("A command declared in the control (never from inventory values): exit code, stdout "
               "lines, lines matching a regex; bounded, with a timeout")
    timeout = 30
    #: a command may be silent until its own timeout (at most 600 s, enforced on the host): the
    #: host's idle limit must not cut it first
    idle_timeout = 615
    required_args = ("run",)
    literal_args = ("run", "tools")
    args = {
        "run": TextArg("text", remote=True, doc="the shell command (sh -c)"),
        "timeout": Arg("int", default=30, remote=True, doc="seconds (1..600)"),
        "tools": Arg("str_list", remote=True, doc="programs it calls, trust-checked first (default: its first word)"),
        "match": TextArg("regex", doc="Python regex applied to each stdout line"),
        "max_lines": Arg("int", default=50, doc="lines kept (1..500)"),
    }
    commands = {
        # the exit code follows the output through the same bound: cut, it is lost (or the text
        # before it is too long), never taken from a line the command printed itself
        "run": (
            "{ ( hc_cmd=$1; set --; eval \"$hc_cmd\" ) </dev/null; printf '\\nHCRC %s\\n' \"$?\"; } "
            f"| head -c {STDOUT_MAX + _TRAILER_MAX}"
        ),
    }

    @classmethod
    def resolve_args(cls, given):
        out = super().resolve_args(given)
        if not 1 <= out["timeout"] <= 600:
            raise ValueError("argument 'timeout': between 1 and 600 seconds")
        if not 1 <= out["max_lines"] <= 500:
            raise ValueError("argument 'max_lines': between 1 and 500")
        if out["tools"] is None and out["run"]:
            words = out["run"].split()
            first = words[0] if words else ""
            out["tools"] = [first] if TOOL_NAME.match(first) and first not in _SHELL_WORDS else []
        for t in out["tools"] or []:
            if not TOOL_NAME.match(t):
                raise ValueError(f"argument 'tools': {t!r} is not a program name or absolute path")
        return out

    @classmethod
    def section_settings(cls, command, remote_args):
        timeout = int(remote_args[1]) if len(remote_args) > 1 and remote_args[1].isdigit() else cls.timeout
        tools = tuple(t for t in (remote_args[2].split("\n") if len(remote_args) > 2 else []) if t)
        return timeout, tools

    def parse(self, out, args):
        sec = section(out, "run", "the command")
        err = section_failure(sec, f"command {clean(args.get('run') or '', 80)!r}")
        if err:
            raise err
        m = _RC.search(sec.stdout)
        if not m:
            raise ProbeError("incomplete_output", "the command's exit code did not arrive")
        text = sec.stdout[:m.start()]
        if len(text.encode("utf-8", "replace")) >= STDOUT_MAX:
            raise ProbeError("incomplete_output", f"the command printed more than {STDOUT_MAX} bytes: its "
                                                  "output was cut and its exit code says nothing; narrow it (grep)")
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        keep = args.get("max_lines") or 50
        facts = {"command": args.get("run"), "exit_code": int(m.group(1)), "stdout": text[:4096],
                 "stdout_lines": [clean(x, 500) for x in lines[:keep]], "line_count": len(lines),
                 "stderr_lines": [clean(x, 500) for x in sec.stderr.splitlines()[:20]],
                 "matched_lines": None, "match_count": None}
        if args.get("match"):
            rx = re.compile(args["match"])
            hits = [x for x in lines if rx.search(x)]
            facts.update(matched_lines=[clean(x, 500) for x in hits[:keep]], match_count=len(hits))
        return facts
