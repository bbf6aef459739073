"""The client: performs one operation against one replica and records it.

The single table that decides outcomes lives here (``classify_error`` and
``Interpretation``). The phase of an HTTP failure decides it: a request that never
reached the app (connection refused, connect timeout) provably did nothing (fail);
one that was sent but whose answer was lost (read timeout, reset, protocol error) may
have been applied (unknown). Any exception not in the table is unknown, never fail.
"""

from __future__ import annotations

from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any, Callable, Protocol

import httpx

from harness.adapter import Adapter, ReplicaHttp, Reply
from harness.errors import BackendError, SpecError
from harness.history import History, Operation, Outcome
from harness.tls import tls_context

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
    """Performs operations against replicas over HTTP and appends each one to the history.

    ``call`` performs an abstract operation through the target's adapter (what
    workloads use); ``invoke`` sends one raw request. Neither raises for a failed
    call: the outcome says what happened. A spec error found at run time (a value
    the spec says to extract is not there) is recorded, then raised: it stops the
    run instead of filling the history with operations nobody can judge.
    """

    def __init__(self, endpoints: Endpoints, history: History, timeout: float = 5.0, connect_timeout: float = 1.0,
                 transport: httpx.BaseTransport | None = None, adapter: Adapter | None = None) -> None:
        self.endpoints = endpoints
        self.history = history
        self.adapter = adapter if adapter is not None else Adapter()
        # No cookie jar: a cookie is sent only when an operation sends it (see ReplicaHttp).
        self._http = httpx.Client(timeout=httpx.Timeout(timeout, connect=connect_timeout), transport=transport,
                                  cookies=_NoCookies(), verify=tls_context())

    def call(self, kind: str, name: str, replica: str, variables: dict[str, Any] | None = None,
             args: dict[str, Any] | None = None, phase: str = "main") -> Operation:
        """Perform ``kind.name`` with ``variables``; ``args`` (default: the variables) is what the history keeps."""
        variables = variables or {}
        return self._record(kind, name, replica, variables if args is None else args, phase,
                            lambda http: self.adapter.perform(kind, name, http, variables))

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
        """Send one raw request and read its response with ``interpret``."""

        def send(http: ReplicaHttp) -> Reply:
            return interpret(http.request(request.method, request.path, json=request.json, headers=request.headers,
                                          files=request.files))

        return self._record(kind, name, replica, args or {}, phase, send)

    def _record(self, kind: str, name: str, replica: str, args: dict[str, Any], phase: str,
                action: Callable[[ReplicaHttp], Reply]) -> Operation:
        start = self.history.clock.now()
        status: int | None = None
        value: Any = None
        error: str | None = None
        raised: SpecError | None = None
        responses: list[httpx.Response] = []
        try:
            http = ReplicaHttp(self._http, self.endpoints.endpoint(replica), responses.append)
            outcome, value = action(http)
        except SpecError as exc:
            outcome, error, raised = Outcome.UNKNOWN, f"{type(exc).__name__}: {exc}", exc
        except Exception as exc:  # noqa: BLE001 - every failure becomes an outcome
            outcome = classify_error(exc)
            error = f"{type(exc).__name__}: {exc}"
        if responses:
            status = responses[-1].status_code
        op = self.history.record_op(
            kind=kind,
            name=name,
            replica=replica,
            start=start,
            end=self.history.clock.now(),
            outcome=outcome,
            args=args,
            value=value,
            status=status,
            error=error,
            phase=phase,
        )
        if raised is not None:
            raise raised
        return op

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _NoCookies(CookieJar):
    """A jar that keeps nothing: sessions travel only where an operation puts them."""

    def __init__(self) -> None:
        super().__init__(DefaultCookiePolicy(allowed_domains=[]))
