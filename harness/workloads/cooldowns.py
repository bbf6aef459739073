"""Cooldowns: start one per key across replicas, then try every key again everywhere."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from harness.client import Client, Request, definite_read
from harness.history import Outcome

KIND = "cooldowns"


@dataclass
class CooldownWorkload:
    keys: int = 6
    period: float = 60.0
    seed: int = 0
    kind: str = KIND
    started: list[str] = field(default_factory=list)

    def _interpret(self, response: httpx.Response) -> tuple[Outcome, dict | None]:
        if response.status_code == 200:
            return Outcome.OK, {"allowed": True, "until": response.json().get("until")}
        if response.status_code == 429:
            return Outcome.OK, {"allowed": False, "until": (response.json() or {}).get("until")}
        return definite_read({})(response)

    def start(self, client: Client, replica: str, key: str, phase: str = "main") -> None:
        client.invoke(KIND, "start", replica, Request("POST", f"/cooldowns/{key}"),
                      args={"key": key, "period": self.period}, interpret=self._interpret, phase=phase)

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
