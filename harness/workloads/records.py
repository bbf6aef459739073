"""Records: create, update and delete across replicas; read back by id and by listing.

Every created record carries a unique ``nonce``, so a create whose answer was lost
(unknown outcome) can still be recognised in a listing later (recovered), and a
listed record nobody created is detectable (unexpected).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.client import Client
from harness.history import Outcome

KIND = "records"

@dataclass
class RecordWorkload:
    records: int = 12
    seed: int = 0
    kind: str = KIND
    ids: list[str] = field(default_factory=list)
    _created: int = 0

    def create(self, client: Client, replica: str) -> str | None:
        data = {"nonce": f"r-{self.seed}-{self._created}", "n": self._created}
        self._created += 1
        op = client.call(KIND, "create", replica, {"data": data})
        if op.outcome is Outcome.OK:
            self.ids.append(op.value["id"])
            return op.value["id"]
        return None

    def list_args(self, client: Client) -> dict[str, str]:
        """What a listing records: nothing, or on an environment that keeps its state between runs
        (``--backend attach``: ``owns_state`` False), the prefix of this run's nonces (``own_nonces``),
        since its listings show earlier runs' records too and only this run's are judged."""
        if getattr(client.endpoints, "owns_state", True):
            return {}
        return {"own_nonces": f"r-{self.seed}-"}

    def read(self, client: Client, replica: str, record_id: str, phase: str = "main") -> None:
        client.call(KIND, "read", replica, {"id": record_id}, phase=phase)

    def write(self, client: Client, replicas: list[str]) -> None:
        for i in range(self.records):
            record_id = self.create(client, replicas[i % len(replicas)])
            if record_id:
                self.read(client, replicas[(i + 1) % len(replicas)], record_id)
        if client.adapter.supports(KIND, "update"):
            for i, record_id in enumerate(list(self.ids[1::3])):
                data = {"nonce": f"r-{self.seed}-update-{i}", "updated": True}
                client.call(KIND, "update", replicas[i % len(replicas)], {"id": record_id, "data": data})
        if client.adapter.supports(KIND, "delete"):
            for i, record_id in enumerate(list(self.ids[2::3])):
                client.call(KIND, "delete", replicas[(i + 1) % len(replicas)], {"id": record_id})

    def step(self, client: Client, replicas: list[str], i: int) -> None:
        self.create(client, replicas[i % len(replicas)])

    def final_read(self, client: Client, replicas: list[str]) -> None:
        for replica in replicas:
            if client.adapter.supports(KIND, "list"):
                client.call(KIND, "list", replica, args=self.list_args(client), phase="final")
            for record_id in self.ids:
                self.read(client, replica, record_id, phase="final")
