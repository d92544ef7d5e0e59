"""pytest-testinfra tests as controls, over hardencheck's own connection.

* ``backend.py``: ``HardencheckBackend``, a testinfra backend that runs each command through
  hardencheck's transport (the same host-key checks, jump hosts, become and timeouts as the probe
  script; never testinfra's paramiko backend, which accepts unknown host keys) and keeps a log
  of every command with its (bounded) output: the evidence.
* ``plugin.py``: the pytest plugin (entry point ``hardencheck``): the ``hardencheck`` marker
  (id, title, severity, tom, ...), ``--hardencheck-inventory`` to run a test folder against an
  inventory's hosts with plain pytest, and the machine-readable results the scan reads.
* ``runner.py``: the scan's side: collects the marked tests before anything connects (a bad
  marker names file and line), runs them for one host in a pytest subprocess and turns the
  outcomes into results and evidence records.

testinfra runs one exec per command (its model), unlike the probes' one exec per host: where
speed matters, write YAML controls.
"""
