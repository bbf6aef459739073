"""Cooldowns: start one per key across replicas, then try every key again everywhere."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.client import Client

KIND = "cooldowns"


@dataclass
class CooldownWorkload:
    keys: int = 6
    seed: int = 0
    kind: str = KIND
    started: list[str] = field(default_factory=list)

    def start(self, client: Client, replica: str, key: str, phase: str = "main") -> None:
        period = client.adapter.settings(KIND)["period"]
        client.call(KIND, "start", replica, {"key": key}, args={"key": key, "period": period}, phase=phase)

    def write(self, client: Client, replicas: list[str]) -> None:
        for i in range(self.keys):
            key = f"cd-{self.seed}-{i}"
            self.start(client, replicas[i % len(replicas)], key)
            self.started.append(key)

    def step(self, client: Client, replicas: list[str], i: int) -> None:
        key = f"cd-{self.seed}-during-{i}"
        self.start(client, replicas[i % len(replicas)], key)
        self.started.append(key)

    def final_read(self, client: Client, replicas: list[str]) -> None:
        for replica in replicas:
            for key in self.started:
                self.start(client, replica, key, phase="final")
