"""Local transport: the same probe script, run on this machine with no SSH."""

from __future__ import annotations

import getpass
import os
import selectors
import signal
import socket
import subprocess
import time

from hardencheck.errors import HostError
from hardencheck.collect.transports.base import ExecResult, HostIdentity, Liveness


class LocalTransport:
    def __init__(self, host, **_options):
        self.host = host
        need_sudo = bool(host.become) and os.geteuid() != 0
        self.command = "sudo -n -- /bin/sh -s" if need_sudo else "/bin/sh -s"
        self._argv = ["sudo", "-n", "--", "/bin/sh", "-s"] if need_sudo else ["/bin/sh", "-s"]
        self.identity = HostIdentity(name=host.name, address=socket.gethostname(), transport="local",
                                     user=getpass.getuser(), sudo=need_sudo)

    def connect(self) -> None:
        pass

    def run_script(self, script, on_stdout, on_stderr, *, timeout, idle_timeout=None, done=None) -> ExecResult:
        try:
            proc = subprocess.Popen(self._argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, start_new_session=True)
        except OSError as e:
            raise HostError("command_missing", f"cannot start {self._argv[0]}: {e}") from None
        deadline = time.monotonic() + timeout
        to_send = memoryview(script.encode())
        sel = selectors.DefaultSelector()
        os.set_blocking(proc.stdin.fileno(), False)
        sel.register(proc.stdin, selectors.EVENT_WRITE)
        sel.register(proc.stdout, selectors.EVENT_READ, on_stdout)
        sel.register(proc.stderr, selectors.EVENT_READ, on_stderr)
        open_readers = 2
        timed_out = False
        live = Liveness(idle_timeout)
        stalled_for = None
        try:
            while open_readers:
                left = deadline - time.monotonic()
                if left <= 0:
                    timed_out = True
                    break
                stalled_for = live.stalled()
                if stalled_for is not None:
                    timed_out = True
                    break
                for key, _ in sel.select(timeout=live.wait_at_most(min(left, 1.0))):
                    if key.fileobj is proc.stdin:
                        try:
                            n = os.write(proc.stdin.fileno(), to_send[:65536])
                        except BrokenPipeError:
                            n = len(to_send)
                        to_send = to_send[n:]
                        if not to_send:
                            sel.unregister(proc.stdin)
                            proc.stdin.close()
                        continue
                    data = os.read(key.fileobj.fileno(), 65536)
                    if not data:
                        sel.unregister(key.fileobj)
                        open_readers -= 1
                    else:
                        live.progress()
                        key.data(data)
        finally:
            sel.close()
            if timed_out:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except OSError:
                    pass
            for f in (proc.stdin, proc.stdout, proc.stderr):
                try:
                    f.close()
                except OSError:
                    pass
        rc = proc.wait()
        return ExecResult(exit_code=None if timed_out else rc, timed_out=timed_out, stalled_for=stalled_for)

    def close(self) -> None:
        pass
