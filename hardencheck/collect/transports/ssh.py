"""SSH transport (paramiko): strict host keys, one session, one exec per host.

* Host keys are checked against known_hosts before anything is sent. An unknown key is refused
  (``hostkey_unknown``) unless the operator opted into trust-on-first-use, which records the key
  and marks the evidence; a changed key is always refused (``hostkey_mismatch``).
* Authentication: with an identity file (inventory or ssh_config), that file only; without one,
  the ssh-agent and the default key files, as ``ssh`` would. Agent forwarding is never requested.
* Jump hosts: each hop is a real SSH connection with its own host-key check; the next hop runs
  over a ``direct-tcpip`` channel of the previous one.
* The probe script travels on stdin of ``/bin/sh -s`` (``sudo -n -- /bin/sh -s`` when the host
  needs root). With a sudo password (from an environment variable only), sudo is started with a
  random prompt and the password is written only after that exact prompt appeared; it is never
  on a command line, in evidence or in logs.
* Liveness: besides the command budget, a host that sends nothing for the idle limit is cut
  (``ExecResult.stalled_for``). Keepalives do not count: only bytes of the command's output do.
* Connection failures are said in words (refused, no route, timed out, name not found), and a
  port that answers with something other than SSH is ``not_ssh`` with what it sent (bounded,
  escaped), not a timeout.
"""

from __future__ import annotations

import errno
import logging
import os
import secrets
import select
import socket
import time
from pathlib import Path

import paramiko

from hardencheck.errors import HostError
from hardencheck.collect.transports.base import ExecResult, HostIdentity, Liveness


# paramiko logs connection failures itself (to stderr, through logging's last-resort handler).
# Every failure already ends up, classified, in the results: keep the terminal for the summary.
logging.getLogger("paramiko").addHandler(logging.NullHandler())


def fingerprint(key: paramiko.PKey) -> str:
    return key.fingerprint  # "SHA256:..." exactly as ssh-keygen -l prints it


class UnknownHostKey(paramiko.SSHException):
    def __init__(self, hostname: str, key: paramiko.PKey):
        super().__init__(hostname)
        self.hostname = hostname
        self.key = key


class _Policy(paramiko.MissingHostKeyPolicy):
    """Refuse unknown keys, or (trust-on-first-use) record them in ``save_to``."""

    def __init__(self, tofu: bool, save_to: str | None):
        self.tofu = tofu
        self.save_to = save_to
        self.trusted_new = False

    def missing_host_key(self, client, hostname, key):
        if not self.tofu or not self.save_to:
            raise UnknownHostKey(hostname, key)
        client.get_host_keys().add(hostname, key.get_name(), key)
        path = Path(self.save_to).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a") as f:
            f.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
        self.trusted_new = True


#: bytes of what a peer sent first that are kept to tell SSH from something else
PEEK_BYTES = 512
#: characters of a non-SSH answer shown in the message
SHOWN_CHARS = 120


class _Peek:
    """A socket (or jump-host channel) that remembers the first bytes the peer sent, and whether
    it closed the connection: when the SSH handshake fails, they say what answered instead."""

    def __init__(self, sock):
        self._sock = sock
        self.first = b""
        self.eof = False

    def recv(self, n):
        data = self._sock.recv(n)
        if not data:
            self.eof = True
        elif len(self.first) < PEEK_BYTES:
            self.first += data[:PEEK_BYTES - len(self.first)]
        return data

    def __getattr__(self, name):
        return getattr(self._sock, name)


def _is_ssh(first: bytes) -> bool:
    """A server may send text lines before its banner; the banner line starts with "SSH-"."""
    return any(line.startswith(b"SSH-") for line in first.split(b"\n"))


def escaped(data: bytes, limit: int = SHOWN_CHARS) -> str:
    """Untrusted bytes as printable ASCII (``\\n``, ``\\xNN``), at most ``limit`` characters."""
    out = []
    n = 0
    for b in data:
        c = {0x0a: "\\n", 0x0d: "\\r", 0x09: "\\t", 0x5c: "\\\\", 0x22: '\\"'}.get(b) or (
            chr(b) if 0x20 <= b < 0x7f else f"\\x{b:02x}")
        if n + len(c) > limit:
            out.append("...")
            break
        out.append(c)
        n += len(c)
    return "".join(out)


