"""Files: upload seeded random bytes across replicas, download and hash them everywhere."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field

from harness.client import Client, Request, definite_read
from harness.history import Outcome

KIND = "files"


_uploaded = definite_read(dict.fromkeys((200, 201), lambda r: {"id": r.json()["id"], "sha256": r.json().get("sha256")}))
_download = definite_read({
    200: lambda r: {"found": True, "sha256": hashlib.sha256(r.content).hexdigest()},
    404: lambda r: {"found": False, "sha256": None},
})


@dataclass
class FileWorkload:
    files: int = 8
    max_size: int = 64 * 1024
    seed: int = 0
    kind: str = KIND
    ids: list[str] = field(default_factory=list)
    _sent: int = 0

    def upload(self, client: Client, replica: str) -> str | None:
        rng = random.Random(f"{self.seed}-{self._sent}")
        content = rng.randbytes(rng.randrange(1, self.max_size))
        nonce = f"f-{self.seed}-{self._sent}"
        self._sent += 1
        op = client.invoke(
            KIND, "upload", replica,
            Request("POST", "/files", files={"file": (f"{nonce}.bin", content, "application/octet-stream")}),
            args={"sha256": hashlib.sha256(content).hexdigest(), "size": len(content), "nonce": nonce},
            interpret=_uploaded,
        )
        if op.outcome is Outcome.OK:
            self.ids.append(op.value["id"])
            return op.value["id"]
        return None

    def download(self, client: Client, replica: str, file_id: str, phase: str = "main") -> None:
        client.invoke(KIND, "download", replica, Request("GET", f"/files/{file_id}"), args={"id": file_id},
                      interpret=_download, phase=phase)

    def write(self, client: Client, replicas: list[str]) -> None:
        for i in range(self.files):
            file_id = self.upload(client, replicas[i % len(replicas)])
            if file_id:
                self.download(client, replicas[(i + 1) % len(replicas)], file_id)

    def step(self, client: Client, replicas: list[str], i: int) -> None:
        self.upload(client, replicas[i % len(replicas)])

    def final_read(self, client: Client, replicas: list[str]) -> None:
        for replica in replicas:
            for file_id in self.ids:
                self.download(client, replica, file_id, phase="final")
