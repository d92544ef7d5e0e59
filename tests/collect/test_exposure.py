"""The outside-in collector (hardencheck.collect.exposure, exposure_xml) without a lab: which
addresses nmap is pointed at, its argument list, nmap's real XML from a lab run (tests/collect/
exposure_lab_nmap.xml.gz, 5 lab hosts, SYN scan as root), each host's section through the real
net.exposure parser, nmap missing, a host nmap did not find, the bundle copy of the XML."""

from __future__ import annotations

import gzip
import json
import shutil
import socket
from pathlib import Path

import pytest

from hardencheck.collect import exposure, exposure_xml
from hardencheck.collect.probes import get_probe
from hardencheck.config import ExposureSettings
from hardencheck.errors import ProbeError
from hardencheck.inventory import Host
from hardencheck.inventory.model import JumpHost
from hardencheck.judge.controls import load_controls

XML = gzip.decompress((Path(__file__).parent / "exposure_lab_nmap.xml.gz").read_bytes()).decode()
LAB = {"exp-blocked": "198.18.7.2", "exp-open": "198.18.8.2", "exp-tls10": "198.18.9.2", "hardened": "198.18.10.2",
       "unreachable": "198.18.11.2"}
PROBE = get_probe("net.exposure")


def _view(hosts, settings=None, **kw) -> exposure.OutsideView:
    return exposure.OutsideView(hosts, settings or ExposureSettings(), **kw)


def _loaded(names=tuple(LAB), extra=()) -> exposure.OutsideView:
    """An OutsideView whose nmap run is the recorded lab run (nothing is sent)."""
    v = _view([Host(name=n, address=LAB[n]) for n in names] + list(extra))
    root = exposure_xml.parse_root(XML)
    run = exposure.NmapRun(4, command=["/usr/bin/nmap", "-oX", "-", *sorted(LAB.values())], started=1.0, ended=2.0,
                           exit_code=0, xml=XML, hosts=exposure_xml.hosts(root), info=exposure_xml.run_info(root),
                           scanned=exposure_xml.port_ranges(exposure_xml.scanned_ports(root)))
    v.runs[4], v.version, v.nmap_path = run, "7.93", "/usr/bin/nmap"
    v._done.set()
    return v


def _facts(view: exposure.OutsideView, host: str, check: str = "open", **args):
    sec, _ = view.host_view(host)
    return PROBE().parse({"nmap": sec}, PROBE.resolve_args({"check": check, **args}))


# -- which addresses ------------------------------------------------------------------------------

def test_only_the_inventory_address_each_host_has():
    assert exposure.resolve(Host(name="a", address="198.18.7.2")).address == "198.18.7.2"
    assert exposure.resolve(Host(name="b", address="2001:db8::7")).family == 6
    jump = exposure.resolve(Host(name="c", address="10.0.0.5", jump=[JumpHost(address="bastion.example")]))
    assert jump.address is None and "jump host(s) bastion.example" in jump.not_scanned
    local = exposure.resolve(Host(name="d", address="localhost", transport="local"))
    assert local.address is None and "local transport" in local.not_scanned
    loop = exposure.resolve(Host(name="e", address="127.0.0.1"))
    assert loop.address is None and "loopback" in loop.not_scanned


def test_a_name_with_several_addresses_is_refused(monkeypatch):
    def two(name, port, *a, **kw):
        assert name == "web.example"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in ("192.0.2.10", "192.0.2.11")]

    monkeypatch.setattr(socket, "getaddrinfo", two)
    t = exposure.resolve(Host(name="web", address="web.example"))
    assert t.address is None and t.error[1].startswith("ambiguous_address: 'web.example' resolves to 192.0.2.10, "
                                                       "192.0.2.11")
    v = _view([Host(name="web", address="web.example")])
    v._done.set()
    sec, _ = v.host_view("web")
    with pytest.raises(ProbeError) as e:
        PROBE().parse({"nmap": sec}, PROBE.resolve_args({}))
    assert e.value.reason == "ambiguous_address"


