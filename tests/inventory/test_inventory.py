"""Inventories: native YAML, Ansible YAML and INI; precedence; validation with file:line [field]."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from hardencheck.errors import ConfigError, ConfigErrors
from hardencheck.inventory import (Host, JumpHost, check_address, check_user, expand_host_pattern,
                                   limit_hosts, load_inventory, local_inventory, parse_jump)

DATA = Path(__file__).parents[1] / "data" / "inventories"
REPO = Path(__file__).parents[2]


def errors_of(path) -> list[ConfigError]:
    with pytest.raises(ConfigError) as ei:
        load_inventory(path)
    e = ei.value
    return e.errors if isinstance(e, ConfigErrors) else [e]


def where(errors) -> set[tuple[int | None, str | None]]:
    return {(e.line, e.field) for e in errors}


def write(tmp_path, name, text) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


# -- native YAML ----------------------------------------------------------------------------

def test_lab_inventory_parses():
    path = DATA / "lab.yml"
    inv = load_inventory(path)
    assert inv.path == str(path)
    assert inv.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert [h.name for h in inv.hosts] == ["hardened", "weak", "sudo"]
    hardened, weak, sudo = inv.hosts
    assert hardened.address == "198.18.1.2"
    assert hardened.user == "root" and hardened.port == 22
    assert hardened.identity_files == [str(DATA / "id_ed25519")]       # relative to the file
    assert hardened.known_hosts_files == [str(DATA / "known_hosts")]
    assert hardened.connect_timeout == 3.0 and hardened.command_timeout == 300.0
    assert hardened.tags == ["lab", "hardened"]
    assert hardened.groups == ["lab"]
    assert weak.params == {"SCAN-002": {"report_path": "/var/lib/hardencheck/openvas"}}
    assert sudo.user == "audit" and sudo.become is True and weak.become is False
    assert hardened.transport == "ssh" and hardened.jump == []
    assert {"user", "port", "identity_files", "known_hosts_files", "connect_timeout",
            "address"} <= hardened.explicit
    assert "become" in sudo.explicit and "become" not in hardened.explicit


def test_precedence_defaults_groups_host():
    inv = load_inventory(DATA / "precedence.yml")
    web1, db1, solo = inv.hosts
    # web is a child of prod: prod applies first, then web, then the host
    assert web1.port == 2222
    assert web1.become is True                         # from prod
    assert web1.user == "scanner"                      # defaults
    assert web1.command_timeout == 100.0
    assert web1.groups == ["prod", "web"]
    assert web1.tags == ["frontend", "prod", "web"]
    assert web1.vars == {"site": "fra", "tier": "web", "env": "production"}
    assert web1.params == {"RK-001": {"max_age_days": 7, "warn": True},
                           "SSH-001": {"max_auth_tries": 3}}
    assert web1.identity_files == [str(DATA / "keys" / "prod_ed25519"),
                                   os.path.expanduser("~/.ssh/fallback")]
    # host beats group, group beats defaults, params merge per parameter
    assert db1.port == 2022 and db1.user == "dbscan" and db1.address == "db1"
    assert db1.params == {"RK-001": {"max_age_days": 1, "warn": True},
                          "SSH-001": {"max_auth_tries": 2}}
    assert db1.vars["tier"] == "prod"
    assert "address" not in db1.explicit
    # no group at all: defaults only
    assert solo.groups == [] and solo.tags == [] and solo.become is False
    assert solo.address == "2001:db8::10"
    assert solo.sudo_password_env == "HC_SUDO_PASSWORD"
    assert solo.jump == [JumpHost("bastion.example.com", 2222, "jump"),
                         JumpHost("2001:db8::1", 22, None)]


def test_group_parents_apply_before_children_regardless_of_declaration_order(tmp_path):
    p = write(tmp_path, "inv.yml", """
groups:
  leaf: {port: 3}
  mid: {children: [leaf], port: 2}
  top: {children: [mid], port: 1, user: u}
