"""host.os: distribution, identity and kernel of the host (always collected)."""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, require_success, section
from hardencheck.collect.probes.base import Probe
from hardencheck.collect.probe_script import BASE_TOOLS

FAMILIES = {
    "debian": {"debian", "ubuntu", "raspbian", "linuxmint", "pop", "elementary", "kali",
               "devuan", "neon", "zorin", "pureos", "deepin", "mx"},
    "rhel": {"rhel", "centos", "rocky", "almalinux", "fedora", "ol", "amzn", "scientific",
             "cloudlinux", "eurolinux", "virtuozzo", "circle", "navy", "anolis", "openeuler"},
    "suse": {"suse", "sles", "sled", "sles_sap", "opensuse", "opensuse-leap",
             "opensuse-tumbleweed", "opensuse-microos", "sle-micro"},
    "alpine": {"alpine", "postmarketos"},
    "arch": {"arch", "archarm", "manjaro", "endeavouros", "artix", "garuda"},
}

_KEY = re.compile(r"^([A-Z][A-Z0-9_]*)=(.*)$")


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        inner = value[1:-1]
        if value[0] == '"':
            inner = re.sub(r'\\([\\"$`])', r"\1", inner)
        return inner
    return value


def parse_os_release(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = _KEY.match(line)
        if m:
            values[m.group(1)] = clean(_unquote(m.group(2)), 200)
    return values


def family_of(os_id: str, id_like: list[str]) -> str:
    for candidate in [os_id, *id_like]:
        c = candidate.lower()
        for family, ids in FAMILIES.items():
            if c in ids or (family == "suse" and c.startswith("opensuse")):
                return family
    return "unknown"


class HostOs(Probe):
    name = "host.os"
    summary = "Distribution (os-release), hostname, machine id, kernel, virtualization, scanner uid"
    timeout = 20
    # identity's evidence records the base tools every snippet may use (probe_script.BASE_TOOLS):
    # where each resolved, owner and mode
    tools = {"identity": BASE_TOOLS, "virt": ("systemd-detect-virt",)}
    commands = {
        # ID and friends; exit 3 = neither file exists (os-release(5) defaults then apply).
        "os_release": (
            "if [ -r /etc/os-release ]; then cat /etc/os-release; "
            "elif [ -r /usr/lib/os-release ]; then cat /usr/lib/os-release; "
            "else echo 'no os-release file' >&2; exit 3; fi"
        ),
        "identity": (
            "printf 'hostname=%s\\n' \"$(uname -n)\"; "
            "if [ -r /etc/machine-id ]; then printf 'machine_id=%s\\n' \"$(sed -n 1p /etc/machine-id)\"; fi; "
            "printf 'kernel=%s\\n' \"$(uname -r)\"; "
            "printf 'uid=%s\\n' \"$(id -u)\""
        ),
        # prints "none" with exit 1 on bare metal
        "virt": "command -v systemd-detect-virt >/dev/null 2>&1 || exit 127; systemd-detect-virt",
    }

    def parse(self, out, args):
        rel = section(out, "os_release", "reading /etc/os-release")
        if rel.exit_code == 3:
            osr: dict[str, str] = {}
        else:
            require_success(rel, "reading /etc/os-release")
            osr = parse_os_release(rel.stdout)
            if not osr:
                raise ProbeError("unparsable", "os-release contained no KEY=value lines")

        ident = section(out, "identity", "host identity (uname, id)")
        require_success(ident, "host identity (uname, id)")
        kv: dict[str, str] = {}
        for line in ident.stdout.splitlines():
            key, sep, value = line.partition("=")
            if sep and key in ("hostname", "machine_id", "kernel", "uid") and key not in kv:
                kv[key] = value.strip()
        if not re.fullmatch(r"[0-9]{1,10}", kv.get("uid", "")):
            raise ProbeError("unparsable", "id -u did not print a number")
        if not kv.get("kernel") or not kv.get("hostname"):
            raise ProbeError("unparsable", "uname printed no hostname or kernel release")
        machine_id = kv.get("machine_id") or None
        if machine_id is not None and not re.fullmatch(r"[0-9a-fA-F]{32}", machine_id):
            machine_id = clean(machine_id, 64)  # e.g. "uninitialized": keep, but bounded

        virt_sec = section(out, "virt", "systemd-detect-virt")
        if virt_sec.exit_code == 127:
            virtualization = None
        else:
            # exit 1 with "none" means: no virtualization found
            require_success(virt_sec, "systemd-detect-virt", ok_codes=(0, 1))
            words = virt_sec.stdout.split()
            if len(words) != 1 or not re.fullmatch(r"[a-z0-9_-]{1,40}", words[0]):
                raise ProbeError("unparsable", "systemd-detect-virt printed something unexpected")
            virtualization = words[0]

        os_id = osr.get("ID", "linux").lower() or "linux"
        id_like = [w.lower() for w in osr.get("ID_LIKE", "").split()]
        return {
            "id": os_id,
            "id_like": id_like,
            "family": family_of(os_id, id_like),
            "version_id": osr.get("VERSION_ID") or None,
            "pretty_name": osr.get("PRETTY_NAME") or osr.get("NAME") or "Linux",
            "hostname": clean(kv["hostname"], 255),
            "machine_id": machine_id,
            "kernel": clean(kv["kernel"], 200),
            "virtualization": virtualization,
            "uid": int(kv["uid"]),
        }
