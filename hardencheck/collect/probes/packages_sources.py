"""packages.sources: package sources whose signatures are not checked.

apt: source entries with ``[trusted=yes]``/``allow-insecure=yes`` (one-line format) or
``Trusted: yes``/``Allow-Insecure: yes`` (deb822), and apt options that accept unsigned
repositories. dnf/yum: enabled repositories whose effective ``gpgcheck`` is off. Credentials in
repository URLs are masked on the host.
"""

from __future__ import annotations

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, complete_section
from hardencheck.collect.probes.base import Probe

OFF = ("0", "false", "no", "off")
MAX = 200


class PackagesSources(Probe):
    name = "packages.sources"
    summary = "Package sources without signature checking (apt trusted=yes / insecure options, dnf gpgcheck=0)"
    timeout = 30
    tools = {"apt": ("apt-config",)}
    commands = {
        "apt": (
            "command -v apt-config >/dev/null 2>&1 || { echo absent; exit 0; }; "
            "apt-config dump | grep -aE '^(Acquire::AllowInsecureRepositories|"
            "Acquire::AllowDowngradeToInsecureRepositories|Acquire::AllowWeakRepositories|"
            "APT::Get::AllowUnauthenticated) ' | sed 's/^/option\\t/'; "
            "for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do "
            "[ -e \"$f\" ] || continue; printf 'file\\t%s\\n' \"$f\"; "
            "grep -aniE '^[[:space:]]*deb(-src)?[[:space:]]+\\[[^]]*(trusted|allow-insecure|allow-weak)[[:space:]]*=[[:space:]]*yes|"
            "^[[:space:]]*(Trusted|Allow-Insecure|Allow-Weak):[[:space:]]*yes' \"$f\" | "
            "sed -E 's#://[^/@[:space:]]*@#://***@#g' | cut -c 1-300 | head -n 50 | sed 's/^/hit\\t/'; done; exit 0"
        ),
        "rpm": (
            "[ -d /etc/yum.repos.d ] || { echo absent; exit 0; }; "
            "for f in /etc/dnf/dnf.conf /etc/yum.conf /etc/yum.repos.d/*.repo; do [ -r \"$f\" ] || continue; "
            "printf 'file\\t%s\\n' \"$f\"; "
            "awk 'function out() { if (s != \"\") print \"sec\\t\" s \"\\t\" e \"\\t\" g } "
            "/^[[:space:]]*\\[/ { out(); s = $0; gsub(/[][[:space:]]/, \"\", s); e = \"\"; g = \"\"; next } "
            "/^[[:space:]]*enabled[[:space:]]*=/ { v = $0; sub(/^[^=]*=[[:space:]]*/, \"\", v); e = v } "
            "/^[[:space:]]*gpgcheck[[:space:]]*=/ { v = $0; sub(/^[^=]*=[[:space:]]*/, \"\", v); g = v } "
            "END { out() }' \"$f\" | cut -c 1-200 | head -n 200; done; exit 0"
        ),
    }

    def parse(self, out, args):
        cut = "package source listing truncated"
        asec = complete_section(out, "apt", "apt sources", truncated=cut)
        rsec = complete_section(out, "rpm", "dnf/yum repositories", truncated=cut)
        alines = [ln for ln in asec.stdout.splitlines() if ln.strip()]
        rlines = [ln for ln in rsec.stdout.splitlines() if ln.strip()]
        if alines != ["absent"]:
            return self._apt(alines)
        if rlines != ["absent"]:
            return self._rpm(rlines)
        return {"manager": None, "files_checked": 0, "unsigned_sources": [], "insecure_options": []}

    def _apt(self, lines):
        files, hits, options = 0, [], []
        current = None
        for ln in lines:
            kind, sep, rest = ln.partition("\t")
            if kind == "file" and sep:
                files += 1
                current = clean(rest, 4096)
            elif kind == "hit" and sep and current:
                if len(hits) < MAX:
                    hits.append(f"{current}:{clean(rest, 300)}")
            elif kind == "option" and sep:
                key, _, value = rest.partition(" ")
                if value.strip().strip(";").strip('"').lower() not in OFF:
                    options.append(clean(rest, 200))
            else:
                raise ProbeError("unparsable", f"apt sources: unexpected line {ln[:80]!r}")
        return {"manager": "apt", "files_checked": files, "unsigned_sources": hits, "insecure_options": options}

    def _rpm(self, lines):
        files, main_gpg, repos = 0, None, []
        current = None
        for ln in lines:
            parts = ln.split("\t")
            if parts[0] == "file" and len(parts) == 2:
                files += 1
                current = clean(parts[1], 4096)
            elif parts[0] == "sec" and len(parts) == 4 and current:
                name, enabled, gpg = clean(parts[1], 100), parts[2].strip().lower(), parts[3].strip().lower()
                if name == "main":
                    if gpg:
                        main_gpg = gpg
                else:
                    repos.append((current, name, enabled, gpg))
            else:
                raise ProbeError("unparsable", f"dnf/yum repositories: unexpected line {ln[:80]!r}")
        # dnf's own default for gpgcheck is off; RHEL ships gpgcheck=1 in [main]
        default = main_gpg or "0"
        unsigned = [f"{f} [{name}]: gpgcheck={gpg or default}" for f, name, en, gpg in repos
                    if en not in OFF and (gpg or default) in OFF]
        return {"manager": "rpm", "files_checked": files, "unsigned_sources": unsigned[:MAX],
                "insecure_options": [] if default not in OFF else [f"[main] gpgcheck={default}"]}
