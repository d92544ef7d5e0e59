"""Lab host kinds for LOG-008 (audit.data_access) against a real auditd: ``auditgood`` and
``auditbad``, hardened hosts that differ only in their inventory params.

Audit rules are kernel-wide and a running auditd is visible from every lab host (the hosts share
the kernel and the PID space with the machine), so the daemon and the watch are not host state:
tests/test_lab_auditd.py loads the watch ``WATCH`` with auditctl and starts auditd on the machine
for its own module (and removes exactly that again). What the hosts differ in is which paths the
company says hold personal data:

  auditgood: params LOG-008 data_paths [/srv/customer-data], the watched path -> pass while auditd
             runs (fail while it does not: a loaded rule without the daemon records nothing).
  auditbad:  params LOG-008 data_paths [/srv/customer-data, /srv/other-data] -> fail naming
             /srv/other-data as unwatched.

No files are written: a watch on a path that does not exist is valid (the kernel watches its
parent), and nothing in the lab reads or writes the data paths.
"""

from .lab import ExtraKind, register_kind

WATCHED = "/srv/customer-data"
UNWATCHED = "/srv/other-data"
#: the one rule the test loads (auditctl arguments; ``-W`` instead of ``-w`` deletes it)
WATCH = ["-w", WATCHED, "-p", "rwa", "-k", "hc-lab-data"]

register_kind("auditgood", ExtraKind(params={"LOG-008": {"data_paths": [WATCHED]}}))
register_kind("auditbad", ExtraKind(params={"LOG-008": {"data_paths": [WATCHED, UNWATCHED]}}))
