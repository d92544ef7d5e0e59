"""The asset register in the scan plan: from hardencheck.yml (a path relative to the file) or
--expect-hosts (which wins), stale_days, and the errors prepare() raises before anything connects."""

from __future__ import annotations

import pytest

from hardencheck.errors import ConfigError
from hardencheck.scan.plan import ScanRequest, prepare


def _config(tmp_path, text: str):
    cfg = tmp_path / "site" / "hardencheck.yml"
    cfg.parent.mkdir(exist_ok=True)
    cfg.write_text(text)
    return cfg


def test_register_and_stale_days_from_the_config(tmp_path):
    cfg = _config(tmp_path, "expect_hosts: assets.json\nstale_days: 3\n")
    (cfg.parent / "assets.json").write_text('["localhost", "web1"]')
    plan = prepare(ScanRequest(config=str(cfg), control_ids=["SSH-002"], no_history=True))
    assert plan.expected.path == str(cfg.parent / "assets.json") and len(plan.expected.assets) == 2
    assert plan.settings.stale_days == 3
    other = tmp_path / "other.csv"
    other.write_text("fqdn\nlocalhost\n")
    plan = prepare(ScanRequest(config=str(cfg), control_ids=["SSH-002"], no_history=True, expect_hosts=str(other)))
    assert plan.expected.path == str(other) and plan.expected.format == "csv"


def test_bad_settings_and_flags(tmp_path):
    with pytest.raises(ConfigError) as e:
        prepare(ScanRequest(config=str(_config(tmp_path, "stale_days: 0\n")), no_history=True))
    assert "hardencheck.yml:1" in str(e.value) and "stale_days" in str(e.value)
    with pytest.raises(ConfigError) as e:
        prepare(ScanRequest(control_ids=["SSH-002"], no_history=True, stale_days=0))
    assert e.value.field == "--stale-days"
    reg = tmp_path / "r.json"
    reg.write_text('[\n  "ok1",\n  {"hostname": ""}\n]')
    with pytest.raises(ConfigError) as e:
        prepare(ScanRequest(control_ids=["SSH-002"], no_history=True, expect_hosts=str(reg)))
    assert f"{reg}:3 [column 3 'hostname']: empty name" in str(e.value)
