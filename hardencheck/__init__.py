"""hardencheck: agentless hardening and TOM compliance checks over SSH, with evidence."""

__version__ = "0.1.0"
