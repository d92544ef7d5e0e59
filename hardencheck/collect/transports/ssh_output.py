"""The exec's output, handed to the scanner in paramiko's own reader thread.

paramiko's channel keeps what arrives in a ``BufferedPipe`` per stream: its reader thread feeds
the pipe (a lock, a condition, a byte written to a wake-up pipe when ``select`` is used) and the
reading thread wakes, selects, takes the bytes and acknowledges them. A probe script answers in a
few hundred small packets per host, so that round trip between two threads was a large part of
the scanner's CPU per host. Here the channel's two pipes are replaced by ``_Direct`` buffers
that pass each packet's bytes straight to the stream's callback (the splitter) in the reader
thread; the host's thread only wakes for the end of the exec, the deadline, the idle limit, the
sudo handshake and to acknowledge the received bytes (SSH flow control: the host may only send
a window's worth of unacknowledged bytes).

A callback that fails does not break paramiko's thread: the error is kept and raised in the
host's thread. ``Output.seal`` stops the callbacks before the caller reads what they built, so
nothing arrives in the middle of that.
"""

from __future__ import annotations

import threading

from hardencheck._paramiko import paramiko

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
    the host's thread."""

    def __init__(self, chan, on_stdout, on_stderr, live):
        self._chan = chan
        self._sinks = [on_stdout, on_stderr]
        self._live = live
        # a callback, a change of callbacks and what the host's thread does under ``lock`` never
        # overlap (reentrant: ``redirect`` may be called with it held)
        self.lock = threading.RLock()
        self.wake = threading.Event()
        self.error: BaseException | None = None
        self._unacked = 0
        self._ack_at = max(1, getattr(chan, "in_window_threshold", 65536))
        self._sealed = False
        chan.in_buffer = _Direct(self, 0)
        chan.in_stderr_buffer = _Direct(self, 1)

    # -- paramiko's reader thread ---------------------------------------------------------------
    def take(self, stream: int, data: bytes) -> None:
        with self.lock:
            if self._sealed or self.error is not None or not data:
                return
            self._live.progress()
            self._unacked += len(data)
            try:
                self._sinks[stream](data)
            except BaseException as e:      # noqa: BLE001 - raised again in the host's thread
                self.error = e
                self.wake.set()
                return
            if self._unacked >= self._ack_at:
                self.wake.set()

    def eof(self) -> None:
        self.wake.set()

    # -- the host's thread ----------------------------------------------------------------------
    def redirect(self, on_stdout, on_stderr, stdout_first: bytes = b"", stderr_first: bytes = b"") -> None:
        """From now on the bytes go to these callbacks, after ``*_first`` (bytes that arrived
        before, which the caller held back): nothing can arrive in between."""
        with self.lock:
            self._sinks = [on_stdout, on_stderr]
            for stream, data in ((0, stdout_first), (1, stderr_first)):
                if data and self.error is None:
                    try:
                        self._sinks[stream](data)
                    except BaseException as e:  # noqa: BLE001
                        self.error = e

    def acknowledge(self) -> None:
        """Tell the host it may send as many bytes again as were received (what ``Channel.recv``
        does after each read)."""
        with self.lock:
            n, self._unacked = self._unacked, 0
            chan = self._chan
        if n and chan is not None:
            ack = chan._check_add_window(n)
            if ack > 0:
                m = paramiko.Message()
                m.add_byte(_WINDOW_ADJUST)
                m.add_int(chan.remote_chanid)
                m.add_int(ack)
                chan.transport._send_user_message(m)

    def raise_error(self) -> None:
        if self.error is not None:
            raise self.error

    def seal(self) -> None:
        """No callback runs after this returns (one that is running is waited for), and nothing is
        acknowledged any more. The callbacks, the liveness (whose idle limit knows the splitter)
        and the channel are let go: the channel keeps this object (its buffers), so keeping the
        channel here would be a cycle that only Python's cycle collector frees, and through the
        callbacks and the liveness it would keep the host's whole output (the splitter and its
        sections) alive until it runs; a scan makes it run seldom (``scan.gc_settings``)."""
        with self.lock:
            self._sealed = True
            self._sinks = [None, None]
            self._live = None
            self._chan = None
