"""Readiness: probe every dependency of the current mode, in parallel, bounded.

Probes run on their own threads so /readyz answers within about DB_TIMEOUT
even when several dependencies hang at once.
"""

from __future__ import annotations

import concurrent.futures
import time

from refapp.storage.base import Check


def failed_checks(checks: dict[str, Check], timeout: float) -> dict[str, str]:
    """Run all checks; return {name: error} for those that failed or timed out."""
    if not checks:
        return {}
    errors: dict[str, str] = {}
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="refapp-ready")
    try:
        futures = {name: pool.submit(check) for name, check in checks.items()}
        deadline = time.monotonic() + timeout
        for name, future in futures.items():
            try:
                future.result(timeout=max(0.0, deadline - time.monotonic()))
            except concurrent.futures.TimeoutError:
                errors[name] = f"no answer within {timeout:g}s"
            except Exception as exc:  # any failure means "not ready", with its reason
                errors[name] = str(exc) or type(exc).__name__
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # never wait for a hung probe
    return errors
