"""Rate limit: concurrent bursts of hits on one client key, spread over every replica.

The limit and window are the target's (its spec's ``rate_limit`` section); they are
recorded in each operation so the checker needs nothing else. Bursts use several
threads, so a non-atomic counter shows its race.

After the final burst (every fault healed) comes the over-denial probe: the workload
waits until every window or interval that held a hit of the key has closed under the
spec's algorithm (``clear_after``), then sends a few hits, one at a time, that any
limiter of that model must allow. A denial there is a key that never recovers, such as
a counter that lost its expiry (``INCR``, a crash, no ``EXPIRE``); judging it is the
checker's job. The wait is bounded by ``probe_max_wait``: a target whose windows are
longer is not probed (so the long-windowed default suites keep their pace), and its
verdict cannot say anything about over-denial.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from harness.client import Client

KIND = "rate_limit"

#: Added to the probe's wait: the checker's clock tolerance, and apps rounding expiries up to whole units.
PROBE_MARGIN = 0.3


def clear_after(settings: Mapping[str, Any]) -> float:
    """Seconds after a key's last hit by which its model must allow a new burst of hits.

    A fixed window (any anchor) that held the hit has closed W after it, and so has a
    sliding log's interval; a sliding-window counter still weighs the previous window
    for a second W; a token bucket is full again after ``burst / rate``. No
    ``algorithm`` in the settings means a fixed window.
    """
    window, limit = float(settings["window"]), float(settings["limit"])
    algorithm = settings.get("algorithm") or {}
    name = algorithm.get("name", "fixed-window")
    if name == "sliding-window-counter":
        return 2 * window
    if name == "token-bucket":
        burst = float(algorithm.get("burst") or limit)
        rate = float(algorithm.get("rate") or limit / window)
        return burst / rate
    return window


def probe_size(settings: Mapping[str, Any], most: int) -> int:
    """How many probe hits every model allows at once after ``clear_after``: at most the limit, or the burst."""
    algorithm = settings.get("algorithm") or {}
    bound = int(algorithm.get("burst") or settings["limit"]) if algorithm.get("name") == "token-bucket" \
        else int(settings["limit"])
    return max(1, min(most, bound))


@dataclass
class RateLimitWorkload:
    burst_factor: int = 3
    threads: int = 8
    seed: int = 0
    kind: str = KIND
    probe_hits: int = 3
    """Hits of the over-denial probe (0: no probe); fewer when the limit or burst is smaller."""
    probe_max_wait: float = 6.0
    """The probe waits at most this long for the key's windows to close; longer windows are not probed."""

    @property
    def key(self) -> str:
        return f"rl-{self.seed}"

    def hit(self, client: Client, replica: str, phase: str = "main") -> None:
        settings = client.adapter.settings(KIND)
        client.call(KIND, "hit", replica, {"key": self.key},
                    args={"key": self.key, "limit": settings["limit"], "window": settings["window"],
                          **({"algorithm": settings["algorithm"]} if "algorithm" in settings else {})}, phase=phase)

    def burst(self, client: Client, replicas: list[str], phase: str = "main") -> None:
        limit = int(client.adapter.settings(KIND)["limit"])
        targets = list(itertools.islice(itertools.cycle(replicas), limit * self.burst_factor))
        with ThreadPoolExecutor(max_workers=self.threads) as pool:
            list(pool.map(lambda r: self.hit(client, r, phase), targets))

    def write(self, client: Client, replicas: list[str]) -> None:
        # The first hit goes alone to the first replica: a first-hit limiter opens the key's window
        # there, on the replica the restart suite then crashes, so work such a limiter defers after
        # opening a window (an EXPIRE sent later) is still pending when the crash lands.
        self.hit(client, replicas[0])
        self.burst(client, replicas)

    def step(self, client: Client, replicas: list[str], i: int) -> None:
        self.hit(client, replicas[i % len(replicas)])

    def final_read(self, client: Client, replicas: list[str]) -> None:
        self.burst(client, replicas, phase="final")
        self.probe(client, replicas)

    def probe(self, client: Client, replicas: list[str]) -> None:
        """After the last hit, wait for every window to close, then hits that must all be allowed."""
        settings = client.adapter.settings(KIND)
        wait = clear_after(settings) + PROBE_MARGIN
        if self.probe_hits <= 0 or wait > self.probe_max_wait:
            return
        time.sleep(wait)
        for replica in itertools.islice(itertools.cycle(replicas), probe_size(settings, self.probe_hits)):
            self.hit(client, replica, phase="final")
