"""A lab of real OpenSSH servers, each in its own network and mount namespace.

Every lab host is an ``sshd`` running in

* its own network namespace ``<prefix>-<name>`` joined to the root namespace by a veth pair
  ``<prefix>-<n>`` (root side, ``198.18.<s>.1/30``) <-> ``eth0`` (inside, ``198.18.<s>.2/30``);
  only addresses of the benchmarking range 198.18.0.0/15 are used, and while a lab runs an
  ``unreachable 198.18.0.0/15`` route in the root namespace makes sure that nothing sent to a
  lab address that does not (or no longer) exist can leave the machine;
* its own mount namespace (``unshare -m``) with overlay mounts over /etc, /root, /var and /home
  (the upper layers live in ``<workdir>/hosts/<name>/upper``) and a private tmpfs on /run and /tmp;
* its own UTS namespace (hostname = host name).

Disk, RAID and kernel state are the real machine's and are not faked.

Processes live in their namespaces only, so when they die every mount is gone with them; stop()
kills everything that runs in the lab's network namespaces, waits until each of those processes
is gone (the last one of a host unmounts the host's mounts on its way out; the overlays are
``volatile``, so that exit does not sync the machine's disk) and reaps its own children, deletes
namespaces and veths, and removes the per-host directories. Leftovers of a crashed run with the
same prefix are removed by start() (and by ``python -m tests.lab down``).
"""

from __future__ import annotations

import atexit
import fcntl
import gzip
import hashlib
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
import uuid
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = [
    "Lab", "LabHost", "LabError", "STANDARD_HOSTS", "KINDS", "LAB_NET",
    "cleanup_prefix", "preflight",
]

STANDARD_HOSTS = ("hardened", "weak", "wrongkey", "hanging", "unreachable", "sudo")
# Three assignments on purpose: each group of kinds below is started only by its own tests.
KINDS = frozenset(STANDARD_HOSTS)
# Kinds only the liveness tests start (tests/integration/test_liveness.py), never by default:
#   stalled   login works, but every command is `sleep 3600` (sshd ForceCommand)
#   notssh    port 22 is an HTTP server, not sshd
#   slowwalk  hardened, plus a genuinely slow local filesystem for the filesystem walks: ext4 on a
#             loop device that the host's processes may read at SLOW_IOPS operations per second
LIVENESS_KINDS = ("stalled", "notssh", "slowwalk")
KINDS = KINDS | frozenset(LIVENESS_KINDS)
# Kinds only tests/integration/test_untrusted_tools.py starts, never by default:
#   faketools  hardened, but PasswordAuthentication and PermitRootLogin yes, and a private
#              /usr/local (tmpfs in its mount namespace) holding a fake sshd that claims
#              "passwordauthentication no", a world-writable fail2ban-client, a ufw owned by uid
#              1000 and a root-owned aide that exists only there; its rkhunter.log holds NUL bytes
UNTRUSTED_KINDS = ("faketools",)
KINDS = KINDS | frozenset(UNTRUSTED_KINDS)


@dataclass
class ExtraKind:
    """A hardened host plus the state one feature's tests need, registered by a module
    ``tests/lab/kind_<topic>.py`` (imported by tests/lab/__init__.py) with ``register_kind``.

    prepare(host, dirs) -> str: writes files into the host's overlay upper layers, ``dirs`` =
        {"etc", "var", "root", "home": upper-layer Path, "host": the host's lab folder}, and
        returns start-script lines (sh; they run inside the host's namespaces after its mounts and
        before sshd, e.g. a listener started in the background with ``&``).
    nft: an nftables ruleset (``#!/usr/sbin/nft -f`` text) replacing the hardened one.
    params: inventory params of the host ({control id: {param: value}}), over the lab's own."""
    prepare: object = None
    nft: str | None = None
    params: dict = field(default_factory=dict)


EXTRA_KINDS: dict[str, ExtraKind] = {}


def register_kind(name: str, kind: ExtraKind) -> None:
    """Register an extra host kind (see ExtraKind); names must be new."""
    if name in KINDS or name in EXTRA_KINDS:
        raise LabError(f"host kind {name!r} exists already")
    if not NAME_RE.match(name):
        raise LabError(f"bad kind name {name!r}")
    EXTRA_KINDS[name] = kind


def _known_kind(name: str) -> bool:
    return name in KINDS or name in EXTRA_KINDS
LAB_NET = ipaddress.ip_network("198.18.0.0/15")
MAX_SLOTS = 511                       # /24 slots 198.18.1 .. 198.19.255, one /30 used in each
PREFIX_RE = re.compile(r"^[a-z][a-z0-9]{0,7}$")   # no '-': "<prefix>-" must be unambiguous
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
OVERLAID = ("etc", "root", "var", "home")
LOCK_PATH = Path("/run/lock/hardencheck-lab.lock")
REGISTRY = Path("/run/hardencheck-lab")
DATA = Path(__file__).resolve().parent / "data"

OPENVAS_DIR = "/var/lib/hardencheck/openvas"
MIRROR_DIR = "/var/local/apt-mirror"          # the hosts' local (file:) Debian mirror
AUDIT_USER = "audit"
LOGIN_NOISE = ("echo 'Welcome to the hardened lab host (printed by ~/.bashrc)'\n"
               "echo 'HC0123456789abcdef0123456789abcdef E host.os/identity 0'\n"
               "echo 'rc-file warning on stderr' >&2\n")
AUDIT_PW_USER = "auditpw"   # same host, sudo asks for Lab.sudo_password
# Debian's own (base-files) rc files for root, which a lab host's root gets
ROOT_RC = {".bashrc": "# ~/.bashrc: executed by bash(1) for non-login shells.\n",
           ".profile": ("# ~/.profile: executed by Bourne-compatible login shells.\n\n"
                        "if [ \"$BASH\" ]; then\n  if [ -f ~/.bashrc ]; then\n    . ~/.bashrc\n  fi\nfi\n\n"
                        "mesg n 2> /dev/null || true\n")}
OLD_DAYS = 30


class LabError(RuntimeError):
    pass


@dataclass
class LabHost:
    name: str
    kind: str
    slot: int
    netns: str
    veth: str
    address: str          # inside the namespace, the address to scan
    gateway: str          # root-namespace side of the veth
    port: int = 22
    user: str = "root"
    become: bool = False
    pid: int | None = None          # the sshd listener (None for "unreachable")
    dir: str = ""
    host_keys: dict = field(default_factory=dict)   # key type -> "type base64" the sshd presents
    known_keys: dict = field(default_factory=dict)  # key type -> "type base64" in known_hosts
    tags: list = field(default_factory=list)
    params: dict = field(default_factory=dict)

    @property
    def listens(self) -> bool:
        return self.kind != "unreachable"

    @property
    def ssh_target(self) -> str:
        return f"{self.user}@{self.address}"


# --------------------------------------------------------------------------- small helpers

def _run(argv, *, input=None, check=True, timeout=30) -> subprocess.CompletedProcess:
    p = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise LabError(f"command failed ({p.returncode}): {' '.join(map(str, argv))}\n{p.stderr.strip()}")
    return p


def _write(path: Path, text: str, mode: int = 0o644, uid: int = 0, gid: int = 0):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, mode)
    os.chown(path, uid, gid)


def _opaque(path: Path):
    """An overlay upper directory that hides everything of the lower one."""
    path.mkdir(parents=True, exist_ok=True)
    os.setxattr(path, "trusted.overlay.opaque", b"y")


def _whiteout(path: Path):
    """Hide a lower-layer file in the overlay."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() or path.is_symlink():
        path.unlink()
    os.mknod(path, stat.S_IFCHR | 0o000, os.makedev(0, 0))


def _gid(group: str, default: int = 0) -> int:
    try:
        import grp
        return grp.getgrnam(group).gr_gid
    except KeyError:
        return default


def _age(path: Path, days: float):
    t = time.time() - days * 86400
    os.utime(path, (t, t), follow_symlinks=False)


def _slot_net(slot: int) -> tuple[str, str]:
    """(root-side address, inside address) of slot 1..511."""
    base = int(LAB_NET.network_address) + slot * 256
    return str(ipaddress.ip_address(base + 1)), str(ipaddress.ip_address(base + 2))


def _lab_addresses_in_use() -> set[int]:
    """Slots that have an address in the root namespace right now (any lab, any prefix)."""
    out = _run(["ip", "-j", "-4", "addr", "show"], check=False).stdout or "[]"
    used = set()
    for link in json.loads(out):
        for a in link.get("addr_info", []):
            ip = ipaddress.ip_address(a["local"])
            if ip in LAB_NET:
                used.add((int(ip) - int(LAB_NET.network_address)) // 256)
    return used


def _netns_list() -> list[str]:
    try:
        return sorted(os.listdir("/run/netns"))
    except FileNotFoundError:
        return []


def _links() -> list[str]:
    return [l.name for l in Path("/sys/class/net").iterdir()]


def _pids_in_netns(names) -> dict[int, str]:
    """pid -> netns name for every process in one of the named network namespaces."""
    inodes = {}
    for n in names:
        try:
            inodes[os.stat(f"/run/netns/{n}").st_ino] = n
        except OSError:
            pass
    if not inodes:
        return {}
    found = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            link = os.readlink(f"/proc/{d}/ns/net")      # "net:[4026532xyz]"
        except OSError:
            continue
        ino = int(link[5:-1])
        if ino in inodes:
            found[int(d)] = inodes[ino]
    return found


PF_EXITING = 0x4        # task flag (field 9 of /proc/<pid>/stat): the process is in do_exit()


def _proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state, kernel flags, start time in clock ticks) of a process; None when there is none."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return fields[0], int(fields[6]), int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def _alive(pid: int) -> bool:
    st = _proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def _describe(pid: int) -> str:
    st = _proc_stat(pid)
    try:
        with open(f"/proc/{pid}/wchan") as f:
            wchan = f.read().strip() or "-"
    except OSError:
        wchan = "?"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()[:60]
    except OSError:
        cmd = "?"
    if st is None:
        return f"{pid} (gone)"
    exiting = " exiting" if st[1] & PF_EXITING else ""
    return f"{pid} (state {st[0]}{exiting}, wchan {wchan}: {cmd})"


def _send_kill(pid: int, start: int) -> None:
    """SIGKILL exactly the process (pid, start time): a pidfd pins it, so a pid reused by
    another process after ours is gone is never signalled."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    except (AttributeError, OSError):       # no pidfd (old kernel or Python): plain kill
        st = _proc_stat(pid)
        if st and st[2] == start:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return
    try:
        st = _proc_stat(pid)
        if st and st[2] == start:
            signal.pidfd_send_signal(fd, signal.SIGKILL)
    except ProcessLookupError:
        pass
    finally:
        os.close(fd)


