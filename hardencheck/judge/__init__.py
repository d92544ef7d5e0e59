"""Judging facts, pure (no I/O beyond reading YAML): the controls (``controls``), their typed
operators (``expectations``), the verdict of one control on one host's facts (``verdict``), and
the TOM catalog with its roll-up of results into measures (``tom``)."""
