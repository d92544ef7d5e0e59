"""The run history: every scan's runs, hosts, control definitions and results in one SQLite file.

Large raw evidence stays in the run bundles; the database references it. Modules:

``schema``       the tables (documented there), ``MIGRATIONS``, ``SCHEMA_VERSION``, ``connect`` (create and
                 migrate), ``connect_readonly`` and the one schema-version check both use
``store``        writing: the connection with its interning caches, transactions, the insert helpers,
                 marking runs whose scanner died interrupted
``queries``      reading: every query (``Queries``); ``History`` (read-write: queries, import, prune) and
                 ``HistoryReader`` (read only, for the annual report)
``recorder``     ``HistoryRecorder``: one scan as it runs (begin, host_done, end)
``maintenance``  ``import_run`` (bundles and older run folders) and ``prune`` (retention)
"""

from hardencheck.records.history.queries import History, HistoryReader, Queries, mark_stale_running
from hardencheck.records.history.recorder import HistoryRecorder
from hardencheck.records.history.schema import (COUNTED, MIGRATIONS, SCHEMA_VERSION, STATES, connect,
                                                connect_readonly)

__all__ = ["COUNTED", "MIGRATIONS", "SCHEMA_VERSION", "STATES", "History", "HistoryReader", "HistoryRecorder",
           "Queries", "connect", "connect_readonly", "mark_stale_running"]
