"""A lab host kind for the jump-host tests (tests/integration/test_bastion.py): hardened, but its
sshd allows TCP forwarding (a bastion); targets "behind" it are its own sshd on 127.0.0.N, which
only the bastion's network namespace can reach. Its sshd.log (LogLevel VERBOSE) names every
connection and its origin: the scanner's side (198.18.s.1) or a channel of the bastion (127.0.0.N)."""

from .lab import ExtraKind, _write, register_kind


def _prepare(host, dirs):
    # sshd reads the drop-ins first and the first value wins: over the hardened "AllowTcpForwarding no"
    _write(dirs["etc"] / "ssh" / "sshd_config.d" / "10-bastion.conf",
           "# jump host for the scanner (hardencheck lab)\nAllowTcpForwarding yes\nMaxStartups 10:30:100\n")
    return ""


register_kind("bastion", ExtraKind(prepare=_prepare))
