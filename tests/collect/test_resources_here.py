"""The generic resources' real snippets on this machine (dash, no SSH): several items in one
section, hostile names and content, and the parsers of the configuration-source listings."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from hardencheck.errors import ProbeError
from hardencheck.collect.probes import get_probe
from hardencheck.collect.probes.resource_kernel import _escape, _unescape
from hardencheck.collect.probes.sshd import ALIASES, MULTI
from hardencheck.collect.probes.sshd_sources import SOURCES_SNIPPET, attribute, parse_listing as sshd_listing
from hardencheck.collect.probes.sysctl_files import effective, parse_listing as sysctl_listing
from tests.collect.resource_helpers import run_batch

DASH = ["dash", "-s"] if shutil.which("dash") else None


def test_file_items_share_one_section_and_hostile_content_stays_data(tmp_path):
    conf = tmp_path / "app.conf"
    conf.write_text("target = offsite\n. 0123456789abcdef\n@ 0123456789abcdef\nmode 777\n")
    conf.chmod(0o640)
    odd = tmp_path / "odd"
    os.symlink("x\n. fake\nmode 777", odd)          # a symlink target with newlines
    results, out = run_batch(get_probe("resource.file"), [
        {"path": str(conf), "content": "^target"},
        {"path": str(conf), "content": "."},         # the same path, other arguments: its own item
        {"path": str(odd)},
        {"path": str(tmp_path / "none")},
    ], argv=DASH)
    assert [x for x in out["items"].stdout.split("\n") if x.startswith("@ ")].__len__() == 4   # one section, 4 items
    first, second, link, none = results
    assert first["mode"] == "0640" and first["content_matches"] == ["target = offsite"]
    assert second["content_match_count"] == 4
    assert second["content_matches"][1] == ". 0123456789abcdef"      # a forged frame: data
    assert link["type"] == "symlink" and link["link_target"] == "x; . fake; mode 777"
    assert link["mode"] is None                                       # dangling: nothing to follow
    assert none["exists"] is False


def test_an_item_whose_end_is_missing_is_never_a_fact():
    cls = get_probe("resource.file")
    results, out = run_batch(cls, [{"path": "/etc/hostname"}], argv=DASH)
    sec = out["items"]
    sec.stdout = sec.stdout.rsplit(". ", 1)[0]      # cut before the end line
    sec.complete = False
    with pytest.raises(ProbeError) as e:
        cls().parse(out, cls.resolve_args({"path": "/etc/hostname"}))
    assert e.value.reason == "incomplete_output"


def test_command_bounds_and_timeout():
    cls = get_probe("resource.command")
    (ok,), _ = run_batch(cls, [{"run": "printf 'a\\nb\\n'; echo err >&2; exit 4", "match": "^b$"}], argv=DASH)
    assert (ok["exit_code"], ok["stdout_lines"], ok["match_count"], ok["stderr_lines"]) == (4, ["a", "b"], 1, ["err"])
    (forged,), _ = run_batch(cls, [{"run": "echo 'HCRC 0'; exit 7"}], argv=DASH)
    assert forged["exit_code"] == 7 and forged["stdout_lines"] == ["HCRC 0"]
    (slow,), _ = run_batch(cls, [{"run": "sleep 30", "timeout": 1}], argv=DASH)
    assert isinstance(slow, ProbeError) and slow.reason == "timeout"
    with pytest.raises(ValueError):
        cls.resolve_args({"run": "id", "timeout": 0})


def test_mount_paths_are_escaped_as_the_kernel_does():
    assert _escape("/mnt/a b\\c") == "/mnt/a\\040b\\134c"
    assert _unescape("/mnt/a\\040b\\134c") == "/mnt/a b\\c"


def test_sysctl_precedence():
    listing = sysctl_listing(
        "F /etc/sysctl.d/50-default.conf\n3:net/ipv4/ip_forward = 1\n"
        "F /etc/sysctl.d/99-site.conf\n1:net.ipv4.ip_forward=0\n2:-net.ipv4.conf.all.rp_filter\n"
        "F /usr/lib/sysctl.d/50-default.conf\n9:net.ipv4.ip_forward = 1\n10:net.ipv4.conf.*.rp_filter = 2\n"
        "F /usr/lib/sysctl.d/10-early.conf\n4:net.ipv4.tcp_syncookies = 0\n5:F /etc/forged.conf\n"
        "F /etc/sysctl.conf\n7:net.ipv4.tcp_syncookies = 1\n"
        "U /run/sysctl.d/secret.conf\n")
    keys = ["net.ipv4.ip_forward", "net.ipv4.conf.all.rp_filter", "net.ipv4.conf.default.rp_filter",
            "net.ipv4.tcp_syncookies"]
    found = effective(listing, keys)
    # /etc/sysctl.d/50-default.conf masks /usr/lib's file of the same name; 99-site.conf comes later
    assert found["net.ipv4.ip_forward"].where == "/etc/sysctl.d/99-site.conf:1"
    assert found["net.ipv4.ip_forward"].overrides == ["/etc/sysctl.d/50-default.conf:3 = 1"]
    assert "net.ipv4.conf.all.rp_filter" not in found           # excluded from globs
    assert found["net.ipv4.tcp_syncookies"].where == "/etc/sysctl.conf:7"    # applied last
    assert listing.unreadable == ["/run/sysctl.d/secret.conf"]
    assert "/etc/forged.conf" not in listing.files


@pytest.mark.skipif(not shutil.which("dash"), reason="dash not installed")
def test_sshd_sources_in_sshds_order(tmp_path):
    (tmp_path / "sshd_config.d").mkdir()
    (tmp_path / "sshd_config").write_text(
        "Port 22\nInclude sshd_config.d/*.conf\nPermitRootLogin no\n# PermitRootLogin without-password\n"
        "HostKey /k1\nMatch User bob\n  PasswordAuthentication yes\n")
    (tmp_path / "sshd_config.d" / "50-cloud-init.conf").write_text(
        "PermitRootLogin yes\nChallengeResponseAuthentication yes\nHostKey /k2\nF /etc/forged\n")
    (tmp_path / "sshd_config.d" / "60-later.conf").write_text("PermitRootLogin=no\n")
    code = SOURCES_SNIPPET.replace("/etc/ssh", str(tmp_path))
    r = subprocess.run(["dash", "-c", code], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    got = attribute(sshd_listing(r.stdout), MULTI, ALIASES)
    drop = f"{tmp_path}/sshd_config.d/50-cloud-init.conf"
    assert got["sources"]["permitrootlogin"] == f"{drop}:1"
    assert got["overridden"]["permitrootlogin"] == [f"{tmp_path}/sshd_config.d/60-later.conf:1: no",
                                                    f"{tmp_path}/sshd_config:3: no"]
    assert got["sources"]["kbdinteractiveauthentication"] == f"{drop}:2"        # the old name
    assert got["sources"]["hostkey"] == [f"{drop}:3", f"{tmp_path}/sshd_config:5"]
    assert got["conditional"]["passwordauthentication"] == [f"{tmp_path}/sshd_config:7: yes"]
    assert got["config_files"][0] == f"{tmp_path}/sshd_config" and len(got["config_files"]) == 3
    assert "/etc/forged" not in got["config_files"] and got["sources"]["f"] == f"{drop}:4"   # a line, not a file
