"""Lab host kinds for the controls real TOMs promise (issue 17): ``tomgood`` keeps each promise,
``tombad`` breaks each one. Both are hardened hosts plus:

privileged-access roster (ACCT-013, ACCT-014)
  tomgood: account ``alice`` with her own key, sudo rights by ``sudoers.d/20-admins``; the roster
  params approve root and alice and exactly the keys present (root's is the lab client key, so its
  fingerprint is put into the params when the host is prepared).
  tombad: the same roster params, but ``bob`` is in group sudo, ``User_Alias OPS = carol`` has a
  rule, and carol's authorized_keys holds alice's key (shared) and a key nobody approved.

backups off-host and encrypted (BACKUP-003); no traffic: the repositories are only configuration
  tomgood: restic job /etc/restic/daily.env (sftp: repository, RESTIC_PASSWORD_FILE) and a borgmatic
  job (ssh:// repository) with borg's security record of it (key type 3, repokey).
  tombad: restic job with a local repository and the password inline (RESTIC_PASSWORD, a planted
  secret), a borgmatic job whose repository borg recorded as plaintext (key type 2), and a duply
  job with GPG_KEY='disabled' and a password in its sftp:// TARGET (planted secret).

audit of data access (LOG-008, LOG-009)
  both: params LOG-008 data_paths [/srv/customer-data]; auditd's rules and daemon are kernel- and
  machine-wide, so no lab host can differ: here auditd is not running and nothing is watched
  (LOG-008 fails on both). Its pass and fail with a real auditd and a real watch are proven on the
  kind_auditd.py hosts (tests/test_lab_auditd.py). PostgreSQL (when this machine has it
  installed, as the lab hosts share /usr): tomgood conf.d/pgaudit.conf loads pgaudit with
  pgaudit.log 'read, write, ddl'; tombad loads it with pgaudit.log 'none'. MariaDB (when this
  machine has it installed): tomgood's mariadb.conf.d/60-audit.cnf loads server_audit with
  server_audit_logging ON (configuration only: no server runs here); tombad has none. Running
  MariaDB servers with and without server_audit: kind_mariadb.py (tests/test_lab_mariadb.py).

two-factor authentication (SSH-008, ACCT-015)
  both: sshd_config.d/60-mfa.conf requires publickey,keyboard-interactive, and a Match block at the
  end of sshd_config exempts the scanner's address (the lab gateway), approved in the params;
  tomgood: /etc/pam.d/sshd and /etc/pam.d/sudo require pam_google_authenticator (configuration
  only: the module is not installed and nobody logs in with a second factor in the lab);
  tombad: sshd's stack has it with nullok (users without a secret skip it), sudo's has none.

restore duration (BACKUP-004)
  tomgood: the hardened restore record (812 s); tombad: a key=value record of a successful restore
  two days ago that took 6h (the recovery-time target is 4 h).

backup cadence per job (BACKUP-005)
  both: params jobs "hourly 1h …/cadence/hourly.ok" and "daily 26h …/cadence/daily" (a folder);
  tomgood: hourly marker 20 minutes old, daily folder's newest file 5 hours old; tombad: both 5
  hours old (the hourly job is overdue, the daily one is not).

VPN and internal services (NET-010, NET-011)
  both: /etc/wireguard/wg0.conf (with a planted private key that must never leave the host) that
  nobody brings up, so NET-010 fails on both (real tunnels, WireGuard through wireguard-go and
  OpenVPN, pass and fail on the hosts of tests/lab/kind_vpn.py). An internal service (TLS,
  `openssl s_server`) on port 5432, params NET-011 internal_ports [5432/tcp]: tomgood binds it to
  10.77.0.1 (a private address on lo), tombad to 0.0.0.0.

egress filtering (FW-002)
  tomgood: the hardened ruleset plus an output chain with policy drop (loopback, established, DNS,
  HTTPS and SSH out); tombad: the hardened ruleset (output open).

database replication (AVAIL-004), where this machine has PostgreSQL (the lab hosts share /usr)
  both: a primary (port 5441) and a streaming standby (5442) made by initdb/pg_basebackup at host
  start, Unix sockets only (no TCP listener); tombad stops its standby again, so its primary has
  no streaming standby. MariaDB replication (a primary and a replica, running and stopped):
  kind_mariadb.py (tests/test_lab_mariadb.py).

encrypted listeners (NET-009)
  tomgood: besides sshd, `openssl s_server -www` (self-signed) on 0.0.0.0:8443.
  tombad: python's http.server on 0.0.0.0:8080 and an SMTP greeter on 0.0.0.0:2525 that offers no
  STARTTLS.
"""

from __future__ import annotations

