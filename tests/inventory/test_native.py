"""The native inventory format: precedence, groups, validation with file:line [field]."""

from __future__ import annotations

import hashlib
import os


from hardencheck.inventory import JumpHost, load_inventory
from tests.inventory.util import DATA, errors_of, where, write


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