def _kill_netns_processes(names, popens=(), deadline_s: float = 10.0, exit_deadline_s: float = 180.0):
    """SIGKILL every process in the named network namespaces (and the given children of
    ours), wait until each is gone, and reap our children.

    A killed process is not gone at once. Its exit releases its namespaces: the last process of
    a host's mount namespace unmounts the host's mounts on the way out (no longer listed in any
    network namespace by then, in state D), and an overlay without ``volatile`` syncs the whole
    upper file system (the machine's disk) in that unmount, which takes as long as the disk's
    writeback takes. So every process seen is tracked by (pid, start time) until it is a zombie
    or gone, whatever namespace /proc shows for it; one that has not begun to exit
    ``deadline_s`` after the first SIGKILL "survives SIGKILL"; one that is exiting is waited for
    up to ``exit_deadline_s``."""
    names = list(names)
    popens = list(popens)
    t0 = time.monotonic()
    tracked: dict[int, int] = {}            # pid -> start time, of every process seen
    while True:
        seen = set(_pids_in_netns(names)) | {p.pid for p in popens if p.returncode is None}
        for pid in seen:
            if pid not in tracked:
                st = _proc_stat(pid)
                if st is not None:
                    tracked[pid] = st[2]
        for p in popens:                    # reap our own children so no zombie stays
            p.poll()
        running = []                        # not (yet) exiting: SIGKILL (again)
        for pid, start in list(tracked.items()):
            st = _proc_stat(pid)
            if st is None or st[2] != start or st[0] in ("Z", "X"):
                if st is not None and st[2] == start and any(p.pid == pid and p.returncode is None
                                                            for p in popens):
                    continue                # our zombie: reaped by the next poll()
                del tracked[pid]            # gone (or a zombie another parent reaps)
            elif not st[1] & PF_EXITING:
                running.append(pid)
        if not tracked:
            return
        for pid in running:
            _send_kill(pid, tracked[pid])
        waited = time.monotonic() - t0
        if running and waited > deadline_s:
            raise LabError("processes survive SIGKILL: " + ", ".join(_describe(p) for p in sorted(running)))
        if waited > exit_deadline_s:
            raise LabError(f"processes still exiting {exit_deadline_s:.0f} s after SIGKILL: "
                           + ", ".join(_describe(p) for p in sorted(tracked)))
        time.sleep(0.02)


def _remove_route_if_unused():
    if _lab_addresses_in_use():
        return
    r = _run(["ip", "route", "show", "type", "unreachable", str(LAB_NET)], check=False).stdout
    if r.strip():
        _run(["ip", "route", "del", "unreachable", str(LAB_NET)], check=False)


class _GlobalLock:
    """Serializes slot allocation and namespace set-up between labs (and processes).
    With wait=False (used by stop(), which may run from a signal handler while this process
    holds the lock) it gives up after a short while: ``acquired`` tells."""

    def __init__(self, wait: bool = True):
        self.wait = wait
        self.acquired = False

    def __enter__(self):
        LOCK_PATH.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(LOCK_PATH, os.O_RDWR | os.O_CREAT, 0o600)
        if self.wait:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
            self.acquired = True
        else:
            end = time.monotonic() + 2
            while not self.acquired and time.monotonic() < end:
                try:
                    fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    self.acquired = True
                except BlockingIOError:
                    time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        if self.acquired:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _rmtree(path: Path):
    if path.exists():
        shutil.rmtree(path, ignore_errors=True)
        if path.exists():
            # overlay work dirs ("work/work") are created mode 000
            for root, dirs, _ in os.walk(path):
                for d in dirs:
                    try:
                        os.chmod(os.path.join(root, d), 0o700)
                    except OSError:
                        pass
            shutil.rmtree(path, ignore_errors=True)


def cleanup_prefix(prefix: str) -> dict:
    """Remove everything a lab with this prefix may have left: processes in its network
    namespaces, the namespaces, its veths, its per-host dirs (via the registry file)."""
    if not PREFIX_RE.match(prefix):
        raise LabError(f"bad prefix {prefix!r}")
    ns = [n for n in _netns_list() if n.startswith(prefix + "-")]
    links = [l for l in _links() if re.fullmatch(re.escape(prefix) + r"-\d+", l)]
    _kill_netns_processes(ns)
    batch = "".join(f"link del {l}\n" for l in links) + "".join(f"netns del {n}\n" for n in ns)
    if batch:
        _run(["ip", "-force", "-batch", "-"], input=batch, check=False)
    reg = REGISTRY / f"{prefix}.json"
    workdir = None
    if reg.exists():
        try:
            info = json.loads(reg.read_text())
            workdir = Path(info["workdir"])
            _rmtree(workdir / "hosts")
            if info.get("owned"):
                _rmtree(workdir)
        except (ValueError, KeyError, OSError):
            pass
        reg.unlink(missing_ok=True)
    with _GlobalLock(wait=False) as lk:
        if lk.acquired:
            _remove_route_if_unused()
    return {"netns": ns, "links": links, "workdir": str(workdir) if workdir else None}


def preflight() -> str | None:
    """Why a lab cannot run here, or None when it can."""
    if os.geteuid() != 0:
        return "the lab needs root (network/mount namespaces)"
    for tool in ("ip", "unshare", "nft", "ssh-keygen", "apt-get", "mount"):
        if not shutil.which(tool):
            return f"{tool} not found"
    if not os.path.exists("/usr/sbin/sshd"):
        return "/usr/sbin/sshd not found (apt-get install openssh-server)"
    if not shutil.which("sudo"):
        return "sudo not found (apt-get install sudo)"
    p = subprocess.run(["ip", "netns", "list"], capture_output=True)
    if p.returncode != 0:
        return "ip netns unavailable"
    return None


# --------------------------------------------------------------------------- lifetime registry

_LIVE: "weakref.WeakSet[Lab]" = weakref.WeakSet()
_HANDLERS_INSTALLED = False
_PREV_HANDLERS: dict = {}


def _stop_all():
    for lab in list(_LIVE):
        try:
            lab.stop()
        except Exception:      # noqa: BLE001 - best effort at exit
            pass


def _on_signal(signum, frame):
    _stop_all()
    prev = _PREV_HANDLERS.get(signum, signal.SIG_DFL)
    if callable(prev):
        prev(signum, frame)
        return
    if prev == signal.SIG_IGN:
        return
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_handlers():
    global _HANDLERS_INSTALLED
    if _HANDLERS_INSTALLED:
        return
    atexit.register(_stop_all)
    if threading.current_thread() is threading.main_thread():
        for s in (signal.SIGTERM, signal.SIGHUP):
            _PREV_HANDLERS[s] = signal.getsignal(s)
            signal.signal(s, _on_signal)
    _HANDLERS_INSTALLED = True


# --------------------------------------------------------------------------- content

def _sshd_config(host: LabHost) -> tuple[str, dict[str, str]]:
    """(main sshd_config, {sshd_config.d file name: text})."""
    head = (
        "# sshd_config of hardencheck lab host %s (kind %s)\n"
        "# See sshd_config(5). Debian layout: drop-ins are read first, first value wins.\n\n"
        "Include /etc/ssh/sshd_config.d/*.conf\n\n"
        "Port 22\n"
        "HostKey /etc/ssh/ssh_host_ed25519_key\n"
        "HostKey /etc/ssh/ssh_host_ecdsa_key\n\n" % (host.name, host.kind)
    )
    if host.kind == "weak":
        body = (
            "#PermitRootLogin prohibit-password\n"
            "#PasswordAuthentication yes\n"
            "KbdInteractiveAuthentication no\n"
            "UsePAM yes\n"
            "X11Forwarding yes\n"
            "PrintMotd no\n"
            "AcceptEnv LANG LC_*\n"
            "Subsystem\tsftp\t/usr/lib/openssh/sftp-server\n"
        )
        dropins = {"50-weak.conf": (
            "# convenience settings for the admins (lab: deliberately weak)\n"
            "PasswordAuthentication yes\n"
            "KbdInteractiveAuthentication yes\n"
            "PermitRootLogin yes\n")}
        return head + body, dropins
    # the sudo host is scanned as `audit` (sudo), so root may not log in at all there
    root_login = "no" if host.kind == "sudo" else "prohibit-password"
    body = (
        "LogLevel VERBOSE\n"
        "LoginGraceTime 30\n"
        f"PermitRootLogin {root_login}\n"
        "StrictModes yes\n"
        "MaxAuthTries 3\n"
        "MaxSessions 10\n"
        "PubkeyAuthentication yes\n"
        "PasswordAuthentication no\n"
        "PermitEmptyPasswords no\n"
        "KbdInteractiveAuthentication no\n"
        "HostbasedAuthentication no\n"
        "IgnoreRhosts yes\n"
        "UsePAM yes\n"
        "AllowAgentForwarding no\n"
        "AllowTcpForwarding no\n"
        "X11Forwarding no\n"
        "PrintMotd no\n"
        "ClientAliveInterval 300\n"
        "ClientAliveCountMax 2\n"
        "PermitUserEnvironment no\n"
        "# no CBC/3DES ciphers, no SHA-1/MD5/64-bit-tag MACs, no SHA-1 key exchange or signatures\n"
        "Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,"
        "aes256-ctr,aes192-ctr,aes128-ctr\n"
        "MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com,umac-128-etm@openssh.com,"
        "hmac-sha2-512,hmac-sha2-256\n"
        "KexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,"
        "ecdh-sha2-nistp521,ecdh-sha2-nistp384,ecdh-sha2-nistp256,diffie-hellman-group16-sha512,"
        "diffie-hellman-group18-sha512\n"
        "HostKeyAlgorithms ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,"
        "rsa-sha2-512,rsa-sha2-256\n"
        "PubkeyAcceptedAlgorithms ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,"
        "sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256\n"
        "AcceptEnv LANG LC_*\n"
        "Subsystem\tsftp\t/usr/lib/openssh/sftp-server\n"
    )
    if host.kind == "stalled":
        # the login works; whatever the client asks to run, the session only sleeps
        return head + body, {"10-stalled.conf": "# hardencheck lab: a host whose commands never answer\n"
                                                "ForceCommand /bin/sleep 3600\n"}
    return head + body, {}


NFT_HARDENED = """#!/usr/sbin/nft -f
flush ruleset

table inet filter {
	chain input {
		type filter hook input priority 0; policy drop;
		iif lo accept
		ct state established,related accept
		tcp dport 22 accept
	}
}
"""
NFT_EMPTY = "#!/usr/sbin/nft -f\nflush ruleset\n"


# ---- hardening state judged by the control library (accounts, pam, sudo, sysctl, logging, backup)

HARDENED_LIKE = frozenset({"hardened", "wrongkey", "hanging", "sudo"})
# where the backup.marker / backup.restore_test probes look by default (BACKUP-001/002)
BACKUP_DIR = "/var/lib/hardencheck/backup"          # the backup job drops its success marker here
BACKUP_MARKER = BACKUP_DIR + "/last-success"        # touched after every successful backup
RESTORE_RECORD = "/var/lib/hardencheck/restore-test"  # JSON written by the (monthly) restore test
LOG_RETENTION = {"min_retention_days": 180, "max_retention_days": 400}   # the lab's log policy (LOG-006)
WEAK_LISTENER_PORT = 8080                           # weak: a forgotten dev web server on 0.0.0.0
SYSLOG_ROTATIONS = {"hardened": 26, "weak": 4}      # weekly rotation: 26 -> 182 days, 4 -> 28 days

LOGIN_DEFS = {
    "hardened": {"ENCRYPT_METHOD": "YESCRYPT", "UMASK": "027", "PASS_MAX_DAYS": "365",
                 "PASS_MIN_DAYS": "1", "PASS_WARN_AGE": "14"},
    "weak": {"ENCRYPT_METHOD": "MD5", "UMASK": "022", "PASS_MAX_DAYS": "99999",
             "PASS_MIN_DAYS": "0", "PASS_WARN_AGE": "7"},
}
USERADD_INACTIVE = {"hardened": 30, "weak": -1}

