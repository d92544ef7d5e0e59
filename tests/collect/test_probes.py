"""Probe parsers against recorded outputs (tests/probes/<probe>/<case>.yml), hostile output, and
the probes' shell snippets: dash syntax and a real run on this machine."""

from __future__ import annotations

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
    specs = [SectionSpec(id=f"{cls.name}/{c}", code=code, args=cls.remote_args(args), timeout=cls.timeout)
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
