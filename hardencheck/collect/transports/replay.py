"""Replay transport: answers the probe script from recorded sections instead of running it.

What it is for:

* **tests** — the engine is exercised end to end (plan, one script, framing, splitting, parsing,
  judging, redaction) on outputs recorded from real hosts, without running shell on the machine
  that runs the tests. The probe fixtures in ``tests/probes/<probe>/<case>.yml`` are recordings.
* **offline re-judging** — the evidence a scan kept (``HostOutcome.evidence``, the ``hosts/<name>.json``
  of a run bundle) becomes a recording with ``recording_from_evidence``, so changed controls or
  parameters can be judged again against the same output without reaching the host.

A replayed host says so: its identity (and so every evidence reference and ``results.json``)
carries ``transport: replay`` and ``exec.command`` names the recording, never the host's real
connection. A replayed scan is evidence of the recording, not of the host today.

The recording is named by the host option ``vars.replay`` (inventory: ``transport: replay`` and
``vars: {replay: <folder>}``), and is either

* a folder holding one ``<base>.yml`` per probe invocation, each in the shape of a probe
  fixture (other keys such as ``description`` or ``fact`` are ignored)::

      sections:
        <command>: {exit_code: 0, stdout: "...", stderr: "...", complete: true, truncated: false}

  plus, optionally, ``tools``: the command's tool records as the evidence keeps them (sent back
  as the script's tool markers, so an untrustworthy binary stays an error when re-judged)

  (a relative folder is taken from the working directory), or
* a dict ``{<base>: {"sections": {<command>: {...}}}}`` of the same documents.

``<base>`` is the probe's name, or ``<probe>-2``, ``<probe>-3`` … for a second invocation of one
probe with other arguments on the same host (the engine's section ids are ``<base>/<command>``);
a recording for one invocation never answers another.

What goes back is exactly what the real script would print, so the engine's ``Splitter`` parses
it: ``<nonce> B <id>`` / output / ``\\n<nonce> E <id> <rc>`` on stdout and on stderr, and the final
``<nonce> DONE``. A section the recording lacks is not answered (the probe then ends in
``incomplete_output``, never in a made-up fact); a section recorded as cut off (``complete:
false`` or ``exit_code: null``) or as truncated (the recording no longer holds its whole output)
is sent without its end marker, so it can never be judged as complete. ``DONE`` and exit code 0
follow only when every section was answered in full; otherwise the exit code is None, as for a
script that was cut off.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any, Callable

import yaml

from hardencheck.errors import HostError
from hardencheck.collect.probe_script import SHAPES_KEPT, tool_line
from hardencheck.collect.transports.base import ExecResult, HostIdentity, Sink

HOST_OPTION = "replay"          # the key in Host.vars that names the recording
#: the safe loader, on libyaml's parser where PyYAML has it (a recording is hundreds of KiB of text)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_NONCE_LINE = re.compile(r"^hc_n=(HC[0-9a-f]{32})$", re.M)


def load_recording(source: str | Path | dict) -> dict[str, dict[str, dict]]:
    """The recording as ``{base: {command: output}}`` from a folder or a dict (HostError if unusable)."""
    if isinstance(source, dict):
        docs = source
    else:
        folder = Path(source).expanduser()
        if not folder.is_dir():
            raise HostError("transport", f"replay: no recording folder {str(folder)!r}")
        docs = {}
        for path in sorted(folder.glob("*.yml")):
            try:
                docs[path.stem] = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506
            except (OSError, yaml.YAMLError) as e:
                raise HostError("unparsable", f"replay: cannot read {path}: {e}") from None
    recording: dict[str, dict[str, dict]] = {}
    for base, doc in docs.items():
        sections = doc.get("sections") if isinstance(doc, dict) else None
        if not isinstance(sections, dict):
            raise HostError("unparsable", f"replay: the recording for {base!r} has no 'sections' mapping")
        recording[str(base)] = {str(cmd): dict(out or {}) for cmd, out in sections.items()}
    return recording


def recording_from_evidence(evidence: dict[str, dict[str, Any]]) -> dict[str, dict]:
    """A dict recording from the evidence a scan kept for one host (``HostOutcome.evidence``)."""
    docs: dict[str, dict] = {}
    for eid, ev in evidence.items():
        base = eid.split("/")[-2]          # "<host>/<base>/<command>"
        docs.setdefault(base, {"sections": {}})["sections"][ev["command"]] = {
            k: ev.get(k) for k in ("exit_code", "stdout", "stderr", "complete", "truncated")}
        if ev.get("tools"):
            docs[base]["sections"][ev["command"]]["tools"] = ev["tools"]
    return docs


def script_sections(script: str) -> tuple[str, list[str]]:
    """The nonce and the section ids, in order, of a generated probe script."""
    m = _NONCE_LINE.search(script)
    if not m:
        raise HostError("incomplete_output", "replay: this is not a hardencheck probe script (no nonce)")
    shape = script[:m.start()] + script[m.end():]    # hosts with the same sections: read once
    ids = _IDS.get(shape)
    if ids is None:
        ids = _section_ids(script)
        if len(_IDS) >= SHAPES_KEPT:
            _IDS.clear()
        _IDS[shape] = ids
    return m.group(1), list(ids)


_IDS: dict[str, list[str]] = {}


def _section_ids(script: str) -> list[str]:
    ids, command = [], ""
    for line in script.splitlines(keepends=True):
        command += line               # a quoted snippet may span lines: read up to a whole command
        try:
            words = shlex.split(command)
        except ValueError:
            continue
        if words[:1] == ["hc_run"]:
            ids.append(words[1])
        command = ""
    return ids


class ReplayTransport:
    def __init__(self, host, **_options):
        # the ssh options (known_hosts, trust on first use …) mean nothing to a recording
        self.host = host
        self.source = (getattr(host, "vars", None) or {}).get(HOST_OPTION)
        label = self.source if isinstance(self.source, (str, Path)) else "<recorded sections>"
        self.command = f"replay {label}"
        self.identity = HostIdentity(name=host.name, address=host.address, port=None,
                                     user=getattr(host, "user", None), transport="replay")
        self.recording: dict[str, dict[str, dict]] | None = None

    def connect(self) -> None:
        if self.source is None:
            raise HostError("transport", f"host {self.host.name}: transport 'replay' needs "
                                         f"vars.{HOST_OPTION} (a recording folder)")
        self.recording = load_recording(self.source)

    def run_script(self, script: str, on_stdout: Sink, on_stderr: Sink, *, timeout: float,
                   idle_timeout=None, done: Callable[[], bool] | None = None) -> ExecResult:
        # a recording answers at once: neither the budget nor the idle limit can run out
        nonce, ids = script_sections(script)
        recording = self.recording if self.recording is not None else load_recording(self.source)
        complete = True
        for sid in ids:
            base, _, command = sid.rpartition("/")
            out = recording.get(base, {}).get(command)
            if out is None:
                on_stderr(f"replay: nothing recorded for {sid}\n".encode())
                complete = False
                continue
            rc = out.get("exit_code", 0)
            cut = rc is None or out.get("complete", True) is False or bool(out.get("truncated"))
            tools = "".join(f"{nonce} T {tool_line(r)}\n" for r in out.get("tools") or [] if isinstance(r, dict))
            for stream, sink in (("stdout", on_stdout), ("stderr", on_stderr)):
                text = out.get(stream) or ""
                # a cut section has no end marker; the next begin marker still needs its own line
                end = ("\n" if text and not text.endswith("\n") else "") if cut else f"\n{nonce} E {sid} {int(rc)}\n"
                head = f"{nonce} B {sid}\n" + (tools if stream == "stdout" else "")
                sink(f"{head}{text}{end}".encode("utf-8", "replace"))
            complete = complete and not cut
        if complete:
            on_stdout(f"{nonce} DONE\n".encode())
        return ExecResult(exit_code=0 if complete else None)

    def close(self) -> None:
        pass
