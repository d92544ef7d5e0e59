"""A lab host kind for tests/integration/test_sources_lab.py: ``rtonly`` is hardened at runtime (its
start script sets the hardened network sysctls) but persists none of it (no
/etc/sysctl.d/60-hardening.conf): what an admin who ran ``sysctl -w`` and nothing else leaves behind.
The next boot restores the kernel defaults, which NET-004/005 judge as ``at_boot``."""

from .lab import ExtraKind, register_kind


def _prepare(host, dirs):
    (dirs["etc"] / "sysctl.d" / "60-hardening.conf").unlink(missing_ok=True)
    return ""


register_kind("rtonly", ExtraKind(prepare=_prepare))