import os
import stat
import subprocess
import time
from pathlib import Path

from .lab import NFT_HARDENED, ExtraKind, register_kind

ROSTER = ["root", "alice"]
#: secrets planted in the hosts' files (backup job files, wg0.conf) that must never leave the host
PLANTED = ["planted-restic-pw-4711", "planted-target-pw-0815", "planted-borg-pw-1234",
           "cGxhbnRlZC13aXJlZ3VhcmQta2V5LTAwMDAwMDAwMDA=", "planted-pwcommand-secret-77"]
DATA_PATHS = ["/srv/customer-data"]
BORG_REPO = "ssh://backup@198.18.255.254/./borg-{name}"


def _fingerprint(pub: str) -> str:
    p = subprocess.run(["ssh-keygen", "-lf", "/dev/stdin"], input=pub + "\n", capture_output=True,
                       text=True, check=True)
    return p.stdout.split()[1]


def _keypair(where: Path, comment: str) -> str:
    key = where / comment
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(key)],
                       check=True)
    return (where / f"{comment}.pub").read_text().strip()


def _write(path: Path, text: str, mode: int = 0o644, uid: int = 0, gid: int = 0):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, mode)
    os.chown(path, uid, gid)


def _add_accounts(etc: Path, users: list[tuple[str, int]], sudo_members: list[str]):
    """Append accounts (name, uid; own group of the same id) to the host's copies of the identity
    files; ``sudo_members`` join group sudo."""
    for fn in ("passwd", "shadow", "group", "gshadow"):
        src = etc / fn if (etc / fn).exists() else Path("/etc") / fn
        st = src.stat()
        lines = src.read_text().splitlines()
        if fn in ("group", "gshadow") and sudo_members:
            for i, line in enumerate(lines):
                if line.startswith("sudo:"):
                    parts = line.split(":")
                    parts[-1] = ",".join([m for m in parts[-1].split(",") if m] + sudo_members)
                    lines[i] = ":".join(parts)
        for user, uid in users:
            lines.append({"passwd": f"{user}:x:{uid}:{uid}:tom lab,,,:/home/{user}:/bin/bash",
                          "shadow": f"{user}:!:20000:0:99999:7:::",
                          "group": f"{user}:x:{uid}:",
                          "gshadow": f"{user}:!::"}[fn])
        _write(etc / fn, "\n".join(lines) + "\n", stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)


def _free_ids(n: int) -> list[int]:
    used = {int(l.split(":")[2]) for f in ("/etc/passwd", "/etc/group")
            for l in Path(f).read_text().splitlines() if l.count(":") >= 3}
    return [u for u in range(3990, 60000) if u not in used][:n]


def _roster(host, dirs, bad: bool) -> str:
    etc, home = dirs["etc"], dirs["home"]
    keys = dirs["host"] / "tomkeys"
    keys.mkdir(parents=True, exist_ok=True)
    alice_pub = _keypair(keys, "alice")
    users = ["alice", "bob", "carol"] if bad else ["alice"]
    ids = dict(zip(users, _free_ids(len(users))))
    _add_accounts(etc, list(ids.items()), ["bob"] if bad else [])
    rules = "alice ALL=(ALL:ALL) ALL\n"
    if bad:
        rules += "User_Alias OPS = carol\nOPS ALL=(root) /usr/bin/systemctl restart nginx\n"
    _write(etc / "sudoers.d" / "20-admins", rules, 0o440)
    os.chmod(etc / "sudoers.d", 0o755)
    auth = {"alice": alice_pub}
    if bad:
        auth["carol"] = alice_pub + "\n" + _keypair(keys, "stranger")
    for user, text in auth.items():
        uid = ids[user]
        _write(home / user / ".ssh" / "authorized_keys", text + "\n", 0o600, uid, uid)
        for p, m in ((home / user / ".ssh", 0o700), (home / user, 0o750)):
            os.chmod(p, m)
            os.chown(p, uid, uid)
    root_pub = (dirs["root"] / ".ssh" / "authorized_keys").read_text().strip()
    host.params["ACCT-013"] = {"approved_admins": ROSTER}
    host.params["ACCT-014"] = {"approved_keys": [f"root {_fingerprint(root_pub)}",
                                                 f"alice {_fingerprint(alice_pub)}"]}
    return ""


