"""Run a batched resource probe's real snippet on this machine (no SSH): the items of several
controls in one section, as the engine lays them out."""

from __future__ import annotations

import subprocess

from hardencheck.collect.probe_script import SectionSpec, Splitter, build_script, new_nonce


def run_batch(cls, arg_sets: list[dict], *, argv: list[str] | None = None):
    """[(args, fact-or-ProbeError)] for each argument set, all in one section."""
    resolved = [cls.resolve_args(a) for a in arg_sets]
    items = []
    for a in resolved:
        r = cls.remote_args(a)
        if r not in items:
            items.append(r)
    remote = cls.batch_args(items) if getattr(cls, "batched", False) else cls.remote_args(resolved[0])
    nonce = new_nonce()
    specs = []
    for c, code in cls.commands.items():
        timeout, tools = cls.section_settings(c, remote) if hasattr(cls, "section_settings") \
            else (cls.timeout, cls.tools.get(c, ()))
        specs.append(SectionSpec(id=f"{cls.name}/{c}", code=code, args=remote, timeout=timeout, tools=tools))
    script = build_script(specs, nonce)
    r = subprocess.run(argv or ["/bin/sh", "-s"], input=script.encode(), capture_output=True, timeout=600)
    sp = Splitter(nonce)
    sp.feed_stdout(r.stdout)
    sp.feed_stderr(r.stderr)
    secs = sp.sections()
    out = {c: secs[f"{cls.name}/{c}"] for c in cls.commands if f"{cls.name}/{c}" in secs}
    results = []
    for a in resolved:
        try:
            results.append(cls().parse(out, a))
        except Exception as e:   # noqa: BLE001 - the caller asserts on it
            results.append(e)
    return results, out
