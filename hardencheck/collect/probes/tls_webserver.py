"""tls.webserver: which TLS protocol versions nginx and Apache httpd are configured to offer.

Only the relevant directives leave the host: ``nginx -T`` (the whole effective configuration, with
possible secrets) is filtered on the host to ``ssl_protocols``/``listen … ssl`` lines; Apache's
enabled configuration is grepped for ``SSLProtocol``/``SSLEngine``. Where a server sets nothing,
its compiled-in default counts, unless a RHEL-style system crypto policy (not LEGACY) restricts
OpenSSL to TLS 1.2+.
"""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, require_success, section
from hardencheck.collect.probes.base import Probe

ALL = ["SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
LEGACY = ["SSLv2", "SSLv3", "TLSv1", "TLSv1.1"]
_CANON = {p.lower(): p for p in ALL}
_NGINX_VERSION = re.compile(r"nginx/(\d+)\.(\d+)\.(\d+)")
_PERM = re.compile(r"permission denied|\(13:", re.I)
MAX_LINES = 200


def _protocols_nginx(line: str) -> set[str]:
    body = line.split("#", 1)[0].split(";", 1)[0].split()[1:]
    return {_CANON[t.lower()] for t in body if t.lower() in _CANON}


def _protocols_apache(line: str) -> set[str]:
    """SSLProtocol semantics: 'all' and bare names set, '+X' adds, '-X' removes."""
    result: set[str] = set()
    for tok in line.split("#", 1)[0].split()[1:]:
        sign, name = (tok[0], tok[1:]) if tok[:1] in "+-" else ("", tok)
        names = {p for p in ALL if p != "SSLv2"} if name.lower() == "all" else \
            ({_CANON[name.lower()]} if name.lower() in _CANON else set())
        if sign == "-":
            result -= names
        else:
            result |= names
    return result


def _sorted(protos) -> list[str]:
    return [p for p in ALL if p in protos]


class TlsWebserver(Probe):
    name = "tls.webserver"
    summary = "TLS protocol versions nginx and Apache httpd are configured to offer (config lines only)"
    timeout = 60
    tools = {"nginx": ("nginx",), "apache": ("apache2", "httpd")}
    commands = {
        "nginx": (
            "command -v nginx >/dev/null 2>&1 || { echo absent; exit 0; }; "
            "printf 'version\\t%s\\n' \"$(nginx -v 2>&1 | head -n 1 | cut -c 1-100)\"; "
            "o=$(nginx -T 2>&1); rc=$?; "
            "printf '%s\\n' \"$o\" | grep -aE '^[[:space:]]*(ssl_protocols[[:space:]]|"
            "listen[[:space:]].*[[:space:]]ssl([[:space:];]|$)|ssl[[:space:]]+on)|\\[emerg\\]|test failed' | "
            "sed 's/^[[:space:]]*//' | cut -c 1-300 | head -n @MAX@; "
            "printf 'rc\\t%s\\n' \"$rc\"".replace("@MAX@", str(MAX_LINES))
        ),
        "apache": (
            "a=; for b in apache2 httpd; do command -v $b >/dev/null 2>&1 && a=$b; done; "
            "[ -n \"$a\" ] || { echo absent; exit 0; }; printf 'binary\\t%s\\n' \"$a\"; "
            "if [ -e /etc/apache2/mods-enabled/ssl.load ] || "
            "grep -aqsE '^[[:space:]]*LoadModule[[:space:]]+ssl_module' /etc/httpd/conf.modules.d/*.conf /etc/httpd/conf/httpd.conf; "
            "then echo 'ssl_module yes'; else echo 'ssl_module no'; fi; "
            "grep -aRhisE '^[[:space:]]*(SSLProtocol|SSLEngine)[[:space:]]' /etc/apache2/apache2.conf "
            "/etc/apache2/conf-enabled /etc/apache2/mods-enabled /etc/apache2/sites-enabled "
            "/etc/httpd/conf /etc/httpd/conf.d 2>/dev/null | sed 's/^[[:space:]]*//' | cut -c 1-300 | head -n @MAX@; "
            "exit 0".replace("@MAX@", str(MAX_LINES))
        ),
        "policy": (
            "if [ -r /etc/crypto-policies/config ]; then "
            "grep -avE '^[[:space:]]*(#|$)' /etc/crypto-policies/config | head -n 1 | cut -c 1-60; "
            "else echo none; fi"
        ),
    }

    def parse(self, out, args):
        psec = section(out, "policy", "crypto policy")
        require_success(psec, "reading the crypto policy")
        policy = clean(psec.stdout, 60) or "none"
        policy = None if policy == "none" else policy
        # RHEL's DEFAULT/FUTURE/FIPS policies (also with sub-policies like DEFAULT:SHA1) allow TLS 1.2+
        policy_modern = bool(policy) and policy.split(":")[0].upper() in ("DEFAULT", "FUTURE", "FIPS", "NEXT")

        servers = []
        n = self._nginx(section(out, "nginx", "nginx -T"), policy_modern)
        if n:
            servers.append(n)
        a = self._apache(section(out, "apache", "Apache configuration"), policy_modern)
        if a:
            servers.append(a)
        legacy = [f"{s['server']}: {p}" for s in servers if s["tls_enabled"] for p in s["legacy"]]
        return {"installed": bool(servers), "servers": servers, "crypto_policy": policy,
                "legacy_protocols": legacy}

    def _nginx(self, sec, policy_modern: bool):
        require_success(sec, "nginx -T")
        lines = [ln for ln in sec.stdout.splitlines() if ln.strip()]
        if lines == ["absent"]:
            return None
        if len(lines) < 2 or not lines[0].startswith("version\t") or not lines[-1].startswith("rc\t"):
            raise ProbeError("unparsable" if sec.complete and not sec.truncated else "incomplete_output",
                             "nginx -T: unexpected output")
        version_text = lines[0][len("version\t"):]
        rc = lines[-1][3:].strip()
        body = lines[1:-1]
        if rc != "0":
            detail = next((ln for ln in body if "emerg" in ln or "failed" in ln), f"exit code {rc}")
            if _PERM.search(detail) or _PERM.search(sec.stderr):
                raise ProbeError("permission_denied", f"nginx -T: {clean(detail, 200)}")
            raise ProbeError("probe_failed", f"nginx -T failed: {clean(detail, 200)}")
        m = _NGINX_VERSION.search(version_text)
        version = ".".join(m.groups()) if m else None
        settings = [clean(ln, 300) for ln in body if ln.startswith("ssl_protocols")]
        tls = any(ln.startswith(("listen", "ssl ")) for ln in body)
        if settings:
            protos: set[str] = set()
            for ln in settings:
                protos |= _protocols_nginx(ln)
            source = "config"
        elif policy_modern:
            protos, source = {"TLSv1.2", "TLSv1.3"}, "crypto-policy"
        else:
            # nginx >= 1.23.4 defaults to TLSv1.2 TLSv1.3; older ones also offer TLSv1 TLSv1.1
            new = m is not None and tuple(int(x) for x in m.groups()) >= (1, 23, 4)
            protos = {"TLSv1.2", "TLSv1.3"} if new else {"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}
            source = "default"
        return {"server": "nginx", "version": version, "tls_enabled": tls, "settings": settings,
                "protocols": _sorted(protos), "source": source, "legacy": _sorted(protos & set(LEGACY))}

    def _apache(self, sec, policy_modern: bool):
        require_success(sec, "Apache configuration")
        lines = [ln for ln in sec.stdout.splitlines() if ln.strip()]
        if lines == ["absent"]:
            return None
        if len(lines) < 2 or not lines[0].startswith("binary\t") or lines[1] not in ("ssl_module yes", "ssl_module no"):
            raise ProbeError("unparsable", "Apache configuration: unexpected output")
        binary = clean(lines[0][len("binary\t"):], 20)
        ssl_module = lines[1] == "ssl_module yes"
        settings, engine_on = [], False
        for ln in lines[2:]:
            word = ln.split(None, 1)[0].lower()
            if word == "sslprotocol":
                settings.append(clean(ln, 300))
            elif word == "sslengine":
                engine_on = engine_on or (len(ln.split()) > 1 and ln.split()[1].lower() == "on")
            else:
                raise ProbeError("unparsable", f"Apache configuration: unexpected line {ln[:80]!r}")
        if settings:
            protos: set[str] = set()
            for ln in settings:
                protos |= _protocols_apache(ln)
            source = "config"
        elif policy_modern:
            protos, source = {"TLSv1.2", "TLSv1.3"}, "crypto-policy"
        else:
            protos, source = {"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}, "default"   # all -SSLv3
        return {"server": "apache", "version": None, "binary": binary, "tls_enabled": ssl_module and engine_on,
                "settings": settings, "protocols": _sorted(protos), "source": source,
                "legacy": _sorted(protos & set(LEGACY))}
