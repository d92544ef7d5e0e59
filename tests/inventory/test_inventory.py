"""Loading an inventory file (formats, missing/empty/unsafe files), --limit, the local inventory
and the shipped examples.
"""

from __future__ import annotations


import pytest

from hardencheck.errors import ConfigError
from hardencheck.inventory import (FORMATS, Host, detect_format, limit_hosts, load_inventory,
                                   local_inventory)
from tests.inventory.util import DATA, REPO, errors_of, write


def test_format_registry_and_detection():
    assert set(FORMATS) == {"native", "ansible-json", "ansible-yaml", "ini"}
    for name, fmt in FORMATS.items():
        assert fmt.name == name and callable(fmt.load)
    assert detect_format("hosts:\n  h: {}\n")[0] == "native"
    assert detect_format("groups: {}\n")[0] == "native"              # nobody claims: native
    assert detect_format("all:\n  hosts: {h: }\n")[0] == "ansible-yaml"
    assert detect_format("web:\n  hosts: {h: }\n")[0] == "ansible-yaml"
    assert detect_format('{"_meta": {"hostvars": {}}, "all": {"children": ["web"]}}')[0] == "ansible-json"
    assert detect_format('{"web": {"hosts": ["h"]}}')[0] == "ansible-json"
    assert detect_format("[web]\nh\n")[0] == "ini"
    assert detect_format("h1\nh2\n")[0] == "ini"                    # YAML, but not a mapping
    assert detect_format("hosts: {}\n", "inv.cfg") == ("ini", None)  # by suffix


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_inventory(tmp_path / "nope.yml")
    with pytest.raises(ConfigError, match="empty"):
        load_inventory(write(tmp_path, "empty.yml", "\n"))


def test_unsafe_yaml_tags_refused(tmp_path):
    p = write(tmp_path, "inv.yml", "hosts:\n  h: !!python/object/apply:os.system ['id']\n")
    (e,) = errors_of(p)
    assert e.line == 2


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


def test_example_inventories_parse():
    inv = load_inventory(REPO / "inventories" / "example.yml")
    hosts = {h.name: h for h in inv.hosts}
    prod = [h for h in inv.hosts if "prod" in h.groups]
    assert prod and all(h.jump for h in prod)
    assert any(h.params for h in prod)
    ini = load_inventory(REPO / "inventories" / "example-ansible.ini")
    assert ini.hosts
    assert hosts
