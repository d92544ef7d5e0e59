"""A lab host kind used by the lab's own test of the extension hook (tests/test_lab.py):
hardened, plus a marker file in /etc, a TCP listener on port 9999 started by the start script,
and a ruleset that also accepts 9999."""

from .lab import NFT_HARDENED, ExtraKind, register_kind


def _prepare(host, dirs):
    (dirs["etc"] / "hc-lab-extra").mkdir(parents=True, exist_ok=True)
    (dirs["etc"] / "hc-lab-extra" / "marker").write_text(f"extra kind on {host.name}\n")
    return "python3 -c 'import socket,time; s=socket.socket(); s.bind((\"0.0.0.0\", 9999)); s.listen(); time.sleep(86400)' &\n"


register_kind("xselftest", ExtraKind(
    prepare=_prepare,
    nft=NFT_HARDENED.replace("tcp dport 22 accept", "tcp dport { 22, 9999 } accept"),
    params={"NET-001": {"allowed": ["22/tcp", "68/udp", "546/udp", "9999/tcp"]}}))
