"""What a run leaves behind, and reading it back: the run bundle (``bundle``, ``signature``,
``verify``, ``run_folder``), redaction before anything is written (``redaction``), atomic files
and their hashes (``files``), who produced a record (``provenance``), the run history
(``history``), the comparison of two runs (``drift``) and the annual figures
(``effectiveness``, ``audit_document``)."""
