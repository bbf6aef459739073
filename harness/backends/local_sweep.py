"""Roots of local deployments whose harness process died, found and removed (``harness sweep``).

A local deployment keeps everything under one temporary root named after the harness
process that owns it; its watchdog and exit hooks remove it. Should both have been
unable to (the machine rebooted mid-run, the watchdog killed too), this is the backstop.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from harness.backends.local_processes import kill_under
from harness.cleanup import pid_alive

#: A deployment's temporary root is ``<tmp>/harness-local-<owner pid>-<run id>-<random>``.
ROOT_PREFIX = "harness-local-"


def sweep() -> list[str]:
    """Kill the processes and remove the roots of local deployments whose harness process died."""
    swept = []
    for root in Path(tempfile.gettempdir()).glob(f"{ROOT_PREFIX}*"):
        owner = root.name[len(ROOT_PREFIX):].split("-", 1)[0]
        if not owner.isdigit() or pid_alive(int(owner)) or not root.is_dir():
            continue
        kill_under(root)
        shutil.rmtree(root, ignore_errors=True)
        swept.append(str(root))
    return swept


__all__ = ["ROOT_PREFIX", "sweep"]
