"""Records: create, update and delete across replicas; read back by id and by listing.

Every created record carries a unique ``nonce``, so a create whose answer was lost
(unknown outcome) can still be recognised in a listing later (recovered), and a
listed record nobody created is detectable (unexpected).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.client import Client, Request, definite_read
from harness.history import Outcome

KIND = "records"

_read = definite_read({
    200: lambda r: {"found": True, "data": r.json()["data"], "version": r.json()["version"]},
    404: lambda r: {"found": False, "data": None, "version": None},
})
_list = definite_read({200: lambda r: {"records": {x["id"]: x["data"] for x in r.json()["records"]}}})
_delete = definite_read({204: lambda r: {}})
_written = definite_read(dict.fromkeys((200, 201), lambda r: {"id": r.json()["id"], "version": r.json()["version"]}))


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
        op = client.invoke(KIND, "create", replica, Request("POST", "/records", json={"data": data}),
                           args={"data": data}, interpret=_written)
        if op.outcome is Outcome.OK:
            self.ids.append(op.value["id"])
            return op.value["id"]
        return None

    def read(self, client: Client, replica: str, record_id: str, phase: str = "main") -> None:
        client.invoke(KIND, "read", replica, Request("GET", f"/records/{record_id}"), args={"id": record_id},
                      interpret=_read, phase=phase)

    def write(self, client: Client, replicas: list[str]) -> None:
        for i in range(self.records):
            record_id = self.create(client, replicas[i % len(replicas)])
            if record_id:
                self.read(client, replicas[(i + 1) % len(replicas)], record_id)
        for i, record_id in enumerate(list(self.ids[1::3])):
            data = {"nonce": f"r-{self.seed}-update-{i}", "updated": True}
            client.invoke(KIND, "update", replicas[i % len(replicas)],
                          Request("PUT", f"/records/{record_id}", json={"data": data}),
                          args={"id": record_id, "data": data}, interpret=_written)
        for i, record_id in enumerate(list(self.ids[2::3])):
            client.invoke(KIND, "delete", replicas[(i + 1) % len(replicas)],
                          Request("DELETE", f"/records/{record_id}"), args={"id": record_id}, interpret=_delete)

    def step(self, client: Client, replicas: list[str], i: int) -> None:
        self.create(client, replicas[i % len(replicas)])

    def final_read(self, client: Client, replicas: list[str]) -> None:
        for replica in replicas:
            client.invoke(KIND, "list", replica, Request("GET", "/records"), interpret=_list, phase="final")
            for record_id in self.ids:
                self.read(client, replica, record_id, phase="final")
