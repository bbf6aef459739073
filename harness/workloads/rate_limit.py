"""Rate limit: concurrent bursts of hits on one client key, spread over every replica.

The limit and window are the target's (the reference app: 10 per 10 s); they are
recorded in each operation so the checker needs nothing else. Bursts use several
threads, so a non-atomic counter shows its race.
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from harness.client import Client, Request, definite_read

KIND = "rate_limit"


@dataclass
class RateLimitWorkload:
    limit: int = 10
    window: float = 10.0
    burst_factor: int = 3
    threads: int = 8
    denial_status: int = 429
    seed: int = 0
    kind: str = KIND

    @property
    def key(self) -> str:
        return f"rl-{self.seed}"

    def hit(self, client: Client, replica: str, phase: str = "main") -> None:
        client.invoke(KIND, "hit", replica, Request("GET", f"/limited/{self.key}"),
                      args={"key": self.key, "limit": self.limit, "window": self.window},
                      interpret=definite_read({200: lambda r: {"allowed": True},
                                               self.denial_status: lambda r: {"allowed": False}}),
                      phase=phase)

    def burst(self, client: Client, replicas: list[str], phase: str = "main") -> None:
        targets = list(itertools.islice(itertools.cycle(replicas), self.limit * self.burst_factor))
        with ThreadPoolExecutor(max_workers=self.threads) as pool:
            list(pool.map(lambda r: self.hit(client, r, phase), targets))

    def write(self, client: Client, replicas: list[str]) -> None:
        self.burst(client, replicas)

    def step(self, client: Client, replicas: list[str], i: int) -> None:
        self.hit(client, replicas[i % len(replicas)])

    def final_read(self, client: Client, replicas: list[str]) -> None:
        self.burst(client, replicas, phase="final")
