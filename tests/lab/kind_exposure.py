"""Lab host kinds for the outside-in exposure scan (``hardencheck scan --exposure``, issue 15),
started only by tests/integration/test_exposure_lab.py and bench/exposure_cost.py:

- ``exp-blocked``: hardened, plus a python listener on 0.0.0.0:8080 (not approved; it greets every
  connection with ``HOSTILE_BANNER``) that the hardened ruleset (policy drop, only 22 accepted)
  blocks: open inside, filtered from outside.
- ``exp-open``: the same listener, and a ruleset that still says ``policy drop`` but accepts
  8080: the firewall claims default deny, the listener is reachable from outside.
- ``exp-tls10``: hardened, plus ``openssl s_server`` on 0.0.0.0:4433 offering only TLS 1.0 with
  the default ciphers at security level 0 (approved port, accepted by the ruleset).
"""

import subprocess

from .lab import NFT_HARDENED, ExtraKind, register_kind

UNAPPROVED_PORT = 8080
TLS_PORT = 4433
_BASE_ALLOWED = ["22/tcp", "68/udp", "546/udp"]

#: what the unapproved listener sends to whoever connects: markup, a terminal escape, a fake nmap line
HOSTILE_BANNER = '<script>alert("hc-banner")</script>\x1b[2J 8080/tcp closed | [REDACTED] hc-banner'
_SERVER = f"""import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", {UNAPPROVED_PORT}))
s.listen(16)
while True:
    c, _ = s.accept()
    try:
        c.sendall({HOSTILE_BANNER.encode()!r} + b"\\r\\n")
    except OSError:
        pass
    c.close()
"""


def _listener(host, dirs):
    (dirs["etc"] / "hc-lab-exposure").mkdir(parents=True, exist_ok=True)
    (dirs["etc"] / "hc-lab-exposure" / "banner.py").write_text(_SERVER)
    return "python3 /etc/hc-lab-exposure/banner.py </dev/null >/dev/null 2>&1 &\n"


def _tls10(host, dirs):
    tls = dirs["etc"] / "hc-lab-tls"
    tls.mkdir(parents=True, exist_ok=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
                    "-subj", f"/CN={host.name}.lab.invalid", "-keyout", str(tls / "key.pem"),
                    "-out", str(tls / "cert.pem")], check=True, capture_output=True, timeout=60)
    (tls / "key.pem").chmod(0o600)
    return (f"openssl s_server -quiet -accept {TLS_PORT} -tls1 -cipher 'DEFAULT:@SECLEVEL=0' "
            "-cert /etc/hc-lab-tls/cert.pem -key /etc/hc-lab-tls/key.pem -www "
            "</dev/null >/dev/null 2>&1 &\n")


register_kind("exp-blocked", ExtraKind(prepare=_listener))
register_kind("exp-open", ExtraKind(
    prepare=_listener,
    nft=NFT_HARDENED.replace("tcp dport 22 accept", f"tcp dport {{ 22, {UNAPPROVED_PORT} }} accept")))
register_kind("exp-tls10", ExtraKind(
    prepare=_tls10,
    nft=NFT_HARDENED.replace("tcp dport 22 accept", f"tcp dport {{ 22, {TLS_PORT} }} accept"),
    params={"NET-001": {"allowed": _BASE_ALLOWED + [f"{TLS_PORT}/tcp"]}}))
