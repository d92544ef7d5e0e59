"""Headless Chromium driven over the DevTools protocol, for the print edition (``report.pdf``)
and the tests that measure a page's print layout.

Transport: ``--remote-debugging-pipe`` (NUL-separated JSON on file descriptors 3 and 4), so no
port is opened and nothing beyond the standard library is needed. The page is a local file the
caller wrote; it is opened with JavaScript off (``Emulation.setScriptExecutionDisabled``), host
names resolving nowhere, and the page's own Content-Security-Policy forbidding every fetch.

The binary: ``$HARDENCHECK_CHROMIUM``, else ``chromium``, ``chromium-browser``,
``google-chrome`` or ``google-chrome-stable`` on PATH. Without one, ``ChromiumUnavailable``
says so and how to install it.
"""

from __future__ import annotations

import base64
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: A4 in inches, as Page.printToPDF takes it (the page CSS asks for A4 too: preferCSSPageSize)
A4_INCHES = (8.27, 11.69)


class ChromiumUnavailable(RuntimeError):
    """No Chromium to print with, or it would not start."""


class ChromiumError(RuntimeError):
    """Chromium answered a command with an error, died, or did not answer in time."""


def find_chromium() -> str | None:
    env = os.environ.get("HARDENCHECK_CHROMIUM")
    if env:
        return env if os.access(env, os.X_OK) else None
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


