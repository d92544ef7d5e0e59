"""A scan from request to sealed bundle: ``plan`` validates the request before anything
connects, ``run.ScanRun`` collects (through ``collect``), judges (``judge``), records each host
as it finishes (``records``) and assembles the results document once; ``metadata`` is the one
place a run's metadata is built."""
