"""Counters: increments spread over replicas, reads on other replicas and at the end."""

from __future__ import annotations

import random
from dataclasses import dataclass

from harness.client import Client

KIND = "counters"

@dataclass
class CounterWorkload:
    increments: int = 20
    counters: int = 2
    seed: int = 0
    kind: str = KIND

    def name(self, i: int) -> str:
        return f"c-{self.seed}-{i % self.counters}"

    def increment(self, client: Client, replica: str, i: int) -> None:
        name, by = self.name(i), random.Random(f"{self.seed}-{i}").randint(1, 5)
        client.call(KIND, "increment", replica, {"name": name, "by": by})

    def read(self, client: Client, replica: str, name: str, phase: str = "main") -> None:
        client.call(KIND, "read", replica, {"name": name}, phase=phase)

    def write(self, client: Client, replicas: list[str]) -> None:
        for i in range(self.increments):
            self.increment(client, replicas[i % len(replicas)], i)
            self.read(client, replicas[(i + 1) % len(replicas)], self.name(i))

    def step(self, client: Client, replicas: list[str], i: int) -> None:
        self.increment(client, replicas[i % len(replicas)], self.increments + i)

    def final_read(self, client: Client, replicas: list[str]) -> None:
        for replica in replicas:
            for c in range(self.counters):
                self.read(client, replica, self.name(c), phase="final")
