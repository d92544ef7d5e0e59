"""paramiko, imported without ``invoke``.

paramiko's ssh_config support imports ``invoke`` at import time, only to run the commands of
``Match exec`` lines. hardencheck refuses ``Match exec`` (``inventory.ssh_config_file``: it would run
a local command during a host lookup), so ``invoke`` is never needed; importing it costs about
30 ms and 7 MiB in every scan. It is hidden while paramiko loads and visible again afterwards, so
code in the same process that imports ``invoke`` itself is not affected.
"""

from __future__ import annotations

import sys

if "paramiko" not in sys.modules and "invoke" not in sys.modules:
    sys.modules["invoke"] = None          # type: ignore[assignment]  # makes `import invoke` fail
    try:
        import paramiko
    finally:
        if sys.modules.get("invoke", 0) is None:
            del sys.modules["invoke"]
else:
    import paramiko

__all__ = ["paramiko"]