def test_the_command_is_a_list_of_validated_arguments(monkeypatch):
    hosts = [Host(name="a", address="198.18.7.2"), Host(name="b", address="198.18.8.2", port=2222)]
    v = _view(hosts, ExposureSettings(ports=["1-1024", 8443], timing=3, max_rate=200, min_rate=10))
    v.nmap_path, v.root = "/usr/bin/nmap", False
    cmd = v.command(4, [v.targets["a"], v.targets["b"]])
    assert cmd[:5] == ["/usr/bin/nmap", "-oX", "-", "-n", "-sT"]          # not root: connect scan
    assert "-PE" not in cmd and "-PS22,2222" in cmd and "-T3" in cmd
    assert cmd[cmd.index("-p") + 1] == "1-1024,8443"
    assert cmd[cmd.index("--max-rate") + 1] == "200" and cmd[cmd.index("--min-rate") + 1] == "10"
    assert cmd[-2:] == ["198.18.7.2", "198.18.8.2"]
    assert all(" " not in a for a in cmd)
    v.root = True
    assert "-sS" in v.command(4, [v.targets["a"]]) and "-PE" in v.command(4, [v.targets["a"]])
    six = _view([Host(name="c", address="2001:db8::7")], ExposureSettings(ports=["22"]))
    six.nmap_path = "/usr/bin/nmap"
    assert six.command(6, [six.targets["c"]])[-2:] == ["-6", "2001:db8::7"]      # a run of its own


@pytest.mark.skipif(not shutil.which("nmap"), reason="nmap not installed")
def test_default_ports_are_the_top_ports_plus_every_approved_one():
    v = _view([Host(name="a", address="198.18.7.2")], ExposureSettings(top_ports=10),
              approved={"a": ["22/tcp", "4433/tcp", "161/udp", "bogus"]})
    v._find_nmap()                              # nmap -V and a target-less listing: nothing is sent
    ports = exposure_xml.parse_ports(v.ports())
    assert len(ports) == 11 and {22, 80, 443, 4433} <= ports and 161 not in ports    # udp is not probed


