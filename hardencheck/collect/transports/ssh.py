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
"""

from __future__ import annotations

import logging
import os
import secrets
import select
import socket
import time
from pathlib import Path

import paramiko

from hardencheck.errors import HostError
from hardencheck.collect.transports.base import ExecResult, HostIdentity


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
        try:
            client.connect(hostname=address, port=port, username=user, sock=sock,
                           key_filename=keys or None, allow_agent=not only_keys, look_for_keys=not only_keys,
                           timeout=t, banner_timeout=t, auth_timeout=t, channel_timeout=t,
                           compress=False)
        except BaseException as e:
            client.close()
            raise _host_error(e, label, address, port, self.known_hosts) from None
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
                    raise HostError("unreachable", f"the jump host could not open a channel to "
                                                   f"{address}:{port}: {_describe(e)}") from None
            prev = self._client(address, port, user, sock, label, keys)
        self.client = prev

    # -- exec --------------------------------------------------------------------------------
    def run_script(self, script, on_stdout, on_stderr, *, timeout, done=None) -> ExecResult:
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
            if prompt is not None:
                self._sudo_handshake(chan, prompt, ready, on_stdout, on_stderr, deadline)
            return self._pump(chan, script.encode(), on_stdout, on_stderr, deadline)
        except HostError:
            raise
        except (socket.timeout, TimeoutError):
            return ExecResult(exit_code=None, timed_out=True)
        except (paramiko.SSHException, OSError, EOFError) as e:
            raise HostError("transport", f"the SSH session broke: {_describe(e)}") from None
        finally:
            chan.close()

    def _sudo_handshake(self, chan, prompt, ready, on_stdout, on_stderr, deadline):
        """Wait for sudo's random prompt (send the password once) or for the ready token."""
        out, err = b"", b""
        sent = False
        while time.monotonic() < deadline:
            select.select([chan], [], [], 0.2)
            if chan.recv_stderr_ready():
                err += chan.recv_stderr(4096)
                if prompt.encode() in err:
                    if sent:
                        raise HostError("sudo_failed", "sudo rejected the password from the environment")
                    chan.sendall(self._sudo_password.encode() + b"\n")
                    sent = True
                    err = err.replace(prompt.encode(), b"", 1)
            if chan.recv_ready():
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
    def _pump(chan, payload: bytes, on_stdout, on_stderr, deadline) -> ExecResult:
        view = memoryview(payload)
        if not view:
            chan.shutdown_write()
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return ExecResult(exit_code=None, timed_out=True)
            busy = False
            if view and chan.send_ready():
                n = chan.send(view[:32768])
                view = view[n:]
                busy = True
                if not view:
                    chan.shutdown_write()
            while chan.recv_ready():
                on_stdout(chan.recv(65536))
                busy = True
            while chan.recv_stderr_ready():
                on_stderr(chan.recv_stderr(65536))
                busy = True
            if chan.exit_status_ready() and not chan.recv_ready() and not chan.recv_stderr_ready():
                # drain what may still be in flight after the exit status
                if chan.eof_received:
                    return ExecResult(exit_code=chan.recv_exit_status())
            if chan.closed and not chan.recv_ready() and not chan.recv_stderr_ready():
                return ExecResult(exit_code=chan.exit_status if chan.exit_status_ready() else None)
            if not busy:
                select.select([chan], [], [], min(left, 0.2))

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


def _host_error(e: BaseException, label: str, address: str, port: int, known_hosts: list[str]) -> HostError:
    where = f"{label} {address}:{port}" if label != "target" else f"{address}:{port}"
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
    if isinstance(e, socket.gaierror):
        return HostError("unreachable", f"{where}: cannot resolve the name ({e.strerror or e})")
    if isinstance(e, paramiko.ssh_exception.NoValidConnectionsError):
        return HostError("unreachable", f"{where}: connection refused or failed ({_describe(e)})")
    if isinstance(e, ConnectionRefusedError):
        return HostError("unreachable", f"{where}: connection refused")
    if isinstance(e, (socket.timeout, TimeoutError)):
        return HostError("timeout", f"{where}: no answer within the connect timeout")
    # paramiko gives up waiting for the handshake after `timeout` and then finds "No existing
    # session"; the banner error itself stays in its reader thread. Both mean: the port accepted
    # the TCP connection but no SSH conversation followed in time.
    if isinstance(e, paramiko.SSHException) and ("banner" in str(e).lower()
                                                 or "no existing session" in str(e).lower()):
        return HostError("timeout", f"{where}: accepted the connection but sent no SSH banner in time "
                                    f"({_describe(e)})")
    if isinstance(e, OSError):
        return HostError("unreachable", f"{where}: {e.strerror or _describe(e)}")
    if isinstance(e, (paramiko.SSHException, EOFError)):
        return HostError("transport", f"{where}: SSH failed ({_describe(e)})")
    if isinstance(e, KeyboardInterrupt):
        raise e
    return HostError("transport", f"{where}: {type(e).__name__}: {_describe(e)}")
