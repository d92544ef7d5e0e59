"""The exec's output, taken from paramiko's reader thread and handed over in batches.

paramiko's channel keeps what arrives in a ``BufferedPipe`` per stream: its reader thread feeds
the pipe (a lock, a condition, a byte written to a wake-up pipe when ``select`` is used) and the
reading thread wakes, selects, takes the bytes and acknowledges them, once per packet. A probe
script answers in a few hundred small packets per host. Here the channel's two pipes are replaced
by ``_Direct`` buffers: the reader thread only notes each packet's bytes and when they arrived
(a list append under a lock), and the host's thread, which wakes for the end of the exec, the
deadline, the idle limit, the sudo handshake and to acknowledge received bytes (SSH flow control:
the host may only send a window's worth of unacknowledged bytes), or at the latest after a
second, hands what gathered to the stream's callback (the splitter) in one piece, with the
arrival times (the splitter times its markers by them). Splitting a host's answer in a few
batches costs about a quarter of splitting it packet by packet, each time in a thread that has
just woken with cold caches; what is held between two batches is bounded by the SSH window.

A callback that fails is not called again: the error is kept and raised in the host's thread.
``Output.seal`` hands over what is left and stops the callbacks before the caller reads what
they built.
"""

from __future__ import annotations

import threading
import time

from hardencheck._paramiko import paramiko
from hardencheck.collect.transports.base import TimedSink

_WINDOW_ADJUST = paramiko.common.cMSG_CHANNEL_WINDOW_ADJUST


class _Direct:
    """Stands in for a channel's ``BufferedPipe``: what paramiko's reader thread feeds goes to
    ``Output.take``; nothing is ever buffered here, so there is never anything to read."""

    def __init__(self, output: "Output", stream: int):
        self._output = output
        self._stream = stream

    def feed(self, data: bytes) -> None:
        self._output.take(self._stream, data)

    def close(self) -> None:
        self._output.eof()

    def set_event(self, event) -> None:      # Channel.fileno(): never used with these buffers
        raise RuntimeError("the exec's output is delivered directly, not through select")

    def read_ready(self) -> bool:
        return False

    def read(self, nbytes, timeout=None) -> bytes:
        return b""

    def empty(self) -> bytes:
        return b""

    def __len__(self) -> int:
        return 0


class Output:
    """Both streams of one exec channel: the callbacks, liveness, flow control and the wake-up of
    the host's thread. The callbacks only ever run in the host's thread (``deliver``)."""

    def __init__(self, chan, on_stdout, on_stderr, live):
        self._chan = chan
        self._sinks = [on_stdout, on_stderr]
        self._live = live
        # guards what the reader thread adds (reentrant: the host's thread holds it around
        # ``redirect`` to switch over with nothing arriving in between)
        self.lock = threading.RLock()
        self.wake = threading.Event()
        self.error: BaseException | None = None
        self._received = 0      # bytes that arrived (reader thread, under ``lock``)
        self._handed = 0        # of them, handed to the callbacks (host's thread)
        self._acked = 0         # of them, acknowledged to the host (host's thread, under ``lock``)
        self._ack_at = max(1, getattr(chan, "in_window_threshold", 65536))
        self._sealed = False
        self._pending: list = []
        self.wake_each = False  # wake the host's thread for every packet (while it waits for sudo)
        chan.in_buffer = _Direct(self, 0)
        chan.in_stderr_buffer = _Direct(self, 1)

    # -- paramiko's reader thread ---------------------------------------------------------------
    def take(self, stream: int, data: bytes) -> None:
        with self.lock:
            if self._sealed or not data:
                return
            self._live.progress()
            self._received += len(data)
            self._pending.append((stream, data, time.time()))
            if self.wake_each or self._received - self._acked >= self._ack_at:
                self.wake.set()

    def eof(self) -> None:
        self.wake.set()

    # -- the host's thread ----------------------------------------------------------------------
    def deliver(self) -> None:
        """Hand what arrived since the last call to the callbacks: the consecutive packets of a
        stream joined into one call (a ``TimedSink`` is told their (end, arrival time) pairs)."""
        with self.lock:
            pending, self._pending = self._pending, []
        i, n = 0, len(pending)
        self._handed += sum(len(p[1]) for p in pending)
        while i < n and self.error is None:
            stream = pending[i][0]
            j = i + 1
            while j < n and pending[j][0] == stream:
                j += 1
            received, end = [], 0
            for _, data, at in pending[i:j]:
                end += len(data)
                received.append((end, at))
            data = pending[i][1] if j == i + 1 else b"".join(p[1] for p in pending[i:j])
            i = j
            sink = self._sinks[stream]
            try:
                if type(sink) is TimedSink:
                    sink(data, received)
                else:
                    sink(data)
            except BaseException as e:      # noqa: BLE001 - raised again in the host's thread
                self.error = e

    def redirect(self, on_stdout, on_stderr, stdout_first: bytes = b"", stderr_first: bytes = b"") -> None:
        """From now on the bytes go to these callbacks, after ``*_first`` (bytes that arrived
        before, which the caller held back): nothing can arrive in between."""
        self.deliver()          # what arrived so far still goes to the callbacks before
        with self.lock:
            self._sinks = [on_stdout, on_stderr]
            for stream, data in ((0, stdout_first), (1, stderr_first)):
                if data and self.error is None:
                    try:
                        self._sinks[stream](data)
                    except BaseException as e:  # noqa: BLE001
                        self.error = e

    def acknowledge(self) -> None:
        """Tell the host it may send as many bytes again as were handed over (what
        ``Channel.recv`` does after each read): what waits here is never more than a window."""
        with self.lock:
            n, self._acked = self._handed - self._acked, self._handed
        if n:
            ack = self._chan._check_add_window(n)
            if ack > 0:
                m = paramiko.Message()
                m.add_byte(_WINDOW_ADJUST)
                m.add_int(self._chan.remote_chanid)
                m.add_int(ack)
                self._chan.transport._send_user_message(m)

    def raise_error(self) -> None:
        if self.error is not None:
            raise self.error

    def seal(self) -> None:
        """Hand over what arrived, then nothing more: no callback runs after this returns. The
        callbacks are let go: the channel keeps this object (its buffers) and this object the
        channel, a cycle only the cyclic GC frees, and through the callbacks it would keep the
        host's whole scan (splitter, sections, evidence) alive until then."""
        with self.lock:         # nothing arrives between the last hand-over and the seal
            self.deliver()
            self._sealed = True
            self._pending = []
            self._sinks = [None, None]
