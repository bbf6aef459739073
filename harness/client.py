"""The client: performs one operation against one replica and records it.

The single table that decides outcomes lives here (``classify_error`` and
``Interpretation``). The phase of an HTTP failure decides it: a request that never
reached the app (connection refused, connect timeout) provably did nothing (fail);
one that was sent but whose answer was lost (read timeout, reset, protocol error) may
have been applied (unknown). Any exception not in the table is unknown, never fail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol

import httpx

from harness.errors import BackendError
from harness.history import History, Operation, Outcome

#: httpx exception type -> outcome, most specific first.
ERROR_OUTCOMES: tuple[tuple[type[BaseException], Outcome], ...] = (
    (BackendError, Outcome.FAIL),  # no address for the replica: nothing was sent
    (httpx.ConnectError, Outcome.FAIL),
    (httpx.ConnectTimeout, Outcome.FAIL),
    (httpx.PoolTimeout, Outcome.FAIL),
    (httpx.TimeoutException, Outcome.UNKNOWN),
    (httpx.TransportError, Outcome.UNKNOWN),
)


def classify_error(exc: BaseException) -> Outcome:
    for exc_type, outcome in ERROR_OUTCOMES:
        if isinstance(exc, exc_type):
            return outcome
    return Outcome.UNKNOWN


#: Reads a response into (outcome, value). Decides what a status means for one operation.
Interpretation = Callable[[httpx.Response], tuple[Outcome, Any]]


def default_interpretation(response: httpx.Response) -> tuple[Outcome, Any]:
    """2xx acknowledged with its JSON body; 4xx refused; 5xx may have been applied."""
    if response.is_success:
        try:
            return Outcome.OK, response.json()
        except ValueError:
            return Outcome.OK, None
    if 400 <= response.status_code < 500:
        return Outcome.FAIL, None
    return Outcome.UNKNOWN, None


def refused_or_unknown(response: httpx.Response) -> tuple[Outcome, Any]:
    """For a status an operation does not expect: 5xx may have applied, anything else was refused."""
    return (Outcome.UNKNOWN, None) if response.status_code >= 500 else (Outcome.FAIL, None)


def definite_read(found: dict[int, Callable[[httpx.Response], Any]]) -> Interpretation:
    """A read whose listed statuses are definite answers (e.g. 200 found, 404 not found)."""

    def interpret(response: httpx.Response) -> tuple[Outcome, Any]:
        reader = found.get(response.status_code)
        return (Outcome.OK, reader(response)) if reader else refused_or_unknown(response)

    return interpret


class Endpoints(Protocol):
    """Where replicas answer right now; re-read on every call, since ports change on restart."""

    def endpoint(self, replica: str) -> str: ...


@dataclass
class Request:
    method: str
    path: str
    json: Any = None
    headers: dict[str, str] | None = None
    files: dict[str, Any] | None = None


class Client:
    """Sends operations to replicas over HTTP and appends each one to the history."""

    def __init__(self, endpoints: Endpoints, history: History, timeout: float = 5.0, connect_timeout: float = 1.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.endpoints = endpoints
        self.history = history
        self._http = httpx.Client(timeout=httpx.Timeout(timeout, connect=connect_timeout), transport=transport)

    def invoke(
        self,
        kind: str,
        name: str,
        replica: str,
        request: Request,
        args: dict[str, Any] | None = None,
        interpret: Interpretation = default_interpretation,
        phase: str = "main",
    ) -> Operation:
        """Perform one operation; never raises for a failed call, the outcome says what happened."""
        start = self.history.clock.now()
        status: int | None = None
        value: Any = None
        error: str | None = None
        try:
            url = self.endpoints.endpoint(replica) + request.path
            response = self._http.request(
                request.method, url, json=request.json, headers=request.headers, files=request.files
            )
            status = response.status_code
            outcome, value = interpret(response)
        except Exception as exc:  # noqa: BLE001 - every failure becomes an outcome
            outcome = classify_error(exc)
            error = f"{type(exc).__name__}: {exc}"
        return self.history.record_op(
            kind=kind,
            name=name,
            replica=replica,
            start=start,
            end=self.history.clock.now(),
            outcome=outcome,
            args=args or {},
            value=value,
            status=status,
            error=error,
            phase=phase,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
