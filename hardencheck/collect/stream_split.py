"""Splitting a host's answer into sections: the marker lines of the one-exec probe script
(see ``hardencheck.collect.probe_script``) read back from the byte streams.

Each stream (stdout, stderr) is read incrementally; a line is a marker only when it is a whole line
that starts with the script's nonce and has the expected words, so nothing a probe prints can end
or forge a section without the nonce. At most ``max_bytes`` per section and stream are kept (the
rest is counted and the section marked truncated), so a hostile host that prints gigabytes costs
bounded memory. A section that begins again (the script ran it a second time after the batch it
was in ended early, see ``probe_script``) starts from nothing: only its last run counts.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from hardencheck.collect.tool_trust import tool_record

SECTION_ID = re.compile(r"^[a-z0-9][a-z0-9._/-]{0,100}$")
DEFAULT_MAX_BYTES = 64 * 1024
NOISE_MAX_BYTES = 4 * 1024
# A marker line is short; a partial line longer than this is certainly data (a tool record with
# two paths is the longest marker).
_MARKER_MAX = 2048


@dataclass
class Section:
    """What came back for one section."""

    id: str
    exit_code: int | None = None     # None: no end marker was seen (killed, cut off, truncated run)
    stdout: str = ""
    stderr: str = ""
    stdout_bytes: int = 0            # bytes the host sent, kept or not
    stderr_bytes: int = 0
    truncated: bool = False          # more than max_bytes on a stream: the excess was dropped
    complete: bool = False           # both begin and end markers seen on stdout
    started_at: float | None = None  # local receive time of the begin marker (epoch seconds)
    ended_at: float | None = None
    tools: list[dict] = field(default_factory=list)   # tool records (see tool_record), in order



class _Stream:
    """Incremental splitter for one byte stream (stdout or stderr)."""

    def __init__(self, nonce: str, max_bytes: int, clock, limits: dict[str, int] | None = None):
        self._prefix = (nonce + " ").encode()
        self._max = max_bytes
        self._limits = limits or {}
        self._clock = clock
        self._pending = b""          # the current, not yet terminated line
        self._midline = False        # part of the current line was already consumed as data
        self.current: str | None = None
        self.chunks: dict[str, list[bytes]] = {}
        self.kept: dict[str, int] = {}
        self.total: dict[str, int] = {}
        self.ends: dict[str, int] = {}           # section id -> rc from its end marker
        self.begins: dict[str, float] = {}
        self.end_times: dict[str, float] = {}
        self.tools: dict[str, list[dict]] = {}   # section id -> tool records
        self.order: list[str] = []
        self.noise = bytearray()
        self.noise_total = 0
        self.done = False

    def _data(self, data: bytes):
        if not data:
            return
        if self.current is None:
            self.noise_total += len(data)
            room = NOISE_MAX_BYTES - len(self.noise)
            if room > 0:
                self.noise += data[:room]
            return
        sid = self.current
        self.total[sid] += len(data)
        room = self._limits.get(sid, self._max) - self.kept[sid]
        if room > 0:
            piece = data[:room]
            self.chunks[sid].append(piece)
            self.kept[sid] += len(piece)

    def _marker(self, line: bytes) -> bool:
        if not line.startswith(self._prefix):
            return False
        words = line[len(self._prefix):].decode("ascii", "replace").split(" ")
        now = self._clock()
        if words == ["DONE"]:
            self.current = None
            self.done = True
            return True
        if len(words) == 2 and words[0] == "B" and SECTION_ID.match(words[1]):
            sid = words[1]
            self.current = sid
            if sid not in self.chunks:
                self.order.append(sid)
            self.chunks[sid] = []          # a section run again starts from nothing
            self.kept[sid] = 0
            self.total[sid] = 0
            self.begins[sid] = now
            for seen in (self.tools, self.ends, self.end_times):
                seen.pop(sid, None)
            return True
        if words[0] == "T" and self.current is not None and len(words) >= 3:
            self.tools.setdefault(self.current, []).append(tool_record(words[1:]))
            return True
        if len(words) == 3 and words[0] == "E" and words[1] == self.current and words[2].isdigit():
            sid = self.current
            # The end marker is preceded by one newline the script added: take it back.
            self._drop_last_newline(sid)
            self.ends[sid] = int(words[2])
            self.end_times[sid] = now
            self.current = None
            return True
        return False

    def _drop_last_newline(self, sid: str):
        self.total[sid] = max(0, self.total[sid] - 1)
        if self.kept[sid] > self.total[sid]:
            # the newline we added was kept: remove it from the kept bytes
            chunks = self.chunks[sid]
            while chunks and not chunks[-1]:
                chunks.pop()
            if chunks and chunks[-1].endswith(b"\n"):
                chunks[-1] = chunks[-1][:-1]
                self.kept[sid] -= 1

    def feed(self, data: bytes):
        """Take the next bytes of the stream. Only a whole line that starts with the nonce can be a
        marker, so the bytes between such lines go to the section in one piece each (a host's
        answer is thousands of lines and a few hundred markers)."""
        buf = self._pending + data if self._pending else data
        prefix = self._prefix
        pos, end = 0, len(buf)
        at_line_start = not self._midline
        while pos < end:
            if at_line_start and buf.startswith(prefix, pos):
                nl = buf.find(b"\n", pos)
                if nl < 0:
                    break                        # perhaps a marker: wait for the rest of its line
                if not self._marker(buf[pos:nl]):
                    self._data(buf[pos:nl + 1])  # looks like one, is not: data
                pos = nl + 1
                continue
            nxt = buf.find(b"\n" + prefix, pos)
            if nxt >= 0:                         # data up to the next line that may be a marker
                self._data(buf[pos:nxt + 1])
                pos, at_line_start = nxt + 1, True
                continue
            nl = buf.rfind(b"\n", pos)
            if nl >= 0:                          # whole lines of data; the last, partial one waits
                self._data(buf[pos:nl + 1])
                pos, at_line_start = nl + 1, True
            break
        rest = buf[pos:]
        if rest and (not at_line_start or len(rest) > _MARKER_MAX):
            # the rest of a line that is data already, or too long for a marker: data now
            # (bounded memory)
            self._data(rest)
            self._midline, rest = True, b""
        elif at_line_start:
            self._midline = False
        self._pending = rest

    def close(self):
        if self._pending:
            if self._midline or not self._marker(self._pending):
                self._data(self._pending)
            self._pending = b""

    def text(self, sid: str) -> str:
        return b"".join(self.chunks.get(sid, [])).decode("utf-8", "replace")


class Splitter:
    """Feed it the host's stdout and stderr as they arrive; ask it for the sections at the end."""

    def __init__(self, nonce: str, max_bytes: int = DEFAULT_MAX_BYTES, clock=time.time,
                 limits: dict[str, int] | None = None):
        """``limits``: per-section byte limits (section id -> bytes) overriding ``max_bytes``."""
        self.out = _Stream(nonce, max_bytes, clock, limits)
        self.err = _Stream(nonce, max_bytes, clock, limits)

    def feed_stdout(self, data: bytes):
        self.out.feed(data)

    def feed_stderr(self, data: bytes):
        self.err.feed(data)

    @property
    def done(self) -> bool:
        """The script's final marker arrived: every section ran."""
        return self.out.done

    def noise(self) -> str:
        """What was printed outside any section (login banners, rc files), bounded: the first
        ``NOISE_MAX_BYTES`` of each stream."""
        both = bytes(self.out.noise) + bytes(self.err.noise)
        return both.decode("utf-8", "replace")

    def noise_bytes(self) -> int:
        """How many bytes were printed outside any section, on both streams (all of them, not
        only those kept)."""
        return self.out.noise_total + self.err.noise_total

    def noise_truncated(self) -> bool:
        """More noise arrived than ``noise()`` keeps."""
        return self.noise_bytes() > len(self.out.noise) + len(self.err.noise)

    def sections(self) -> dict[str, Section]:
        self.out.close()
        self.err.close()
        result: dict[str, Section] = {}
        for sid in self.out.order + [s for s in self.err.order if s not in self.out.chunks]:
            rc = self.out.ends.get(sid, self.err.ends.get(sid))
            so_total = self.out.total.get(sid, 0)
            se_total = self.err.total.get(sid, 0)
            result[sid] = Section(
                id=sid,
                exit_code=rc,
                stdout=self.out.text(sid),
                stderr=self.err.text(sid),
                stdout_bytes=so_total,
                stderr_bytes=se_total,
                truncated=so_total > self.out.kept.get(sid, 0) or se_total > self.err.kept.get(sid, 0),
                complete=sid in self.out.ends,
                started_at=self.out.begins.get(sid, self.err.begins.get(sid)),
                ended_at=self.out.end_times.get(sid, self.err.end_times.get(sid)),
                tools=self.out.tools.get(sid, []),
            )
        return result
