"""The peer benchmark's 25 checks (../shared/bench/checks.yaml) as hardencheck controls.

    python bench/peer_checks.py write CHECKS.yaml DIR [--commands-only]
        writes one control per check into DIR (bench/peer-checks/ is this, committed) plus a
        one-measure TOM catalog DIR/tom/bench.yml. Where a generic resource states the same fact
        the control uses it (kernel_param, directory, file, process); otherwise resource.command
        runs the check's own command and matches its own regex. --commands-only: every check as
        resource.command (what the null profile needs: its commands are `echo ok`).
    python bench/peer_checks.py verdicts RESULTS.json OUT.tsv
        host<TAB>check<TAB>PASS|FAIL lines for the kit's mismatch count (a control's check id is
        its tag ``check:<id>``; anything but pass is FAIL, as the kit's own evaluation).

Used by bench/peer_hardencheck.sh, the kit's ``--extra`` peer.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

#: checks a generic resource states directly: (probe, args, expect)
RESOURCES = {
    "aslr_enabled": ("resource.kernel_param", {"name": "kernel.randomize_va_space"},
                     [{"fact": "value", "op": "equals", "value": "2"}]),
    "ip_forward_off": ("resource.kernel_param", {"name": "net.ipv4.ip_forward"},
                       [{"fact": "value", "op": "equals", "value": "0"}]),
    "tmp_sticky": ("resource.directory", {"path": "/tmp"}, [{"fact": "mode", "op": "equals", "value": "1777"}]),
    "reboot_required": ("resource.file", {"path": "/var/run/reboot-required"},
                        [{"fact": "exists", "op": "equals", "value": False}]),
    "auditd_running": ("resource.process", {"name": "auditd"}, [{"fact": "running", "op": "equals", "value": True}]),
}


#: ``sshd -T | awk '$1=="key"{print $2}'``: the seven sshd checks read one setting each
_SSHD_SETTING = re.compile(r"""^sshd -T 2>/dev/null \| awk '\$1=="([a-z0-9]+)"\{print \$2\}'$""")


def _trimmed(expect: str) -> str:
    """The kit matches its regex against the trimmed stdout; resource.command matches each line as
    printed, so a closing ``$`` also allows trailing blanks (``uid0_only_root`` prints "root ")."""
    return expect[:-1] + r"[ \t]*$" if expect.endswith("$") and not expect.endswith(r"\$") else expect


def control(i: int, check: dict, commands_only: bool) -> dict:
    cid = f"PEER-{i:03d}"
    base = {"id": cid, "title": _title(check["title"]),
            "description": f"Peer benchmark check {check['id']}: {check['title']}.",
            "severity": "medium", "tags": ["peer-bench", f"check:{check['id']}"],
            "remediation": "A benchmark check: nothing to remediate."}
    if not commands_only and check["id"] in RESOURCES:
        probe, args, expect = RESOURCES[check["id"]]
        return {**base, "probe": probe, "args": args, "expect": expect}
    setting = None if commands_only else _SSHD_SETTING.match(check["cmd"].strip())
    if setting:
        # one `sshd -T` for all seven: controls with the same command share its section, and each
        # judges its own line (the kit's awk prints the value of the line whose first word is the key)
        inner = check["expect"].removeprefix("^").removesuffix("$")
        return {**base, "probe": "resource.command",
                "args": {"run": "sshd -T 2>/dev/null", "match": f"^{setting.group(1)} (?:{inner})$"},
                "expect": [{"fact": "match_count", "op": "at_least", "value": 1}], "show": ["matched_lines"]}
    # the check's own command and regex; the kit matches the trimmed stdout, resource.command
    # each stdout line: every check prints one line, so they agree (trailing blanks allowed)
    return {**base, "probe": "resource.command", "args": {"run": check["cmd"].strip(), "match": _trimmed(check["expect"]),
                                                          "tools": ["sh"]},
            "expect": [{"fact": "match_count", "op": "at_least", "value": 1}], "show": ["stdout_lines"]}


def _title(t: str) -> str:
    t = t[0].upper() + t[1:]
    return t if len(t) >= 5 else t + " (check)"


def write(checks_file: str, out: str, commands_only: bool = False) -> None:
    checks = yaml.safe_load(Path(checks_file).read_text())["checks"]
    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    ids = []
    for i, check in enumerate(checks, 1):
        c = control(i, check, commands_only)
        ids.append(c["id"])
        (d / f"{c['id']}.yml").write_text(yaml.safe_dump(c, sort_keys=False, allow_unicode=True, width=110))
    (d / "tom").mkdir(exist_ok=True)
    (d / "tom" / "bench.yml").write_text(yaml.safe_dump({
        "format": 2,
        "catalog": {"id": "peer-bench", "title": {"en": "Peer benchmark checks"}, "version": "1", "date": "2026-12-07"},
        "items": [{"id": "1", "title": {"en": "The 25 checks of the peer benchmark"}, "kind": "technical",
                   "category": "zugangskontrolle", "art32": ["b"],
                   "controls": ids}]}, sort_keys=False))


def verdicts(results_json: str, out: str) -> None:
    doc = json.loads(Path(results_json).read_text())
    check_of = {c["id"]: next((t[6:] for t in c.get("tags", []) if t.startswith("check:")), None)
                for c in doc["controls"]}
    lines = [f"{r['host']}\t{check_of[r['control']]}\t{'PASS' if r['status'] == 'pass' else 'FAIL'}"
             for r in doc["results"] if check_of.get(r["control"])]
    Path(out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    cmd, *rest = sys.argv[1:]
    if cmd == "write":
        write(rest[0], rest[1], "--commands-only" in rest)
    elif cmd == "verdicts":
        verdicts(rest[0], rest[1])
    else:
        sys.exit(__doc__)
