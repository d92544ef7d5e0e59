"""What the generic resource probes (``resource.file``, ``resource.package`` …) share: their subject
comes from the control's ``args``, so a site's own check is one YAML file, and all invocations of
one resource on a host travel in ONE section of the host's one exec.

Batching. The engine asks a probe with ``batched = True`` for one section whatever the number of
controls using it: ``batch_args`` lays the items out as positional parameters, each item being a
key (``item_key``: 16 hex digits of the SHA-256 of its arguments) followed by its arguments; the
snippet (``item_loop``) walks them and frames each item's output::

    @ <key>
    <field> <value>          lines the snippet prints itself (fixed field names)
    | <text>                 host data (file content, a symlink target, ss output): always prefixed
    . <key>

Host data can therefore never forge a frame or a field: every line of it starts with ``| ``. A
control's parser finds its own item by the key of its own arguments. An item that completed is
judged even when a later item was cut off; a missing end line is ``incomplete_output``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, ClassVar

from hardencheck.errors import REASONS, ProbeError
from hardencheck.collect.probes._common import clean
from hardencheck.collect.probes.base import Arg, Probe, untrusted_tools

_KEY = re.compile(r"^[0-9a-f]{16}$")
_FIELD = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
MAX_ITEM_LINES = 2000


@dataclass(frozen=True)
class TextArg(Arg):
    """A free-text argument (a regular expression, a command): one string, no NUL, bounded."""

    max_len: int = 4096
    choices: tuple = ()

    def validate(self, name: str, value: Any) -> Any:
        if self.kind == "text":
            if not isinstance(value, str) or "\x00" in value or len(value) > self.max_len:
                raise ValueError(f"argument {name!r}: must be a string of at most {self.max_len} "
                                 "characters without NUL bytes")
            return value
        if self.kind == "choice":
            if value not in self.choices:
                raise ValueError(f"argument {name!r}: must be one of {', '.join(self.choices)}")
            return value
        if self.kind in ("regex", "ere"):
            if not isinstance(value, str) or "\x00" in value or "\n" in value or len(value) > 1000:
                raise ValueError(f"argument {name!r}: a regular expression on one line, at most 1000 characters")
            if self.kind == "ere":      # POSIX extended (grep -E): the host's grep judges it
                return value
            try:
                re.compile(value)
            except re.error as e:
                raise ValueError(f"argument {name!r}: not a valid regular expression ({e})") from None
            return value
        return super().validate(name, value)


def item_key(item: tuple[str, ...]) -> str:
    return hashlib.sha256("\x00".join(item).encode("utf-8", "surrogateescape")).hexdigest()[:16]


def item_loop(variables: tuple[str, ...], body: str) -> str:
    """The snippet walking the batch: ``variables`` are the shell names of one item's arguments (in
    the order of the probe's remote ``args``), ``body`` prints the item's fields."""
    n = len(variables) + 1
    assign = "; ".join(f"{v}=${i + 2}" for i, v in enumerate(variables))
    return (f"while [ $# -ge {n} ]; do k=$1; {assign}; shift {n}; "
            "case $k in *[!0-9a-f]*) exit 2 ;; esac; "
            "printf '@ %s\\n' \"$k\"; " + body + "\nprintf '. %s\\n' \"$k\"; done")


@dataclass
class Item:
    """One item's output: ``fields`` (name -> value, the last one wins) and ``data`` (name -> the
    ``| `` lines that followed that field)."""

    fields: dict[str, str]
    data: dict[str, list[str]]

    def get(self, name: str) -> str | None:
        return self.fields.get(name)

    def int(self, name: str) -> int | None:
        v = self.fields.get(name)
        if v is None or v == "":
            return None
        if not re.fullmatch(r"-?[0-9]{1,19}", v):
            raise ProbeError("unparsable", f"{name}: not a number ({clean(v, 40)!r})")
        return int(v)


class ResourceProbe(Probe):
    """Base of the batched resource probes (abstract: no ``name``)."""

    batched: ClassVar[bool] = True
    #: seconds per item on top of ``timeout`` for the whole batch section
    per_item_timeout: ClassVar[int] = 2
    max_output_bytes = 4 * 1024 * 1024

    @classmethod
    def batch_args(cls, items: list[tuple[str, ...]]) -> tuple[str, ...]:
        out: list[str] = []
        for it in items:
            out += [item_key(it), *it]
        return tuple(out)

    @classmethod
    def section_settings(cls, command: str, remote_args: tuple[str, ...]) -> tuple[int, tuple[str, ...]]:
        """(timeout, tools) of the section for these positional parameters."""
        per = 1 + sum(1 for a in cls.args.values() if a.remote)
        n = max(1, len(remote_args) // per)
        return min(cls.timeout + cls.per_item_timeout * n, 1800), cls.tools.get(command, ())

    def item(self, out, args: dict[str, Any], command: str = "items") -> Item:
        """This control's item of the batch section, or the ProbeError saying why there is none."""
        sec = out.get(command)
        if sec is None:
            raise ProbeError("incomplete_output", f"{self.name}: no output came back for this probe")
        err = untrusted_tools([sec])
        if err:
            raise err
        key = item_key(self.remote_args(args))
        lines = sec.stdout.split("\n")
        try:
            start = lines.index(f"@ {key}")
        except ValueError:
            start = None
        if start is not None:
            body = lines[start + 1:start + 2 + MAX_ITEM_LINES]
            if f". {key}" in body:
                return _item(body[:body.index(f". {key}")], self.name)
        if not sec.complete or sec.exit_code is None:
            raise ProbeError("incomplete_output", f"{self.name}: the output ended before this item was complete")
        if sec.exit_code in (124, 137):
            raise ProbeError("timeout", f"{self.name}: timed out on the host")
        if sec.exit_code == 127:
            raise ProbeError("command_missing", f"{self.name}: command not found ({clean(sec.stderr, 200)})")
        if start is None:
            raise ProbeError("unparsable", f"{self.name}: no output for this item "
                                           f"(exit code {sec.exit_code}; {clean(sec.stderr, 200) or 'no stderr'})")
        raise ProbeError("incomplete_output", f"{self.name}: the item's output did not end")


def _item(lines: list[str], probe: str) -> Item:
    fields: dict[str, str] = {}
    data: dict[str, list[str]] = {}
    last = None
    for raw in lines:
        if raw.startswith("| ") or raw == "|":
            if last is None:
                raise ProbeError("unparsable", f"{probe}: data before any field")
            data.setdefault(last, []).append(raw[2:])
            continue
        if raw == "":
            continue
        name, _, value = raw.partition(" ")
        if not _FIELD.match(name):
            raise ProbeError("unparsable", f"{probe}: unexpected line {clean(raw, 60)!r}")
        fields[name] = value
        last = name
    _raise_item_error(fields, probe)
    return Item(fields, data)


def _raise_item_error(fields: dict[str, str], probe: str) -> None:
    """An ``error <reason> <message>`` line the snippet printed for this item."""
    if "error" not in fields:
        return
    reason, _, message = fields["error"].partition(" ")
    raise ProbeError(reason if reason in REASONS else "probe_failed", f"{probe}: {clean(message, 300)}")


def absent_facts(names: tuple[str, ...], **known) -> dict[str, Any]:
    out = {n: None for n in names}
    out.update(known)
    return out
