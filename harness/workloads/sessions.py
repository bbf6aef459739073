"""Sessions: log users in across replicas, read tokens everywhere, optionally log out.

The requests are the target's (its adapter); a whoami answered "not logged in" is
a definite read (``accepted: False``), not a failure.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from harness.client import Client
from harness.history import Outcome

KIND = "sessions"


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

    @staticmethod
    def _args(client: Client, variables: dict[str, str]) -> dict[str, str]:
        """What the history keeps: the variables, and the session model when the target declares one.

        The checker reads the model from the history alone (``model`` in each operation's
        args); an undeclared model leaves no key, so the checker can tell "not declared"
        from "declared server-side".
        """
        model = client.adapter.settings(KIND).get("model")
        return {**variables, "model": str(model)} if model is not None else variables

    def login(self, client: Client, replica: str, user: str) -> str | None:
        variables = {"user": user}
        op = client.call(KIND, "login", replica, variables, args=self._args(client, variables))
        return op.value["token"] if op.outcome is Outcome.OK else None

    def whoami(self, client: Client, replica: str, token: str, phase: str = "main") -> None:
        variables = {"token": token}
        client.call(KIND, "whoami", replica, variables, args=self._args(client, variables), phase=phase)

    def logout_token(self, client: Client, replica: str, token: str) -> None:
        variables = {"token": token}
        client.call(KIND, "logout", replica, variables, args=self._args(client, variables))

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
        if self.logout and client.adapter.supports(KIND, "logout"):
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