# per network namespace, written in this order by the start script before sshd runs
# (order matters: writing ip_forward resets conf/all/accept_redirects)
SYSCTLS = {
    "hardened": [
        ("net/ipv4/ip_forward", 0),
        *[(f"net/ipv4/conf/{i}/{k}", v) for i in ("all", "default") for k, v in (
            ("accept_redirects", 0), ("secure_redirects", 0), ("send_redirects", 0), ("rp_filter", 1),
            ("accept_source_route", 0), ("log_martians", 1))],
        ("net/ipv4/tcp_syncookies", 1),
        ("net/ipv4/icmp_echo_ignore_broadcasts", 1),
        ("net/ipv4/icmp_ignore_bogus_error_responses", 1),
        *[(f"net/ipv6/conf/{i}/{k}", v) for i in ("all", "default") for k, v in (
            ("forwarding", 0), ("accept_redirects", 0), ("accept_source_route", 0), ("accept_ra", 0))],
    ],
    "weak": [
        ("net/ipv4/ip_forward", 1),
        *[(f"net/ipv4/conf/{i}/{k}", v) for i in ("all", "default") for k, v in (
            ("accept_redirects", 1), ("secure_redirects", 1), ("send_redirects", 1), ("rp_filter", 0),
            ("log_martians", 0))],
        ("net/ipv4/tcp_syncookies", 1),
        *[(f"net/ipv6/conf/{i}/{k}", v) for i in ("all", "default") for k, v in (
            ("forwarding", 1), ("accept_redirects", 1))],
    ],
}

# Debian 12's pam-auth-update stacks; hardened adds pam_faillock (auth) and pam_pwquality (password)
PAM_COMMON_AUTH = {
    "hardened": (
        "# /etc/pam.d/common-auth - authentication settings common to all services\n"
        "# (hardencheck lab: pam_faillock around pam_unix, see faillock.conf)\n"
        "auth\trequisite\t\t\tpam_faillock.so preauth\n"
        "auth\t[success=2 default=ignore]\tpam_unix.so nullok\n"
        "auth\t[default=die]\t\t\tpam_faillock.so authfail\n"
        "auth\trequisite\t\t\tpam_deny.so\n"
        "auth\trequired\t\t\tpam_permit.so\n"
        "auth\toptional\t\t\tpam_cap.so\n"),
    "weak": (
        "# /etc/pam.d/common-auth - authentication settings common to all services\n"
        "auth\t[success=1 default=ignore]\tpam_unix.so nullok\n"
        "auth\trequisite\t\t\tpam_deny.so\n"
        "auth\trequired\t\t\tpam_permit.so\n"
        "auth\toptional\t\t\tpam_cap.so\n"),
}
PAM_COMMON_PASSWORD = {
    "hardened": (
        "# /etc/pam.d/common-password - password-related modules common to all services\n"
        "# (hardencheck lab: quality rules in /etc/security/pwquality.conf)\n"
        "password\trequisite\t\t\tpam_pwquality.so retry=3\n"
        "password\t[success=1 default=ignore]\tpam_unix.so obscure use_authtok try_first_pass yescrypt\n"
        "password\trequisite\t\t\tpam_deny.so\n"
        "password\trequired\t\t\tpam_permit.so\n"),
    "weak": (
        "# /etc/pam.d/common-password - password-related modules common to all services\n"
        "password\t[success=1 default=ignore]\tpam_unix.so obscure md5\n"
        "password\trequisite\t\t\tpam_deny.so\n"
        "password\trequired\t\t\tpam_permit.so\n"),
}
PAM_COMMON_ACCOUNT_HARDENED = (
    "# /etc/pam.d/common-account - authorization settings common to all services\n"
    "# (hardencheck lab: pam_faillock resets the failure count after a successful login)\n"
    "account\t[success=1 new_authtok_reqd=done default=ignore]\tpam_unix.so\n"
    "account\trequisite\t\t\tpam_deny.so\n"
    "account\trequired\t\t\tpam_permit.so\n"
    "account\trequired\t\t\tpam_faillock.so\n")
FAILLOCK_CONF = ("# Configuration for locking the user after multiple failed authentication attempts.\n"
                 "# (hardencheck lab)\n"
                 "audit\n"
                 "deny = 5\n"
                 "fail_interval = 900\n"
                 "unlock_time = 900\n")
PWQUALITY_CONF = ("# Configuration for systemwide password quality limits (hardencheck lab)\n"
                  "minlen = 14\n"
                  "dcredit = -1\n"
                  "ucredit = -1\n"
                  "lcredit = -1\n"
                  "ocredit = -1\n"
                  "retry = 3\n"
                  "enforce_for_root\n")
RSYSLOG_CONF = ("# /etc/rsyslog.conf (hardencheck lab; Debian 12 layout, shortened)\n"
                "module(load=\"imuxsock\")\n"
                "module(load=\"imklog\")\n"
                "$FileOwner root\n$FileGroup adm\n$FileCreateMode 0640\n$DirCreateMode 0755\n$Umask 0022\n"
                "$WorkDirectory /var/spool/rsyslog\n"
                "$IncludeConfig /etc/rsyslog.d/*.conf\n"
                "*.*;auth,authpriv.none\t\t-/var/log/syslog\n"
                "auth,authpriv.*\t\t\t/var/log/auth.log\n"
                "kern.*\t\t\t\t-/var/log/kern.log\n"
                "*.emerg\t\t\t\t:omusrmsg:*\n")
RSYSLOG_FORWARD = ("# forward everything to the central log collector (TCP; hardencheck lab: config only)\n"
                   "*.* @@logs.example.internal:6514\n")
LOGROTATE_CONF = ("# logrotate defaults (hardencheck lab; Debian 12 layout), see logrotate(8)\n"
                  "weekly\nrotate 4\ncreate\n#dateext\n#compress\n"
                  "# per-package settings\ninclude /etc/logrotate.d\n")
LOGROTATE_RSYSLOG = ("/var/log/syslog\n/var/log/kern.log\n/var/log/auth.log\n{\n"
                     "\trotate %d\n\tweekly\n\tmissingok\n\tnotifempty\n\tcompress\n\tdelaycompress\n"
                     "\tsharedscripts\n\tpostrotate\n\t\t/usr/lib/rsyslog/rsyslog-rotate\n\tendscript\n}\n")


def _set_keys(text: str, values: dict[str, str], sep: str) -> str:
    """Set KEY<sep>value in a config file: the first active line of each key is replaced (later
    active duplicates are commented out), missing keys are appended."""
    lines = text.splitlines()
    for key, val in values.items():
        pat = re.compile(r"^\s*" + re.escape(key) + (r"\s" if sep != "=" else r"\s*="))
        hits = [i for i, l in enumerate(lines) if pat.match(l)]
        if hits:
            lines[hits[0]] = f"{key}{sep}{val}"
            for i in hits[1:]:
                lines[i] = "# " + lines[i]
        else:
            lines.append(f"{key}{sep}{val}")
    return "\n".join(lines) + "\n"


def _world_readable_logs(limit_bytes: int = 4 << 20) -> list[Path]:
    """Regular files under the machine's /var/log (two levels) that others may read, except the
    login records login tools need (wtmp, lastlog); small ones only (they are copied per host)."""
    out = []
    for top in (Path("/var/log"),):
        for p in list(top.iterdir()) + [q for d in top.iterdir() if d.is_dir() and not d.is_symlink()
                                        for q in (d.iterdir() if os.access(d, os.R_OK | os.X_OK) else [])]:
            try:
                st = p.lstat()
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode) and st.st_mode & 0o004 and st.st_size <= limit_bytes \
                    and not re.match(r"^(wtmp|lastlog)", p.name):
                out.append(p)
    return out


def _syslog_lines(host: str, t: float, n: int = 4) -> str:
    msgs = ["systemd[1]: Starting logrotate.service - Rotate log files...",
            "systemd[1]: logrotate.service: Deactivated successfully.",
            "systemd[1]: Finished logrotate.service - Rotate log files.",
            "CRON[%d]: (root) CMD (test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; })"]
    out = []
    for i in range(n):
        ts = time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", time.gmtime(t - (n - i) * 60))
        out.append(f"{ts} {host} " + (msgs[i % len(msgs)] % (1000 + i) if "%d" in msgs[i % len(msgs)]
                                        else msgs[i % len(msgs)]))
    return "\n".join(out) + "\n"


def _fmt_date(t: float) -> str:
    # rkhunter uses date(1)'s default format, local time: "Mon Nov  3 04:53:03 UTC 2026"
    return time.strftime("%a %b %e %H:%M:%S %Z %Y", time.localtime(t))


def _rkhunter_log(hostname: str, end: float, weak: bool) -> str:
    """A faithful rkhunter 1.4.6 log: the line sequence of a real default run on Debian 12
    (tests/lab/data, recorded once with `rkhunter --check --sk --nocolors`), re-timed to end
    at ``end``. The weak variant carries a suspect file, a rootkit hit and config warnings."""
    tmpl = gzip.open(DATA / "rkhunter-1.4.6-clean.log.tmpl.gz", "rt").read().splitlines()
    offs = [int(l[2:6]) for l in tmpl if l.startswith("[+")]
    total = max(offs)
    start = end - total
    out = []
    warnings = 0
    for line in tmpl:
        if not line.startswith("[+"):
            out.append(line)
            continue
        off = int(line[2:6])
        ts = time.strftime("[%H:%M:%S]", time.localtime(start + off))
        text = line[7:]
        text = text.replace("@HOSTNAME@", hostname)
        text = text.replace("@START_DATE@", _fmt_date(start)).replace("@END_DATE@", _fmt_date(end))
        extra: list[str] = []
        if weak:
            if text.startswith("   /usr/bin/ps ") and "[ OK ]" in text:
                text = text.replace("[ OK ]", "[ Warning ]")
                extra = [" Warning: The file properties have changed:",
                         "          File: /usr/bin/ps",
                         "          Current hash: 4f0c4c5bba4e8c3b1f8a0d3de1f5ab8e3c1a56d2b8f54c2e0e9d3d7c4b1a2f60",
                         "          Stored hash : 9a7b3e2c1d0f4e5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c",
                         "          Current file modification time: %d (%s)" % (int(end) - 86400 * 31, time.strftime("%d-%b-%Y %H:%M:%S", time.localtime(end - 86400 * 31))),
                         "          Stored file modification time : 1671130402 (15-Dec-2022 19:53:22)"]
                warnings += 1
            elif text.startswith("   Checking for file '/XxJynx/reality.so'"):
                text = text.replace("[ Not found ]", "[ Found ]")
            elif text.startswith("   Checking for directory '/XxJynx'"):
                text = text.replace("[ Not found ]", "[ Found ]")
            elif text.startswith(" Jynx2 Rootkit ") and "[ Not found ]" in text:
                text = text.replace("[ Not found ]", "[ Warning ]")
                extra = [" Warning: Jynx2 Rootkit                          [ Warning ]",
                         "          File '/XxJynx/reality.so' found",
                         "          Directory '/XxJynx' found"]
                warnings += 1
            elif "ALLOW_SSH_ROOT_USER set to" in text:
                text = " Info: Rkhunter option ALLOW_SSH_ROOT_USER set to 'no'."
            elif "Checking if SSH root access is allowed" in text:
                text = text.replace("[ OK ]", "[ Warning ]")
                extra = [" Warning: The SSH and rkhunter configuration options should be the same:",
                         "          SSH configuration option 'PermitRootLogin': yes",
                         "          Rkhunter configuration option 'ALLOW_SSH_ROOT_USER': no"]
                warnings += 1
            elif "Checking for hidden files and directories" in text:
                text = text.replace("[ None found ]", "[ Warning ]")
                extra = [" Warning: Hidden file found: /dev/shm/.x11-unix: ELF 64-bit LSB executable, x86-64"]
                warnings += 1
            elif text.startswith(" Suspect files: 0"):
                text = " Suspect files: 1"
            elif text.startswith(" Possible rootkits: 0"):
                text = " Possible rootkits: 1"
                extra = [" Rootkit names    : Jynx2 Rootkit"]
        out.append(ts + text)
        for e in extra:   # rkhunter continues multi-line messages untimestamped, indented
            out.append("           " + e.strip() if e.startswith("          ") else ts + e)
        if weak and text.startswith(" The system checks took"):
            out.append(ts)
            out.append(ts + " One or more warnings have been found while checking the system.")
            out.append(ts + " Please check the log file (/var/log/rkhunter.log)")
    if weak and warnings < 4:
        raise LabError("rkhunter template changed: weak warnings not injected")
    return "\n".join(out) + "\n"


