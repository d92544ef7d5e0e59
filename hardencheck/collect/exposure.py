"""The outside-in view (``hardencheck scan --exposure``): ONE nmap run, from the scanner, over the
inventory addresses of all selected hosts, while the SSH collection runs.

Targets are only the inventory's own addresses: an IP literal as written, or a name that resolves
to exactly one address (a name with several is refused for that host as ``ambiguous_address``:
nmap would probe machines the inventory does not name, and the SSH session may have reached
another one; pin the address in the inventory). Never a range or a network. Hosts reached only
through a jump host, the local transport and loopback addresses have no outside view from here:
their exposure controls are ``not_applicable`` with that reason.

nmap is found on PATH (``nmap.PortScanner`` checks it and reads its version); none there means
every exposure control is ``error`` ``nmap_missing``. It runs as a list of arguments (never a
shell): a TCP SYN scan as root, a connect scan otherwise (recorded as ``scan_type``), the ports of
``exposure.ports`` (default: nmap's top 1000 TCP ports plus every approved TCP port),
``ssl-enum-ciphers`` on the TLS ports nmap recognises, host discovery by each host's SSH port.
IPv4 and IPv6 addresses need one run per family (nmap -6).

Each host's part of the result reaches the host's scan as the ``nmap`` section of the
``net.exposure`` probe (``attach``), with its evidence: the exact command line, nmap's version,
start and end, the scanner's source address towards the host, and the XML output, redacted and
bounded, kept in the run bundle as ``exposure/nmap-ipv4.xml`` (``bundle_files``).
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from hardencheck.collect import exposure_xml
from hardencheck.collect.probe_script import Section
from hardencheck.records.redaction import Redactor
from hardencheck.results import utc as _utc

PROBE = "net.exposure"
APPROVED_FROM = "NET-001"       # the exposure controls share this control's `allowed` list per host
MAX_XML_BYTES = 4 * 1024 * 1024   # kept in the bundle; more is cut (the facts come from all of it)


@dataclass
class Target:
    host: str
    address: str | None = None       # the one address nmap probes for this host
    family: int = 4
    ssh_port: int = 22
    not_scanned: str | None = None   # why the scanner has no outside view (not_applicable)
    error: tuple[int, str] | None = None   # (exit code, "reason: message") of a refused target


def resolve(host) -> Target:
    t = Target(host.name, ssh_port=int(getattr(host, "port", 22) or 22))
    if host.transport != "ssh":
        t.not_scanned = f"scanned over the {host.transport} transport: the scanner has no network view of it"
        return t
    if host.jump:
        hops = ", ".join(str(j) for j in host.jump)
        t.not_scanned = (f"reached only through jump host(s) {hops}: the scanner's network does not see it "
                         "(scan from a runner inside that network)")
        return t
    addr = str(host.address)
    try:
        ips = {ipaddress.ip_address(addr)}
    except ValueError:
        try:
            infos = socket.getaddrinfo(addr, t.ssh_port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as e:
            t.error = (2, f"unreachable: {addr!r} does not resolve ({e})")
            return t
        ips = {ipaddress.ip_address(i[4][0].split("%")[0]) for i in infos}
        if len(ips) > 1:
            t.error = (2, f"ambiguous_address: {addr!r} resolves to {', '.join(sorted(map(str, ips)))}; nmap is "
                          "only pointed at one address per host: pin it in the inventory (address: <ip>)")
            return t
    ip = ips.pop()
    if ip.is_loopback or ip.is_unspecified or ip.is_multicast:
        t.not_scanned = f"address {ip} is not a network address of the host (loopback/unspecified/multicast)"
        return t
    t.address, t.family = str(ip), ip.version
    return t


def source_address(ip: str, family: int) -> str | None:
    """The scanner's address towards ``ip`` (a UDP connect sends nothing)."""
    try:
        with socket.socket(socket.AF_INET6 if family == 6 else socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect((ip, 9))
            return s.getsockname()[0]
    except OSError:
        return None


@dataclass
class NmapRun:
    family: int
    command: list[str] = field(default_factory=list)
    started: float | None = None
    ended: float | None = None
    exit_code: int | None = None
    stderr: str = ""
    xml: str = ""
    hosts: dict[str, dict] = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    scanned: str = ""
    error: tuple[int | None, str] | None = None   # (section exit code, message) when it gave no result

    @property
    def xml_name(self) -> str:
        return f"exposure/nmap-ipv{self.family}.xml"


class OutsideView:
    """Starts the nmap run(s) in a thread (``start``); each host's scan picks up its part
    (``attach``, waiting for nmap); ``stop`` ends nmap on an interrupt."""

    def __init__(self, hosts: list, settings, approved: dict[str, list[str]] | None = None, *,
                 redactor: Redactor | None = None):
        self.settings = settings
        self.redactor = redactor or Redactor()
        self.targets = {h.name: resolve(h) for h in hosts}
        self.approved = approved or {}
        self.root = os.geteuid() == 0
        self.runs: dict[int, NmapRun] = {}
        self.version: str | None = None
        self.nmap_path: str | None = None
        self.missing: str | None = None
        self._done = threading.Event()
        self._proc: subprocess.Popen | None = None
        self._stopped = False
        self._thread: threading.Thread | None = None

    # -- the run -----------------------------------------------------------------------------
    def start(self) -> "OutsideView":
        self._thread = threading.Thread(target=self._run_all, name="hc-nmap", daemon=True)
        self._thread.start()
        return self

    def _run_all(self) -> None:
        try:
            if self._find_nmap():
                for family in (4, 6):
                    targets = [t for t in self.targets.values() if t.address and t.family == family]
                    if targets and not self._stopped:
                        self.runs[family] = self._run(family, targets)
        except Exception as e:   # pragma: no cover - defensive: becomes an error, never a pass
            for family in (4, 6):
                self.runs.setdefault(family, NmapRun(family, error=(1, f"internal: {type(e).__name__}: {e}")))
        finally:
            self._done.set()

    def _find_nmap(self) -> bool:
        import nmap   # python-nmap: finds nmap and reads its version

        path = shutil.which("nmap")
        if path is None:
            self.missing = f"nmap: not found on PATH ({os.environ.get('PATH', '')[:200]})"
            return False
        try:
            scanner = nmap.PortScanner(nmap_search_path=(path,))
        except nmap.PortScannerError as e:
            self.missing = f"nmap at {path} did not answer 'nmap -V' ({str(e)[:200]})"
            return False
        self.nmap_path, self.version = path, ".".join(map(str, scanner.nmap_version()))
        self._scanner = scanner
        return True

    def ports(self) -> str:
        """The ports to probe: ``exposure.ports``, else nmap's top N plus every approved TCP port."""
        s = self.settings
        if s.ports:
            return exposure_xml.port_ranges(set().union(*(exposure_xml.parse_ports(str(p)) for p in s.ports)))
        listing = subprocess.run([self.nmap_path, "-oX", "-", "-n", "-sT", "--top-ports", str(s.top_ports)],
                                 capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        ports = exposure_xml.scanned_ports(exposure_xml.parse_root(listing.stdout))
        for allowed in self.approved.values():
            ports |= {int(a.split("/")[0]) for a in allowed
                      if a.endswith("/tcp") and a.split("/")[0].isdigit() and 1 <= int(a.split("/")[0]) <= 65535}
        return exposure_xml.port_ranges(ports)

    def command(self, family: int, targets: list[Target]) -> list[str]:
        s = self.settings
        discovery = ",".join(str(p) for p in sorted({t.ssh_port for t in targets}))
        cmd = [self.nmap_path, "-oX", "-", "-n", "-sS" if self.root else "-sT", f"-T{s.timing}",
               "--max-retries", str(s.max_retries), *(["-PE"] if self.root else []), f"-PS{discovery}",
               "-p", self.ports(), "--script", "ssl-enum-ciphers", "--script-timeout", f"{s.script_timeout}s"]
        if s.max_rate:
            cmd += ["--max-rate", str(s.max_rate)]
        if s.min_rate:
            cmd += ["--min-rate", str(s.min_rate)]
        if family == 6:
            cmd.append("-6")
        # only the inventory's own addresses, each validated as an IP literal: never a range
        return cmd + sorted({str(ipaddress.ip_address(t.address)) for t in targets})

    def _run(self, family: int, targets: list[Target]) -> NmapRun:
        run = NmapRun(family)
        try:
            run.command = self.command(family, targets)
        except (OSError, subprocess.SubprocessError, ValueError) as e:
            run.error = (1, f"nmap: could not list the ports to probe ({e})")
            return run
        run.started = time.time()
        try:
            self._proc = subprocess.Popen(run.command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE)
            out, err = self._proc.communicate(timeout=self.settings.timeout)
            run.exit_code = self._proc.returncode
        except subprocess.TimeoutExpired:
            self._proc.kill()
            out, err = self._proc.communicate()
            run.error = (124, f"nmap did not finish within {self.settings.timeout} s (exposure.timeout)")
        except OSError as e:
            run.error = (127, f"nmap could not be started: {e}")
            out, err = b"", b""
        run.ended = time.time()
        run.xml = out.decode("utf-8", "replace")
        run.stderr = err.decode("utf-8", "replace")[-4000:]
        if self._stopped:
            run.error = (None, "nmap was stopped: the scan was interrupted")
        if run.error is None and run.exit_code != 0:
            run.error = (1, f"nmap exited with {run.exit_code}: {exposure_xml.clean(run.stderr.strip(), 400)}")
        if run.error is None:
            try:
                self._scanner.analyse_nmap_xml_scan(run.xml, nmap_err=run.stderr)   # python-nmap's reading
                root = exposure_xml.parse_root(run.xml)
                run.hosts, run.info = exposure_xml.hosts(root), exposure_xml.run_info(root)
                run.scanned = exposure_xml.port_ranges(exposure_xml.scanned_ports(root))
                up = {h for h in self._scanner.all_hosts() if self._scanner[h].state() == "up"}
                for addr, h in run.hosts.items():   # python-nmap and the XML must agree on who is up
                    if (h["state"] == "up") != (addr in up):
                        raise exposure_xml.XmlError(f"python-nmap and the XML disagree on {addr}")
            except Exception as e:
                run.error = (1, f"nmap's output could not be read: {exposure_xml.clean(str(e), 300)}")
        return run

    def stop(self) -> None:
        """End nmap (an interrupted scan); the hosts waiting get an incomplete section."""
        self._stopped = True
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    # -- per host ----------------------------------------------------------------------------
    def host_view(self, name: str) -> tuple[Section, dict[str, Any]]:
        """The ``nmap`` section of the host's net.exposure probe and its evidence entry."""
        self.wait()
        t = self.targets[name]
        run = self.runs.get(t.family) if t.address else None
        sec = Section("", exit_code=0, complete=True)
        evidence: dict[str, Any] = {"command": "nmap", "code": exposure_xml.clean(" ".join(run.command), 20000)
                                    if run and run.command else "nmap (not run for this host)",
                                    "args": [t.address] if t.address else []}
        if t.not_scanned:
            sec.stdout = json.dumps({"scanned": False, "why": t.not_scanned})
        elif t.error:
            sec.exit_code, sec.stderr = t.error
        elif self.missing:
            sec.exit_code, sec.stderr = 127, self.missing
        elif run is None or run.error:
            sec.exit_code, sec.stderr = run.error if run and run.error else (None, "nmap did not run: the scan was "
                                                                                   "interrupted")
            sec.complete = sec.exit_code is not None
        else:
            view = run.hosts.get(t.address) or {"state": "down", "reason": "absent from nmap's output"}
            sec.stdout = json.dumps({"scanned": True, "address": t.address, "source_address":
                                     source_address(t.address, t.family), "scan_type": "syn" if self.root
                                     else "connect", "ports_scanned": run.scanned,
                                     "ports_scanned_count": len(exposure_xml.parse_ports(run.scanned)), **view},
                                    sort_keys=True)
        if run is not None:
            evidence["nmap"] = {"version": self.version, "path": self.nmap_path, "scan_type": "syn" if self.root
                                else "connect", "started_at": _utc(run.started), "ended_at": _utc(run.ended),
                                "exit_code": run.exit_code, "xml": run.xml_name if run.xml else None,
                                "summary": run.info.get("summary"), "stderr": run.stderr[-2000:]}
        sec.stdout_bytes, sec.stderr_bytes = len(sec.stdout.encode()), len(sec.stderr.encode())
        sec.started_at, sec.ended_at = (run.started, run.ended) if run else (None, None)
        return sec, evidence

    def attach(self, scan) -> None:
        """Give a host's scan (``engine.HostScan``) the nmap section of each net.exposure need."""
        for need in scan.needs.values():
            if need.probe.name != PROBE:
                continue
            for cmd in getattr(need.probe, "scanner_side", ()):
                sid = need.section_ids[cmd]
                sec, evidence = self.host_view(scan.host.name)
                sec.id = sid
                scan.sections[sid] = sec
                scan.evidence[scan._eid(sid)] = {
                    "host": scan.host.name, "probe": PROBE, **evidence, "exit_code": sec.exit_code,
                    "stdout": sec.stdout, "stderr": sec.stderr, "stdout_bytes": sec.stdout_bytes,
                    "stderr_bytes": sec.stderr_bytes, "truncated": False, "complete": sec.complete,
                    "started_at": _utc(sec.started_at), "ended_at": _utc(sec.ended_at)}

    def bundle_files(self) -> dict[str, bytes]:
        """The XML output of each run, redacted and bounded, for the run bundle."""
        files = {}
        for run in self.runs.values():
            if run.xml:
                text, _ = self.redactor.text(run.xml)
                data = text.encode()
                if len(data) > MAX_XML_BYTES:
                    data = data[:MAX_XML_BYTES] + b"\n<!-- hardencheck: cut at %d bytes -->\n" % MAX_XML_BYTES
                files[run.xml_name] = data
        return files


def exposure_controls(controls) -> list:
    """The controls of a library that read the outside-in view."""
    return [lc.control for lc in controls.controls if lc.control.probe == PROBE]


def selected_controls(controls, tags: list[str] | None, control_ids: list[str] | None) -> list:
    """The exposure controls a scan with these --tags/--control runs (none: nmap is not started)."""
    from hardencheck.judge.verdict import selected

    return [c for c in exposure_controls(controls)
            if selected(c, tags=set(tags) if tags else None, control_ids=set(control_ids) if control_ids else None)
            is None]


def share_approved(hosts: list, controls) -> None:
    """A host's (or group's) ``allowed`` list for NET-001 is also its list for every exposure
    control with an ``allowed`` parameter, unless the inventory sets that control's own: one
    approved list per host, inside and outside alike."""
    source = controls.by_id().get(APPROVED_FROM)
    if source is None or "allowed" not in source.control.params:
        return
    for h in hosts:
        value = (h.params.get(APPROVED_FROM) or {}).get("allowed")
        if value is None:
            continue
        for c in exposure_controls(controls):
            if "allowed" in c.params and "allowed" not in (h.params.get(c.id) or {}):
                h.params = {**h.params, c.id: {**(h.params.get(c.id) or {}), "allowed": value}}


def approved_ports(hosts: list, controls) -> dict[str, list[str]]:
    """host name -> the approved port/proto pairs of its exposure controls (probed in any case)."""
    out: dict[str, list[str]] = {}
    for h in hosts:
        for c in exposure_controls(controls):
            allowed = c.effective_params(h.params.get(c.id)).get("allowed")
            if isinstance(allowed, list):
                out.setdefault(h.name, []).extend(str(a) for a in allowed)
    return out
