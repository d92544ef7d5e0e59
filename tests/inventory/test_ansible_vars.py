"""Ansible compatibility checked against Ansible itself: group_vars/ and host_vars/ beside the
inventory and beside the playbook directory (--ansible-dir), Ansible's precedence, the JSON of
``ansible-inventory --list`` as an inventory, and vault-encrypted values refused.

The oracle is ``ansible-inventory -i X [--playbook-dir D] --list`` (ansible-core, a test
dependency): for every host, the variables that matter to hardencheck (address, port, user,
become, identity file, groups, the free variables) must be what Ansible resolves.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hardencheck.errors import ConfigError, ConfigErrors
from hardencheck.inventory import load_inventory
from hardencheck.inventory.ansible_common import _ANSIBLE_MAP, _SSH_ARGS_VARS

ANSIBLE_INVENTORY = Path(sys.executable).with_name("ansible-inventory")
pytestmark = pytest.mark.skipif(not ANSIBLE_INVENTORY.exists(), reason="ansible-core not installed")

_NOT_FREE = set(_ANSIBLE_MAP) | set(_SSH_ARGS_VARS) | {
    "ansible_connection", "ansible_become_method", "ansible_become_user"}


def oracle(inventory: Path, playbook_dir: Path | None = None) -> dict:
    """What ansible-inventory --list prints (cwd: a scratch folder, no ansible.cfg)."""
    argv = [str(ANSIBLE_INVENTORY), "-i", str(inventory), "--list"]
    if playbook_dir:
        argv += ["--playbook-dir", str(playbook_dir)]
    cfg = inventory.parent / ".oracle-ansible.cfg"     # empty: Ansible's defaults
    cfg.write_text("")
    env = {**os.environ, "ANSIBLE_DEPRECATION_WARNINGS": "0", "ANSIBLE_LOCALHOST_WARNING": "0",
           "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0", "ANSIBLE_CONFIG": str(cfg),
           "PYTHONWARNINGS": "ignore"}
    p = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120,
                       cwd=inventory.parent)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def _bool(v) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in ("yes", "true", "on", "1")
    return bool(v)


def _groups(doc: dict) -> dict[str, set]:
    """host -> its groups (with ancestors), from the --list JSON."""
    parents: dict[str, set] = {}
    for g, body in doc.items():
        for c in (body or {}).get("children", []) if g != "_meta" else []:
            parents.setdefault(c, set()).add(g)
    out: dict[str, set] = {}
    for g, body in doc.items():
        if g == "_meta":
            continue
        for h in (body or {}).get("hosts", []):
            todo, seen = [g], set()
            while todo:
                x = todo.pop()
                if x not in seen:
                    seen.add(x)
                    todo.extend(parents.get(x, ()))
            out.setdefault(h, set()).update(seen - {"all", "ungrouped"})
    return out


def assert_same_as_ansible(inventory: Path, playbook_dir: Path | None = None, loaded=None) -> dict:
    doc = oracle(inventory, playbook_dir)
    inv = loaded or load_inventory(inventory, [playbook_dir] if playbook_dir else ())
    hostvars = doc["_meta"]["hostvars"]
    groups = _groups(doc)
    assert sorted(h.name for h in inv.hosts) == sorted(groups)
    for h in inv.hosts:
        hv = hostvars.get(h.name, {})
        want = {"address": hv.get("ansible_host", h.name), "port": int(hv.get("ansible_port", 22)),
                "user": hv.get("ansible_user"), "become": _bool(hv.get("ansible_become", False)),
                "identity_files": [str((inventory.parent / hv["ansible_ssh_private_key_file"]).resolve())]
                if "ansible_ssh_private_key_file" in hv else [],
                "groups": groups[h.name],
                "vars": {k: v for k, v in hv.items() if k.lower() not in _NOT_FREE
                         and not k.lower().startswith("hardencheck_")}}
        got = {"address": h.address, "port": h.port, "user": h.user, "become": h.become,
               "identity_files": h.identity_files, "groups": set(h.groups), "vars": h.vars}
        assert got == want, h.name
    return hostvars


def tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


INI = """lonely ansible_port=2201
[web]
w1 ansible_host=10.0.0.1
w2
[db]
d1 ansible_user=inv-host
[zeta]
w2
[alpha]
w2
[prod:children]
web
db
[prod:vars]
ansible_user=produser
ansible_become=no
color=prod
[web:vars]
color=web
[alpha:vars]
sibling=alpha
[zeta:vars]
sibling=zeta
[all:vars]
ansible_port=2000
color=all
"""

YAML = """all:
  vars: {ansible_port: 2000, color: all}
  hosts:
    lonely: {ansible_port: 2201}
  children:
    prod:
      vars: {ansible_user: produser, ansible_become: false, color: prod}
      children:
        web:
          vars: {color: web}
          hosts:
            w1: {ansible_host: 10.0.0.1}
            w2:
        db:
          hosts:
            d1: {ansible_user: inv-host}
    zeta:
      vars: {sibling: zeta}
      hosts: {w2: }
    alpha:
      vars: {sibling: alpha}
      hosts: {w2: }
