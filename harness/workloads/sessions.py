"""Sessions: log users in across replicas, read tokens everywhere, optionally log out.

The HTTP shape of each operation (path, method, which status means what) is the
reference app's; the interpretation turns a response into an outcome and a value
the sessions checker understands: ``whoami`` answering 401 is a definite read
("rejected"), not a failure.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import httpx

from harness.client import Client, Request, refused_or_unknown
from harness.history import Outcome

KIND = "sessions"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def interpret_login(response: httpx.Response) -> tuple[Outcome, Any]:
    if response.status_code == 200:
        body = response.json()
        return Outcome.OK, {"token": body["token"], "user": body.get("user"), "expires_at": body.get("expires_at")}
    return refused_or_unknown(response)


def interpret_whoami(response: httpx.Response) -> tuple[Outcome, Any]:
    if response.status_code == 200:
        return Outcome.OK, {"accepted": True, "user": response.json().get("user")}
    if response.status_code == 401:
        return Outcome.OK, {"accepted": False}
    return refused_or_unknown(response)


def interpret_logout(response: httpx.Response) -> tuple[Outcome, Any]:
    if response.status_code == 200:
        return Outcome.OK, {"revoked": True}
    if response.status_code == 401:
        return Outcome.OK, {"revoked": False}
    return refused_or_unknown(response)


@dataclass
class SessionWorkload:
    """``sessions`` logins round-robin over replicas, each read back on the next replica.

    With ``logout=True`` every token is first read on every replica (so a per-replica
    cache, if any, holds it), then every other token is logged out on a replica other
    than the one that created it.
    """

    sessions: int = 12
    seed: int = 0
    logout: bool = False
    kind: str = KIND
    tokens: list[tuple[str, str]] = field(default_factory=list)  # (token, replica that created it)

    def login(self, client: Client, replica: str, user: str) -> str | None:
        op = client.invoke(KIND, "login", replica, Request("POST", "/sessions/login", json={"user": user}),
                           args={"user": user}, interpret=interpret_login)
        return op.value["token"] if op.outcome is Outcome.OK else None

    def whoami(self, client: Client, replica: str, token: str, phase: str = "main") -> None:
        client.invoke(KIND, "whoami", replica, Request("GET", "/sessions/whoami", headers=_bearer(token)),
                      args={"token": token}, interpret=interpret_whoami, phase=phase)

    def logout_token(self, client: Client, replica: str, token: str) -> None:
        client.invoke(KIND, "logout", replica, Request("POST", "/sessions/logout", headers=_bearer(token)),
                      args={"token": token}, interpret=interpret_logout)

    def write(self, client: Client, replicas: list[str]) -> None:
        rng = random.Random(self.seed)
        offset = rng.randrange(len(replicas))
        start = len(self.tokens)
        for i in range(self.sessions):
            replica = replicas[(offset + i) % len(replicas)]
            user = f"user-{self.seed}-{start + i}"
            token = self.login(client, replica, user)
            if token is None:
                continue
            self.tokens.append((token, replica))
            self.whoami(client, replicas[(offset + i + 1) % len(replicas)], token)
        if self.logout:
            for token, _ in self.tokens:
                for replica in replicas:
                    self.whoami(client, replica, token)
            for i, (token, origin) in enumerate(self.tokens[::2]):
                others = [r for r in replicas if r != origin] or replicas
                self.logout_token(client, others[i % len(others)], token)

    def step(self, client: Client, replicas: list[str], i: int) -> None:
        user = f"user-{self.seed}-during-{len(self.tokens)}"
        replica = replicas[i % len(replicas)]
        if token := self.login(client, replica, user):
            self.tokens.append((token, replica))

    def final_read(self, client: Client, replicas: list[str]) -> None:
        for token, _ in self.tokens:
            for replica in replicas:
                self.whoami(client, replica, token, phase="final")
