"""The schema every layer is validated against (pydantic v2, strict, extra keys forbidden).

One model per layer kind (defaults, group, host), sharing the connection keys (``CONN_KEYS``).
``validate_layer`` reports pydantic's errors in the inventory's words, at the layer's
``file:line [field]``, and returns the layer's values as native keys.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Callable

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from hardencheck.inventory.model import (check_address, check_name, check_transport, check_user,
                                         parse_jump)
from hardencheck.inventory.source import Collector, Layer

_ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


def _listify(v: Any) -> Any:
    return [v] if isinstance(v, str) else v


def _v(fn: Callable) -> BeforeValidator:
    return BeforeValidator(lambda v: fn(v) if v is not None else v)


StrList = Annotated[list[str], BeforeValidator(_listify)]
Name = Annotated[str, _v(check_name)]
User = Annotated[str, _v(check_user)]
ParamName = Annotated[str, _v(lambda v: check_name(v, "parameter name"))]
ControlId = Annotated[str, _v(lambda v: check_name(v, "control id"))]

CONN_KEYS = ("user", "port", "identity_file", "identities_only", "known_hosts_file", "jump",
             "jump_max_sessions", "become", "sudo_password_env", "connect_timeout", "command_timeout", "idle_timeout",
             "transport")


class _Common(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    user: User | None = None
    port: int | None = Field(None, ge=1, le=65535)
    identity_file: StrList | None = None
    identities_only: bool | None = None
    known_hosts_file: StrList | None = None
    jump: StrList | None = None
    jump_max_sessions: int | None = Field(None, ge=1, le=1000)
    become: bool | None = None
    sudo_password_env: str | None = Field(None, pattern=_ENV_RE.pattern)
    connect_timeout: float | None = Field(None, gt=0, le=3600)
    command_timeout: float | None = Field(None, gt=0, le=86400)
    idle_timeout: float | None = Field(None, ge=0, le=86400)      # 0: no idle limit
    transport: Annotated[str, _v(check_transport)] | None = None
    tags: list[Name] | None = None
    vars: dict[str, Any] | None = None
    params: dict[ControlId, dict[ParamName, Any]] | None = None

    @field_validator("jump")
    @classmethod
    def _jump(cls, v):
        if v is not None:
            parse_jump(v)
        return v

    @field_validator("identity_file", "known_hosts_file")
    @classmethod
    def _paths(cls, v):
        for p in v or []:
            if not p or "\0" in p:
                raise ValueError(f"invalid path {p!r}")
        return v


class _DefaultsModel(_Common):
    pass


class _GroupModel(_Common):
    children: list[Name] | None = None


class _HostModel(_Common):
    address: Annotated[str, _v(check_address)] | None = None
    groups: list[Name] | None = None


_MODELS = {"defaults": _DefaultsModel, "group": _GroupModel, "host": _HostModel}


_HOST_ONLY = {"address", "groups"}
_FRIENDLY = {
    "bool_type": "must be true or false",
    "int_type": "must be a whole number",
    "float_type": "must be a number",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "dict_type": "must be a mapping",
}


def validate_layer(layer: Layer, col: Collector) -> dict | None:
    try:
        model = _MODELS[layer.kind].model_validate(layer.data, strict=True)
    except ValidationError as e:
        for err in e.errors():
            msg = _FRIENDLY.get(err["type"], err["msg"])
            if err["type"] == "extra_forbidden":
                key = err["loc"][-1]
                src = layer.key_map.get(key, key) if len(err["loc"]) == 1 else key
                if key in _HOST_ONLY and layer.kind != "host":
                    msg = f"{src!r} can only be set for a host, not for {layer.kind} {layer.name!r}"
                elif key == "children" and layer.kind != "group":
                    msg = f"{src!r} can only be set for a group"
                else:
                    msg = f"unknown key {src!r}"
            elif err["type"] == "string_pattern_mismatch" and "sudo_password_env" in err["loc"]:
                msg = "must be the NAME of an environment variable (letters, digits, '_')"
            elif msg.startswith("Value error, "):
                msg = msg[len("Value error, "):]
            col.at(layer, tuple(err["loc"]), msg)
        return None
    return model.model_dump(exclude_none=True)