def _backups(host, dirs, bad: bool) -> str:
    etc, root = dirs["etc"], dirs["root"]
    repo = BORG_REPO.format(name=host.name)
    if bad:
        _write(etc / "restic" / "local.env", "# nightly restic job\nRESTIC_REPOSITORY=/srv/restic-repo\n"
               f"RESTIC_PASSWORD={PLANTED[0]}\nRESTIC_PASSWORD_COMMAND=\"echo {PLANTED[4]}\"\n", 0o600)
        _write(etc / "duply" / "offsite" / "conf", "GPG_KEY='disabled'\n"
               f"TARGET='sftp://backup:{PLANTED[1]}@198.18.255.254/duply'\nSOURCE='/'\n", 0o600)
    else:
        _write(etc / "restic" / "daily.env", "export RESTIC_REPOSITORY=sftp:backup@198.18.255.254:/srv/restic\n"
               "export RESTIC_PASSWORD_FILE=/etc/restic/password\n", 0o600)
        _write(etc / "restic" / "password", PLANTED[0] + "\n", 0o600)
    _write(etc / "borgmatic" / "config.yaml",
           f"source_directories:\n  - /srv/data\nrepositories:\n  - path: {repo}\n    label: offsite\n"
           f"encryption_passphrase: \"{PLANTED[2]}\"\nkeep_daily: 7\n", 0o600)
    sec = root / ".config" / "borg" / "security" / ("ab" * 32)
    _write(sec / "location", repo + "\n", 0o600)
    _write(sec / "key-type", "2" if bad else "3", 0o600)
    return ""


def _data_audit(host, dirs, bad: bool) -> str:
    for conf in Path("/etc/postgresql").glob("*/*/postgresql.conf"):
        rel = conf.parent.relative_to("/etc")
        _write(dirs["etc"] / rel / "conf.d" / "pgaudit.conf",
               "shared_preload_libraries = 'pgaudit'\n"
               f"pgaudit.log = '{'none' if bad else 'read, write, ddl'}'\n")
    if not bad and Path("/etc/mysql").is_dir():   # mariadb-server installed: the files count too
        _write(dirs["etc"] / "mysql" / "mariadb.conf.d" / "60-audit.cnf",
               "[mariadbd]\nplugin_load_add = server_audit\nserver_audit_logging = ON\n")
    host.params["LOG-008"] = {"data_paths": DATA_PATHS}
    return ""


def _mfa(host, dirs, bad: bool) -> str:
    etc = dirs["etc"]
    _write(etc / "ssh" / "sshd_config.d" / "60-mfa.conf",
           "AuthenticationMethods publickey,keyboard-interactive\nKbdInteractiveAuthentication yes\n")
    cfg = etc / "ssh" / "sshd_config"
    cfg.write_text(cfg.read_text() + f"\n# the scanner logs in with its key alone\nMatch Address {host.gateway}\n"
                   "    AuthenticationMethods publickey\n")
    otp = "auth required pam_google_authenticator.so" + (" nullok" if bad else "") + "\n"
    _write(etc / "pam.d" / "sshd", "@include common-auth\n" + otp + "@include common-account\n"
           "@include common-session\n@include common-password\n")
    _write(etc / "pam.d" / "sudo", "#%PAM-1.0\nsession required pam_env.so readenv=1 user_readenv=0\n"
           "@include common-auth\n" + ("" if bad else otp) + "@include common-account\n"
           "@include common-session-noninteractive\n")
    host.params["SSH-008"] = {"allowed_match_exemptions": [f"Match Address {host.gateway}"]}
    return ""


SMTP_GREETER = (
    "import socket\n"
    "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "s.bind(('0.0.0.0', 2525)); s.listen(5)\n"
    "while True:\n"
    "    c, _ = s.accept()\n"
    "    try:\n"
    "        c.sendall(b'220 tombad ESMTP lab greeter\\r\\n'); c.settimeout(3)\n"
    "        while True:\n"
    "            d = c.recv(1024)\n"
    "            if not d: break\n"
    "            c.sendall(b'250 tombad\\r\\n' if d[:4].upper() in (b'EHLO', b'HELO') else b'502 no\\r\\n')\n"
    "    except OSError: pass\n"
    "    c.close()\n"
)


def _listeners(host, dirs, bad: bool) -> str:
    d = dirs["etc"] / "hc-tom"
    d.mkdir(parents=True, exist_ok=True)
    if not (d / "tls.pem").exists():
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-subj", f"/CN={host.name}", "-days", "30", "-keyout", str(d / "tls.key"),
                        "-out", str(d / "tls.pem")], check=True, capture_output=True)
    if bad:
        (d / "smtp.py").write_text(SMTP_GREETER)
        return ("mkdir -p /run/hc-www && python3 -m http.server 8080 --bind 0.0.0.0 --directory /run/hc-www "
                "</dev/null >/dev/null 2>&1 &\n"
                "python3 /etc/hc-tom/smtp.py </dev/null >/dev/null 2>&1 &\n")
    return ("openssl s_server -accept 8443 -cert /etc/hc-tom/tls.pem -key /etc/hc-tom/tls.key -www -quiet "
            "</dev/null >/dev/null 2>&1 &\n")


