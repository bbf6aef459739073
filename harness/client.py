"""The client: performs one operation against one replica and records it.

What an answer means is the adapter's to say; what a failure with no answer means
is decided by the one outcome table (``harness.outcome``): the client only catches
the failure and records it, it never raises for one.
"""

from __future__ import annotations

from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any, Callable, Protocol

import httpx

from harness.adapter import Adapter, ReplicaHttp, StepFailed
from harness.errors import SpecError
from harness.history import History, Operation, Outcome
from harness.outcome import error_outcome
from harness.tls import tls_context


class Endpoints(Protocol):
    """Where replicas answer right now; re-read on every call, since ports change on restart."""

    def endpoint(self, replica: str) -> str: ...


class Client:
    """Performs operations against replicas over HTTP and appends each one to the history.

    ``call`` performs an abstract operation through the target's adapter (what
    workloads use). It never raises for a failed call: the outcome says what
    happened (a YAML setup step refused or unanswered, ``StepFailed``, is ``fail``: the
    operation's own request was never sent). A spec error found at run time (a value the spec says to extract is
    not there) is recorded, then raised: it stops the run instead of filling the
    history with operations nobody can judge.
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
        return self.record(kind, name, replica, lambda http: self.adapter.perform(kind, name, http, variables),
                           variables if args is None else args, phase)

    def record(self, kind: str, name: str, replica: str, action: Callable[[ReplicaHttp], tuple[Outcome, Any]],
               args: dict[str, Any] | None = None, phase: str = "main") -> Operation:
        """Run ``action`` (requests to ``replica``, giving an outcome and a value) and record it as ``kind.name``.

        What ``call`` does for an adapter's operation, for requests of the spec's own (its invariants'
        setup, exercise and probe): the same outcome rules for failures, the same recording.
        """
        args = args or {}
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
        except StepFailed as exc:  # a setup step failed: the operation's own request was never sent
            outcome, error = Outcome.FAIL, f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # noqa: BLE001 - every failure becomes an outcome
            outcome = error_outcome(exc, answered=bool(responses))
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

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _NoCookies(CookieJar):
    """A jar that keeps nothing: sessions travel only where an operation puts them."""

    def __init__(self) -> None:
        super().__init__(DefaultCookiePolicy(allowed_domains=[]))
