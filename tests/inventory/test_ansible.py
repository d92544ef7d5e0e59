"""Ansible inventories (YAML and INI): variables, ssh args, host ranges, error lines."""

from __future__ import annotations

import json

import pytest

from hardencheck.inventory import JumpHost, expand_host_pattern, load_inventory
from tests.inventory.util import DATA, errors_of, where, write


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
    p = write(tmp_path, "inv.yml",
              f"all:\n  hosts:\n    h:\n      ansible_ssh_common_args: {json.dumps(args)}\n")
    assert where(errors_of(p)) == {(4, "all.hosts.h.ansible_ssh_common_args")}


@pytest.mark.parametrize("args,jump", [("-J b.example.com", "b.example.com"),
                                       ("-Jb.example.com:2", "b.example.com"),
                                       ("-o ProxyJump=u@b.example.com", "b.example.com"),
                                       ("-o 'ProxyJump u@b.example.com'", "b.example.com")])
def test_ssh_args_proxyjump(tmp_path, args, jump):
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
