"""Workloads, one module per state kind."""

from harness.workloads.base import Mixed, Workload
from harness.workloads.cooldowns import CooldownWorkload
from harness.workloads.counters import CounterWorkload
from harness.workloads.files import FileWorkload
from harness.workloads.quotes import QuoteWorkload
from harness.workloads.rate_limit import RateLimitWorkload
from harness.workloads.records import RecordWorkload
from harness.workloads.sessions import SessionWorkload



def every_kind(seed: int = 0) -> Mixed:
    """One workload per state kind, on one deployment: the default of the bundled suites."""
    return Mixed([SessionWorkload(seed=seed), RecordWorkload(seed=seed), FileWorkload(seed=seed),
                  CounterWorkload(seed=seed), QuoteWorkload(seed=seed), RateLimitWorkload(seed=seed),
                  CooldownWorkload(seed=seed)])


__all__ = ["CooldownWorkload", "CounterWorkload", "FileWorkload", "Mixed", "QuoteWorkload", "RateLimitWorkload",
           "RecordWorkload", "SessionWorkload", "Workload", "every_kind"]
