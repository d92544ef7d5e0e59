"""Ansible Vault: recognised, refused, never decrypted.

An inventory or a vars file may hold vault-encrypted values (a ``!vault`` tagged scalar, text
that starts with ``$ANSIBLE_VAULT;``, ``{"__ansible_vault": ...}`` in ``ansible-inventory`` JSON)
or be a vault-encrypted file as a whole. hardencheck has no vault password and wants none: each
such value is an error that names the file, the line and the variable, and the scan stops before
anything connects (the encrypted text is never sent anywhere).

``load_yaml`` is the strict YAML reader of ``yaml_source`` that also understands Ansible's tags
(``!vault`` becomes a ``Vaulted`` marker, ``!unsafe`` a plain string); ``vault_errors`` finds the
markers in a parsed document.
"""

from __future__ import annotations

from typing import Any, Iterator

import yaml

from hardencheck import yaml_source
from hardencheck.errors import ConfigError
from hardencheck.yaml_source import dotted, line_of

VAULT_HEADER = "$ANSIBLE_VAULT;"


class Vaulted:
    """Where a ``!vault`` value stood (its ciphertext is not kept)."""

    def __init__(self, line: int):
        self.line = line

    def __repr__(self) -> str:
        return "<vault-encrypted>"


class _AnsibleLoader(yaml_source._Loader):     # strict SafeLoader with source lines
    pass


_AnsibleLoader.add_constructor("!vault", lambda loader, node: Vaulted(node.start_mark.line + 1))
_AnsibleLoader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node)
                               if isinstance(node, yaml.ScalarNode) else None)


def is_vaulted(value: Any) -> bool:
    if isinstance(value, Vaulted):
        return True
    if isinstance(value, str):
        return value.lstrip().startswith(VAULT_HEADER)
    return isinstance(value, dict) and "__ansible_vault" in value


def message(variable: Any) -> str:
    return (f"{variable!r} is vault-encrypted: hardencheck never decrypts Ansible Vault data and "
            "never sends it; remove it from what hardencheck reads (secrets do not belong to a scan: "
            "a sudo password comes from sudo_password_env)")


def file_error(text: str, file: str) -> ConfigError | None:
    """A vault-encrypted file as a whole (``ansible-vault encrypt``)."""
    if text.lstrip().startswith(VAULT_HEADER):
        return ConfigError("the file is vault-encrypted (ansible-vault): hardencheck never decrypts "
                           "Ansible Vault data and never sends it; keep secrets in a file hardencheck "
                           "does not read", file=file, line=1)
    return None


def load_yaml(text: str, file: str = "<string>") -> Any:
    """``yaml_source.load_text`` with Ansible's ``!vault`` and ``!unsafe`` tags; a vault-encrypted
    file is an error."""
    err = file_error(text, file)
    if err is not None:
        raise err
    try:
        return yaml.load(text, Loader=_AnsibleLoader)  # noqa: S506 - derives from SafeLoader
    except ConfigError as e:
        raise ConfigError(e.message, file=file, line=e.line, field=e.field) from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        raise ConfigError(f"not valid YAML: {e.problem or e}", file=file,
                          line=mark.line + 1 if mark else None) from None
    except yaml.YAMLError as e:
        raise ConfigError(f"not valid YAML: {e}", file=file) from None


def _walk(node: Any, path: tuple) -> Iterator[tuple]:
    if isinstance(node, dict) and not is_vaulted(node):
        for k, v in node.items():
            yield from _walk(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, path + (i,))
    elif is_vaulted(node):
        yield path


def vault_errors(doc: Any, file: str, prefix: tuple = ()) -> list[ConfigError]:
    """One error per vault-encrypted value in a parsed document (file, line, dotted field)."""
    out = []
    for path in _walk(doc, ()):
        node = doc
        for step in path:
            node = node[step]
        line = node.line if isinstance(node, Vaulted) else line_of(doc, path)
        variable = next((p for p in reversed(path) if isinstance(p, str)), None) or dotted(path)
        out.append(ConfigError(message(variable), file=file, line=line,
                               field=dotted(prefix + path) or None))
    return out

