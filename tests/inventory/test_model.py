"""Value checks (addresses, users, jump specs) and ``Host.transport`` against the transport
registry: directly and through an inventory, with file:line [field].
"""

from __future__ import annotations

import json

import pytest

from hardencheck.collect.transports import TRANSPORT_NAMES
from hardencheck.inventory import JumpHost, check_address, check_user, load_inventory, parse_jump
from tests.inventory.util import errors_of, where, write


@pytest.mark.parametrize("address", ["h; rm -rf /", "-oProxyCommand=x", "a b", "$(id)", "`id`",
                                     "host|x", "x&y", "a\nb", "", "ex ample.com", "-x",
                                     "a..b", "-leading.example.com",
                                     "fe80::1%;id", "fe80::1%a b", "[::1];id"])
def test_bad_addresses_refused(tmp_path, address):
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
    p = write(tmp_path, "inv.yml", f"defaults: {{user: {json.dumps(user)}}}\nhosts:\n  h: {{}}\n")
    assert where(errors_of(p)) == {(1, "defaults.user")}


@pytest.mark.parametrize("user", ["root", "audit", "svc.scan", "scan-01", "j.doe@EXAMPLE.COM"])
def test_good_users(user):
    assert check_user(user) == user


def test_parse_jump():
    assert parse_jump("u@b1.example.com:2222,b2,ssh://v@[2001:db8::1]:22") == [
        JumpHost("b1.example.com", 2222, "u"), JumpHost("b2", 22, None),
        JumpHost("2001:db8::1", 22, "v")]
    assert parse_jump("none") == []
    for bad in ["b;x", "u;x@b", "-oProxyCommand=x", "b:99999", "b:", "a,,b", "$(id)"]:
        with pytest.raises(ValueError):
            parse_jump(bad)


def test_unknown_transport_names_file_line_field_and_the_known_ones(tmp_path):
    p = write(tmp_path, "inv.yml", "defaults: {user: audit}\nhosts:\n"
                                   "  h: {address: localhost, transport: telnet}\n")
    (e,) = errors_of(p)
    assert (e.file, e.line, e.field) == (str(p), 3, "hosts.h.transport")
    assert e.message == ("unknown transport 'telnet' (known transports: "
                         f"{', '.join(TRANSPORT_NAMES)})")
    assert str(e).startswith(f"{p}:3 [hosts.h.transport]: unknown transport 'telnet'")
    assert {"ssh", "local", "replay"} <= set(TRANSPORT_NAMES)


def test_unknown_transport_in_ansible_sources_names_the_source_key(tmp_path):
    ini = write(tmp_path, "inv.ini", "[web]\nw1 hardencheck_transport=telnet\n\n"
                                     "[db:vars]\nhardencheck_transport=5\n[db]\nd1\n")
    errs = errors_of(ini)
    assert where(errs) == {(2, "w1.hardencheck_transport"), (5, "db:vars.hardencheck_transport")}
    assert all("unknown transport" in e.message and "known transports: " in e.message
               for e in errs)
    yml = write(tmp_path, "inv.yml", "all:\n  hosts:\n    h:\n      hardencheck_transport: 5\n")
    (e,) = errors_of(yml)
    assert (e.line, e.field) == (4, "all.hosts.h.hardencheck_transport")
    assert e.message.startswith("unknown transport 5 ")


def test_every_registered_transport_is_accepted(tmp_path):
    body = "".join(f"  h{i}: {{address: localhost, transport: {name}}}\n"
                   for i, name in enumerate(TRANSPORT_NAMES))
    hosts = load_inventory(write(tmp_path, "inv.yml", "hosts:\n" + body)).hosts
    assert [h.transport for h in hosts] == list(TRANSPORT_NAMES)