_CONNECT_ERRNO = {
    errno.ECONNREFUSED: "connection refused: nothing listens on port {port} (or a firewall rejects it)",
    errno.EHOSTUNREACH: "no route to host: it is down or a router or firewall rejects it",
    errno.ENETUNREACH: "network unreachable: this machine has no route to that network",
    errno.ECONNRESET: "the connection was reset by the peer",
    errno.EADDRNOTAVAIL: "the address is not available from this machine",
}


def _where(label: str, address: str, port: int) -> str:
    return f"{label} {address}:{port}" if label != "target" else f"{address}:{port}"


def _dial(address: str, port: int, timeout: float, where: str) -> socket.socket:
    """The TCP connection, or a HostError that says in words why there is none."""
    try:
        infos = socket.getaddrinfo(address, port, socket.AF_UNSPEC, socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise HostError("unreachable", f"{where}: the name {address!r} was not found "
                                       f"({e.strerror or e})") from None
    last: OSError | None = None
    for family, _type, proto, _canon, sockaddr in infos:
        sock = socket.socket(family, socket.SOCK_STREAM, proto)
        sock.settimeout(timeout)
        try:
            sock.connect(sockaddr)
            return sock
        except OSError as e:
            sock.close()
            last = e
    if isinstance(last, (socket.timeout, TimeoutError)) or getattr(last, "errno", None) == errno.ETIMEDOUT:
        raise HostError("timeout", f"{where}: no answer within the connect timeout ({timeout:g} s): "
                                   "the host is down or a firewall drops the packets")
    words = _CONNECT_ERRNO.get(getattr(last, "errno", None))
    if words:
        raise HostError("unreachable", f"{where}: {words.format(port=port)}")
    raise HostError("unreachable", f"{where}: cannot connect ({getattr(last, 'strerror', None) or last})")


_CHANNEL_FAILURES = {1: "the jump host's sshd forbids forwarding (administratively prohibited)",
                     2: "the connection from the jump host failed (refused, no route or timed out)",
                     3: "the jump host does not know the channel type", 4: "the jump host is short of resources"}


def default_known_hosts() -> list[str]:
    return [str(Path("~/.ssh/known_hosts").expanduser()), "/etc/ssh/ssh_known_hosts"]


class SshTransport:
    def __init__(self, host, *, known_hosts: list[str] | None = None, trust_on_first_use: bool = False,
                 sudo_password: str | None = None, connect_timeout: float | None = None):
        self.host = host
        files = known_hosts or list(host.known_hosts_files or []) or default_known_hosts()
        self.known_hosts = [str(Path(f).expanduser()) for f in files]
        self.tofu = trust_on_first_use
        self.connect_timeout = connect_timeout or host.connect_timeout
        env = getattr(host, "sudo_password_env", None)
        self._sudo_password = sudo_password if sudo_password is not None else (os.environ.get(env) if env else None)
        self._clients: list[paramiko.SSHClient] = []
        self.client: paramiko.SSHClient | None = None
        self.identity = HostIdentity(name=host.name, address=host.address, port=host.port,
                                     user=host.user, transport="ssh",
                                     via=[f"{j.user + '@' if j.user else ''}{j.address}:{j.port}" for j in host.jump],
                                     sudo=bool(host.become))
        self.command: str | None = None

    # -- connection --------------------------------------------------------------------------
    def _client(self, address: str, port: int, user: str | None, sock, label: str,
                keys: list[str]) -> paramiko.SSHClient:
        client = paramiko.SSHClient()
        for f in self.known_hosts:
            if os.path.isfile(f):
                client.get_host_keys().load(f)
        policy = _Policy(self.tofu, self.known_hosts[0] if self.known_hosts else None)
        client.set_missing_host_key_policy(policy)
        only_keys = bool(keys) or bool(getattr(self.host, "identities_only", False))
        t = self.connect_timeout
        sock = _Peek(sock)
        try:
            client.connect(hostname=address, port=port, username=user, sock=sock,
                           key_filename=keys or None, allow_agent=not only_keys, look_for_keys=not only_keys,
                           timeout=t, banner_timeout=t, auth_timeout=t, channel_timeout=t,
                           compress=False)
        except BaseException as e:
            client.close()
            try:
                sock.close()
            except Exception:
                pass
            raise _host_error(e, label, address, port, self.known_hosts, sock, t) from None
        tr = client.get_transport()
        key = tr.get_remote_server_key()
        if label == "target":
            self.identity.host_key_type = key.get_name()
            self.identity.host_key_fingerprint = fingerprint(key)
            self.identity.host_key_trusted_on_first_use = policy.trusted_new
        tr.set_keepalive(15)
        self._clients.append(client)
        return client

    def connect(self) -> None:
        sock = None
        hops = list(self.host.jump) + [None]
        prev = None
        for hop in hops:
            keys = list(self.host.identity_files or [])
            if hop is None:
                address, port, user, label = self.host.address, self.host.port, self.host.user, "target"
            else:
                address, port, user, label = hop.address, hop.port, hop.user or self.host.user, f"jump host {hop.address}"
                keys = list(getattr(hop, "identity_files", None) or keys)
            if prev is not None:
                try:
                    sock = prev.get_transport().open_channel("direct-tcpip", (address, port), ("127.0.0.1", 0),
                                                             timeout=self.connect_timeout)
                except BaseException as e:
                    why = (_CHANNEL_FAILURES.get(e.code, _describe(e))
                           if isinstance(e, paramiko.ChannelException) else _describe(e))
                    raise HostError("unreachable", f"the jump host could not open a channel to "
                                                   f"{address}:{port}: {why}") from None
            else:
                sock = _dial(address, port, self.connect_timeout, _where(label, address, port))
            prev = self._client(address, port, user, sock, label, keys)
        self.client = prev

    # -- exec --------------------------------------------------------------------------------
    def run_script(self, script, on_stdout, on_stderr, *, timeout, idle_timeout=None, done=None) -> ExecResult:
        assert self.client is not None
        deadline = time.monotonic() + timeout
        try:
            chan = self.client.get_transport().open_session(timeout=self.connect_timeout)
        except BaseException as e:
            raise HostError("transport", f"could not open an SSH session: {_describe(e)}") from None
        prompt = None
        if self.host.become and self._sudo_password is not None:
            prompt = f"[hardencheck sudo {secrets.token_hex(8)}] password:"
            ready = f"HCREADY{secrets.token_hex(8)}"
            self.command = (f"sudo -S -p '{prompt}' -- /bin/sh -c 'printf \"%s\\n\" {ready}; exec /bin/sh -s'")
        elif self.host.become:
            self.command = "sudo -n -- /bin/sh -s"
        else:
            self.command = "/bin/sh -s"
        try:
            chan.exec_command(self.command)
            live = Liveness(idle_timeout)
            if prompt is not None:
                self._sudo_handshake(chan, prompt, ready, on_stdout, on_stderr, deadline, live)
            return self._pump(chan, script.encode(), on_stdout, on_stderr, deadline, live)
        except HostError:
            raise
        except (socket.timeout, TimeoutError):
            return ExecResult(exit_code=None, timed_out=True)
        except (paramiko.SSHException, OSError, EOFError) as e:
            raise HostError("transport", f"the SSH session broke: {_describe(e)}") from None
        finally:
            chan.close()

    def _sudo_handshake(self, chan, prompt, ready, on_stdout, on_stderr, deadline, live):
        """Wait for sudo's random prompt (send the password once) or for the ready token."""
        out, err = b"", b""
        sent = False
        while time.monotonic() < deadline:
            stalled = live.stalled()
            if stalled is not None:
                raise HostError("timeout", f"no output for {stalled:g} s while waiting for sudo (idle timeout)")
            select.select([chan], [], [], live.wait_at_most(0.2))
            if chan.recv_stderr_ready():
                live.progress()
                err += chan.recv_stderr(4096)
                if prompt.encode() in err:
                    if sent:
                        raise HostError("sudo_failed", "sudo rejected the password from the environment")
                    chan.sendall(self._sudo_password.encode() + b"\n")
                    sent = True
                    err = err.replace(prompt.encode(), b"", 1)
            if chan.recv_ready():
                live.progress()
                out += chan.recv(4096)
                if ready.encode() + b"\n" in out:
                    before, _, after = out.partition(ready.encode() + b"\n")
                    if before:
                        on_stdout(before)
                    if after:
                        on_stdout(after)
                    if err.strip():
                        on_stderr(err)
                    return
            if chan.exit_status_ready() and not chan.recv_ready() and not chan.recv_stderr_ready():
                msg = err.decode("utf-8", "replace").replace(prompt, "").strip()
                raise HostError("sudo_failed", f"sudo did not start the probes: {msg[:300] or 'no message'}")
            if len(out) + len(err) > 65536:
                raise HostError("sudo_failed", "unexpected output while waiting for sudo")
        raise HostError("timeout", "sudo did not answer in time")

    @staticmethod
    def _pump(chan, payload: bytes, on_stdout, on_stderr, deadline, live: Liveness) -> ExecResult:
        view = memoryview(payload)
        if not view:
            chan.shutdown_write()
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return ExecResult(exit_code=None, timed_out=True)
            stalled = live.stalled()
            if stalled is not None:
                return ExecResult(exit_code=None, timed_out=True, stalled_for=stalled)
            busy = False
            if view and chan.send_ready():
                n = chan.send(view[:32768])
                view = view[n:]
                busy = True
                if not view:
                    chan.shutdown_write()
            while chan.recv_ready():
                live.progress()
                on_stdout(chan.recv(65536))
                busy = True
            while chan.recv_stderr_ready():
                live.progress()
                on_stderr(chan.recv_stderr(65536))
                busy = True
            if chan.exit_status_ready() and not chan.recv_ready() and not chan.recv_stderr_ready():
                # drain what may still be in flight after the exit status
                if chan.eof_received:
                    return ExecResult(exit_code=chan.recv_exit_status())
            if chan.closed and not chan.recv_ready() and not chan.recv_stderr_ready():
                return ExecResult(exit_code=chan.exit_status if chan.exit_status_ready() else None)
            if not busy:
                select.select([chan], [], [], live.wait_at_most(min(left, 0.2)))

    def close(self) -> None:
        for c in reversed(self._clients):
            try:
                c.close()
            except Exception:
                pass
        self._clients.clear()
        self._sudo_password = None


def _describe(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    return text[:300]


def _host_error(e: BaseException, label: str, address: str, port: int, known_hosts: list[str],
                peek: _Peek | None = None, timeout: float | None = None) -> HostError:
    where = _where(label, address, port)
    if isinstance(e, KeyboardInterrupt):
        raise e
    if isinstance(e, UnknownHostKey):
        return HostError("hostkey_unknown",
                         f"{where} presented a {e.key.get_name()} key {fingerprint(e.key)} that is not in "
                         f"known_hosts ({', '.join(known_hosts)}); verify it out of band, then add it or "
                         "scan once with --trust-on-first-use",
                         presented_key=fingerprint(e.key), presented_key_type=e.key.get_name())
    if isinstance(e, paramiko.BadHostKeyException):
        return HostError("hostkey_mismatch",
                         f"{where} presented {e.key.get_name()} key {fingerprint(e.key)} but known_hosts "
                         f"records {fingerprint(e.expected_key)}: possible man-in-the-middle, nothing was sent",
                         presented_key=fingerprint(e.key), expected_key=fingerprint(e.expected_key))
    if isinstance(e, paramiko.SSHException) and "no authentication methods available" in str(e).lower():
        return HostError("auth_failed", f"{where}: no key to offer (no identity_file, no ssh-agent, no "
                                        "default key files)")
    if isinstance(e, paramiko.AuthenticationException):
        return HostError("auth_failed", f"{where}: authentication failed ({_describe(e)})")
    if peek is not None and not _is_ssh(peek.first) and isinstance(
            e, (paramiko.SSHException, EOFError, OSError)):
        # The handshake failed before any SSH banner arrived: what (if anything) answered?
        # (paramiko only says "Error reading SSH protocol banner" or "No existing session".)
        if peek.first:
            return HostError("not_ssh", f"{where} answered, but not with SSH (no SSH banner); it sent "
                                        f"{len(peek.first)}{'+' if len(peek.first) >= PEEK_BYTES else ''} "
                                        f"bytes: \"{escaped(peek.first)}\"")
        if peek.eof:
            return HostError("transport", f"{where} accepted the connection and closed it without sending "
                                          "anything (no SSH banner; sshd refusing connections, e.g. MaxStartups "
                                          "or tcp wrappers?)")
        within = f" within {timeout:g} s" if timeout else " in time"
        return HostError("timeout", f"{where}: accepted the connection but sent nothing{within} "
                                    "(no SSH banner): the service hangs or is not SSH")
    if isinstance(e, (socket.timeout, TimeoutError)):
        return HostError("timeout", f"{where}: no answer within the connect timeout")
    if isinstance(e, OSError):
        words = _CONNECT_ERRNO.get(e.errno)
        return HostError("unreachable", f"{where}: {words.format(port=port) if words else e.strerror or _describe(e)}")
    if isinstance(e, (paramiko.SSHException, EOFError)):
        return HostError("transport", f"{where}: SSH failed ({_describe(e)})")
    return HostError("transport", f"{where}: {type(e).__name__}: {_describe(e)}")
