"""Probe parsers against recorded outputs (tests/probes/<probe>/<case>.yml), hostile output, and
the probes' shell snippets: dash syntax and a real run on this machine."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from hardencheck.errors import REASONS, ProbeError
from hardencheck.collect.probe_script import SectionSpec, Section, Splitter, build_script, new_nonce
from hardencheck.collect.probes import registry

FIXTURES = Path(__file__).parents[1] / "probes"
PROBES = registry()


def _cases():
    for path in sorted(FIXTURES.glob("*/*.yml")):
        yield pytest.param(path, id=f"{path.parent.name}/{path.stem}")


def _load(path: Path) -> dict:
    with path.open(encoding="utf-8") as fh:
        case = yaml.safe_load(fh)
    assert isinstance(case, dict), path
    assert ("fact" in case) != ("error" in case), f"{path}: exactly one of fact / error"
    assert "message" not in case or "error" in case, f"{path}: a message belongs to an error"
    assert case.get("description"), f"{path}: description missing"
    return case


def _sections(raw: dict) -> dict[str, Section]:
    out = {}
    for name, spec in (raw or {}).items():
        spec = spec or {}
        out[name] = Section(
            id=name,
            exit_code=spec.get("exit_code", 0),
            stdout=spec.get("stdout", "") or "",
            stderr=spec.get("stderr", "") or "",
            complete=spec.get("complete", True),
            truncated=spec.get("truncated", False),
            tools=list(spec.get("tools") or []),   # tool records as the evidence keeps them
        )
    return out


@pytest.mark.parametrize("path", list(_cases()))
def test_fixture(path: Path):
    case = _load(path)
    probe_name = path.parent.name
    assert probe_name in PROBES, f"{path}: no probe named {probe_name}"
    cls = PROBES[probe_name]
    sections = _sections(case.get("sections"))
    unknown = set(sections) - set(cls.commands)
    assert not unknown, f"{path}: sections for unknown commands {unknown}"
    args = cls.resolve_args(case.get("args"))
    if "error" in case:
        assert case["error"] in REASONS
        with pytest.raises(ProbeError) as exc:
            cls().parse(sections, args)
        assert exc.value.reason == case["error"], exc.value.message
        if "message" in case:
            assert exc.value.message == case["message"]
    else:
        assert cls().parse(sections, args) == case["fact"]


def test_every_probe_has_fact_and_error_fixtures():
    for name in PROBES:
        kinds = set()
        for path in (FIXTURES / name).glob("*.yml"):
            case = _load(path)
            kinds.add("fact" if "fact" in case else "error")
        assert kinds == {"fact", "error"}, f"{name}: needs fixtures with a fact and with an error"


def test_probe_metadata():
    for name, cls in PROBES.items():
        assert cls.summary, name
        assert cls.commands, name
        cls.resolve_args({})  # defaults are valid


@pytest.mark.skipif(not shutil.which("dash"), reason="dash not installed")
@pytest.mark.parametrize("name", sorted(PROBES))
def test_snippets_are_dash_syntax(name):
    for cname, code in PROBES[name].commands.items():
        r = subprocess.run(["dash", "-n", "-c", code], capture_output=True, text=True)
        assert r.returncode == 0, f"{name}/{cname}: {r.stderr}"


def _junk_outputs():
    return {
        "binary": bytes(range(256)).decode("latin-1") * 4 + "\x00\xff\ufffd",
        "huge_line": "A" * (1 << 20),
        "huge_brackets": "Inst a [" + "[" * 200000 + " (" * 100000,
        "empty": "",
        "json_junk": '{"nftables": [{"chain": {"hook": "input"}}, 5, null, {"rule": {"expr": [1]}}]}',
        "deep_json": "[" * 100000 + "]" * 100000,
    }


@pytest.mark.parametrize("name", sorted(PROBES))
@pytest.mark.parametrize("junk", sorted(_junk_outputs()))
@pytest.mark.parametrize("exit_code", [0, 1, 127])
def test_hostile_output(name, junk, exit_code):
    """Every section replaced in turn (and all at once) by junk: a fact or a ProbeError, nothing else."""
    cls = PROBES[name]
    text = _junk_outputs()[junk]
    args = cls.resolve_args({})
    variants = [{c: Section(id=c, exit_code=exit_code, stdout=text, stderr=text[:1000], complete=True)
                 for c in cls.commands}]
    for target in cls.commands:
        variants.append({c: Section(id=c, exit_code=exit_code if c == target else 0,
                                    stdout=text if c == target else "", complete=True)
                         for c in cls.commands})
    for sections in variants:
        try:
            fact = cls().parse(sections, args)
        except ProbeError:
            continue
        assert fact is not None


@pytest.mark.parametrize("name", sorted(PROBES))
def test_missing_and_incomplete_sections(name):
    cls = PROBES[name]
    args = cls.resolve_args({})
    with pytest.raises(ProbeError):
        cls().parse({}, args)
    for cname in cls.commands:
        sections = {c: Section(id=c, exit_code=None if c == cname else 0, complete=c != cname)
                    for c in cls.commands}
        try:
            cls().parse(sections, args)
        except ProbeError:
            pass


def _run_here(cls, args):
    nonce = new_nonce()
    specs = [SectionSpec(id=f"{cls.name}/{c}", code=code, args=cls.remote_args(args), timeout=cls.timeout,
                         tools=cls.tools.get(c, ()))
             for c, code in cls.commands.items()]
    script = build_script(specs, nonce)
    r = subprocess.run(["/bin/sh", "-s"], input=script.encode(), capture_output=True, timeout=600)
    sp = Splitter(nonce)
    sp.feed_stdout(r.stdout)
    sp.feed_stderr(r.stderr)
    assert sp.done
    secs = sp.sections()
    return {c: secs[f"{cls.name}/{c}"] for c in cls.commands}


@pytest.mark.parametrize("name", sorted(PROBES))
def test_runs_on_this_machine(name):
    cls = PROBES[name]
    args = cls.resolve_args({})
    sections = _run_here(cls, args)
    assert all(s.complete for s in sections.values())
    try:
        fact = cls().parse(sections, args)
    except ProbeError as exc:
        assert exc.reason in REASONS
    else:
        import json
        json.dumps(fact)  # plain JSON-able data


def test_complete_section_checks_in_order_and_keeps_the_messages():
    from hardencheck.collect.probes._common import complete_section

    def err(out, **kw):
        with pytest.raises(ProbeError) as exc:
            complete_section(out, "c", "cmd", **kw)
        return exc.value.reason, exc.value.message

    ok = Section(id="c", exit_code=0, stdout="x", complete=True)
    assert complete_section({"c": ok}, "c", "cmd") is ok
    assert err({}) == ("incomplete_output", "cmd: no output came back for this command")
    assert err({"c": Section(id="c", exit_code=None)})[0] == "incomplete_output"
    assert err({"c": Section(id="c", exit_code=124, complete=True)}) == ("timeout", "cmd: timed out on the host")
    denied = Section(id="c", exit_code=13, stderr="x: Permission denied", complete=True)
    assert err({"c": denied}, refused=lambda s: f"no: {s.stderr}") == ("permission_denied",
                                                                      "no: x: Permission denied")
    assert err({"c": denied}, ran="running cmd")[1] == "running cmd: x: Permission denied"
    assert err({"c": Section(id="c", exit_code=1, stderr="boom", complete=True)}) == \
        ("probe_failed", "cmd exited with 1: boom")
    assert complete_section({"c": Section(id="c", exit_code=1, complete=True)}, "c", "cmd", ok_codes=(0, 1))
    cut = Section(id="c", exit_code=0, complete=True, truncated=True)
    assert err({"c": cut}) == ("incomplete_output", "cmd: output truncated")
    assert err({"c": cut}, truncated="listing truncated") == ("incomplete_output", "listing truncated")


def test_no_probe_checks_a_section_by_hand():
    """'The section, successful, complete' is _common.complete_section / require_whole, not repeated."""
    import re

    root = Path(__file__).parents[2] / "hardencheck" / "collect" / "probes"
    for path in root.glob("*.py"):
        if path.name == "_common.py":
            continue
        src = path.read_text(encoding="utf-8")
        assert not re.search(r"if \w+\.truncated( or \w+\.truncated)?:", src), path.name
        assert not re.search(r"for \w+ in \(\w+, \w+\):\n\s+if \w+\.truncated", src), path.name


def test_every_grep_reads_files_as_text():
    """A NUL byte in a file the host's software writes (a log padded with zeros after a crash) makes
    GNU grep print "binary file matches" instead of the lines: every grep of a probe runs with -a
    (BusyBox grep accepts and ignores it)."""
    import re

    for name, cls in PROBES.items():
        for cname, code in cls.commands.items():
            for m in re.finditer(r"\bgrep\b(?:[ \t]+(-[A-Za-z]+))?", code):
                assert m.group(1) and "a" in m.group(1), f"{name}/{cname}: {code[m.start():m.start() + 40]!r}"


def test_rkhunter_log_with_nul_bytes_on_this_machine(tmp_path):
    """The real snippet on a real file holding NUL bytes: the summary lines arrive as text."""
    log = tmp_path / "rkhunter.log"
    log.write_bytes(b"\0" * 512 + b"[04:52:10] Info: Start date\0 is Mon Nov 23 04:52:10 UTC 2026\n"
                    b"[04:54:37] Warning: Hidden directory found: /etc/.j\0ava\n"
                    b"[04:54:43] Suspect files: 0\n[04:54:44] Possible rootkits: 0\n"
                    b"[04:54:44] Info: End date is Mon Nov 23 04:54:44 UTC 2026\n")
    plain = subprocess.run(["grep", "-E", "Warning:", str(log)], capture_output=True)
    assert b"Warning:" not in plain.stdout   # what a grep without -a makes of it (GNU grep)
    cls = PROBES["rkhunter.log"]
    args = cls.resolve_args({"path": str(log)})
    fact = cls().parse(_run_here(cls, args), args)
    assert fact["completed"] is True and fact["started"] == "Mon Nov 23 04:52:10 UTC 2026"
    assert fact["warning_lines"] == ["Hidden directory found: /etc/.java"]
    assert fact["possible_rootkits"] == 0 and fact["suspect_files"] == 0


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv") or not shutil.which("nft"),
                    reason="needs root (to drop it), setpriv and nft")
def test_firewall_message_as_non_root_reads_as_one_sentence():
    """FW-001's message when nft refuses a non-root user: the real two-line stderr on this machine
    becomes one sentence, no stray '?' where the newline was."""
    cls = PROBES["firewall.status"]
    args = cls.resolve_args({})
    nonce = new_nonce()
    specs = [SectionSpec(id=f"{cls.name}/{c}", code=code, timeout=cls.timeout) for c, code in cls.commands.items()]
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/bin/sh", "-s"],
                       input=build_script(specs, nonce).encode(), capture_output=True, timeout=120, cwd="/")
    sp = Splitter(nonce)
    sp.feed_stdout(r.stdout)
    sp.feed_stderr(r.stderr)
    secs = sp.sections()
    with pytest.raises(ProbeError) as exc:
        cls().parse({c: secs[f"{cls.name}/{c}"] for c in cls.commands}, args)
    assert exc.value.reason == "permission_denied"
    assert "?" not in exc.value.message and "; " in exc.value.message, exc.value.message


def test_every_tool_a_snippet_looks_up_is_declared():
    """A snippet that asks ``command -v X`` relies on X: X is in the command's ``tools`` (resolved,
    recorded, refused when untrustworthy) or one of the base tools."""
    import re

    from hardencheck.collect.probe_script import BASE_TOOLS

    for name, cls in PROBES.items():
        for cname, code in cls.commands.items():
            declared = set(cls.tools.get(cname, ())) | set(BASE_TOOLS)
            for tool in re.findall(r"command -v ([A-Za-z0-9_.+-]+)", code):
                assert tool in declared, f"{name}/{cname}: {tool} is not in tools"


_UNTRUSTED = {"tool": "x", "status": "untrusted", "path": "/usr/local/bin/x", "real_path": "/usr/local/bin/x",
              "uid": 1000, "gid": 1000, "mode": "777", "system_dir": False,
              "offending": {"path": "/usr/local/bin/x", "uid": 1000, "mode": "777"}}


@pytest.mark.parametrize("name", sorted(n for n, c in PROBES.items() if c.tools))
def test_an_untrusted_tool_makes_the_probe_an_error(name):
    """Any fact fixture, one tooled section marked untrusted (as the script leaves it: not run, exit
    120): the probe is an untrusted_binary error, never a fact."""
    cls = PROBES[name]
    path = next(p for p in sorted((FIXTURES / name).glob("*.yml")) if "fact" in _load(p))
    case = _load(path)
    args = cls.resolve_args(case.get("args"))
    for cname in cls.tools:
        sections = _sections(case.get("sections"))
        if cname not in sections:
            continue
        sections[cname] = Section(id=cname, exit_code=120, stdout="", complete=True,
                                  stderr="hardencheck: not run: a tool it relies on is not trustworthy",
                                  tools=[{**_UNTRUSTED, "tool": cls.tools[cname][0]}])
        with pytest.raises(ProbeError) as exc:
            cls().parse(sections, args)
        assert exc.value.reason == "untrusted_binary", (cname, exc.value.message)


@pytest.mark.parametrize("path", [p for p in _cases() if "fact" in _load(p.values[0])])
def test_a_parse_leaves_no_reference_cycles(path: Path):
    """What a parse leaves behind is freed when the last reference goes: a nested function that
    calls itself (a cycle through its own closure) or a kept exception would hold the host's
    parsed output until Python's cycle collector runs, which a scan makes rare (scan.gc_settings)."""
    import gc
    case = _load(path)
    cls = PROBES[path.parent.name]
    sections = _sections(case.get("sections"))
    args = cls.resolve_args(case.get("args"))
    gc.collect()
    gc.disable()
    try:
        fact = cls().parse(sections, args)
        del fact
        left = gc.collect()
    finally:
        gc.enable()
    assert left == 0, f"{path.parent.name}: a parse left {left} objects in reference cycles"
