"""journald.config: is the systemd journal kept on disk (effective ``Storage=``, /var/log/journal).

Also home of a small helper for systemd-style configuration files (main file plus ``.conf.d``
drop-ins, later wins) that other probes of this kind import: only the named keys travel, never
whole files.
"""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, require_success, section
from hardencheck.collect.probes.base import Probe

_DROPIN_DIRS = ("/usr/lib/systemd", "/usr/local/lib/systemd", "/run/systemd", "/etc/systemd")
_MAIN_ORDER = ("/etc/systemd", "/run/systemd", "/usr/local/lib/systemd", "/usr/lib/systemd")
_KEY = re.compile(r"^\s*([A-Za-z]+)\s*=\s*(.*?)\s*$")


def systemd_conf_snippet(name: str, keys: tuple[str, ...]) -> str:
    """Shell: ``path<TAB>line`` for every ``Key=`` line of ``keys`` in the main ``name.conf`` and
    its drop-ins. Exit 13 when one of the files cannot be read."""
    files = " ".join([f"{d}/{name}.conf" for d in _MAIN_ORDER]
                     + [f"{d}/{name}.conf.d/*.conf" for d in _DROPIN_DIRS])
    pattern = "|".join(keys)
    return (
        f"for f in {files}; do [ -f \"$f\" ] || continue; "
        "if [ ! -r \"$f\" ]; then echo \"$f: Permission denied\" >&2; exit 13; fi; "
        "printf '%s\\t\\n' \"$f\"; "
        f"grep -aE '^[[:space:]]*({pattern})[[:space:]]*=' \"$f\" | head -n 50 | "
        "while IFS= read -r l; do printf '%s\\t%s\\n' \"$f\" \"$l\"; done; done; exit 0"
    )


def effective_systemd_conf(text: str, name: str, what: str) -> tuple[dict[str, str], list[str]]:
    """The effective values (last assignment wins, an empty one resets) and the files read, in
    systemd's order: the first main file found, then drop-ins sorted by file name (a drop-in in
    /etc hides one of the same name in /run or /usr/lib)."""
    by_file: dict[str, list[tuple[str, str]]] = {}
    for raw in text.splitlines():
        path, sep, line = raw.partition("\t")
        if not sep or not path.startswith("/") or len(path) > 512:
            raise ProbeError("unparsable", f"{what}: unexpected line {clean(raw, 80)!r}")
        entries = by_file.setdefault(path, [])
        if line.strip():
            m = _KEY.match(line)
            if m:
                entries.append((m.group(1), clean(m.group(2), 200)))
    main = next((f"{d}/{name}.conf" for d in _MAIN_ORDER if f"{d}/{name}.conf" in by_file), None)
    dropins: dict[str, str] = {}
    for d in _DROPIN_DIRS:  # later directories win for the same file name
        prefix = f"{d}/{name}.conf.d/"
        for path in by_file:
            if path.startswith(prefix):
                dropins[path[len(prefix):]] = path
    order = ([main] if main else []) + [dropins[k] for k in sorted(dropins)]
    values: dict[str, str] = {}
    for path in order:
        for key, value in by_file[path]:
            if value == "":
                values.pop(key, None)
            else:
                values[key] = value
    return values, order


ABSENT = "HC_NO_SYSTEMD"


class JournaldConfig(Probe):
    name = "journald.config"
    summary = "systemd-journald: effective Storage= (journald.conf + drop-ins), /var/log/journal present"
    timeout = 15
    commands = {
        "conf": (
            f"if [ ! -e /lib/systemd/systemd-journald ] && [ ! -e /usr/lib/systemd/systemd-journald ]; "
            f"then echo {ABSENT}; exit 0; fi; "
            + systemd_conf_snippet("journald", ("Storage", "MaxRetentionSec", "SystemMaxUse",
                                                "ForwardToSyslog", "Compress", "Seal"))
        ),
        "journal_dir": (
            "if [ -d /var/log/journal ]; then echo dir=yes; else echo dir=no; fi; "
            "if [ -d /run/systemd/system ]; then echo booted=yes; else echo booted=no; fi"
        ),
    }

    def parse(self, out, args):
        sec = section(out, "conf", "journald.conf")
        if sec.exit_code == 13:
            raise ProbeError("permission_denied", f"journald.conf: {clean(sec.stderr, 120)}")
        require_success(sec, "reading journald.conf")
        if sec.stdout.strip() == ABSENT:
            return {"journald": False, "storage": None, "persistent": False,
                    "journal_dir_exists": None, "max_retention_sec": None,
                    "forward_to_syslog": None, "files": [], "systemd_booted": None}
        values, files = effective_systemd_conf(sec.stdout, "journald", "journald.conf")
        dsec = section(out, "journal_dir", "/var/log/journal")
        require_success(dsec, "checking /var/log/journal")
        kv = dict(line.strip().partition("=")[::2] for line in dsec.stdout.splitlines() if "=" in line)
        if kv.get("dir") not in ("yes", "no") or kv.get("booted") not in ("yes", "no"):
            raise ProbeError("unparsable", "/var/log/journal check printed something unexpected")
        dir_exists = kv["dir"] == "yes"
        storage = values.get("Storage", "auto").lower()
        if storage not in ("volatile", "persistent", "auto", "none"):
            raise ProbeError("unparsable", f"journald.conf: unknown Storage={storage[:30]!r}")
        persistent = storage == "persistent" or (storage == "auto" and dir_exists)
        return {
            "journald": True,
            "storage": storage,
            "persistent": persistent,
            "journal_dir_exists": dir_exists,
            "max_retention_sec": values.get("MaxRetentionSec"),
            "system_max_use": values.get("SystemMaxUse"),
            "forward_to_syslog": values.get("ForwardToSyslog"),
            "files": files,
            "systemd_booted": kv["booted"] == "yes",
        }
