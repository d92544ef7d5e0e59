"""Inventories: which hosts to scan and how to reach them.

Four formats, detected by content (``loader.detect_format``):

* native YAML (``defaults`` / ``groups`` / ``hosts``),
* Ansible YAML inventories as they are (``all:`` with ``hosts`` / ``children`` / ``vars``),
* Ansible INI inventories (``[group]``, ``[group:vars]``, ``[group:children]``),
* the JSON of ``ansible-inventory --list`` (``_meta.hostvars``).

Ansible inventories also take the ``group_vars/`` and ``host_vars/`` beside them and beside the
playbook directory (``--ansible-dir``), with Ansible's precedence; vault-encrypted values are
refused, never decrypted.

All three are turned into the same intermediate form (a list of *layers*: defaults, groups,
hosts), validated by the same pydantic models and merged with the same precedence::

    defaults  <  groups (parents before children, in declaration order)  <  host

Every value that later reaches a command line, a socket or a file name is validated here:
addresses must be DNS names or IP literals, users follow OpenSSH's rules (no shell
metacharacters, no leading ``-``), jump hosts are structured data, never shell snippets, the
transport is one of the transport registry's names, and passwords are never read from an
inventory (``sudo_password_env`` names an environment variable instead). Every error names
file, line and field, and all errors of a file are reported together (``ConfigErrors``).

The modules, in the order data flows through them:

* ``model.py``: ``Host``, ``JumpHost``, ``Inventory`` and the value checks (``check_address``,
  ``check_port``, ``check_user``, ``check_transport``, ``parse_jump`` ...).
* ``loader.py``: ``load_inventory``; the registry of formats (``FORMATS``) and the detection.
* ``native.py``, ``ansible_yaml.py``, ``ansible_ini.py``, ``ansible_json.py``: one module per
  format, each turning its source into layers; ``ansible_common.py`` is what the Ansible formats
  share (variables -> native keys, host ranges, the group/host builder); ``ansible_vars.py``
  reads group_vars/ and host_vars/; ``vault.py`` recognises (and refuses) Ansible Vault data.
* ``source.py``: the layer (a block of the source that remembers where it came from) and the
  error collector.
* ``schema.py``: the pydantic models each layer is validated against.
* ``merge.py``: validated layers -> ``Host`` objects (group membership and precedence).
* ``selection.py``: ``limit_hosts`` (``--limit``); ``local.py``: ``local_inventory``.
* ``ssh_config.py`` (imported on its own, it needs paramiko): applies ``~/.ssh/config`` to a
  host; ``ssh_config_file.py`` reads and checks the config file (``Include``, ``Match exec``).
"""

from __future__ import annotations

from hardencheck.inventory.ansible_common import expand_host_pattern
from hardencheck.inventory.loader import (FORMATS, detect_format, load_inventory,
                                          parse_inventory_text)
from hardencheck.inventory.local import local_inventory
from hardencheck.inventory.model import (Host, Inventory, JumpHost, check_address, check_name,
                                         check_port, check_transport, check_user, expand_path,
                                         parse_jump)
from hardencheck.inventory.selection import limit_hosts

__all__ = [
    "FORMATS", "Host", "Inventory", "JumpHost", "check_address", "check_name", "check_port",
    "check_transport", "check_user", "detect_format", "expand_host_pattern", "expand_path",
    "limit_hosts", "load_inventory", "local_inventory", "parse_inventory_text", "parse_jump",
]
