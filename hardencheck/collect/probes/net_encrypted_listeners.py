"""net.encrypted_listeners: whether every TCP port listening on a non-loopback address speaks TLS or
SSH, tried locally on the host.

Needs root (``ss -p`` names the processes of all users). For each listening port (``ss -Htlnp``,
at most ``MAX_PORTS``, one try per port), on the host itself: a TLS handshake with ``openssl
s_client``). First the first line the service sends by itself within 2 s is read (bash's
/dev/tcp; nothing is sent; printable characters only, 120 at most): ``SSH-`` is SSH; an SMTP, FTP,
IMAP or POP3 greeting is tried with ``-starttls``; a PostgreSQL or MySQL/MariaDB server process with
``-starttls postgres``/``mysql``; any other greeting is not TLS (a TLS server never speaks first).
Only a silent service gets a TLS handshake (``s_client`` to the address it is bound to, 127.0.0.1 /
::1 for wildcard listeners; certificates are CRYPT-002's). Anything else (plain HTTP, telnet, …) is
unencrypted. So SSH and mail servers never receive bytes they cannot parse (no "bad protocol"
log lines that fail2ban might count); a silent non-TLS service receives one TLS ClientHello.

Only port, bound address, process name, the greeting's first line and the outcome leave the host.
"""

from __future__ import annotations

import re

from hardencheck.errors import ProbeError
from hardencheck.collect.probes._common import clean, complete_section
from hardencheck.collect.probes.base import Probe

MAX_PORTS = 25
ENCRYPTED = ("tls", "ssh", "starttls-smtp", "starttls-ftp", "starttls-imap", "starttls-pop3",
             "starttls-postgres", "starttls-mysql")
_TRY = (
    "command -v ss >/dev/null 2>&1 || { echo 'ss: command not found' >&2; exit 127; }; "
    "command -v openssl >/dev/null 2>&1 || { echo 'openssl: command not found' >&2; exit 127; }; "
    "command -v bash >/dev/null 2>&1 || { echo 'bash: command not found' >&2; exit 127; }; "
    "tls() { a=$1; shift; timeout 4 openssl s_client -connect \"$a\" -servername localhost \"$@\" "
    "</dev/null >/dev/null 2>&1; }; "
    "seen=' '; n=0; ss -Htlnp | awk '{ print $4, $NF }' | while read -r local proc; do "
    "port=${local##*:}; addr=${local%:*}; addr=${addr%%%*}; "
    "case $addr in 127.*|'[::1]'|'[::ffff:127.'*) continue;; esac; "
    "case $port in *[!0-9]*|'') echo \"ss: odd local address $local\" >&2; exit 3;; esac; "
    "case $seen in *\" $port \"*) continue;; esac; seen=\"$seen$port \"; n=$((n + 1)); "
    f"[ $n -le {MAX_PORTS} ] || {{ echo \"X more\"; break; }}; "
    "case $addr in '*'|0.0.0.0) t=127.0.0.1; c=127.0.0.1;; '[::]') t='[::1]'; c=::1;; "
    "*) t=$addr; c=$(printf '%s' \"$addr\" | tr -d '[]');; esac; "
    "name=$(printf '%s' \"$proc\" | sed -n 's/^users:((\"\\([^\"]*\\)\".*/\\1/p' | cut -c 1-40); "
    "printf 'L %s %s %s\\n' \"$port\" \"$local\" \"${name:--}\"; "
    "b=$(timeout 3 bash -c 'exec 3<>\"/dev/tcp/$0/$1\" || exit 1; IFS= read -r -t 2 -n 200 l <&3; printf \"%s\" \"$l\"' "
    "\"$c\" \"$port\" 2>/dev/null | tr -d '\\r' | tr -c '[:print:]' '?' | cut -c 1-120); "
    "printf 'B %s %s\\n' \"$port\" \"$b\"; "
    "case $name in postgres*) p=postgres;; mysqld|mariadbd) p=mysql;; *) p=;; esac; "
    "if [ -z \"$p\" ]; then case $b in SSH-*) echo \"R $port ssh\"; continue;; "
    "220*[Ff][Tt][Pp]*) p=ftp;; 220*) p=smtp;; '* OK'*) p=imap;; '+OK'*) p=pop3;; esac; fi; "
    "if [ -n \"$p\" ]; then if tls \"$t:$port\" -starttls \"$p\"; then echo \"R $port starttls-$p\"; "
    "else echo \"R $port plain-$p\"; fi; continue; fi; "
    # a TLS server never speaks first: a service that greets is not TLS, only a silent one is tried
    "if [ -n \"$b\" ]; then echo \"R $port plain\"; elif tls \"$t:$port\"; then echo \"R $port tls\"; "
    "else echo \"R $port plain\"; fi; done"
)


class NetEncryptedListeners(Probe):
    name = "net.encrypted_listeners"
    summary = ("Every non-loopback TCP listener tried locally: TLS handshake (openssl s_client), SSH "
               "greeting, or STARTTLS for SMTP/FTP/IMAP/POP3/PostgreSQL/MySQL; else unencrypted")
    timeout = 240
    tools = {"ports": ("ss", "openssl", "bash")}
    commands = {"ports": _TRY}

    def parse(self, out, args):
        sec = complete_section(out, "ports", "trying the listening ports", ran="ss -Htlnp / openssl s_client")
        listeners: dict[str, dict] = {}
        more = False
        for line in sec.stdout.splitlines():
            kind, _, body = line.partition(" ")
            if kind == "X":
                more = True
                continue
            port, _, rest = body.partition(" ")
            if not re.fullmatch(r"[0-9]{1,5}", port):
                raise ProbeError("unparsable", f"listener test: unexpected line {clean(line, 60)!r}")
            if kind == "L":
                local, _, proc = rest.partition(" ")
                listeners[port] = {"port": f"{port}/tcp", "address": clean(local, 80),
                                   "process": clean(proc, 40), "greeting": None, "protocol": None}
            elif port not in listeners or kind not in ("B", "R"):
                raise ProbeError("unparsable", f"listener test: unexpected line {clean(line, 60)!r}")
            elif kind == "B":
                listeners[port]["greeting"] = clean(rest, 120) or None
            else:
                if not re.fullmatch(r"tls|ssh|(starttls|plain)(-[a-z0-9]+)?", rest):
                    raise ProbeError("unparsable", f"listener test: unexpected outcome {clean(rest, 40)!r}")
                listeners[port]["protocol"] = rest
        items = list(listeners.values())
        unknown = [i["port"] for i in items if i["protocol"] is None]
        if unknown:
            raise ProbeError("incomplete_output", f"listener test: no outcome for {', '.join(unknown)}")
        plain = [i for i in items if i["protocol"] not in ENCRYPTED]
        return {
            "listeners": items,
            "encrypted_ports": [i["port"] for i in items if i["protocol"] in ENCRYPTED],
            "unencrypted_ports": [i["port"] for i in plain],
            "unencrypted": [f"{i['port']} {i['process']}: {_why(i)}" for i in plain],
            "all_tested": not more,
        }


def _why(i: dict) -> str:
    proto = i["protocol"]
    if proto.startswith("plain-"):
        return f"{proto[6:].upper()} without STARTTLS" + (f" (greeting {i['greeting']!r})" if i["greeting"] else "")
    if i["greeting"]:
        return f"no TLS handshake; greeting {i['greeting']!r}"
    return "no TLS handshake and no greeting (e.g. plain HTTP)"