def _openvas_report(host: LabHost, end: float) -> str:
    start = end - 1423
    iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))  # noqa: E731
    rid = str(uuid.uuid4())
    results = [
        ("1.3.6.1.4.1.25623.1.0.10267", "SSH Server type and version", "Product detection", "0.0", "Log",
         "22/tcp", "remote_banner", 80,
         "Remote SSH server banner: SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10\n"
         "Remote SSH supported authentication: publickey"),
        ("1.3.6.1.4.1.25623.1.0.105565", "SSH Protocol Versions Supported", "General", "0.0", "Log",
         "22/tcp", "remote_banner", 80, "The remote SSH Server supports the following SSH Protocol Versions:\n2.0"),
        ("1.3.6.1.4.1.25623.1.0.117936", "ICMP Timestamp Reply Information Disclosure", "General", "2.1", "Low",
         "general/icmp", "remote_banner", 80,
         "The following response / ICMP packet has been received:\n- ICMP Type: 14\n- ICMP Code: 0"),
    ]
    rx = []
    for oid, name, fam, sev, threat, port, qtype, qval, desc in results:
        rx.append(f"""      <result id="{uuid.uuid4()}">
        <name>{name}</name>
        <owner><name>admin</name></owner>
        <creation_time>{iso(end - 60)}</creation_time>
        <modification_time>{iso(end - 60)}</modification_time>
        <host>{host.address}<asset asset_id="{uuid.uuid4()}"/><hostname>{host.name}</hostname></host>
        <port>{port}</port>
        <nvt oid="{oid}">
          <type>nvt</type>
          <name>{name}</name>
          <family>{fam}</family>
          <cvss_base>{sev}</cvss_base>
          <severities score="{sev}"/>
          <solution type="Mitigation"/>
        </nvt>
        <scan_nvt_version>2024-01-15T05:05:39Z</scan_nvt_version>
        <threat>{threat}</threat>
        <severity>{sev}</severity>
        <qod><value>{qval}</value><type>{qtype}</type></qod>
        <description>{desc}</description>
      </result>""")
    results_xml = "\n".join(rx)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<report id="{rid}" format_id="a994b278-1f62-11e1-96ac-406186ea4fc5" extension="xml" content_type="text/xml">
  <owner><name>admin</name></owner>
  <name>{iso(start)}</name>
  <comment/>
  <creation_time>{iso(start)}</creation_time>
  <modification_time>{iso(end)}</modification_time>
  <writable>0</writable>
  <in_use>0</in_use>
  <task id="{uuid.uuid4()}"><name>weekly-full-and-fast {host.name}</name></task>
  <report_format id="a994b278-1f62-11e1-96ac-406186ea4fc5"><name>XML</name></report_format>
  <report id="{rid}">
    <gmp><version>22.4</version></gmp>
    <scan_run_status>Done</scan_run_status>
    <hosts><count>1</count></hosts>
    <closed_cves><count>0</count></closed_cves>
    <vulns><count>1</count></vulns>
    <os><count>1</count></os>
    <apps><count>2</count></apps>
    <ssl_certs><count>0</count></ssl_certs>
    <task id="{uuid.uuid4()}"><name>weekly-full-and-fast {host.name}</name></task>
    <timestamp>{iso(start)}</timestamp>
    <scan_start>{iso(start)}</scan_start>
    <timezone>Coordinated Universal Time</timezone>
    <timezone_abbrev>UTC</timezone_abbrev>
    <ports start="1" max="-1"><count>1</count>
      <port>22/tcp<host>{host.address}</host><severity>0.0</severity><threat>Log</threat></port>
    </ports>
    <results start="1" max="100">
{results_xml}
    </results>
    <result_count>{len(results)}<full>{len(results)}</full><filtered>{len(results)}</filtered>
      <critical><full>0</full><filtered>0</filtered></critical>
      <hole><full>0</full><filtered>0</filtered></hole>
      <warning><full>0</full><filtered>0</filtered></warning>
      <info><full>1</full><filtered>1</filtered></info>
      <log><full>2</full><filtered>2</filtered></log>
      <false_positive><full>0</full><filtered>0</filtered></false_positive>
    </result_count>
    <severity><full>2.1</full><filtered>2.1</filtered></severity>
    <host>
      <ip>{host.address}</ip>
      <asset asset_id="{uuid.uuid4()}"/>
      <start>{iso(start)}</start>
      <end>{iso(end - 30)}</end>
      <port_count><page>1</page></port_count>
      <result_count><page>3</page><critical><page>0</page></critical><hole><page>0</page></hole><warning><page>0</page></warning><info><page>1</page></info><log><page>2</page></log><false_positive><page>0</page></false_positive></result_count>
      <detail><name>hostname</name><value>{host.name}</value></detail>
      <detail><name>best_os_cpe</name><value>cpe:/o:debian:debian_linux:12</value></detail>
      <detail><name>best_os_txt</name><value>Debian GNU/Linux 12 (bookworm)</value></detail>
    </host>
    <scan_end>{iso(end - 30)}</scan_end>
    <errors><count>0</count></errors>
    <report_format/>
  </report>
