"""Rate limit: concurrent bursts of hits on one client key, spread over every replica.

The limit and window are the target's (its spec's ``rate_limit`` section); they are
recorded in each operation so the checker needs nothing else. Bursts use several
threads, so a non-atomic counter shows its race.
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from harness.client import Client

KIND = "rate_limit"


@dataclass
class RateLimitWorkload:
    burst_factor: int = 3
    threads: int = 8
    seed: int = 0
    kind: str = KIND

    @property
    def key(self) -> str:
        return f"rl-{self.seed}"

    def hit(self, client: Client, replica: str, phase: str = "main") -> None:
        settings = client.adapter.settings(KIND)
        client.call(KIND, "hit", replica, {"key": self.key},
                    args={"key": self.key, "limit": settings["limit"], "window": settings["window"]}, phase=phase)

    def burst(self, client: Client, replicas: list[str], phase: str = "main") -> None:
        limit = int(client.adapter.settings(KIND)["limit"])
        targets = list(itertools.islice(itertools.cycle(replicas), limit * self.burst_factor))
        with ThreadPoolExecutor(max_workers=self.threads) as pool:
            list(pool.map(lambda r: self.hit(client, r, phase), targets))

    def write(self, client: Client, replicas: list[str]) -> None:
        self.burst(client, replicas)

    def step(self, client: Client, replicas: list[str], i: int) -> None:
        self.hit(client, replicas[i % len(replicas)])

    def final_read(self, client: Client, replicas: list[str]) -> None:
        self.burst(client, replicas, phase="final")
