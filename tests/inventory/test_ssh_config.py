"""ssh_config: lookup through paramiko, with Match exec / ProxyCommand refused and values validated."""

from __future__ import annotations

import getpass
import os
from pathlib import Path

import pytest

from hardencheck.errors import ConfigError, ConfigErrors
from hardencheck.inventory import Host, JumpHost, load_inventory
from hardencheck.inventory.ssh_config import apply_ssh_config, expand_tokens, load_ssh_config

SSH = Path(__file__).parents[1] / "data" / "inventories" / "ssh"
BASIC = str(SSH / "basic.config")
HOME = os.path.expanduser("~")


def host(name, **kw) -> Host:
    explicit = set(kw.pop("explicit", ()))
    return Host(name=name, address=kw.pop("address", name), explicit=explicit, **kw)


def errors(exc) -> list[ConfigError]:
    return exc.errors if isinstance(exc, ConfigErrors) else [exc]


def test_values_applied_and_tokens_expanded():
    h = apply_ssh_config(host("web1"), BASIC, set())
    assert (h.address, h.port, h.user) == ("10.1.1.1", 2201, "ops")
    assert h.identity_files == [f"{HOME}/.ssh/ops_10.1.1.1_2201"]          # %r %h %p, ~
    assert h.known_hosts_files == ["/etc/hardencheck/known_hosts", f"{HOME}/.ssh/known_hosts2"]
    assert h.identities_only is True                                       # from Host *
    # ProxyJump bastion; bastion's own ProxyJump (outer) is followed: outermost first
    assert h.jump == [JumpHost("outer.example.com", 2022, None),
                      JumpHost("bastion.example.com", 22, "jumper", ["/keys/bastion"])]
    assert h.name == "web1"


def test_inventory_values_win_when_explicit():
    orig = host("web1", user="audit", port=22, identity_files=["/inv/key"],
                explicit={"user", "port", "identity_files"})
    h = apply_ssh_config(orig, BASIC, orig.explicit)
    assert (h.user, h.port, h.identity_files) == ("audit", 22, ["/inv/key"])
    assert h.address == "10.1.1.1"                   # address was not explicit
    assert orig.user == "audit" and orig.address == "web1"   # the input is not modified
    # an explicit address is still the name ssh looks up, so HostName applies (like
    # `ssh web1`); an explicit jump wins over ProxyJump
    h = apply_ssh_config(host("web1", address="web1", jump=[JumpHost("b2.example.com")],
                              explicit={"address", "jump"}), BASIC, {"address", "jump"})
    assert h.address == "10.1.1.1"
    assert h.jump == [JumpHost("b2.example.com", 22, None)]
    # %r in IdentityFile means the final user, even when it comes from the inventory
    h = apply_ssh_config(host("web1", user="audit", explicit={"user"}), BASIC, {"user"})
    assert h.identity_files == [f"{HOME}/.ssh/audit_10.1.1.1_2201"]


def test_explicit_defaults_to_the_hosts_own_set():
    h = apply_ssh_config(host("web1", user="audit", explicit={"user"}), BASIC)
    assert h.user == "audit"


def test_inventory_jump_host_gets_its_config():
    h = apply_ssh_config(host("x.example.com", jump=[JumpHost("bastion")], explicit={"jump"}),
                         BASIC, {"jump"})
    assert h.jump == [JumpHost("outer.example.com", 2022, None),
                      JumpHost("bastion.example.com", 22, "jumper", ["/keys/bastion"])]


def test_jump_loop_refused():
    with pytest.raises(ConfigError, match="loop|deeper"):
        apply_ssh_config(host("loop1"), BASIC, set())


def test_bad_values_in_ssh_config_refused():
    with pytest.raises(ConfigError) as ei:
        apply_ssh_config(host("badname"), BASIC, set())
    (e,) = errors(ei.value)
    assert (e.file, e.line, e.field) == (BASIC, 22, "HostName")
    assert "host 'badname'" in e.message
    with pytest.raises(ConfigError) as ei:
        apply_ssh_config(host("baduser"), BASIC, set())
    (e,) = errors(ei.value)
    assert (e.line, e.field) == (24, "User")


def test_proxycommand_refused_naming_host_option_and_line():
    cfg = str(SSH / "proxycommand.config")
    assert apply_ssh_config(host("web1"), cfg, set()).user == "ops"   # not affected
    with pytest.raises(ConfigError) as ei:
        apply_ssh_config(host("db.internal"), cfg, set())
    (e,) = errors(ei.value)
    assert (e.file, e.line, e.field) == (cfg, 5, "ProxyCommand")
    assert "'db.internal'" in e.message
    with pytest.raises(ConfigError) as ei:
        apply_ssh_config(host("local"), cfg, set())
    assert {(e.line, e.field) for e in errors(ei.value)} == {(8, "PermitLocalCommand"),
                                                            (9, "LocalCommand")}


def test_proxycommand_for_a_jump_host_refused(tmp_path):
    cfg = tmp_path / "config"
    cfg.write_text("Host bastion\n  ProxyCommand nc %h %p\nHost web1\n  ProxyJump bastion\n")
    with pytest.raises(ConfigError) as ei:
        apply_ssh_config(host("web1"), str(cfg), set())
    (e,) = errors(ei.value)
    assert (e.line, e.field) == (2, "ProxyCommand") and "bastion" in e.message


