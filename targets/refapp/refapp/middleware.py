"""Per-response replica header and the request count shown by /stats.

A plain ASGI middleware (no BaseHTTPMiddleware) so it costs next to nothing
under the load tests' request rates.
"""

from __future__ import annotations

import threading

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class RequestCounter:
    """Requests this process has received (the harness uses it to see routing)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0

    def add(self) -> None:
        with self._lock:
            self._count += 1

    @property
    def value(self) -> int:
        with self._lock:
            return self._count


class ReplicaMiddleware:
    """Adds ``X-Replica`` to every response and counts requests except /stats."""

    def __init__(self, app: ASGIApp, replica: str, counter: RequestCounter) -> None:
        self.app = app
        self.header = (b"x-replica", replica.encode("latin-1", "replace"))
        self.counter = counter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] != "/stats":
            self.counter.add()

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), self.header]
            await send(message)

        await self.app(scope, receive, send_with_header)
