"""Quotes: created with a TTL, used once; reused elsewhere; raced on two replicas; expired.

Short-lived quotes are created before the faults and tried again after they expired,
so an app that keeps expiry in process timers is caught after a restart.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from harness.client import Client
from harness.history import Outcome

KIND = "quotes"

@dataclass
class QuoteWorkload:
    quotes: int = 8
    short_quotes: int = 4
    ttl: float = 300.0
    short_ttl: float = 1.0
    seed: int = 0
    kind: str = KIND
    ids: list[str] = field(default_factory=list)
    short: list[tuple[str, float]] = field(default_factory=list)

    def create(self, client: Client, replica: str, ttl: float) -> tuple[str, float] | None:
        amount = round(10 + len(self.ids) + len(self.short), 2)
        op = client.call(KIND, "create", replica, {"amount": amount, "ttl": ttl})
        return (op.value["id"], float(op.value["expires_at"])) if op.outcome is Outcome.OK else None

    def use(self, client: Client, replica: str, quote_id: str, phase: str = "main") -> None:
        client.call(KIND, "use", replica, {"id": quote_id}, phase=phase)

    def read(self, client: Client, replica: str, quote_id: str, phase: str = "main") -> None:
        if client.adapter.supports(KIND, "read"):
            client.call(KIND, "read", replica, {"id": quote_id}, phase=phase)

    def write(self, client: Client, replicas: list[str]) -> None:
        n = len(replicas)
        for i in range(self.quotes):
            if created := self.create(client, replicas[i % n], self.ttl):
                self.ids.append(created[0])
                self.read(client, replicas[(i + 1) % n], created[0])
        for i, quote_id in enumerate(self.ids[::2]):
            self.use(client, replicas[i % n], quote_id)
            self.use(client, replicas[(i + 1) % n], quote_id)  # a second use, elsewhere: must be refused
        for i in range(self.short_quotes):
            if created := self.create(client, replicas[i % n], self.short_ttl):
                self.short.append(created)

    def step(self, client: Client, replicas: list[str], i: int) -> None:
        if created := self.create(client, replicas[i % len(replicas)], self.ttl):
            self.ids.append(created[0])

    def final_read(self, client: Client, replicas: list[str]) -> None:
        for replica in replicas:
            for quote_id in self.ids:
                self.read(client, replica, quote_id, phase="final")
        # Race: every unused quote used on all replicas at the same moment; at most one may win.
        with ThreadPoolExecutor(max_workers=len(replicas)) as pool:
            for quote_id in self.ids[1::2]:
                list(pool.map(lambda r: self.use(client, r, quote_id, phase="final"), replicas))
        if self.short:
            time.sleep(max(0.0, max(e for _, e in self.short) + 0.5 - time.time()))
            for replica in replicas:
                for quote_id, _ in self.short:
                    self.use(client, replica, quote_id, phase="final")
