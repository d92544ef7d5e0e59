"""The hardencheck test lab: real sshd hosts in network + mount namespaces (see lab.py)."""

from .lab import KINDS, LAB_NET, STANDARD_HOSTS, Lab, LabError, LabHost, cleanup_prefix, preflight

__all__ = ["KINDS", "LAB_NET", "STANDARD_HOSTS", "Lab", "LabError", "LabHost", "cleanup_prefix", "preflight"]