class Chromium:
    """One headless browser (a context manager). ``open(path)`` loads a local file into a new page
    and returns its session id; ``print_pdf``, ``evaluate`` and ``send`` work on that session."""

    def __init__(self, binary: str | None = None, timeout: float = 600):
        self.binary = binary or find_chromium()
        if not self.binary:
            raise ChromiumUnavailable(
                "no Chromium found for the PDF edition: install chromium (Debian/Ubuntu: apt-get install "
                "chromium) or set HARDENCHECK_CHROMIUM to a Chromium or Chrome binary")
        self.timeout = timeout
        self._profile = tempfile.TemporaryDirectory(prefix="hardencheck-chromium-")
        self._replies: dict[int, queue.Queue] = {}
        self._lock = threading.Lock()
        self._next = 0
        self._dead: str | None = None
        self.events: list[dict] = []
        cmd_r, self._cmd_w = os.pipe()
        self._ev_r, ev_w = os.pipe()

        def fds() -> None:
            os.dup2(cmd_r, 3)
            os.dup2(ev_w, 4)

        argv = [self.binary, "--headless", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
                "--disable-default-apps", "--mute-audio", "--host-resolver-rules=MAP * ~NOTFOUND",
                f"--user-data-dir={self._profile.name}", "--remote-debugging-pipe", "about:blank"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            argv.insert(2, "--no-sandbox")          # Chromium refuses to run as root with its sandbox
        self._log = open(Path(self._profile.name) / "chromium.log", "wb")
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=self._log, pass_fds=(3, 4), preexec_fn=fds)
        except OSError as e:
            self._log.close()
            self._profile.cleanup()
            raise ChromiumUnavailable(f"{self.binary} would not start: {e}") from e
        finally:
            os.close(cmd_r)
            os.close(ev_w)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        try:
            self.version = self.send("Browser.getVersion", timeout=60).get("product", "?")
        except ChromiumError as e:
            self.close()
            raise ChromiumUnavailable(f"{self.binary} did not answer on the DevTools pipe: {e}") from e

    # transport ---------------------------------------------------------------------------
    def _read(self) -> None:
        buf = b""
        while True:
            try:
                chunk = os.read(self._ev_r, 1 << 20)
            except OSError:
                chunk = b""
            if not chunk:
                break
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                q = self._replies.get(msg.get("id")) if "id" in msg else None
                if q is not None:
                    q.put(msg)
                else:
                    with self._lock:
                        self.events.append(msg)
        self._dead = "Chromium closed the DevTools pipe (it exited)"
        for q in list(self._replies.values()):
            q.put({"error": {"message": self._dead}})

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float | None = None) -> dict:
        if self._dead:
            raise ChromiumError(f"{method}: {self._dead}")
        with self._lock:
            self._next += 1
            mid = self._next
        q: queue.Queue = queue.Queue()
        self._replies[mid] = q
        msg: dict[str, Any] = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        try:
            os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
            reply = q.get(timeout=timeout or self.timeout)
        except queue.Empty:
            raise ChromiumError(f"{method}: no answer within {timeout or self.timeout:.0f} s") from None
        except OSError as e:
            raise ChromiumError(f"{method}: {e}") from e
        finally:
            self._replies.pop(mid, None)
        if "error" in reply:
            raise ChromiumError(f"{method}: {reply['error'].get('message', reply['error'])}")
        return reply.get("result", {})

    def _wait_event(self, method: str, session: str, timeout: float) -> dict:
        import time
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for i, e in enumerate(self.events):
                    if e.get("method") == method and e.get("sessionId") == session:
                        return self.events.pop(i)
            if self._dead:
                raise ChromiumError(f"waiting for {method}: {self._dead}")
            time.sleep(0.02)
        raise ChromiumError(f"{method} did not come within {timeout:.0f} s")

    # pages -------------------------------------------------------------------------------
    def open(self, path: str | Path, *, scripts: bool = False) -> str:
        """A new page showing the local file ``path`` -> its session id (after the load event)."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.send("Page.enable", session=session)
        if not scripts:
            self.send("Emulation.setScriptExecutionDisabled", {"value": True}, session=session)
        self.send("Page.navigate", {"url": Path(path).resolve().as_uri()}, session=session)
        self._wait_event("Page.loadEventFired", session, self.timeout)
        return session

    def evaluate(self, expr: str, session: str) -> Any:
        """A JavaScript expression's value in the page (DevTools evaluation runs even with the
        page's own scripts off)."""
        r = self.send("Runtime.evaluate", {"expression": expr, "returnByValue": True}, session=session)
        if "exceptionDetails" in r:
            raise ChromiumError(f"Runtime.evaluate: {r['exceptionDetails'].get('text')}")
        return r["result"].get("value")

    def emulate_media(self, media: str, session: str) -> None:
        """"print" lays the page out with the print styles (as printing does), "" resets."""
        self.send("Emulation.setEmulatedMedia", {"media": media}, session=session)

    def print_pdf(self, session: str, timeout: float = 3600) -> bytes:
        """The page printed: A4 (the page CSS's @page size wins), backgrounds on, Chromium's own
        header/footer off (the print styles carry theirs), tagged, with an outline of the headings.
        A fleet's report takes minutes to lay out: the print may take up to ``timeout`` seconds."""
        r = self.send("Page.printToPDF", {
            "printBackground": True, "preferCSSPageSize": True, "displayHeaderFooter": False,
            "paperWidth": A4_INCHES[0], "paperHeight": A4_INCHES[1],
            "generateTaggedPDF": True, "generateDocumentOutline": True,
            "transferMode": "ReturnAsStream"}, session=session, timeout=max(timeout, self.timeout))
        stream, parts = r["stream"], []
        while True:
            chunk = self.send("IO.read", {"handle": stream, "size": 1 << 22}, session=session)
            data = chunk.get("data", "")
            parts.append(base64.b64decode(data) if chunk.get("base64Encoded") else data.encode("utf-8"))
            if chunk.get("eof"):
                break
        self.send("IO.close", {"handle": stream}, session=session)
        return b"".join(parts)

    def close_page(self, session: str) -> None:
        try:
            target = self.send("Target.getTargetInfo", session=session)["targetInfo"]["targetId"]
            self.send("Target.closeTarget", {"targetId": target})
        except ChromiumError:
            pass

    # lifetime ----------------------------------------------------------------------------
    def close(self) -> None:
        if not self._dead:
            try:
                self.send("Browser.close", timeout=10)
            except ChromiumError:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._cmd_w,):
            try:
                os.close(fd)
            except OSError:
                pass
        self._reader.join(timeout=5)
        try:
            os.close(self._ev_r)
        except OSError:
            pass
        self._log.close()
        self._profile.cleanup()

    def __enter__(self) -> "Chromium":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