"""

VARS = {
    # a folder: files sorted by name, later ones win; hidden, backup and .txt files are skipped
    "group_vars/web/10-base.yml": "ansible_become: true\nlayer: ten\nlist: [1, 2]\n",
    "group_vars/web/20-more.yaml": "layer: twenty\n",
    "group_vars/web/sub/30-deep.json": '{"deep": "yes"}',
    "group_vars/web/.hidden.yml": "layer: hidden\n",
    "group_vars/web/40-old.yml~": "layer: backup\n",
    "group_vars/web/50-notes.txt": "layer: txt\n",
    # group_vars/all beats every inventory group var (Ansible's precedence), not the host's
    "group_vars/all.yml": "color: group_vars_all\nansible_port: 2222\n",
    # a file without extension is found before db.yml, which is then ignored
    "group_vars/db": "ansible_user: dbadmin\ncolor: db_file\n",
    "group_vars/db.yml": "color: ignored\n",
    "group_vars/ungrouped.yml": "lonely_var: 1\n",
    "group_vars/zeta.yml": "sibling_file: zeta\n",
    "group_vars/alpha.yml": "sibling_file: alpha\n",
    "group_vars/nosuchgroup.yml": "color: never\n",
    # host_vars beat the inventory's host vars
    "host_vars/w1.yml": "ansible_host: 10.0.0.99\nansible_ssh_private_key_file: keys/w1\n",
    "host_vars/d1.json": '{"ansible_port": 2200}',
}
PLAYBOOK = {
    "group_vars/web.yml": "layer: playbook\n",
    "group_vars/all/main.yml": "color: playbook_all\n",
    "host_vars/w2.yml": "ansible_user: pb-w2\n",
}


@pytest.mark.parametrize("name,text", [("hosts.ini", INI), ("hosts.yml", YAML)])
def test_group_and_host_vars_beside_the_inventory_as_ansible_resolves_them(tmp_path, name, text):
    inv = tree(tmp_path, {name: text, **VARS}) / name
    hv = assert_same_as_ansible(inv)
    # the cases this inventory is made of, so that a change on either side shows
    assert hv["w1"]["ansible_host"] == "10.0.0.99" and hv["w1"]["layer"] == "twenty"
    assert hv["w2"]["sibling"] == "zeta" and hv["w2"]["sibling_file"] == "zeta"   # by name
    assert hv["d1"]["ansible_user"] == "inv-host" and hv["d1"]["color"] == "db_file"
    assert hv["w2"]["ansible_user"] == "produser"
    assert hv["lonely"]["ansible_port"] == 2201 and hv["lonely"]["color"] == "group_vars_all"
    assert hv["w2"]["ansible_port"] == 2222 and hv["w2"]["deep"] == "yes"


@pytest.mark.parametrize("name,text", [("hosts.ini", INI), ("hosts.yml", YAML)])
def test_playbook_directory_vars_win_over_the_inventory_folder(tmp_path, name, text):
    inv = tree(tmp_path / "inv", {name: text, **VARS}) / name
    pb = tree(tmp_path / "pb", PLAYBOOK)
    hv = assert_same_as_ansible(inv, pb)
    assert hv["w1"]["layer"] == "playbook" and hv["w2"]["ansible_user"] == "pb-w2"
    assert hv["d1"]["color"] == "db_file"            # inventory group file over playbook all
    assert hv["lonely"]["color"] == "playbook_all"


def test_group_priority_and_depth(tmp_path):
    inv = tree(tmp_path, {"hosts.ini": "[a]\nh1\nh2\n[b]\nh1\nh2\n[c]\nh1\n[top:children]\nc\n"
                          "[a:vars]\nv=a\nansible_group_priority=5\n[b:vars]\nv=b\n"
                          "[c:vars]\nv=c\n[top:vars]\nv=top\n"}) / "hosts.ini"
    hv = assert_same_as_ansible(inv)
    assert hv["h1"]["v"] == "c"        # depth first: c (below top) over a's priority
    assert hv["h2"]["v"] == "a"        # same depth: priority 5 over b (name order would say b)
    assert "ansible_group_priority" not in load_inventory(inv).hosts[0].vars


def test_ansible_inventory_json_as_an_inventory(tmp_path):
    src = tree(tmp_path / "src", {"hosts.ini": INI, **VARS}) / "hosts.ini"
    text = json.dumps(oracle(src), indent=1)
    inv = tmp_path / "json" / "inventory.json"
    inv.parent.mkdir()
    inv.write_text(text)
    # the oracle reads the same JSON through a script that prints it (Ansible runs scripts;
    # hardencheck only reads the file)
    script = tmp_path / "json" / "script.sh"
    script.write_text(f"#!/bin/sh\nexec cat {inv}\n")
    script.chmod(0o755)
    assert_same_as_ansible(script, loaded=load_inventory(inv))
    w1 = load_inventory(inv).host("w1")
    assert (w1.address, w1.port, w1.become) == ("10.0.0.99", 2222, True)
    assert w1.identity_files == [str(tmp_path / "json" / "keys" / "w1")]


def test_json_export_with_group_vars(tmp_path):
    src = tree(tmp_path, {"hosts.ini": INI})
    doc = oracle(src / "hosts.ini")
    p = subprocess.run([str(ANSIBLE_INVENTORY), "-i", str(src / "hosts.ini"), "--list", "--export"],
                       capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore",
                                                            "ANSIBLE_CONFIG": str(src / ".oracle-ansible.cfg")})
    exported = tmp_path / "export.json"
    exported.write_text(p.stdout)
    inv = load_inventory(exported)
    for h in inv.hosts:
        hv = doc["_meta"]["hostvars"].get(h.name, {})
        assert (h.user, h.port, h.vars.get("color")) == (hv.get("ansible_user"), hv.get("ansible_port", 22),
                                                          hv.get("color")), h.name


def _errors(fn) -> list[ConfigError]:
    with pytest.raises(ConfigError) as ei:
        fn()
    e = ei.value
    return e.errors if isinstance(e, ConfigErrors) else [e]


def vaulted(indent: int = 2) -> str:
    pad = " " * indent
    return f"!vault |\n{pad}$ANSIBLE_VAULT;1.1;AES256\n{pad}3132333435363738\n"


def test_vault_values_are_refused_naming_variable_and_file(tmp_path):
    tree(tmp_path, {"hosts.ini": "[web]\nw1\n",
                    "group_vars/web.yml": f"ok: 1\nansible_become_password: {vaulted()}",
                    "host_vars/w1/secrets.yml": f"nested:\n  token: {vaulted(4)}"})
    errs = _errors(lambda: load_inventory(tmp_path / "hosts.ini"))
    got = {(Path(e.file).name, e.line, e.field) for e in errs}
    assert got == {("web.yml", 2, "ansible_become_password"), ("secrets.yml", 2, "nested.token")}
    assert all("vault-encrypted" in e.message and "3132" not in str(e) for e in errs)
    assert "'ansible_become_password'" in errs[0].message or "'ansible_become_password'" in errs[1].message


def test_vault_in_inventories_and_vault_files(tmp_path):
    p = tree(tmp_path / "a", {"inv.yml": f"all:\n  hosts:\n    h1:\n      db_pass: {vaulted(8)}"}) / "inv.yml"
    (e,) = _errors(lambda: load_inventory(p))
    assert (e.line, e.field) == (4, "all.hosts.h1.db_pass") and "'db_pass'" in e.message
    p = tree(tmp_path / "b", {"inv.ini": "h1 api_key='$ANSIBLE_VAULT;1.1;AES256 3132'\n"}) / "inv.ini"
    (e,) = _errors(lambda: load_inventory(p))
    assert e.line == 1 and "'api_key'" in e.message and "vault-encrypted" in e.message
    p = tree(tmp_path / "c", {"inv.ini": "h1\n",
                              "group_vars/all/vault.yml": "$ANSIBLE_VAULT;1.1;AES256\n3132\n"}) / "inv.ini"
    (e,) = _errors(lambda: load_inventory(p))
    assert e.file.endswith("group_vars/all/vault.yml") and "vault-encrypted" in e.message
    p = tree(tmp_path / "d", {"inv.json": json.dumps({"_meta": {"hostvars": {"h1": {
        "secret": {"__ansible_vault": "$ANSIBLE_VAULT;1.1;AES256\n3132\n"}}}},
        "all": {"children": ["ungrouped"]}, "ungrouped": {"hosts": ["h1"]}})}) / "inv.json"
    (e,) = _errors(lambda: load_inventory(p))
    assert e.field == "_meta.hostvars.h1.secret" and "'secret'" in e.message


def test_vars_file_errors_name_file_line_and_variable(tmp_path):
    tree(tmp_path, {"hosts.ini": "[web]\nw1\n", "group_vars/web.yml": "x: 1\nansible_port: many\n",
                    "host_vars/w1.yml": "- not a mapping\n"})
    errs = _errors(lambda: load_inventory(tmp_path / "hosts.ini"))
    got = {(Path(e.file).name, e.line, e.field) for e in errs}
    assert ("web.yml", 2, "ansible_port") in got
    assert any(Path(e.file).name == "w1.yml" and "mapping" in e.message for e in errs)


def test_ansible_dir_must_be_a_folder(tmp_path):
    inv = tree(tmp_path, {"hosts.ini": "h1\n"}) / "hosts.ini"
    (e,) = _errors(lambda: load_inventory(inv, [tmp_path / "missing"]))
    assert e.field == "--ansible-dir"


def test_native_inventories_ignore_group_vars(tmp_path):
    tree(tmp_path, {"inv.yml": "hosts:\n  h1: {}\n", "group_vars/all.yml": "ansible_user: x\n"})
    assert load_inventory(tmp_path / "inv.yml").hosts[0].user is None


def test_oracle_is_ansible(tmp_path):
    """The comparison can fail: a hand-broken value differs from what Ansible prints."""
    inv = tree(tmp_path, {"hosts.ini": INI, **VARS}) / "hosts.ini"
    loaded = load_inventory(inv)
    loaded.host("w2").user = "someone-else"
    with pytest.raises(AssertionError):
        assert_same_as_ansible(inv, loaded=loaded)



def test_scan_cli_takes_ansible_dir(tmp_path):
    """hardencheck scan --ansible-dir: the playbook directory's host_vars reach the scanned host."""
    from hardencheck.cli import main
    inv = tree(tmp_path / "inv", {"hosts.ini": "here ansible_connection=local\n",
                                  "group_vars/all.yml": "hardencheck_tags: [beside]\n"}) / "hosts.ini"
    pb = tree(tmp_path / "pb", {"host_vars/here.yml": "hardencheck_tags: [playbook]\n"})
    out = tmp_path / "out"
    main(["scan", "-i", str(inv), "--ansible-dir", str(pb), "--control", "KERN-001", "--out", str(out),
          "--no-history", "--quiet", "--format", "json"])
    (doc,) = out.glob("*/results.json")
    (host,) = json.loads(doc.read_text())["hosts"]
    assert host["tags"] == ["beside", "playbook"]      # tags add up over the layers
    assert main(["scan", "-i", str(inv), "--ansible-dir", str(tmp_path / "nope"), "--out", str(out)]) == 3


def test_the_vars_files_read_are_listed_with_their_hashes(tmp_path):
    inv = tree(tmp_path / "inv", {"hosts.ini": INI, **VARS}) / "hosts.ini"
    pb = tree(tmp_path / "pb", PLAYBOOK)
    files = load_inventory(inv, [pb]).vars_files
    names = [str(Path(f["path"]).relative_to(tmp_path)) for f in files]
    assert "inv/group_vars/web/20-more.yaml" in names and "pb/host_vars/w2.yml" in names
    assert "inv/group_vars/db.yml" not in names and "inv/group_vars/nosuchgroup.yml" not in names
    assert len(names) == len(set(names))
    import hashlib
    for f in files:
        assert f["sha256"] == hashlib.sha256(Path(f["path"]).read_bytes()).hexdigest()
