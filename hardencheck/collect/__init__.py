"""Collecting facts: one generated probe script per host (``probe_script``), sent through a
transport (``transports``: ssh, local, replay) in one exec, its output split into sections and
parsed by the probes (``probes``) into facts; ``engine`` plans, collects and parses per host over
a thread pool, and hands each control's facts to ``hardencheck.judge`` for the verdict."""