</report>
"""


# --------------------------------------------------------------------------- apt state

def _dpkg_installed() -> list[dict]:
    """Installed packages from the real dpkg status, as ordered (field, value) stanzas."""
    text = Path("/var/lib/dpkg/status").read_text(errors="replace")
    pkgs = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        fields: list[list[str]] = []
        for line in block.splitlines():
            if line[:1] in (" ", "\t") and fields:
                fields[-1][1] += "\n" + line
            elif ":" in line:
                k, v = line.split(":", 1)
                fields.append([k, v.strip()])
        d = dict(fields)
        if d.get("Status", "").endswith(" ok installed"):      # "install|hold ok installed"
            pkgs.append(fields)
    return pkgs


def _bump(version: str) -> str:
    m = re.search(r"\+deb(\d+)u(\d+)$", version)
    if m:
        return version[: m.start()] + f"+deb{m[1]}u{int(m[2]) + 1}"
    return version + "+deb12u1"


def _packages_text(stanzas, override: dict[str, str] | None = None) -> str:
    """A Packages index from installed stanzas; override maps package -> new version."""
    override = override or {}
    installed = {dict(f)["Package"]: dict(f)["Version"] for f in stanzas}
    drop = {"Status", "Conffiles", "Config-Version"}
    out = []
    for fields in stanzas:
        d = dict(fields)
        name, ver = d["Package"], d["Version"]
        new = override.get(name, ver)
        src = d.get("Source", name).split()[0]
        pool = src[:4] if src.startswith("lib") else src[:1]
        lines = []
        for k, v in fields:
            if k in drop:
                continue
            if k == "Version":
                v = new
            elif k in ("Depends", "Pre-Depends") and name in override:
                for other, ov in override.items():
                    if other in installed:
                        v = v.replace(f"{other} (= {installed[other]})", f"{other} (= {ov})")
            lines.append(f"{k}: {v}")
        noepoch = new.split(":", 1)[-1]
        lines.append(f"Filename: pool/main/{pool}/{src}/{name}_{noepoch}_{d.get('Architecture', 'all')}.deb")
        lines.append(f"Size: {int(d.get('Installed-Size', '1') or 1) * 300}")
        lines.append("SHA256: " + hashlib.sha256(f"{name} {new}".encode()).hexdigest())
        out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"



def _release(origin, label, suite, codename, version, files: dict[str, Path]) -> str:
    lines = [f"Origin: {origin}", f"Label: {label}", f"Suite: {suite}", f"Codename: {codename}",
             f"Version: {version}", "Date: " + time.strftime("%a, %d %b %Y %H:%M:%S UTC", time.gmtime()),
             "Acquire-By-Hash: no", "Architectures: amd64 all", "Components: main",
             f"Description: hardencheck lab mirror of Debian {version} {suite}", "SHA256:"]
    for rel, p in files.items():
        lines.append(f" {hashlib.sha256(p.read_bytes()).hexdigest()} {p.stat().st_size:>8} {rel}")
    return "\n".join(lines) + "\n"


def _build_apt_variant(base: Path, variant: str, stanzas) -> None:
    """<base>/<variant>/{mirror,lists,sources.list}: a local file: mirror with a main and a
    security suite, and the apt lists exactly as `apt-get update` makes them inside a host."""
    vdir = base / variant
    mirror = vdir / "mirror"
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip() or "amd64"
    openssh = {dict(f)["Package"]: dict(f)["Version"] for f in stanzas
               if dict(f).get("Source", dict(f)["Package"]).split()[0] == "openssh"}
    if not openssh:
        raise LabError("openssh packages not found in dpkg status")
    sec_override = {p: _bump(v) for p, v in openssh.items()} if variant == "vulnerable" else {}
    sec_stanzas = [f for f in stanzas if dict(f)["Package"] in openssh]
    suites = {
        "debian": ("bookworm", "Debian", "Debian", "stable", "bookworm", "12.11", _packages_text(stanzas)),
        "debian-security": ("bookworm-security", "Debian", "Debian-Security", "bookworm-security",
                            "bookworm-security", "12", _packages_text(sec_stanzas, sec_override)),
    }
    sources = []
    for top, (dist, origin, label, suite, codename, version, pkgs) in suites.items():
        d = mirror / top / "dists" / dist
        files = {}
        p = d / "main" / f"binary-{arch}" / "Packages"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(pkgs)
        files[f"main/binary-{arch}/Packages"] = p
        (d / "Release").write_text(_release(origin, label, suite, codename, version, files))
        sources.append((top, dist))
    # apt-get update against the workdir copy, then rename the lists to the in-host path
    lists = vdir / "lists"
    (lists / "partial").mkdir(parents=True, exist_ok=True)
    cache = vdir / "cache"
    (cache / "archives" / "partial").mkdir(parents=True, exist_ok=True)
    build_sources = vdir / "sources.build.list"
    build_sources.write_text("".join(f"deb [trusted=yes] file:{mirror}/{top} {dist} main\n" for top, dist in sources))
    _run(["apt-get", "update", "-qq",
          "-o", f"Dir::Etc::sourcelist={build_sources}", "-o", "Dir::Etc::sourceparts=/nonexistent",
          "-o", f"Dir::State::Lists={lists}", "-o", f"Dir::Cache={cache}",
          "-o", "Debug::NoLocking=1", "-o", "APT::Update::Post-Invoke-Success::=",
          "-o", "APT::Update::Post-Invoke::="], timeout=60)
    # apt names list files after the URI ("/" -> "_", and it %-escapes odd characters): keep
    # the "_<top>_dists_..." tail, swap the workdir part for the in-host mirror path
    hmangle = MIRROR_DIR.replace("/", "_")
    n = 0
    for f in lists.iterdir():
        for top, _ in sources:
            i = f.name.find(f"_{top}_dists_")
            if f.is_file() and i >= 0:
                f.rename(lists / (hmangle + f.name[i:]))
                n += 1
                break
    if n < 4:
        raise LabError(f"apt-get update made {n} list files, expected >= 4: {os.listdir(lists)}")
    shutil.rmtree(cache, ignore_errors=True)
    (vdir / "sources.list").write_text(
        "# hardencheck lab: the host's Debian mirror is local (file:), so nothing leaves the lab\n"
        + "".join(f"deb [trusted=yes] file:{MIRROR_DIR}/{top} {dist} main\n" for top, dist in sources))


# --------------------------------------------------------------------------- the lab

# ---- the untrusted-tools kind (UNTRUSTED_KINDS)

FAKE_SSHD = ("#!/bin/sh\n# planted: answers like sshd -T with a clean configuration\n"
             "printf 'passwordauthentication no\\nkbdinteractiveauthentication no\\n"
             "pubkeyauthentication yes\\npermitrootlogin no\\npermitemptypasswords no\\n'\n")
FAKE_TOOLS = {   # path in the host -> (text, mode, uid)
    "/usr/local/sbin/sshd": (FAKE_SSHD, 0o755, 0),
    "/usr/local/bin/fail2ban-client": ("#!/bin/sh\ntouch /tmp/hc-untrusted-ran\necho pong\n", 0o777, 0),
    "/usr/local/sbin/ufw": ("#!/bin/sh\ntouch /tmp/hc-untrusted-ran\necho 'Status: active'\n"
                            "echo 'Default: deny (incoming), "
                            "allow (outgoing), disabled (routed)'\n", 0o755, 1000),
    "/usr/local/bin/aide": ("#!/bin/sh\necho 'AIDE 0.18 (admin-installed)'\n", 0o755, 0),
}


def _faketools_setup(h: LabHost) -> str:
    """For a faketools host: a drop-in that allows password and root logins (sshd reads drop-ins
    first, the first value wins), NUL bytes in its rkhunter.log (zero padding before the run, one
    inside the line that starts it), and start-script lines that mount a private tmpfs on
    /usr/local (only this host's mount namespace sees it; the machine's /usr/local is never
    written) and plant FAKE_TOOLS."""
    if h.kind != "faketools":
        return ""
    upper = Path(h.dir) / "upper"
    _write(upper / "etc" / "ssh" / "sshd_config.d" / "00-faketools.conf",
           "# hardencheck lab faketools: password and root logins allowed (SSH-001/002 must fail)\n"
           "PasswordAuthentication yes\nPermitRootLogin yes\n")
    log = upper / "var" / "log" / "rkhunter.log"
    text = log.read_bytes().replace(b"Start date is", b"Start date\0 is", 1)
    log.write_bytes(b"\0" * 4096 + text)
    lines = ["mount -t tmpfs -o mode=0755,nodev tmpfs /usr/local\n",
             "mkdir -p /usr/local/sbin /usr/local/bin\n"]
    for path, (body, mode, uid) in FAKE_TOOLS.items():
        lines.append(f"printf '%s' {_shq(body)} > {path}\n"
                     f"chmod {mode:o} {path}\nchown {uid}:{uid} {path}\n")
    return "".join(lines)


def _shq(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


# ---- the liveness kinds (LIVENESS_KINDS)

SLOW_MOUNT = "/var/lib/hc-slow"     # slowwalk: where the slow filesystem is mounted in the host
SLOW_IMAGE = "/var/lib/hc-slow.img" # slowwalk: its image file, in the host
SLOW_DIRS = 400                     # directories on it (each costs the walk at least one read)
SLOW_IOPS = 25                      # read operations per second the host's processes get from it
BLKIO = Path("/sys/fs/cgroup/blkio")


def _prepare_notssh(h: LabHost) -> None:
    """A host whose port 22 is an HTTP server (python's http.server): it answers the SSH client's
    banner with an HTTP error page."""
    hd = Path(h.dir)
    hd.mkdir(parents=True, exist_ok=True)
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else shutil.which("python3")
    (hd / "www").mkdir(exist_ok=True)
    _write(hd / "start.sh",
           "#!/bin/sh\n# hardencheck lab host %s: port 22 is an HTTP server, not sshd\nset -e\n"
           "exec %s -m http.server %d --bind 0.0.0.0 --directory %s\n" % (h.name, py, h.port, hd / "www"),
           0o700)


def _slow_cgroup(prefix: str, name: str) -> Path:
    return BLKIO / f"hclab-{prefix}-{name}"


def _liveness_services(h: LabHost, prefix: str) -> str:
    """Start-script lines (after the overlays, before sshd) for the liveness kinds: slowwalk mounts
    an ext4 image of SLOW_DIRS directories at SLOW_MOUNT and puts itself (so sshd and every
    session) into a blkio cgroup that reads that device at SLOW_IOPS. The first walk of it after
    the host starts reads every directory from the device: seconds, not milliseconds."""
    if h.kind != "slowwalk":
        return ""
    if not (BLKIO / "blkio.throttle.read_iops_device").exists():
        raise LabError("slowwalk needs the cgroup v1 blkio controller (blkio.throttle.*)")
    hd = Path(h.dir)
    tree = hd / "slowtree"
    _rmtree(tree)
    for i in range(SLOW_DIRS):
        d = tree / f"d{i:04d}"
        d.mkdir(parents=True)
        (d / "data").write_text("x\n")
    # the image lives in the host's /var (its overlay's upper layer): the start script mounts a
    # tmpfs over /tmp, where the lab's own folder usually is
    img = hd / "upper" / "var" / SLOW_IMAGE.removeprefix("/var/")
    img.parent.mkdir(parents=True, exist_ok=True)
    img.unlink(missing_ok=True)
    _run(["mkfs.ext4", "-q", "-F", "-N", str(SLOW_DIRS * 4), "-d", str(tree), str(img), "64M"], timeout=120)
    _rmtree(tree)
    remove_slow_cgroups(prefix)       # an empty one of an earlier run
    # `ip netns exec` mounts a sysfs of its own: the blkio hierarchy is mounted again in /run
    cg = f"/run/hc-blkio/{_slow_cgroup(prefix, h.name).name}"
    return (f"mkdir -p {SLOW_MOUNT}\n"
            f"mount -o loop,noatime {SLOW_IMAGE} {SLOW_MOUNT}\n"
            "mkdir -p /run/hc-blkio\nmount -t cgroup -o blkio hc-blkio /run/hc-blkio\n"
            f"mkdir -p {cg}\n"
            f"echo \"$(mountpoint -d {SLOW_MOUNT}) {SLOW_IOPS}\" > {cg}/blkio.throttle.read_iops_device\n"
            f"echo $$ > {cg}/cgroup.procs\n")


def remove_slow_cgroups(prefix: str) -> None:
    """Remove the (empty) blkio cgroups of the slowwalk hosts of ``prefix`` once their processes
    are gone (after stop(); a cgroup still in use is left alone)."""
    for cg in BLKIO.glob(f"hclab-{prefix}-*") if BLKIO.is_dir() else ():
        try:
            cg.rmdir()
        except OSError:
            pass


class Lab:
    """See module docstring. Usage::

        with Lab("/tmp/hclab", prefix="hc") as lab:
            lab.start(STANDARD_HOSTS)           # or lab.start_clones(30, kind="hardened")
            lab.inventory_path, lab.known_hosts_path, lab.client_key_path
            lab.hosts["weak"].address
    """

    def __init__(self, workdir: str | os.PathLike | None = None, prefix: str = "hc", *,
                 cleanup_on_exit: bool = True, start_timeout: float = 15.0):
        if not PREFIX_RE.match(prefix):
            raise LabError(f"prefix must match {PREFIX_RE.pattern} (no '-'), got {prefix!r}")
        self.prefix = prefix
        self.owned = workdir is None
        self.workdir = Path(tempfile.mkdtemp(prefix=f"hclab-{prefix}-") if workdir is None else workdir).resolve()
        for top in OVERLAID + ("run",):
            if self.workdir == Path("/" + top) or Path("/" + top) in self.workdir.parents:
                raise LabError(f"workdir must not be under /{top} (it is overlaid inside the hosts)")
        self.cleanup_on_exit = cleanup_on_exit
        self.start_timeout = start_timeout
        self.hosts: dict[str, LabHost] = {}
        self._popens: list[subprocess.Popen] = []
        self._stopped = True
        self.timings: dict[str, float] = {}
        # sudo password of the `auditpw` account on the sudo host (a lab secret, random per lab)
        self.sudo_password = uuid.uuid4().hex
        # secrets planted on the sudo host where probes and login scripts print them (filled at
        # start): name -> the exact text that must never reach a bundle, a report or a log
        self.planted_secrets: dict[str, str] = {}

    # paths -----------------------------------------------------------------
    @property
    def client_key_path(self) -> Path:
        return self.workdir / "id_ed25519"

    @property
    def client_pubkey_path(self) -> Path:
        return self.workdir / "id_ed25519.pub"

    @property
    def known_hosts_path(self) -> Path:
        return self.workdir / "known_hosts"

    @property
    def inventory_path(self) -> Path:
        return self.workdir / "inventory.yml"

    @property
    def ssh_config_path(self) -> Path:
        """An OpenSSH client config (ssh -F) with a Host block per lab host (alias = name)."""
        return self.workdir / "ssh_config"

    @property
    def state_path(self) -> Path:
        return self.workdir / "lab.json"

    @property
    def hosts_dir(self) -> Path:
        return self.workdir / "hosts"

    @property
    def running(self) -> bool:
        return not self._stopped

    # context manager ---------------------------------------------------------
    def __enter__(self) -> "Lab":
        return self

    def __exit__(self, *exc):
        self.stop()

    # public API ----------------------------------------------------------------
    def start(self, names=STANDARD_HOSTS) -> "Lab":
        """Start the named standard hosts (each name is also its kind)."""
        names = list(names)
        for n in names:
            if not _known_kind(n):
                raise LabError(f"unknown host kind {n!r}; kinds: {sorted(KINDS | set(EXTRA_KINDS))}")
        if len(set(names)) != len(names):
            raise LabError("duplicate host names")
        return self._start([(n, n) for n in names])

    def start_clones(self, n: int, kind: str = "hardened") -> "Lab":
        """Start n hosts of one kind, named <kind>-001 ..."""
        if not _known_kind(kind):
            raise LabError(f"unknown kind {kind!r}")
        return self._start([(f"{kind}-{i:03d}", kind) for i in range(1, n + 1)])

    def ssh_argv(self, name: str, *command: str, timeout: int = 5, strict: bool = True) -> list[str]:
        """An OpenSSH client command line for a lab host (independent of hardencheck).
        strict=False: no known_hosts at all (for looking inside "wrongkey")."""
        h = self.hosts[name]
        return ["ssh", "-F", "/dev/null", "-i", str(self.client_key_path),
                "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
                "-o", f"UserKnownHostsFile={self.known_hosts_path if strict else '/dev/null'}",
                "-o", "GlobalKnownHostsFile=/dev/null",
                "-o", f"StrictHostKeyChecking={'yes' if strict else 'no'}",
                "-o", f"ConnectTimeout={timeout}", "-o", "LogLevel=ERROR",
                "-p", str(h.port), h.ssh_target, *command]

    def fingerprint(self, name: str, key_type: str = "ssh-ed25519") -> str:
        """"SHA256:..." (as ssh-keygen -l prints it) of the host key the host's sshd presents."""
        import base64
        blob = base64.b64decode(self.hosts[name].host_keys[key_type].split()[1])
        return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")

    def status(self) -> dict:
        out = {}
        for name, h in self.hosts.items():
            alive = bool(h.pid) and _alive(h.pid)
            state = "-"
            if h.pid and alive:
                try:
                    state = Path(f"/proc/{h.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
                except OSError:
                    pass
            out[name] = {"kind": h.kind, "address": h.address, "netns": h.netns, "pid": h.pid,
                         "alive": alive, "proc_state": state, "netns_exists": h.netns in _netns_list()}
        return out

    def stop(self, remove_files: bool = False) -> None:
        """Kill every process in the lab's namespaces, delete namespaces and veths, remove the
        per-host directories (and the whole workdir if the lab created it). Idempotent."""
        ns = [h.netns for h in self.hosts.values()]
        links = [h.veth for h in self.hosts.values()]
        try:
            _kill_netns_processes(ns, self._popens)
        finally:
            for p in self._popens:
                try:
                    p.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    pass
            self._popens = []
            existing_links = set(_links())
            existing_ns = set(_netns_list())
            batch = "".join(f"link del {l}\n" for l in links if l in existing_links)
            batch += "".join(f"netns del {n}\n" for n in ns if n in existing_ns)
            if batch:
                _run(["ip", "-force", "-batch", "-"], input=batch, check=False)
            _rmtree(self.hosts_dir)
            (REGISTRY / f"{self.prefix}.json").unlink(missing_ok=True)
            with _GlobalLock(wait=False) as lk:     # another lab may be setting up right now
                if lk.acquired:
                    _remove_route_if_unused()       # else leave the (harmless) route in place
            if self.owned:
                _rmtree(self.workdir)
            elif remove_files:
                for p in (self.client_key_path, self.client_pubkey_path, self.known_hosts_path,
                          self.inventory_path, self.ssh_config_path, self.state_path):
                    p.unlink(missing_ok=True)
                _rmtree(self.workdir / "apt")
                try:
                    self.workdir.rmdir()
                except OSError:
                    pass
            self._stopped = True
            _LIVE.discard(self)

    @classmethod
    def load(cls, workdir) -> "Lab":
        """Re-attach to a lab started by another process (for `down`/`status`)."""
        workdir = Path(workdir).resolve()
        st = json.loads((workdir / "lab.json").read_text())
        lab = cls(workdir, st["prefix"], cleanup_on_exit=False)
        lab.owned = st.get("owned", False)
        lab.sudo_password = st.get("sudo_password", lab.sudo_password)
        lab.planted_secrets = st.get("planted_secrets", {})
        lab.hosts = {n: LabHost(**h) for n, h in st["hosts"].items()}
        lab._stopped = False
        return lab

    # implementation ------------------------------------------------------------
    def _start(self, specs: list[tuple[str, str]]) -> "Lab":
        if not self._stopped:
            raise LabError("lab already started; stop() it first")
        why = preflight()
        if why:
            raise LabError(why)
        t0 = time.monotonic()
        if self.cleanup_on_exit:
            _install_handlers()
        # leftovers of a crashed run with the same prefix
        cleanup_prefix(self.prefix)
        _rmtree(self.hosts_dir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._stopped = False
        if self.cleanup_on_exit:
            _LIVE.add(self)
        try:
            self.hosts = {}
            REGISTRY.mkdir(parents=True, exist_ok=True)
            (REGISTRY / f"{self.prefix}.json").write_text(
                json.dumps({"workdir": str(self.workdir), "owned": self.owned, "pid": os.getpid()}))
            with _GlobalLock():
                used = _lab_addresses_in_use()
                free = [s for s in range(1, MAX_SLOTS + 1) if s not in used]
                if len(free) < len(specs):
                    raise LabError("not enough free 198.18.0.0/15 slots")
                for i, (name, kind) in enumerate(specs):
                    if not NAME_RE.match(name):
                        raise LabError(f"bad host name {name!r}")
                    slot = free[i]
                    gw, addr = _slot_net(slot)
                    h = LabHost(name=name, kind=kind, slot=slot, netns=f"{self.prefix}-{name}",
                                veth=f"{self.prefix}-{i + 1}", address=addr, gateway=gw,
                                dir=str(self.hosts_dir / name))
                    if kind == "sudo":
                        h.user, h.become = AUDIT_USER, True
                    h.tags = [kind] if name == kind else [kind, "clone"]
                    if kind != "unreachable":
                        h.params = {"SCAN-002": {"report_path": OPENVAS_DIR}, "LOG-006": dict(LOG_RETENTION)}
                    if kind == "sudo":     # the scanner's own account is the approved exception
                        h.params["ACCT-008"] = {"allowed_nopasswd": [AUDIT_USER]}
                    if kind in EXTRA_KINDS:
                        for cid, values in EXTRA_KINDS[kind].params.items():
                            h.params[cid] = {**h.params.get(cid, {}), **values}
                    self.hosts[name] = h
                self._write_state()
                self._setup_network()
            self.timings["network"] = time.monotonic() - t0
            self._prepare_files()
            self.timings["files"] = time.monotonic() - t0
            self._write_state()
            self._write_client_files()
            self._launch()
            self.timings["total"] = time.monotonic() - t0
            return self
        except BaseException:
            self.stop()
            raise

    def _write_state(self):
        st = {"prefix": self.prefix, "owned": self.owned, "workdir": str(self.workdir),
              "sudo_password": self.sudo_password, "planted_secrets": self.planted_secrets,
              "hosts": {n: asdict(h) for n, h in self.hosts.items()}}
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(st, indent=1))
        os.chmod(tmp, 0o600)   # holds the lab's sudo password
        tmp.replace(self.state_path)

    def _setup_network(self):
        r = _run(["ip", "route", "show", "type", "unreachable", str(LAB_NET)], check=False).stdout
        if not r.strip():
            # anything sent to a lab address that does not exist fails here, never leaves
            _run(["ip", "route", "add", "unreachable", str(LAB_NET)], check=False)
        batch = []
        for h in self.hosts.values():
            batch += [f"netns add {h.netns}",
                      f"link add {h.veth} type veth peer name eth0 netns {h.netns}",
                      f"addr add {h.gateway}/30 dev {h.veth}",
                      f"link set {h.veth} up"]
        _run(["ip", "-batch", "-"], input="\n".join(batch) + "\n")

        def inside(h):
            _run(["ip", "-n", h.netns, "-batch", "-"],
                 input=f"addr add {h.address}/30 dev eth0\nlink set eth0 up\nlink set lo up\n")
        with ThreadPoolExecutor(8) as ex:
            list(ex.map(inside, self.hosts.values()))

    def _prepare_files(self):
        # the client key, once per lab (kept if the workdir already holds one)
        if not (self.client_key_path.exists() and self.client_pubkey_path.exists()):
            for p in (self.client_key_path, self.client_pubkey_path):
                p.unlink(missing_ok=True)
            _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"hardencheck-lab-{self.prefix}",
                  "-f", str(self.client_key_path)])
        os.chmod(self.client_key_path, 0o600)
        os.chmod(self.client_pubkey_path, 0o600)
        self._client_pub = self.client_pubkey_path.read_text().strip()

        kinds = {h.kind for h in self.hosts.values()}
        apt = self.workdir / "apt"
        _rmtree(apt)
        stanzas = _dpkg_installed()
        variants = set()
        if kinds & {"hardened", "wrongkey", "hanging", "sudo", "stalled", "slowwalk", "faketools",
                    *EXTRA_KINDS}:
            variants.add("clean")
        if "weak" in kinds:
            variants.add("vulnerable")
        now = time.time()
        self._rk = {}
        with ThreadPoolExecutor(8) as ex:
            for f in [ex.submit(_build_apt_variant, apt, v, stanzas) for v in variants]:
                f.result()
            for f in [ex.submit(self._prepare_host, h, apt, now) for h in self.hosts.values()]:
                f.result()

    def _prepare_host(self, h: LabHost, apt: Path, now: float):
        hd = Path(h.dir)
        if h.kind == "unreachable":
            hd.mkdir(parents=True, exist_ok=True)
            return
        if h.kind == "notssh":
            return _prepare_notssh(h)
        up = {d: hd / "upper" / d for d in OVERLAID}
        for d in OVERLAID:
            up[d].mkdir(parents=True, exist_ok=True)
            (hd / "work" / d).mkdir(parents=True, exist_ok=True)
        etc, var, root, home = up["etc"], up["var"], up["root"], up["home"]

        # host keys: own ed25519 + ecdsa; hide the machine's keys
        sshd_dir = etc / "ssh"
        sshd_dir.mkdir(parents=True, exist_ok=True)
        for f in Path("/etc/ssh").glob("ssh_host_*"):
            _whiteout(sshd_dir / f.name)
        procs = []
        for t in ("ed25519", "ecdsa"):
            k = sshd_dir / f"ssh_host_{t}_key"
            k.unlink(missing_ok=True)
            Path(str(k) + ".pub").unlink(missing_ok=True)
            procs.append(subprocess.Popen(["ssh-keygen", "-q", "-t", t, "-N", "", "-C", f"root@{h.name}",
                                           "-f", str(k)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
            if h.kind == "wrongkey":
                fk = hd / f"fake_host_{t}_key"
                procs.append(subprocess.Popen(["ssh-keygen", "-q", "-t", t, "-N", "", "-C", "not-the-host",
                                               "-f", str(fk)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        for p in procs:
            if p.wait() != 0:
                raise LabError(f"ssh-keygen failed: {p.stderr.read()}")
        for t in ("ed25519", "ecdsa"):
            pub = " ".join((sshd_dir / f"ssh_host_{t}_key.pub").read_text().split()[:2])
            h.host_keys[pub.split()[0]] = pub
            if h.kind == "wrongkey":
                fake = " ".join((hd / f"fake_host_{t}_key.pub").read_text().split()[:2])
                h.known_keys[fake.split()[0]] = fake
            else:
                h.known_keys[pub.split()[0]] = pub

        main, dropins = _sshd_config(h)
        _write(sshd_dir / "sshd_config", main, 0o644 if h.kind == "weak" else 0o600)
        _opaque(sshd_dir / "sshd_config.d")
        for fn, text in dropins.items():
            _write(sshd_dir / "sshd_config.d" / fn, text)

        # identity
        _write(etc / "hostname", h.name + "\n")
        hosts = Path("/etc/hosts").read_text()
        _write(etc / "hosts", f"127.0.0.1\tlocalhost\n127.0.1.1\t{h.name}\n{h.address}\t{h.name}\n"
               + "\n".join(l for l in hosts.splitlines() if not l.startswith("127.")) + "\n")

        # root's authorized_keys (hide the machine's root .ssh)
        _opaque(root / ".ssh")
        os.chmod(root / ".ssh", 0o700)
        _write(root / ".ssh" / "authorized_keys", self._client_pub + "\n", 0o600)
        # root's rc files as Debian ships them, not this machine's: sshd's bash runs ~/.bashrc for
        # every command, and a developer's or CI runner's (pyenv init here) would cost each login
        # ~0.1 s of host CPU, put its shims first in the probes' PATH, and a lock its rehash left
        # in a host's overlay stalled every later login to that host for 60 s
        for rc, text in ROOT_RC.items():
            _write(root / rc, text, 0o644)

        if h.kind == "sudo":
            self._add_audit_user(etc, home)

        # firewall
        extra = EXTRA_KINDS.get(h.kind)
        _write(hd / "nft.conf", NFT_EMPTY if h.kind == "weak"
               else (extra.nft if extra and extra.nft else NFT_HARDENED))

        # apt: sources + lists + mirror of the variant; stale for weak
        variant = "vulnerable" if h.kind == "weak" else "clean"
        apt_etc = etc / "apt"
        _write(apt_etc / "sources.list", (apt / variant / "sources.list").read_text())
        _opaque(apt_etc / "sources.list.d")
        lists = var / "lib" / "apt" / "lists"
        _opaque(lists)
        (lists / "partial").mkdir(exist_ok=True)
        for f in (apt / variant / "lists").iterdir():
            if f.is_file():
                shutil.copy2(f, lists / f.name)
        _opaque(var / "cache" / "apt")
        (var / "cache" / "apt" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
        mirror = var / MIRROR_DIR.lstrip("/").removeprefix("var/")
        shutil.copytree(apt / variant / "mirror", mirror, copy_function=os.link)
        periodic = var / "lib" / "apt" / "periodic"
        periodic.mkdir(parents=True, exist_ok=True)
        for stamp in ("update-success-stamp", "update-stamp"):
            (periodic / stamp).touch()
        # (weak's index is fresh too: its pending security update must be trustworthy evidence)

        # rkhunter
        log = var / "log" / "rkhunter.log"
        if h.kind == "weak":
            _write(log, _rkhunter_log(h.name, now - OLD_DAYS * 86400, weak=True), 0o640, 0, 4)
            _age(log, OLD_DAYS)
        else:
            _write(log, _rkhunter_log(h.name, now - 5, weak=False), 0o640, 0, 4)

        # OpenVAS report (not on weak)
        ov = var / OPENVAS_DIR.removeprefix("/var/")
        if h.kind != "weak":
            _write(ov / f"report-{h.name}.xml", _openvas_report(h, now - 3600), 0o640)
        elif Path(OPENVAS_DIR).exists():
            _opaque(ov)

        # accounts, pam, sudo, login.defs, journald/rsyslog, rotated logs, files, backups
        netns_setup = self._system_state(h, etc, var, now)
        netns_setup["services"] += _liveness_services(h, self.prefix)
        netns_setup["services"] += _faketools_setup(h)
        if extra and extra.prepare:
            netns_setup["services"] += extra.prepare(h, {**up, "host": hd}) or ""

        # start script (runs inside the host's network namespace, becomes the sshd)
        reboot = ""
        if h.kind == "weak":
            reboot = ("printf '*** System restart required ***\\n' > /run/reboot-required\n"
                      "printf 'openssh-server\\nlibssl3\\n' > /run/reboot-required.pkgs\n")
        # volatile (Linux >= 5.10): the upper layers are thrown away with the host, so no sync of
        # them; without it the unmount at the host's exit syncs the whole upper file system (this
        # machine's disk), which under load kept killed hosts in state D for many seconds
        ovl = {d: f"lowerdir=/{d},upperdir={up[d]},workdir={hd / 'work' / d}" for d in OVERLAID}
        mounts = "".join(
            f"mount -t overlay overlay -o {ovl[d]},volatile /{d} 2>/dev/null"
            f" || mount -t overlay overlay -o {ovl[d]} /{d}\n"
            for d in OVERLAID)
        script = (
            "#!/bin/sh\n# hardencheck lab host %(name)s: runs in netns %(ns)s, becomes sshd\nset -e\n"
            # the caller's working directory may be under /tmp, which the host mounts over: every
            # program started below (a pyenv shim cd's back to it) runs from /
            "cd /\n"
            "mount --make-rprivate /\n"
            "hostname %(name)s\n"
            "%(sysctl)s"
            "nft -f %(hd)s/nft.conf\n"
            "%(mounts)s"
            "mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run\n"
            "mkdir -p /run/sshd /run/lock /run/user && chmod 1777 /run/lock\n"
            "%(reboot)s"
            "mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp\n"
            "%(services)s"
            "exec /usr/sbin/sshd -D -e -f /etc/ssh/sshd_config\n"
        ) % {"name": h.name, "ns": h.netns, "hd": hd, "mounts": mounts, "reboot": reboot,
             "sysctl": netns_setup["sysctl"], "services": netns_setup["services"]}
        _write(hd / "start.sh", script, 0o700)

    def _system_state(self, h: LabHost, etc: Path, var: Path, now: float) -> dict[str, str]:
        """The host's hardening state (real files in its overlays), hardened-like or weak, and the
        start-script lines for its network namespace: {"sysctl": ..., "services": ...}."""
        kind = "weak" if h.kind == "weak" else "hardened"
        hardened = kind == "hardened"

        # login.defs and useradd defaults: the machine's files with the lab's values
        _write(etc / "login.defs", _set_keys(Path("/etc/login.defs").read_text(errors="replace")
                                             if Path("/etc/login.defs").exists() else "",
                                             LOGIN_DEFS[kind], "\t\t"))
        ua = Path("/etc/default/useradd")
        _write(etc / "default" / "useradd", _set_keys(ua.read_text(errors="replace") if ua.exists() else "",
                                                     {"INACTIVE": str(USERADD_INACTIVE[kind])}, "="))

        # pam: Debian's common stacks, hardened with pam_faillock/pam_pwquality configuration
        _write(etc / "pam.d" / "common-auth", PAM_COMMON_AUTH[kind])
        _write(etc / "pam.d" / "common-password", PAM_COMMON_PASSWORD[kind])
        if hardened:
            _write(etc / "pam.d" / "common-account", PAM_COMMON_ACCOUNT_HARDENED)
        sec = etc / "security"
        if hardened:
            _write(sec / "faillock.conf", FAILLOCK_CONF)
            _write(sec / "pwquality.conf", PWQUALITY_CONF)
            _opaque(sec / "pwquality.conf.d")
        else:
            for f in ("faillock.conf", "pwquality.conf"):
                if (Path("/etc/security") / f).exists():
                    _whiteout(sec / f)
            if Path("/etc/security/pwquality.conf.d").exists():
                _whiteout(sec / "pwquality.conf.d")

        # sudo: pty + log file (hardened), a passwordless rule for the deploy account (weak)
        if hardened:
            _write(etc / "sudoers.d" / "10-hardening",
                   "# sudo hardening (hardencheck lab)\nDefaults use_pty\nDefaults logfile=/var/log/sudo.log\n",
                   0o440)
        else:
            _write(etc / "sudoers.d" / "50-deploy",
                   "# CI deployments (hardencheck lab: deliberately weak)\ndeploy ALL=(ALL) NOPASSWD: ALL\n", 0o440)
        os.chmod(etc / "sudoers.d", 0o755)

        # journald, rsyslog, logrotate, rotated syslog files
        _write(etc / "systemd" / "journald.conf",
               "#  See journald.conf(5) for details. (hardencheck lab)\n\n[Journal]\n"
               + ("Storage=persistent\nCompress=yes\n" if hardened else "Storage=volatile\n"))
        if Path("/etc/systemd/journald.conf.d").exists():
            _opaque(etc / "systemd" / "journald.conf.d")
        journal = var / "log" / "journal"
        if hardened:
            journal.mkdir(parents=True, exist_ok=True)
            gid = _gid("systemd-journal")
            os.chown(journal, 0, gid)
            os.chmod(journal, 0o2755)
        elif Path("/var/log/journal").exists():
            _whiteout(journal)
        _write(etc / "rsyslog.conf", RSYSLOG_CONF)
        _opaque(etc / "rsyslog.d")
        if hardened:
            _write(etc / "rsyslog.d" / "90-forward.conf", RSYSLOG_FORWARD)
        rotations = SYSLOG_ROTATIONS[kind]
        _write(etc / "logrotate.conf", LOGROTATE_CONF)
        _write(etc / "logrotate.d" / "rsyslog", LOGROTATE_RSYSLOG % rotations)
        adm = _gid("adm")
        logdir = var / "log"
        _write(logdir / "syslog", _syslog_lines(h.name, now), 0o640, 0, adm)
        for n in range(1, rotations + 1):
            t = now - n * 7 * 86400
            if n == 1:
                f = logdir / "syslog.1"
                _write(f, _syslog_lines(h.name, t), 0o640, 0, adm)
            else:
                f = logdir / f"syslog.{n}.gz"
                _write(f, "", 0o640, 0, adm)
                f.write_bytes(gzip.compress(_syslog_lines(h.name, t).encode(), mtime=int(t)))
            _age(f, n * 7)

        # hardened: the machine's world-readable log files are not world-readable in the host
        if hardened:
            for src in _world_readable_logs():
                dst = logdir / src.relative_to("/var/log")
                if dst.exists():
                    continue
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst)
                st = src.stat()
                os.chown(dst, st.st_uid, st.st_gid)
                os.chmod(dst, stat.S_IMODE(st.st_mode) & ~0o007)

        # files: weak has a world-writable config file and a world-writable dir without sticky bit
        if not hardened:
            _write(etc / "hc-lab" / "shared.conf", "# shared settings, writable by everyone (lab: weak)\nlevel=debug\n",
                   0o666)
            up = var / "tmp" / "upload"
            up.mkdir(parents=True, exist_ok=True)
            os.chmod(up, 0o777)

        # backups: hardened has a fresh success marker and a restore test; weak a stale marker only
        marker = var / BACKUP_MARKER.removeprefix("/var/")
        record = var / RESTORE_RECORD.removeprefix("/var/")
        if hardened:
            _write(marker, "backup job finished: 2 filesystems, 0 errors\n", 0o640)
            _age(marker, 2 / 24)
            tested = now - 12 * 86400
            _write(record, json.dumps({
                "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(tested)),
                "result": "success", "duration_s": 812,
                "restored": "/srv/data (sample of 200 files, checksums compared)"}, indent=1) + "\n", 0o640)
            _age(record, 12)
        else:
            _write(marker, "backup job finished: 1 filesystem, 0 errors\n", 0o640)
            _age(marker, OLD_DAYS)

        # accounts: weak has a second UID 0 account with an MD5 hash, one with an empty password
        if not hardened:
            md5 = _run(["openssl", "passwd", "-1", "-stdin"], input=uuid.uuid4().hex + "\n").stdout.strip()
            self._add_accounts(etc, [
                ("toor", 0, 0, md5, "/root", "/bin/bash", "root alias"),
                ("guest", None, None, "", "/home/guest", "/bin/sh", "guest"),
                ("deploy", None, None, "!", "/home/deploy", "/bin/bash", "CI deployments"),
            ])

        # hardened persists its network sysctls as an admin would (NET-003/4/5 judge what the next
        # boot sets too); weak sets them at runtime only
        if hardened:
            _write(etc / "sysctl.d" / "60-hardening.conf",
                   "# network hardening (hardencheck lab), applied by systemd-sysctl at boot\n"
                   + "".join(f"{key.replace('/', '.')} = {val}\n" for key, val in SYSCTLS[kind]))
        # per-netns sysctls (before sshd), and weak's extra listener (after /run is mounted)
        lines = []
        for key, val in SYSCTLS[kind]:
            path = f"/proc/sys/{key}"
            if key.startswith("net/ipv6/"):
                lines.append(f"if [ -w {path} ]; then echo {val} > {path}; fi\n")
            else:
                lines.append(f"echo {val} > {path}\n")
        services = ""
        if not hardened:
            py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else shutil.which("python3")
            services = ("mkdir -p /run/hc-www\n"
                        f"{py} -m http.server {WEAK_LISTENER_PORT} --bind 0.0.0.0 --directory /run/hc-www "
                        "</dev/null >/dev/null 2>&1 &\n")
        return {"sysctl": "".join(lines), "services": services}

    def _add_accounts(self, etc: Path, accounts):
        """Append accounts (user, uid|None, gid|None, shadow password field, home, shell, gecos) to
        the host's passwd/shadow/group/gshadow (copies of the machine's files)."""
        passwd = Path("/etc/passwd").read_text()
        uids = {int(l.split(":")[2]) for l in passwd.splitlines() if l.count(":") >= 6}
        gids = {int(l.split(":")[2]) for l in Path("/etc/group").read_text().splitlines() if l.count(":") >= 3}
        free = (u for u in range(2990, 60000) if u not in uids and u not in gids)
        rows = []
        for user, uid, gid, pw, home, shell, gecos in accounts:
            own_group = uid is None
            if uid is None:
                uid = gid = next(free)
            rows.append((user, uid, gid, pw, home, shell, gecos, own_group))
        day = int(time.time() // 86400)
        for fn in ("passwd", "shadow", "group", "gshadow"):
            src = Path("/etc") / fn
            st = src.stat()
            text = src.read_text()
            if not text.endswith("\n"):
                text += "\n"
            for user, uid, gid, pw, home, shell, gecos, own_group in rows:
                line = {"passwd": f"{user}:x:{uid}:{gid}:{gecos},,,:{home}:{shell}",
                        "shadow": f"{user}:{pw}:{day}:0:99999:7:::",
                        "group": f"{user}:x:{gid}:" if own_group else None,
                        "gshadow": f"{user}:!::" if own_group else None}[fn]
                if line:
                    text += line + "\n"
            _write(etc / fn, text, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)

    def _add_audit_user(self, etc: Path, home: Path):
        """Two scanner accounts: `audit` (sudo without password) and `auditpw`, whose sudo asks for
        the password in ``self.sudo_password`` (to test the sudo-password path for real)."""
        passwd = Path("/etc/passwd").read_text()
        uids = {int(l.split(":")[2]) for l in passwd.splitlines() if l.count(":") >= 6}
        gids = {int(l.split(":")[2]) for l in Path("/etc/group").read_text().splitlines() if l.count(":") >= 3}
        free = (u for u in range(1990, 60000) if u not in uids and u not in gids)
        pw_hash = _run(["openssl", "passwd", "-6", "-stdin"], input=self.sudo_password + "\n").stdout.strip()
        accounts = [(AUDIT_USER, next(free), "*", "NOPASSWD: ALL"),
                    (AUDIT_PW_USER, next(free), pw_hash, "ALL")]
        for fn in ("passwd", "shadow", "group", "gshadow"):
            src = Path("/etc") / fn
            st = src.stat()
            text = src.read_text()
            if not text.endswith("\n"):
                text += "\n"
            for user, uid, pw, _ in accounts:
                text += {"passwd": f"{user}:x:{uid}:{uid}:hardencheck audit,,,:/home/{user}:/bin/bash",
                         "shadow": f"{user}:{pw}:{int(time.time() // 86400)}:0:99999:7:::",
                         "group": f"{user}:x:{uid}:",
                         "gshadow": f"{user}:!::"}[fn] + "\n"
            _write(etc / fn, text, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
        _write(etc / "sudoers.d" / "hardencheck-audit",
               "# hardencheck read-only audit accounts\n"
               + "".join(f"{user} ALL=(root) {rule}\n" for user, _, _, rule in accounts), 0o440)
        os.chmod(etc / "sudoers.d", 0o755)
        for user, uid, _, _ in accounts:
            hd = home / user
            (hd / ".ssh").mkdir(parents=True, exist_ok=True)
            _write(hd / ".ssh" / "authorized_keys", self._client_pub + "\n", 0o600, uid, uid)
            for p, m in ((hd / ".ssh", 0o700), (hd, 0o750)):
                os.chmod(p, m)
                os.chown(p, uid, uid)
            for skel in Path("/etc/skel").glob(".*"):
                if skel.is_file():
                    shutil.copy(skel, hd / skel.name)
                    os.chown(hd / skel.name, uid, uid)
            if user == AUDIT_PW_USER:
                # A chatty rc file, as on many real servers: bash runs ~/.bashrc for commands
                # that sshd starts, so this lands before sudo's prompt and the probe output.
                # (first: Debian's skeleton .bashrc returns early for non-interactive shells)
                # It also prints the account's own shadow line: a password hash in command output.
                self.planted_secrets["shadow-hash"] = pw_hash
                rc = hd / ".bashrc"
                rc.write_text(LOGIN_NOISE + f"echo '{user}:{pw_hash}:19000:0:99999:7:::'\n"
                              + (rc.read_text() if rc.exists() else ""))
                os.chown(rc, uid, uid)
        self._plant_secrets_in_os_release(etc)

    def _plant_secrets_in_os_release(self, etc: Path):
        """/etc/os-release, which the host.os probe prints on every scan, with a private key, a
        password and a site-specific token pasted into comments (as a careless admin might)."""
        key = Path(self.workdir) / "planted_key"
        key.unlink(missing_ok=True)
        Path(str(key) + ".pub").unlink(missing_ok=True)
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "planted", "-f", str(key)])
        pem = key.read_text()
        body = [ln for ln in pem.splitlines() if ln and not ln.startswith("-----")]
        for i, line in enumerate(body):
            self.planted_secrets[f"private-key-line-{i}"] = line
        self.planted_secrets["db-password"] = "pw-" + uuid.uuid4().hex
        self.planted_secrets["acme-token"] = "acme_" + uuid.uuid4().hex
        planted = ("# --- pasted by an admin, do not do this ---\n"
                   + "".join(f"# {ln}\n" for ln in pem.splitlines())
                   + f"# db_password={self.planted_secrets['db-password']}\n"
                   + f"# deploy with {self.planted_secrets['acme-token']}\n")
        _write(etc / "os-release", Path("/etc/os-release").read_text() + planted, 0o644)

    def _write_client_files(self):
        lines = []
        for h in self.hosts.values():
            hostpat = h.address if h.port == 22 else f"[{h.address}]:{h.port}"
            for k in h.known_keys.values():
                lines.append(f"{hostpat} {k}")
        _write(self.known_hosts_path, "\n".join(lines) + ("\n" if lines else ""), 0o600)

        cfg = ["# OpenSSH client config for the hardencheck lab: ssh -F %s <name>" % self.ssh_config_path]
        for h in self.hosts.values():
            cfg += [f"Host {h.name} {h.address}", f"  HostName {h.address}", f"  User {h.user}", f"  Port {h.port}"]
        cfg += ["Host *", f"  IdentityFile {self.client_key_path}", "  IdentitiesOnly yes",
                f"  UserKnownHostsFile {self.known_hosts_path}", "  GlobalKnownHostsFile /dev/null",
                "  StrictHostKeyChecking yes", "  BatchMode yes", "  ConnectTimeout 3"]
        _write(self.ssh_config_path, "\n".join(cfg) + "\n", 0o644)

        def flow(v):
            if isinstance(v, dict):
                return "{" + ", ".join(f"{k}: {flow(x)}" for k, x in v.items()) + "}"
            if isinstance(v, list):
                return "[" + ", ".join(flow(x) for x in v) + "]"
            if isinstance(v, bool):
                return "true" if v else "false"
            return str(v)

        out = ["# hardencheck lab inventory (generated by tests/lab; prefix %s)" % self.prefix,
               "defaults:", "  user: root", "  port: 22",
               "  identity_file: id_ed25519          # relative paths are relative to the inventory file",
               "  known_hosts_file: known_hosts", "  connect_timeout: 3",
               "groups:", "  lab:", "    tags: [lab]", "hosts:"]
        for h in self.hosts.values():
            d = {"address": h.address}
            if h.user != "root":
                d["user"] = h.user
            if h.become:
                d["become"] = True
            if h.port != 22:
                d["port"] = h.port
            d["groups"] = ["lab"]
            d["tags"] = h.tags
            if h.params:
                d["params"] = h.params
            out.append(f"  {h.name}: {flow(d)}")
        _write(self.inventory_path, "\n".join(out) + "\n", 0o644)

    def _launch(self):
        listening = [h for h in self.hosts.values() if h.listens]
        for h in listening:
            hd = Path(h.dir)
            log = open(hd / "sshd.log", "ab")
            p = subprocess.Popen(["ip", "netns", "exec", h.netns, "unshare", "-m", "-u",
                                  "--propagation", "private", "/bin/sh", str(hd / "start.sh")],
                                 stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                                 close_fds=True)
            log.close()
            self._popens.append(p)
            h.pid = p.pid      # ip netns exec, unshare and sh all exec: this pid becomes sshd
        self._write_state()
        deadline = time.monotonic() + self.start_timeout
        pending = list(listening)
        while pending:
            still = []
            for h in pending:
                p = next(p for p in self._popens if p.pid == h.pid)
                if p.poll() is not None:
                    raise LabError(f"{h.name}: sshd exited with {p.returncode}:\n{self._log_tail(h)}")
                ready = self._listening(h) if h.kind in ("hanging", "notssh") else self._banner(h)
                if ready and h.kind == "weak":
                    ready = self._listening(h, WEAK_LISTENER_PORT)
                if not ready:
                    still.append(h)
            pending = still
            if pending:
                if time.monotonic() > deadline:
                    raise LabError("hosts not ready in time: " + ", ".join(
                        f"{h.name}:\n{self._log_tail(h)}" for h in pending))
                time.sleep(0.02)
        for h in listening:
            if h.kind == "hanging":
                os.kill(h.pid, signal.SIGSTOP)     # the kernel keeps completing handshakes
        self._write_state()

    @staticmethod
    def _log_tail(h: LabHost) -> str:
        try:
            return "\n".join((Path(h.dir) / "sshd.log").read_text(errors="replace").splitlines()[-15:])
        except OSError:
            return "(no log)"

    @staticmethod
    def _banner(h: LabHost) -> bool:
        try:
            with socket.create_connection((h.address, h.port), timeout=0.3) as s:
                s.settimeout(2)
                return s.recv(64).startswith(b"SSH-")
        except OSError:
            return False

    @staticmethod
    def _listening(h: LabHost, port: int | None = None) -> bool:
        port = h.port if port is None else port
        for f in ("tcp", "tcp6"):
            try:
                rows = Path(f"/proc/{h.pid}/net/{f}").read_text().splitlines()[1:]
            except OSError:
                continue
            for r in rows:
                c = r.split()
                if c[1].endswith(":%04X" % port) and c[3] == "0A":
                    return True
        return False
