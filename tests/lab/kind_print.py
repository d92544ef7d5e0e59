"""Lab host kinds for the print edition's tests (tests/report/test_print_*.py, bench/print_edition.py):
three more personas beside the standard six, so a scan of the lab has nine hosts, with values
that are hard to lay out on paper.

pxwide: hardened, plus world-writable files in /var/tmp whose names are long unbroken tokens
    (a 180-character name, a path of nested 40-character directories), names with markup,
    spaces and a right-to-left override; FILE-001 lists them as its actual value.
pxssh: hardened, plus an sshd drop-in that allows passwords, X11 and TCP forwarding.
pxnet: hardened, plus IPv4 forwarding and redirects on and a listener on 0.0.0.0:8443 that the
    ruleset accepts (NET-001 fails: not in the allowed list).
"""

from .lab import NFT_HARDENED, ExtraKind, register_kind

LONG_NAME = "retention-export-" + "x" * 150 + "-final.csv"
DEEP_DIR = "/".join(f"segment{i:02d}-" + "abcdefghijklmnopqrstuvwxyz0123" for i in range(5))
ODD_NAMES = ["report <b>draft.txt", "spaces in a file name.txt", "evil\u202etxt.exe",
             "ünïcödé-datei.conf"]


def _prepare_wide(host, dirs):
    tmp = dirs["var"] / "tmp" / "px-share"
    (tmp / DEEP_DIR).mkdir(parents=True, exist_ok=True)
    files = [tmp / LONG_NAME, tmp / DEEP_DIR / "ledger.db"] + [tmp / n for n in ODD_NAMES]
    for f in files:
        f.write_text("lab data\n")
        f.chmod(0o666)
    return ""


def _prepare_ssh(host, dirs):
    d = dirs["etc"] / "ssh" / "sshd_config.d"
    d.mkdir(parents=True, exist_ok=True)
    (d / "40-px-legacy.conf").write_text(
        "# legacy access for the migration (lab: deliberately weak)\n"
        "PasswordAuthentication yes\nX11Forwarding yes\nAllowTcpForwarding yes\n")
    return ""


def _prepare_net(host, dirs):
    return ("sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=1 "
            "net.ipv4.conf.all.accept_redirects=1 || true\n"
            "python3 -c 'import socket,time; s=socket.socket(); s.bind((\"0.0.0.0\", 8443)); s.listen(); "
            "time.sleep(86400)' &\n")


register_kind("pxwide", ExtraKind(prepare=_prepare_wide))
register_kind("pxssh", ExtraKind(prepare=_prepare_ssh))
register_kind("pxnet", ExtraKind(
    prepare=_prepare_net,
    nft=NFT_HARDENED.replace("tcp dport 22 accept", "tcp dport { 22, 8443 } accept")))

#: the nine hosts of the print edition's lab scan
PRINT_HOSTS = ("hardened", "weak", "wrongkey", "hanging", "unreachable", "sudo", "pxwide", "pxssh", "pxnet")
