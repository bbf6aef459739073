"""The client turns every failure into a recorded outcome, with httpx's MockTransport standing in for the network."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from harness.adapter import Adapter, ReplicaHttp, accepted
from harness.client import Client
from harness.errors import BackendError
from harness.history import History, Outcome


class Fixed:
    def endpoint(self, replica: str) -> str:
        if replica == "gone":
            raise BackendError("replica gone is not running")
        return "http://127.0.0.1:9"


class Records(Adapter):
    """One request per create; a read sends two (a form first, as a CSRF flow does), then writes."""

    def records_create(self, http: ReplicaHttp, data: dict) -> Any:
        return accepted(id=http.post("/records", json={"data": data}).json()["id"], version=None)

    def records_update(self, http: ReplicaHttp, id: str, data: dict) -> Any:
        http.get(f"/records/{id}/form")
        http.post(f"/records/{id}", json={"data": data})
        return accepted(id=id, version=None)


def client_for(handler: Any) -> tuple[Client, History]:
    history = History()
    return Client(Fixed(), history, transport=httpx.MockTransport(handler), adapter=Records()), history


def test_transport_error_is_recorded_not_raised() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    client, history = client_for(handler)
    op = client.call("records", "create", "app-0", {"data": {"n": 1}}, phase="final")
    assert (op.outcome, op.status, op.value, op.replica, op.phase) == (Outcome.UNKNOWN, None, None, "app-0", "final")
    assert op.error is not None and op.error.startswith("ReadTimeout")
    assert op.start <= op.end
    assert history.operations() == [op]


def test_unknown_replica_address_is_a_fail_nothing_was_sent() -> None:
    client, _ = client_for(lambda request: pytest.fail("nothing may be sent"))
    op = client.call("records", "create", "gone", {"data": {}})
    assert (op.outcome, op.status) == (Outcome.FAIL, None)
    assert op.error is not None and op.error.startswith("BackendError")


def test_a_refusal_after_an_answered_request_of_the_same_operation_is_unknown() -> None:
    """The form was served, the write's connection refused: fail would be right; but had the first request
    been a write, it may have applied, so a later unsent request never proves the operation did nothing."""
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200)
        raise httpx.ConnectError("refused", request=request)

    client, _ = client_for(handler)
    op = client.call("records", "update", "app-0", {"id": "r1", "data": {"n": 2}})
    assert (op.outcome, op.status) == (Outcome.UNKNOWN, 200)
    assert op.error is not None and op.error.startswith("ConnectError")


def test_a_refused_single_request_is_a_fail() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client, _ = client_for(handler)
    assert client.call("records", "create", "app-0", {"data": {}}).outcome is Outcome.FAIL


def test_an_unsupported_operation_is_unknown_not_raised() -> None:
    client, _ = client_for(lambda request: httpx.Response(200))
    op = client.call("records", "delete", "app-0", {"id": "r1"})
    assert op.outcome is Outcome.UNKNOWN and op.error is not None and "NotImplementedError" in op.error