def test_nmap_missing_from_path(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    v = _view([Host(name="a", address="198.18.7.2")]).start()
    assert v.wait(30)
    sec, evidence = v.host_view("a")
    assert sec.exit_code == 127 and "not found on PATH" in sec.stderr
    assert evidence["code"] == "nmap (not run for this host)"
    with pytest.raises(ProbeError) as e:
        PROBE().parse({"nmap": sec}, PROBE.resolve_args({}))
    assert e.value.reason == "nmap_missing"


# -- nmap's output -------------------------------------------------------------------------------

def test_port_ranges_round_trip_and_refuse_junk():
    ports = {1, 3, 4, 5, 22, 8080, 65535}
    assert exposure_xml.port_ranges(ports) == "1,3-5,22,8080,65535"
    assert exposure_xml.parse_ports("1,3-5,22,8080,65535") == ports
    for bad in ("0", "70000", "5-3", "22;rm -rf /", "1-2-3"):
        with pytest.raises(ValueError):
            exposure_xml.parse_ports(bad)


def test_the_recorded_lab_run():
    root = exposure_xml.parse_root(XML)
    info = exposure_xml.run_info(root)
    assert info["version"] == "7.93" and info["exit"] == "success" and info["start"] <= info["end"]
    hosts = exposure_xml.hosts(root)
    assert set(hosts) == set(LAB.values()) and all(h["state"] == "up" for h in hosts.values())
    blocked = hosts[LAB["exp-blocked"]]["ports_by_state"]
    assert blocked["open"] == "22" and 8080 in exposure_xml.parse_ports(blocked["filtered"])   # from extraports
    assert hosts[LAB["exp-open"]]["ports_by_state"]["open"] == "22,8080"
    assert hosts[LAB["unreachable"]]["ports_by_state"].keys() == {"closed"}
    (tls,) = hosts[LAB["exp-tls10"]]["tls"]
    assert tls["port"] == 4433 and list(tls["protocols"]) == ["TLSv1.0"] and tls["least_strength"] == "A"
    assert len(exposure_xml.scanned_ports(root)) == 1001
    with pytest.raises(exposure_xml.XmlError):
        exposure_xml.parse_root("<html/>")


def test_each_host_gets_its_part_through_the_real_parser():
    v = _loaded()
    assert _facts(v, "exp-open")["open"] == ["22/tcp", "8080/tcp"]
    assert _facts(v, "exp-blocked")["open"] == ["22/tcp"]
    tls = _facts(v, "exp-tls10", "tls")
    assert tls["legacy_protocols"] == ["4433/tcp TLSv1.0"] and tls["weak_ciphers"] == []
    assert _facts(v, "exp-tls10", "tls", weak_grades=["A"])["weak_ciphers"][0].startswith("4433/tcp TLSv1.0 TLS_")
    sec, evidence = v.host_view("exp-open")
    assert evidence["nmap"]["version"] == "7.93" and evidence["nmap"]["xml"] == "exposure/nmap-ipv4.xml"
    assert evidence["code"].startswith("/usr/bin/nmap -oX -") and evidence["args"] == ["198.18.8.2"]
    assert json.loads(sec.stdout)["address"] == "198.18.8.2" and json.loads(sec.stdout)["scan_type"] in ("syn", "connect")


def test_a_host_nmap_did_not_find_is_an_error_never_a_pass():
    v = _loaded(extra=[Host(name="ghost", address="198.19.255.254")])
    with pytest.raises(ProbeError) as e:
        _facts(v, "ghost")
    assert e.value.reason == "unreachable" and "198.19.255.254 down" in e.value.message


def test_an_interrupted_or_failed_run_is_an_error():
    v = _view([Host(name="a", address="198.18.7.2")])
    v.nmap_path = "/usr/bin/nmap"
    v._done.set()                                      # stopped before nmap ran
    sec, _ = v.host_view("a")
    with pytest.raises(ProbeError) as e:
        PROBE().parse({"nmap": sec}, PROBE.resolve_args({}))
    assert e.value.reason == "incomplete_output"
    v.runs[4] = exposure.NmapRun(4, command=["nmap"], error=(1, "nmap exited with 1: QUITTING!"))
    sec, _ = v.host_view("a")
    with pytest.raises(ProbeError) as e:
        PROBE().parse({"nmap": sec}, PROBE.resolve_args({}))
    assert e.value.reason == "probe_failed" and "QUITTING" in e.value.message


def test_the_bundle_copy_is_redacted_and_bounded(monkeypatch):
    v = _loaded()
    v.runs[4].xml = XML.replace("</nmaprun>", "<!-- https://scan:hunter2secret@proxy.example/ --></nmaprun>")
    (data,) = v.bundle_files().values()
    assert b"hunter2secret" not in data and b"[REDACTED" in data
    monkeypatch.setattr(exposure, "MAX_XML_BYTES", 1000)
    (data,) = v.bundle_files().values()
    assert len(data) < 1100 and data.endswith(b"cut at 1000 bytes -->\n")


# -- one approved list per host ------------------------------------------------------------------

def test_net001_approved_ports_are_the_exposure_controls_too():
    controls = load_controls()
    own = {"NET-006": {"allowed": ["22/tcp", "443/tcp"]}}
    hosts = [Host(name="web", address="192.0.2.1", params={"NET-001": {"allowed": ["22/tcp", "8443/tcp"]}, **own}),
             Host(name="db", address="192.0.2.2", params={"NET-001": {"allowed": ["22/tcp", "5432/tcp"]}}),
             Host(name="plain", address="192.0.2.3")]
    exposure.share_approved(hosts, controls)
    web, db, plain = hosts
    assert web.params["NET-006"] == {"allowed": ["22/tcp", "443/tcp"]}           # its own list wins
    assert web.params["NET-007"] == {"allowed": ["22/tcp", "8443/tcp"]}
    assert db.params["NET-006"] == db.params["NET-007"] == {"allowed": ["22/tcp", "5432/tcp"]}
    assert "NET-008" not in db.params                                            # no `allowed` there
    assert plain.params == {}
    approved = exposure.approved_ports(hosts, controls)
    assert "5432/tcp" in approved["db"] and "443/tcp" in approved["web"] and "22/tcp" in approved["plain"]



def test_nmap_only_runs_for_a_scan_with_exposure_controls():
    controls = load_controls()
    ids = lambda cs: sorted(c.id for c in cs)   # noqa: E731
    assert ids(exposure.selected_controls(controls, None, None)) == ["NET-006", "NET-007", "NET-008"]
    assert ids(exposure.selected_controls(controls, ["ssh"], None)) == []
    assert ids(exposure.selected_controls(controls, ["tls"], None)) == ["NET-008"]
    assert ids(exposure.selected_controls(controls, None, ["NET-007", "FW-001"])) == ["NET-007"]
