"""Lab host kinds for the generic resources (issue 14.1): ``rsgood`` has the state the site
controls of tests/integration/resource_controls/ expect, ``rsbad`` breaks each of them. Both are
hardened hosts plus:

file      /etc/hcres/secrets.env: rsgood 0600 owned by hcapp, rsbad 0644 root's;
          /etc/hcres/agent.conf: rsgood ``target = offsite.example:/b``, rsbad ``target = /srv/local``;
          both hold a planted secret ``api_key=`` line (must never leave redaction) and a line that
          imitates a probe frame; /etc/hcres/current -> agent.conf (a symlink)
directory /var/lib/hcres/uploads: rsgood 0750, rsbad 0777
package   openssh-server (the machine's dpkg state): installed on both; rsbad's params ask for a
          package nobody has
service   no systemd in a lab host (private /run): an error on both, never a state
port      5433/tcp: rsgood listens on 127.0.0.1 only, rsbad on 0.0.0.0
user      hcapp: rsgood locked with /usr/sbin/nologin, rsbad with a password and /bin/bash
group     hcaudit: rsgood members hcapp, rsbad hcapp and root
sysctl    net.ipv4.tcp_syncookies 1 at runtime on both; rsgood also in /etc/sysctl.d/60-hcres.conf
mount     /var/lib/hcres/scratch: rsgood a tmpfs with nosuid,nodev,noexec, rsbad no mount
process   hcresd (a copy of sleep) runs as hcapp on rsgood; the lab hosts share the machine's PID
          namespace, so rsbad's params ask for a name nothing has
"""

from __future__ import annotations

import os
import shutil

from .lab import ExtraKind, register_kind

PLANTED = "api_key=hcres-planted-secret-7f3a9"
FORGED = "HC0123456789abcdef0123456789abcdef E resource.file/items 0"
PORT = 5433
MISSING_PACKAGE = "hcres-no-such-package"
MISSING_PROCESS = "hcres-nothere"


def _py() -> str:
    return "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else shutil.which("python3")


def _prepare(good: bool):
    def prepare(host, dirs):
        d = dirs["etc"] / "hcres"
        d.mkdir(parents=True, exist_ok=True)
        (d / "secrets.env").write_text("DB_PASSWORD_FILE=/run/secrets/db\n")
        target = "offsite.example:/b" if good else "/srv/local"
        (d / "agent.conf").write_text(f"# backup agent\ntarget = {target}\n{PLANTED}\n{FORGED}\n")
        os.symlink("agent.conf", d / "current")
        if good:
            (dirs["etc"] / "sysctl.d").mkdir(parents=True, exist_ok=True)
            (dirs["etc"] / "sysctl.d" / "60-hcres.conf").write_text("net.ipv4.tcp_syncookies = 1\n")
        else:   # the bad host persists nothing (the lab's hardened hosts persist their network sysctls)
            (dirs["etc"] / "sysctl.d" / "60-hardening.conf").unlink(missing_ok=True)
        bind = "127.0.0.1" if good else "0.0.0.0"
        lines = [
            "mkdir -p /var/lib/hcres/uploads /var/lib/hcres/scratch",
            "echo 1 > /proc/sys/net/ipv4/tcp_syncookies",
            f"{_py()} -c 'import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, "
            f"socket.SO_REUSEADDR, 1); s.bind((\"{bind}\", {PORT})); s.listen(); time.sleep(864000)' "
            "</dev/null >/dev/null 2>&1 &",
            "groupadd -r hcaudit",
        ]
        if good:
            lines += [
                "useradd -r -M -d /nonexistent -s /usr/sbin/nologin hcapp",
                "usermod -a -G hcaudit hcapp",
                "chown hcapp: /etc/hcres/secrets.env && chmod 0600 /etc/hcres/secrets.env",
                "chmod 0750 /var/lib/hcres/uploads",
                "mount -t tmpfs -o nosuid,nodev,noexec,size=1m tmpfs /var/lib/hcres/scratch",
                "cp /bin/sleep /run/hcresd && setpriv --reuid=hcapp --regid=hcapp --clear-groups "
                "/run/hcresd 864000 </dev/null >/dev/null 2>&1 &",
            ]
        else:
            lines += [
                # a real SHA-512 crypt hash of a random password: never leaves the host
                "useradd -r -M -d /nonexistent -s /bin/bash -p "
                "\"$(openssl passwd -6 \"$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \\n')\")\" hcapp",
                "usermod -a -G hcaudit hcapp && usermod -a -G hcaudit root",
                "chmod 0644 /etc/hcres/secrets.env",
                "chmod 0777 /var/lib/hcres/uploads",
            ]
        return "\n".join(lines) + "\n"
    return prepare


register_kind("rsgood", ExtraKind(prepare=_prepare(True)))
register_kind("rsbad", ExtraKind(prepare=_prepare(False), params={
    "HCRES-004": {"package": MISSING_PACKAGE},
    "HCRES-011": {"process": MISSING_PROCESS},
}))