hosts:
  h: {groups: [leaf]}
  m: {groups: [mid]}
""")
    h, m = load_inventory(p).hosts
    assert (h.port, h.user, h.groups) == (3, "u", ["top", "mid", "leaf"])
    assert (m.port, m.groups) == (2, ["top", "mid"])


def test_group_cycle_is_an_error(tmp_path):
    p = write(tmp_path, "inv.yml", "groups:\n  a: {children: [b]}\n  b: {children: [a]}\n"
                                   "hosts:\n  h: {groups: [a]}\n")
    errs = errors_of(p)
    assert any("cycle" in e.message for e in errs)


def test_validation_errors_name_file_line_and_field():
    path = DATA / "errors.yml"
    errs = errors_of(path)
    assert all(e.file == str(path) for e in errs)
    assert where(errs) == {
        (2, "defaults.user"),
        (3, "defaults.port"),
        (6, "groups.lab.children[0]"),
        (7, "groups.lab.tags[1]"),
        (10, "hosts.a.address"),
        (11, "hosts.a.groups[1]"),
        (12, "hosts.a.colour"),
        (14, "hosts.b.address"),
        (15, "hosts.b.become"),
        (16, "hosts.b.params.SCAN-001"),
        (18, "hosts.c.identity_file[1]"),
        (19, "hosts.c.jump"),
        (20, "hosts.c.sudo_password_env"),
        (21, "hosts.c.transport"),
    }
    by_field = {e.field: e for e in errs}
    assert "unknown key 'colour'" in by_field["hosts.a.colour"].message
    assert "unknown group 'missing'" in by_field["hosts.a.groups[1]"].message
    # all of them in one go, sorted by line, and str() shows file:line [field]
    assert [e.line for e in errs] == sorted(e.line for e in errs)
    assert f"{path}:10 [hosts.a.address]" in str(errs[4])


@pytest.mark.parametrize("address", ["h; rm -rf /", "-oProxyCommand=x", "a b", "$(id)", "`id`",
                                     "host|x", "x&y", "a\nb", "", "ex ample.com", "-x",
                                     "a..b", "-leading.example.com",
                                     "fe80::1%;id", "fe80::1%a b", "[::1];id"])
def test_bad_addresses_refused(tmp_path, address):
    import json
    p = write(tmp_path, "inv.yml", f"hosts:\n  h:\n    address: {json.dumps(address)}\n")
    errs = errors_of(p)
    assert where(errs) == {(3, "hosts.h.address")}


@pytest.mark.parametrize("address", ["198.18.1.2", "2001:db8::1", "[2001:db8::1]", "fe80::1%eth0",
                                     "web-01.example.com", "web01.example.com.", "localhost",
                                     "srv_1.internal"])
def test_good_addresses(address):
    assert check_address(address)


@pytest.mark.parametrize("user", ["root -o x", "-oProxyCommand=x", "a;b", "$(id)", "a b", "x'y",
                                  ""])
def test_bad_users_refused(tmp_path, user):
    import json
    p = write(tmp_path, "inv.yml", f"defaults: {{user: {json.dumps(user)}}}\nhosts:\n  h: {{}}\n")
    assert where(errors_of(p)) == {(1, "defaults.user")}


@pytest.mark.parametrize("user", ["root", "audit", "svc.scan", "scan-01", "j.doe@EXAMPLE.COM"])
def test_good_users(user):
    assert check_user(user) == user


def test_host_name_must_be_an_address_when_no_address_given(tmp_path):
    p = write(tmp_path, "inv.yml", "hosts:\n  web1:\n    port: 22\n  'bad name': {}\n")
    assert where(errors_of(p)) == {(4, "hosts.bad name")}


def test_duplicate_host_key_is_an_error():
    path = DATA / "duplicate.yml"
    (e,) = errors_of(path)
    assert (e.file, e.line) == (str(path), 4)
    assert "twice" in e.message and "line 2" in e.message


def test_unknown_top_level_key_and_missing_hosts(tmp_path):
    p = write(tmp_path, "inv.yml", "defaults: {user: root}\nhostz: {}\n")
    assert where(errors_of(p)) == {(2, "hostz"), (1, "hosts")}


def test_params_must_be_mappings_of_named_parameters(tmp_path):
    p = write(tmp_path, "inv.yml", "hosts:\n  h:\n    params:\n      RK-001: {'bad key': 1}\n")
    (e,) = errors_of(p)
    assert (e.line, e.field) == (4, "hosts.h.params.RK-001.bad key")


def test_passwords_never_accepted_in_native_yaml(tmp_path):
    p = write(tmp_path, "inv.yml", "hosts:\n  h:\n    sudo_password: hunter2\n")
    (e,) = errors_of(p)
    assert (e.line, e.field) == (3, "hosts.h.sudo_password")
    assert "hunter2" not in str(e)


def test_local_transport_and_identity_file_string(tmp_path):
    p = write(tmp_path, "inv.yml", "hosts:\n  me: {address: localhost, transport: local}\n"
                                   "  r: {identity_file: /abs/key, identities_only: true}\n")
    me, r = load_inventory(p).hosts
    assert me.transport == "local"
    assert r.identity_files == ["/abs/key"] and r.identities_only is True


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_inventory(tmp_path / "nope.yml")
    with pytest.raises(ConfigError, match="empty"):
        load_inventory(write(tmp_path, "empty.yml", "\n"))


def test_unsafe_yaml_tags_refused(tmp_path):
    p = write(tmp_path, "inv.yml", "hosts:\n  h: !!python/object/apply:os.system ['id']\n")
    (e,) = errors_of(p)
    assert e.line == 2


# -- Ansible YAML and INI -------------------------------------------------------------------

def _check_ansible(inv):
    names = [h.name for h in inv.hosts]
    assert names == ["lonely.example.com", "web01.example.com", "web02.example.com",
                     "web03.example.com", "special.example.com", "db1"]
    hosts = {h.name: h for h in inv.hosts}
    lonely = hosts["lonely.example.com"]
    assert lonely.user == "deploy" and lonely.groups == [] and lonely.tags == []
    assert lonely.vars == {"ntp_server": "ntp1.example.com"}
    web02 = hosts["web02.example.com"]
    assert web02.address == "web02.example.com"
    assert web02.become is True and web02.user == "deploy"
    assert web02.groups == ["prod", "web"] and web02.tags == ["prod", "web"]
    # group params merge: prod (parent) first, then web
    assert web02.params == {"SSH-001": {"max_auth_tries": 3}, "RK-001": {"max_age_days": 1}}
    special = hosts["special.example.com"]
    assert (special.port, special.user) == (2222, "admin")
    assert special.identity_files == [str(DATA / "keys" / "special")]
    db1 = hosts["db1"]
    assert (db1.address, db1.port, db1.user, db1.become) == ("10.0.0.5", 2200, "deploy", False)
    assert db1.jump == [JumpHost("bastion.example.com", 2222, "jump")]
    assert db1.vars == {"ntp_server": "ntp1.example.com",
                        "ansible_python_interpreter": "/usr/bin/python3"}
    assert db1.params == {"SSH-001": {"max_auth_tries": 2}, "RK-001": {"max_age_days": 1}}
    assert {"address", "port", "user", "jump"} <= db1.explicit


def test_ansible_yaml_inventory():
    _check_ansible(load_inventory(DATA / "ansible.yml"))


def test_ansible_ini_inventory():
    _check_ansible(load_inventory(DATA / "ansible.ini"))


def test_ansible_yaml_without_all(tmp_path):
    p = write(tmp_path, "hosts.yml", "web:\n  hosts:\n    w1:\n      ansible_port: 2222\n"
                                     "db:\n  hosts:\n    d1:\n")
    w1, d1 = load_inventory(p).hosts
    assert (w1.port, w1.groups, d1.groups) == (2222, ["web"], ["db"])


def test_ini_without_sections_and_with_ini_extension(tmp_path):
    p = write(tmp_path, "hosts", "10.0.0.1\n10.0.0.2 ansible_user=ops\n")
    a, b = load_inventory(p).hosts
    assert (a.address, b.user) == ("10.0.0.1", "ops")
    p = write(tmp_path, "inv.ini", "web1 ansible_become=yes\n")
    assert load_inventory(p).hosts[0].become is True


def test_passwords_in_ansible_inventories_refused():
    for name, expected in [
        ("passwords.ini", {(3, "web2.ansible_password"), (6, "web:vars.ansible_become_password")}),
        ("passwords.yml", {(6, "all.children.web.hosts.web1.ansible_ssh_pass"),
                           (8, "all.children.web.vars.ansible_become_pass")}),
    ]:
        errs = errors_of(DATA / name)
        assert where(errs) == expected, name
        for e in errs:
            assert e.message == "passwords are not read from inventories; use sudo_password_env"
            assert "hunter2" not in str(e) and "s3cret" not in str(e)


def test_ansible_ssh_args_with_commands_refused():
    errs = errors_of(DATA / "proxycommand.ini")
    assert where(errs) == {(3, "web2.ansible_ssh_common_args"),
                           (6, "web:vars.ansible_ssh_extra_args")}
    assert "ProxyCommand" in errs[0].message and "LocalCommand" in errs[1].message
    (e,) = errors_of(DATA / "proxycommand.yml")
    assert (e.line, e.field) == (4, "all.hosts.web1.ansible_ssh_common_args")


@pytest.mark.parametrize("args", ["-o ProxyCommand=x", "-oProxyCommand=x", "-o 'ProxyCommand x'",
                                  "-o proxycommand=x", "-o LocalCommand=id",
                                  "-o PermitLocalCommand=yes", "-o KnownHostsCommand=/bin/x",
                                  "-o Include=/tmp/evil", "-F /tmp/evil", "-o 'Match exec id'"])
def test_ssh_args_variants_refused(tmp_path, args):
    import json
    p = write(tmp_path, "inv.yml",
              f"all:\n  hosts:\n    h:\n      ansible_ssh_common_args: {json.dumps(args)}\n")
    assert where(errors_of(p)) == {(4, "all.hosts.h.ansible_ssh_common_args")}


@pytest.mark.parametrize("args,jump", [("-J b.example.com", "b.example.com"),
                                       ("-Jb.example.com:2", "b.example.com"),
                                       ("-o ProxyJump=u@b.example.com", "b.example.com"),
                                       ("-o 'ProxyJump u@b.example.com'", "b.example.com")])
def test_ssh_args_proxyjump(tmp_path, args, jump):
    import json
    p = write(tmp_path, "inv.yml",
              f"all:\n  hosts:\n    h:\n      ansible_ssh_common_args: {json.dumps(args)}\n")
    (h,) = load_inventory(p).hosts
    assert [j.address for j in h.jump] == [jump]


def test_injection_through_ansible_vars_refused():
    errs = errors_of(DATA / "injection.ini")
    assert where(errs) == {(2, "web1.ansible_host"), (3, "web2.ansible_host"),
                           (4, "web3.ansible_user")}


def test_ini_errors_have_lines():
    errs = errors_of(DATA / "errors.ini")
    assert where(errs) == {(2, "web1.ansible_port"), (3, "web2"),
                           (6, "web:vars.hardencheck_colour"), (8, "web:weird"), (9, None)}


def test_ansible_yaml_error_lines(tmp_path):
    p = write(tmp_path, "inv.yml", """all:
  children:
    web:
      hosts:
        w1:
          ansible_port: "x"
          ansible_become_method: su
      vars:
        ansible_connection: winrm
      colour: red
