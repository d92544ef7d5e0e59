"""SSH transport (paramiko): strict host keys, one session, one exec per host.

* Host keys are checked against known_hosts before anything is sent. An unknown key is refused
  (``hostkey_unknown``) unless the operator opted into trust-on-first-use, which records the key
  and marks the evidence; a changed key is always refused (``hostkey_mismatch``).
* Authentication: with an identity file (inventory or ssh_config), that file only; without one,
  the ssh-agent and the default key files, as ``ssh`` would. Agent forwarding is never requested.
* Jump hosts: each hop is a real SSH connection with its own host-key check; the next hop runs
  over a ``direct-tcpip`` channel of the previous one. Targets behind the same bastion share one
  connection to it, with a cap on targets in flight through it (``bastion.py``).
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

import logging
import os
import secrets
import socket
import time
from functools import partial
from pathlib import Path

from hardencheck._paramiko import paramiko

from hardencheck.errors import HostError
from hardencheck.collect.transports import bastion as bastions_mod
from hardencheck.collect.transports import identity_keys
from hardencheck.collect.transports.base import ExecResult, HostIdentity, Liveness
from hardencheck.collect.transports.bastion import describe as _describe
from hardencheck.collect.transports.ssh_output import Output
from hardencheck.collect.transports.ssh_connect import (  # noqa: F401 - _is_ssh, escaped: tests
    Transport, _dial, _host_error, _is_ssh, _Peek, _Policy, _where, escaped, fingerprint)
from hardencheck.collect.transports.known_hosts import load_known_hosts


# paramiko logs connection failures itself (to stderr, through logging's last-resort handler).
# Every failure already ends up, classified, in the results: keep the terminal for the summary.
logging.getLogger("paramiko").addHandler(logging.NullHandler())


def default_known_hosts() -> list[str]:
    return [str(Path("~/.ssh/known_hosts").expanduser()), "/etc/ssh/ssh_known_hosts"]


def _ended(chan) -> bool:
    """The exec is over: the channel closed, or the host sent its end of output and exit status."""
    return chan.closed or (chan.eof_received and chan.exit_status_ready())


class SshTransport:
    def __init__(self, host, *, known_hosts: list[str] | None = None, trust_on_first_use: bool = False,
                 sudo_password: str | None = None, connect_timeout: float | None = None,
                 bastions: bastions_mod.BastionPool | None = None):
        self.host = host
        files = known_hosts or list(host.known_hosts_files or []) or default_known_hosts()
        self.known_hosts = [str(Path(f).expanduser()) for f in files]
        self.tofu = trust_on_first_use
        self.connect_timeout = connect_timeout or host.connect_timeout
        env = getattr(host, "sudo_password_env", None)
        self._sudo_password = sudo_password if sudo_password is not None else (os.environ.get(env) if env else None)
        self._clients: list[paramiko.SSHClient] = []
        self._bastions = bastions if bastions is not None else bastions_mod.POOL
        self._held: list[bastions_mod.Bastion] = []
        self.client: paramiko.SSHClient | None = None
        self.identity = HostIdentity(name=host.name, address=host.address, port=host.port,
                                     user=host.user, transport="ssh",
                                     via=[f"{j.user + '@' if j.user else ''}{j.address}:{j.port}" for j in host.jump],
                                     sudo=bool(host.become))
        self.command: str | None = None

    # -- connection --------------------------------------------------------------------------
    def _client(self, address: str, port: int, user: str | None, sock, label: str,
                keys: list[str], own: bool = True) -> paramiko.SSHClient:
        client = paramiko.SSHClient()
        try:
            revoked = load_known_hosts(client, self.known_hosts, address, port)
        except HostError:       # a known_hosts line for this host that cannot be read
            sock.close()
            raise
        policy = _Policy(self.tofu, self.known_hosts[0] if self.known_hosts else None)
        client.set_missing_host_key_policy(policy)
        only_keys = bool(keys) or bool(getattr(self.host, "identities_only", False))
        t = self.connect_timeout
        pkey, key_files = identity_keys.split(keys)
        sock = _Peek(sock)
        try:
            client.connect(hostname=address, port=port, username=user, sock=sock,
                           pkey=pkey, key_filename=key_files or None,
                           allow_agent=not only_keys, look_for_keys=not only_keys,
                           timeout=t, banner_timeout=t, auth_timeout=t, channel_timeout=t,
                           compress=False, transport_factory=partial(Transport, revoked=revoked))
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
        client.trusted_new = policy.trusted_new
        if own:
            self._clients.append(client)
        return client

    def connect(self) -> None:
        """Through the shared connections of the jump hosts (outermost first), then the target."""
        prev = None
        chain: tuple = ()
        for hop in self.host.jump:
            keys = list(getattr(hop, "identity_files", None) or self.host.identity_files or [])
            user = hop.user or self.host.user
            name = f"{user + '@' if user else ''}{hop.address}:{hop.port}"
            chain += ((hop.address, hop.port, user, tuple(keys)),)
            key = (chain, tuple(self.known_hosts), self.tofu, bool(getattr(self.host, "identities_only", False)))
            cap = getattr(self.host, "jump_max_sessions", None) or bastions_mod.DEFAULT_MAX_SESSIONS
            b = self._bastions.acquire(key, name, cap, self._hop_connector(prev, hop, user, keys, name))
            self._held.append(b)
            self.identity.via_host_keys = [*getattr(self.identity, "via_host_keys", []), b.record]
            prev = b
        if prev is not None:
            sock = bastions_mod.open_channel(prev.client, f"jump host {prev.name}", self.host.address,
                                             self.host.port, self.connect_timeout)
        else:
            sock = _dial(self.host.address, self.host.port, self.connect_timeout,
                         _where("target", self.host.address, self.host.port))
        self.client = self._client(self.host.address, self.host.port, self.host.user, sock, "target",
                                   list(self.host.identity_files or []))

    def _hop_connector(self, prev, hop, user, keys, name):
        """How the pool connects the jump host ``hop`` (over ``prev``'s connection, if any)."""
        label = "jump host"

        def connect():
            if prev is not None:
                sock = bastions_mod.open_channel(prev.client, f"jump host {prev.name}", hop.address, hop.port,
                                                 self.connect_timeout)
            else:
                sock = _dial(hop.address, hop.port, self.connect_timeout, _where(label, hop.address, hop.port))
            client = self._client(hop.address, hop.port, user, sock, label, keys, own=False)
            return client, bastions_mod.host_key_record(name, client, client.trusted_new)
        return connect

    # -- exec --------------------------------------------------------------------------------
    def run_script(self, script, on_stdout, on_stderr, *, timeout, idle_timeout=None, done=None) -> ExecResult:
        assert self.client is not None
        deadline = time.monotonic() + timeout
        try:
            chan = self.client.get_transport().open_session(timeout=self.connect_timeout)
        except BaseException as e:
            raise HostError("transport", f"could not open an SSH session: {_describe(e)}") from None
        prompt = None
        out = None
        if self.host.become and self._sudo_password is not None:
            prompt = f"[hardencheck sudo {secrets.token_hex(8)}] password:"
            ready = f"HCREADY{secrets.token_hex(8)}"
            self.command = (f"sudo -S -p '{prompt}' -- /bin/sh -c 'printf \"%s\\n\" {ready}; exec /bin/sh -s'")
        elif self.host.become:
            self.command = "sudo -n -- /bin/sh -s"
        else:
            self.command = "/bin/sh -s"
        try:
            live = Liveness(idle_timeout)
            out = Output(chan, on_stdout, on_stderr, live)
            chan.exec_command(self.command)
            if prompt is not None:
                self._sudo_handshake(chan, out, prompt, ready, on_stdout, on_stderr, deadline, live)
            return self._pump(chan, out, script.encode(), deadline, live)
        except HostError:
            raise
        except (socket.timeout, TimeoutError):
            return ExecResult(exit_code=None, timed_out=True)
        except (paramiko.SSHException, OSError, EOFError) as e:
            raise HostError("transport", f"the SSH session broke: {_describe(e)}") from None
        finally:
            if out is not None:
                out.seal()        # nothing reaches the callbacks once we return
            chan.close()

    def _sudo_handshake(self, chan, out: Output, prompt, ready, on_stdout, on_stderr, deadline, live):
        """Wait for sudo's random prompt (send the password once) or for the ready token; then
        the bytes go to the callbacks, starting with what came after the token."""
        got = [b"", b""]

        def hold(stream):
            def take(data: bytes) -> None:
                got[stream] += data
                out.wake.set()
            return take

        out.redirect(hold(0), hold(1))
        sent = False
        while time.monotonic() < deadline:
            stalled = live.stalled()
            if stalled is not None:
                raise HostError("timeout", f"no output for {stalled:g} s while waiting for sudo (idle timeout)")
            out.wake.wait(live.wait_at_most(0.2))
            out.wake.clear()
            out.raise_error()
            out.acknowledge()
            with out.lock:     # the reader thread adds to ``got`` under the same lock
                prompted = prompt.encode() in got[1]
                if prompted:
                    got[1] = got[1].replace(prompt.encode(), b"", 1)
                token = ready.encode() + b"\n"
                ready_now = token in got[0]
                if ready_now:     # switch over with nothing arriving in between
                    before, _, after = got[0].partition(token)
                    err = got[1] if got[1].strip() else b""
                    out.redirect(on_stdout, on_stderr, before + after, err)
            if ready_now:
                out.raise_error()
                return
            if prompted:
                if sent:
                    raise HostError("sudo_failed", "sudo rejected the password from the environment")
                chan.sendall(self._sudo_password.encode() + b"\n")
                sent = True
                continue
            if _ended(chan):
                msg = got[1].decode("utf-8", "replace").replace(prompt, "").strip()
                raise HostError("sudo_failed", f"sudo did not start the probes: {msg[:300] or 'no message'}")
            if len(got[0]) + len(got[1]) > 65536:
                raise HostError("sudo_failed", "unexpected output while waiting for sudo")
        raise HostError("timeout", "sudo did not answer in time")

    @staticmethod
    def _pump(chan, out: Output, payload: bytes, deadline, live: Liveness) -> ExecResult:
        """Send the script, then wait for the end of the exec: the output itself reaches the
        callbacks in paramiko's reader thread (``ssh_output``)."""
        view = memoryview(payload)
        if not view:
            chan.shutdown_write()
        while True:
            out.raise_error()
            out.acknowledge()
            left = deadline - time.monotonic()
            if left <= 0:
                return ExecResult(exit_code=None, timed_out=True)
            stalled = live.stalled()
            if stalled is not None:
                return ExecResult(exit_code=None, timed_out=True, stalled_for=stalled)
            if view:
                # blocks while the host's window is full; the host's reading thread goes on
                chan.settimeout(min(left, 0.5))
                try:
                    n = chan.send(view[:32768])
                except socket.timeout:
                    continue
                view = view[n:]
                if not view:
                    chan.shutdown_write()
                continue
            if _ended(chan):
                out.seal()
                out.raise_error()
                return ExecResult(exit_code=chan.exit_status if chan.exit_status_ready() else None)
            # wakes at the end of the exec, to acknowledge bytes, or in time for the limits
            out.wake.wait(live.wait_at_most(min(left, 1.0)))
            out.wake.clear()

    def close(self) -> None:
        for c in reversed(self._clients):
            try:
                c.close()
            except Exception:
                pass
        self._clients.clear()
        for b in reversed(self._held):
            self._bastions.release(b)
        self._held.clear()
        self._sudo_password = None
