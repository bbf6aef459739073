"""The client's outcome table, with httpx's MockTransport standing in for the network."""

from __future__ import annotations

import httpx
import pytest

from harness.client import Client, Request, classify_error
from harness.errors import BackendError
from harness.history import History, Outcome


class Fixed:
    def endpoint(self, replica: str) -> str:
        if replica == "gone":
            raise BackendError("replica gone is not running")
        return "http://127.0.0.1:9"


def client_for(handler) -> tuple[Client, History]:
    history = History()
    return Client(Fixed(), history, transport=httpx.MockTransport(handler)), history


@pytest.mark.parametrize(
    ("exc", "outcome"),
    [
        (httpx.ConnectError("refused"), Outcome.FAIL),
        (httpx.ConnectTimeout("slow connect"), Outcome.FAIL),
        (httpx.ReadTimeout("no answer"), Outcome.UNKNOWN),
        (httpx.ReadError("reset"), Outcome.UNKNOWN),
        (httpx.RemoteProtocolError("closed mid-response"), Outcome.UNKNOWN),
        (RuntimeError("anything unclassified"), Outcome.UNKNOWN),
        (BackendError("no address"), Outcome.FAIL),
    ],
)
def test_error_phase_decides_outcome(exc: Exception, outcome: Outcome) -> None:
    assert classify_error(exc) is outcome


def test_transport_error_is_recorded_not_raised() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    client, history = client_for(handler)
    op = client.invoke("sessions", "login", "app-0", Request("POST", "/sessions/login", json={"user": "a"}))
    assert op.outcome is Outcome.UNKNOWN
    assert op.status is None and "ReadTimeout" in op.error
    assert history.operations() == [op]


@pytest.mark.parametrize(("status", "outcome"), [(200, Outcome.OK), (201, Outcome.OK), (404, Outcome.FAIL),
                                                 (429, Outcome.FAIL), (500, Outcome.UNKNOWN), (503, Outcome.UNKNOWN)])
def test_default_interpretation_of_statuses(status: int, outcome: Outcome) -> None:
    client, _ = client_for(lambda request: httpx.Response(status, json={"ok": True}))
    op = client.invoke("records", "create", "app-1", Request("POST", "/records", json={}), phase="final")
    assert (op.outcome, op.status, op.replica, op.phase) == (outcome, status, "app-1", "final")
    assert op.start <= op.end


def test_unknown_replica_address_is_a_fail_nothing_was_sent() -> None:
    client, _ = client_for(lambda request: pytest.fail("nothing may be sent"))
    assert client.invoke("sessions", "whoami", "gone", Request("GET", "/sessions/whoami")).outcome is Outcome.FAIL