""")
    assert where(errors_of(p)) == {(6, "all.children.web.hosts.w1.ansible_port"),
                                   (7, "all.children.web.hosts.w1.ansible_become_method"),
                                   (9, "all.children.web.vars.ansible_connection"),
                                   (10, "all.children.web.colour")}


def test_address_only_for_hosts(tmp_path):
    p = write(tmp_path, "inv.yml", "all:\n  vars:\n    ansible_host: 10.0.0.1\n  hosts:\n    h:\n")
    (e,) = errors_of(p)
    assert (e.line, e.field) == (3, "all.vars.ansible_host")
    assert "'ansible_host' can only be set for a host" in e.message
    p = write(tmp_path, "inv2.yml", "groups:\n  g: {address: x}\nhosts:\n  h: {groups: [g]}\n")
    (e,) = errors_of(p)
    assert (e.line, e.field) == (2, "groups.g.address")


def test_hardencheck_variables_in_ansible(tmp_path):
    p = write(tmp_path, "inv.ini", "[web]\nw1\n[web:vars]\nhardencheck_sudo_password_env=HC_PW\n"
                                   "hardencheck_command_timeout=60\nansible_connection=local\n")
    (w1,) = load_inventory(p).hosts
    assert (w1.sudo_password_env, w1.command_timeout, w1.transport) == ("HC_PW", 60.0, "local")


@pytest.mark.parametrize("pattern,expected", [
    ("web[01:03].example.com", ["web01.example.com", "web02.example.com", "web03.example.com"]),
    ("db-[a:c]", ["db-a", "db-b", "db-c"]),
    ("h[1:5:2]", ["h1", "h3", "h5"]),
    ("r[1:2]-[a:b]", ["r1-a", "r1-b", "r2-a", "r2-b"]),
    ("plain", ["plain"]),
])
def test_host_ranges(pattern, expected):
    assert expand_host_pattern(pattern) == expected


def test_bad_range_is_an_error(tmp_path):
    p = write(tmp_path, "inv.ini", "[web]\nweb[03:01]\n")
    assert where(errors_of(p)) == {(2, "web[03:01]")}


# -- jump spec, --limit, local ----------------------------------------------------------------

def test_parse_jump():
    assert parse_jump("u@b1.example.com:2222,b2,ssh://v@[2001:db8::1]:22") == [
        JumpHost("b1.example.com", 2222, "u"), JumpHost("b2", 22, None),
        JumpHost("2001:db8::1", 22, "v")]
    assert parse_jump("none") == []
    for bad in ["b;x", "u;x@b", "-oProxyCommand=x", "b:99999", "b:", "a,,b", "$(id)"]:
        with pytest.raises(ValueError):
            parse_jump(bad)


def test_limit_hosts():
    inv = load_inventory(DATA / "ansible.yml")
    names = lambda hs: [h.name for h in hs]  # noqa: E731
    assert names(limit_hosts(inv, ["db1"])) == ["db1"]
    assert names(limit_hosts(inv, ["web0*,db1"])) == ["web01.example.com", "web02.example.com",
                                                       "web03.example.com", "db1"]
    assert names(limit_hosts(inv, ["db"])) == ["db1"]                        # group name
    assert len(limit_hosts(inv, ["prod"])) == 5                              # parent group
    assert names(limit_hosts(inv, ["prod", "!web"])) == ["db1"]
    assert len(limit_hosts(inv, [])) == 6
    with pytest.raises(ConfigError, match="'nosuch'"):
        limit_hosts(inv, ["db1", "nosuch"])


def test_local_inventory():
    inv = local_inventory()
    (h,) = inv.hosts
    assert (h.name, h.transport, inv.path, inv.sha256) == ("localhost", "local", None, None)
    assert isinstance(h, Host)


# -- the shipped examples ---------------------------------------------------------------------

def test_example_inventories_parse():
    inv = load_inventory(REPO / "inventories" / "example.yml")
    hosts = {h.name: h for h in inv.hosts}
    prod = [h for h in inv.hosts if "prod" in h.groups]
    assert prod and all(h.jump for h in prod)
    assert any(h.params for h in prod)
    ini = load_inventory(REPO / "inventories" / "example-ansible.ini")
    assert ini.hosts
    assert hosts
