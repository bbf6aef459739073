"""Readiness: probe every dependency of the current mode, in parallel, bounded.

Probes run on a small dedicated thread pool and are awaited with a deadline,
so /readyz answers within about DB_TIMEOUT even when a dependency hangs (a
paused container answers nothing) and even when every request thread is
stuck. A probe that hangs holds one of the few probe threads; once they are
all taken, further probes time out in the queue, which is the right answer.
"""

from __future__ import annotations

import asyncio
import concurrent.futures

from refapp.storage.base import Check

_PROBES = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="refapp-ready")


async def failed_checks(checks: dict[str, Check], timeout: float) -> dict[str, str]:
    """Run all checks; return {name: error} for those that failed or timed out."""
    if not checks:
        return {}
    loop = asyncio.get_running_loop()
    futures = {name: loop.run_in_executor(_PROBES, check) for name, check in checks.items()}
    await asyncio.wait(futures.values(), timeout=timeout)
    errors: dict[str, str] = {}
    for name, future in futures.items():
        if not future.done():
            future.cancel()  # drops it from the queue if it never started
            errors[name] = f"no answer within {timeout:g}s"
        elif (exc := future.exception()) is not None:
            errors[name] = str(exc) or type(exc).__name__
    return errors
