"""Files: upload seeded random bytes across replicas, download and hash them everywhere."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field

from harness.client import Client
from harness.history import Outcome

KIND = "files"


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
        op = client.call(KIND, "upload", replica, {"content": content, "filename": f"{nonce}.bin"},
                         args={"sha256": hashlib.sha256(content).hexdigest(), "size": len(content), "nonce": nonce})
        if op.outcome is Outcome.OK:
            self.ids.append(op.value["id"])
            return op.value["id"]
        return None

    def download(self, client: Client, replica: str, file_id: str, phase: str = "main") -> None:
        client.call(KIND, "download", replica, {"id": file_id}, phase=phase)

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