def _restore(host, dirs, bad: bool) -> str:
    if bad:
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 2 * 86400))
        _write(dirs["var"] / "lib" / "hardencheck" / "restore-test",
               f"date={when}\nresult=success\nduration=6h\n", 0o640)
    return ""


CADENCE = "/var/lib/hardencheck/cadence"


def _cadence(host, dirs, bad: bool) -> str:
    base = dirs["var"] / CADENCE.removeprefix("/var/")
    now = time.time()
    hourly = base / "hourly.ok"
    _write(hourly, "restic snapshot 1a2b3c4d saved\n", 0o640)
    os.utime(hourly, (now, now - (5 * 3600 if bad else 20 * 60)))
    for i, hours in enumerate((53, 29, 5)):
        f = base / "daily" / f"2026-run-{i}.log"
        _write(f, "borg create finished\n", 0o640)
        os.utime(f, (now, now - hours * 3600))
    host.params["BACKUP-005"] = {"jobs": [f"hourly 1h {CADENCE}/hourly.ok", f"daily 26h {CADENCE}/daily"]}
    return ""


def _vpn(host, dirs, bad: bool) -> str:
    _write(dirs["etc"] / "wireguard" / "wg0.conf",
           f"[Interface]\nAddress = 10.77.1.2/24\nPrivateKey = {PLANTED[3]}\nListenPort = 51820\n", 0o600)
    host.params["NET-011"] = {"internal_ports": ["5432/tcp"]}
    bind = "0.0.0.0" if bad else "10.77.0.1"
    return ((f"ip addr add 10.77.0.1/32 dev lo\n" if not bad else "")
            + f"openssl s_server -accept {bind}:5432 -cert /etc/hc-tom/tls.pem -key /etc/hc-tom/tls.key -www "
            "-quiet </dev/null >/dev/null 2>&1 &\n")


PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))


def _replication(host, dirs, bad: bool) -> str:
    if not PG_BIN:
        return ""
    b = PG_BIN[-1].parent
    pg = f"runuser -u postgres -- {b}"
    conf = ("listen_addresses = ''\nunix_socket_directories = '/run/postgresql'\nfsync = off\n"
            "shared_buffers = 16MB\nmax_connections = 20\n")
    lines = (
        "mkdir -p /run/postgresql /var/lib/hc-pg && chown postgres:postgres /run/postgresql /var/lib/hc-pg\n"
        f"{pg}/initdb -A trust -D /var/lib/hc-pg/primary >/dev/null\n"
        f"printf \"{conf}port = 5441\\n\" >> /var/lib/hc-pg/primary/postgresql.conf\n"
        f"{pg}/pg_ctl -D /var/lib/hc-pg/primary -l /var/lib/hc-pg/primary.log -w start >/dev/null\n"
        f"{pg}/pg_basebackup -h /run/postgresql -p 5441 -D /var/lib/hc-pg/standby -R -X stream >/dev/null\n"
        "printf 'port = 5442\\n' >> /var/lib/hc-pg/standby/postgresql.conf\n"
        f"{pg}/pg_ctl -D /var/lib/hc-pg/standby -l /var/lib/hc-pg/standby.log -w start >/dev/null\n"
    )
    if bad:
        lines += f"{pg}/pg_ctl -D /var/lib/hc-pg/standby -m fast -w stop >/dev/null\n"
    return lines


def _prepare(bad: bool):
    def prepare(host, dirs):
        lines = ""
        lines += _roster(host, dirs, bad)
        lines += _backups(host, dirs, bad)
        lines += _data_audit(host, dirs, bad)
        lines += _mfa(host, dirs, bad)
        lines += _listeners(host, dirs, bad)
        lines += _restore(host, dirs, bad)
        lines += _cadence(host, dirs, bad)
        lines += _vpn(host, dirs, bad)
        lines += _replication(host, dirs, bad)
        return lines
    return prepare


NFT_EGRESS = NFT_HARDENED.replace("\t}\n}\n", """\t}
\tchain output {
\t\ttype filter hook output priority 0; policy drop;
\t\toif lo accept
\t\tct state established,related accept
\t\tudp dport 53 accept
\t\ttcp dport { 22, 53, 443 } accept
\t}
}
""")
assert "hook output" in NFT_EGRESS

register_kind("tomgood", ExtraKind(prepare=_prepare(False), nft=NFT_EGRESS))
register_kind("tombad", ExtraKind(prepare=_prepare(True)))