def test_match_exec_refused_before_anything_runs(tmp_path):
    cfg = str(SSH / "match-exec.config")
    with pytest.raises(ConfigError) as ei:
        apply_ssh_config(host("web1"), cfg, set())      # even for a host it would not match
    (e,) = errors(ei.value)
    assert (e.file, e.line, e.field) == (cfg, 4, "Match exec")
    assert not Path("/tmp/hardencheck-pwned").exists()


@pytest.mark.parametrize("line", ["Match exec true", "Match !exec true", "match EXEC true",
                                  "Match host a exec 'true'", "Match=exec true"])
def test_match_exec_spellings(tmp_path, line):
    cfg = tmp_path / "config"
    cfg.write_text(f"Host x\n  User a\n{line}\n  User b\n")
    with pytest.raises(ConfigError) as ei:
        load_ssh_config(str(cfg))
    assert [(e.line, e.field) for e in errors(ei.value)] == [(3, "Match exec")]


def test_match_exec_in_included_file_refused(tmp_path):
    marker = tmp_path / "pwned"
    inc_dir = tmp_path / "conf.d"
    inc_dir.mkdir()
    (inc_dir / "10-ok.conf").write_text("Host ok\n  User fine\n")
    evil = inc_dir / "20-evil.conf"
    evil.write_text(f"# harmless looking\nHost db*\n  User x\nMatch exec \"touch {marker}\"\n"
                    "  User y\n")
    cfg = tmp_path / "config"
    cfg.write_text(f"Include {inc_dir}/*.conf\nHost web1\n  User ops\n")
    with pytest.raises(ConfigError) as ei:
        apply_ssh_config(host("web1"), str(cfg), set())
    (e,) = errors(ei.value)
    assert (e.file, e.line, e.field) == (str(evil), 4, "Match exec")
    assert not marker.exists()


def test_include_relative_to_home_ssh_and_block_reopened(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "extra.conf").write_text("  Port 2022\n")
    (tmp_path / ".ssh" / "hosts.conf").write_text("Host db1\n  User dba\n")
    cfg = tmp_path / ".ssh" / "config"
    cfg.write_text("Include hosts.conf\n"
                   "IdentitiesOnly yes\n"          # top level again after the include
                   "Host web1\n  User ops\n  Include extra.conf\n  IdentityFile ~/k\n"
                   "Host other\n  User nobody\n")
    h = apply_ssh_config(host("web1"), None, set())         # None: ~/.ssh/config
    assert (h.user, h.port, h.identity_files) == ("ops", 2022, [f"{tmp_path}/k"])
    assert h.identities_only is True
    other = apply_ssh_config(host("other"), None, set())
    assert (other.port, other.user, other.identities_only) == (22, "nobody", True)
    assert apply_ssh_config(host("db1"), None, set()).user == "dba"


def test_conditional_include_with_its_own_blocks_refused(tmp_path):
    inc = tmp_path / "inc.conf"
    inc.write_text("Port 1\nHost db1\n  User dba\n")
    cfg = tmp_path / "config"
    cfg.write_text(f"Host web1\n  Include {inc}\n")
    with pytest.raises(ConfigError) as ei:
        load_ssh_config(str(cfg))
    assert [(e.file, e.line) for e in errors(ei.value)] == [(str(inc), 2)]


def test_no_default_config_means_unchanged(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    h = host("web1")
    assert apply_ssh_config(h, None, set()) is h


def test_local_transport_untouched():
    h = host("me", transport="local")
    assert apply_ssh_config(h, BASIC, set()) is h


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        apply_ssh_config(host("web1"), str(tmp_path / "nope"), set())


def test_unsupported_match_criteria_refused(tmp_path):
    cfg = tmp_path / "config"
    cfg.write_text("Match localnetwork 10.0.0.0/8\n  User x\n")
    with pytest.raises(ConfigError) as ei:
        load_ssh_config(str(cfg))
    assert [(e.line, e.field) for e in errors(ei.value)] == [(1, "Match localnetwork")]


def test_unparsable_line_has_file_and_line(tmp_path):
    cfg = tmp_path / "config"
    cfg.write_text("Host a\n  User x\n  Broken\n")
    with pytest.raises(ConfigError) as ei:
        load_ssh_config(str(cfg))
    assert [e.line for e in errors(ei.value)] == [3]


def test_expand_tokens():
    p = expand_tokens("%d/.ssh/%r@%h:%p-%u-%n-%%", host="h.example.com", port=2, user="ops",
                      original="h")
    assert p == f"{HOME}/.ssh/ops@h.example.com:2-{getpass.getuser()}-h-%"
    assert expand_tokens("rel/key", host="h", port=22, user=None, original="h") == \
        os.path.abspath("rel/key")
    with pytest.raises(ValueError):
        expand_tokens("%Z", host="h", port=22, user=None, original="h")


def test_inventory_and_ssh_config_together(tmp_path):
    inv = tmp_path / "inv.yml"
    inv.write_text("defaults: {user: audit}\nhosts:\n  web1: {}\n")
    cfg = tmp_path / "config"
    cfg.write_text("Host web1\n  HostName 10.9.9.9\n  User ignored\n  Port 2200\n")
    (h,) = load_inventory(inv).hosts
    h = apply_ssh_config(h, str(cfg), h.explicit)
    assert (h.address, h.user, h.port) == ("10.9.9.9", "audit", 2200)
