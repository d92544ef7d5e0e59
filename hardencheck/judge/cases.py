"""Control cases: a control judged against recorded facts, so a control is tested like code.

A control folder keeps its cases in ``<folder>/tests/<ID>.yml`` (the shipped library: the
checkout's ``tests/controls/<ID>.yml``), a YAML list of cases::

    - name: the secrets file is private
      facts: {exists: true, type: file, owner: app, mode: "0600"}   # the probe's facts
      status: pass
    - name: readable by the group
      facts: {exists: true, type: file, owner: app, mode: "0640"}
      params: {owner: app}             # optional parameter overrides
      now: 2026-11-23T12:00:00Z        # optional: the judging time (ages)
      status: fail
      actual: {mode: "0640"}           # optional: values the result must report
      message_contains: ["mode"]       # optional: words the message must hold

A case may give ``probe_fixture: <file>`` instead of ``facts``: a recorded probe output (the
format of ``tests/probes/<probe>/*.yml``: ``sections`` and ``args``), relative to the case file's
folder (user folders) or ``tests/probes/<probe>/`` (the library); the probe's real parser runs
first. Every control needs at least one passing and one failing case: a control whose cases
cannot fail is untested.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from hardencheck.errors import ConfigError, ProbeError
from hardencheck.collect.probes.base import Section
from hardencheck.collect.probes import get_probe
from hardencheck.judge.controls import ControlSet
from hardencheck.judge.verdict import judge_facts
from hardencheck.yaml_source import load_file

DEFAULT_NOW = "2026-11-23T12:00:00+00:00"


@dataclass
class CaseResult:
    control: str
    name: str
    file: str
    ok: bool
    detail: str = ""


def case_dir(controls: ControlSet, folder: str | Path) -> Path:
    """Where a folder's cases are: ``<folder>/tests``; for the shipped library in a checkout,
    ``tests/controls`` beside it."""
    folder = Path(folder)
    if (folder / "tests").is_dir():
        return folder / "tests"
    sibling = folder.resolve().parent / "tests" / "controls"
    if Path(controls.root).resolve() == folder.resolve() and sibling.is_dir():
        return sibling
    return folder / "tests"


def run_cases(controls: ControlSet, cases: Path, only: set[str] | None = None,
              fixture_dir: Callable[[Path, str], Path] | None = None) -> list[CaseResult]:
    """Judge every case in ``cases`` (``<ID>.yml``), and report each control of ``only`` (default:
    all) that lacks a passing or a failing case."""
    by_id = controls.by_id()
    wanted = set(by_id) if only is None else only
    out: list[CaseResult] = []
    seen: dict[str, set[str]] = {}
    files = sorted(cases.glob("*.yml")) if cases.is_dir() else []
    for f in files:
        cid = f.stem
        if cid not in wanted:
            continue
        data = load_file(f)
        if cid not in by_id:
            out.append(CaseResult(cid, "-", str(f), False, f"no control {cid} in the folder"))
            continue
        if not isinstance(data, list):
            raise ConfigError("a case file holds a list of cases", file=str(f), line=1)
        for i, case in enumerate(data):
            if not isinstance(case, dict) or "status" not in case or ("facts" in case) == ("probe_fixture" in case):
                raise ConfigError("a case needs name, status and either facts or probe_fixture", file=str(f),
                                  field=f"[{i}]")
            seen.setdefault(cid, set()).add(case["status"])
            out.append(_judge(by_id[cid].control, case, f, fixture_dir))
    for cid in sorted(wanted):
        for need in ("pass", "fail"):
            if need not in seen.get(cid, set()):
                out.append(CaseResult(cid, f"(a {need}ing case)", str(cases / f"{cid}.yml"), False,
                                      f"control {cid} has no case with status {need}"))
    return out


def _judge(control, case: dict, file: Path, fixture_dir) -> CaseResult:
    name = str(case.get("name") or "?")
    params = control.effective_params(case.get("params"))
    try:
        now = datetime.fromisoformat(str(case.get("now", DEFAULT_NOW)).replace("Z", "+00:00"))
        facts = case["facts"] if "facts" in case else _fixture_facts(control, case, params, file, fixture_dir)
    except ProbeError as e:
        facts = e
    except (OSError, ValueError, KeyError) as e:
        return CaseResult(control.id, name, str(file), False, f"case unusable: {e}")
    if isinstance(facts, ProbeError):
        status, reason, message, actual = "error", facts.reason, facts.message, {}
    else:
        r = judge_facts(control, facts, params, now.astimezone(timezone.utc))
        status, reason, message, actual = r.status, r.reason, r.message, r.actual or {}
    problems = []
    if status != case["status"]:
        problems.append(f"status {status}, expected {case['status']} ({message})")
    if "reason" in case and reason != case["reason"]:
        problems.append(f"reason {reason}, expected {case['reason']}")
    for k, v in (case.get("actual") or {}).items():
        if actual.get(k) != v:
            problems.append(f"actual {k} = {actual.get(k)!r}, expected {v!r}")
    for words in case.get("message_contains", []):
        if words not in message:
            problems.append(f"message lacks {words!r}: {message}")
    return CaseResult(control.id, name, str(file), not problems, "; ".join(problems))


def _fixture_facts(control, case: dict, params: dict[str, Any], file: Path, fixture_dir) -> Any:
    path = fixture_dir(file, control.probe) / case["probe_fixture"] if fixture_dir \
        else file.parent / case["probe_fixture"]
    fx = load_file(path)
    probe = get_probe(control.probe)
    secs = {k: Section(id=k, exit_code=v.get("exit_code", 0), stdout=v.get("stdout", ""),
                       stderr=v.get("stderr", ""), complete=v.get("complete", True),
                       tools=list(v.get("tools") or []))
            for k, v in fx["sections"].items()}
    # the arguments that shaped the recorded output are the fixture's; the others the control's
    args = dict(fx.get("args") or {})
    control_args = control.resolved_args(params)
    for name, spec in probe.args.items():
        if not spec.remote and name in control_args:
            args[name] = control_args[name]
    return probe().parse(secs, probe.resolve_args(args))
