"""The one outcome table: statuses and failures to outcomes, and the three paths that apply it agreeing.

Each rule has a case that fails if the rule changes: a 3xx or an undeclared 2xx read as
fail (the old adapter rule), a 4xx read as unknown, a connect error read as unknown, a
read timeout read as fail, or a locust error name classified apart from its class.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from harness.adapter import Adapter, ReplicaHttp, accepted, rejected, unexpected
from harness.client import Client
from harness.errors import BackendError, DeploymentError, ReadinessTimeout
from harness.history import History, Outcome
from harness.load.records import Record
from harness.load.records import outcome as record_outcome
from harness.operations import Operations
from harness.outcome import (
    ERROR_OUTCOMES,
    error_name_outcome,
    error_outcome,
    error_type_outcome,
    status_outcome,
)
from harness.spec_adapter import SpecAdapter

OK, FAIL, UNKNOWN = Outcome.OK, Outcome.FAIL, Outcome.UNKNOWN

# ---- status -> outcome (a status the operation does not declare) ---------------------------------


@pytest.mark.parametrize(("status", "outcome"), [
    (100, UNKNOWN), (199, UNKNOWN),                                    # 1xx as a final answer
    (200, UNKNOWN), (202, UNKNOWN), (204, UNKNOWN), (299, UNKNOWN),     # a success nobody declared
    (300, UNKNOWN), (301, UNKNOWN), (302, UNKNOWN), (303, UNKNOWN), (307, UNKNOWN), (308, UNKNOWN), (399, UNKNOWN),
    (400, FAIL), (401, FAIL), (403, FAIL), (404, FAIL), (409, FAIL), (418, FAIL), (429, FAIL), (499, FAIL),
    (500, UNKNOWN), (502, UNKNOWN), (503, UNKNOWN), (504, UNKNOWN), (599, UNKNOWN),
    (0, UNKNOWN), (600, UNKNOWN), (999, UNKNOWN),                       # outside HTTP's classes
])
def test_status_class_decides_an_undeclared_status(status: int, outcome: Outcome) -> None:
    assert status_outcome(status) is outcome


# ---- exception -> outcome ------------------------------------------------------------------------


@pytest.mark.parametrize(("exc", "outcome"), [
    # never sent: fail
    (BackendError("no address"), FAIL),
    (DeploymentError("replica down"), FAIL),
    (ReadinessTimeout("never ready"), FAIL),
    (httpx.ConnectError("refused"), FAIL),
    (httpx.ConnectTimeout("slow connect"), FAIL),
    (httpx.PoolTimeout("no free connection"), FAIL),
    (ConnectionRefusedError(111, "Connection refused"), FAIL),
    # sent, answer lost: unknown
    (httpx.ReadTimeout("no answer"), UNKNOWN),
    (httpx.WriteTimeout("half sent"), UNKNOWN),
    (httpx.ReadError("reset"), UNKNOWN),
    (httpx.WriteError("broken pipe"), UNKNOWN),
    (httpx.RemoteProtocolError("closed mid-response"), UNKNOWN),
    (httpx.CloseError("close failed"), UNKNOWN),
    (ConnectionResetError(104, "reset"), UNKNOWN),
    (TimeoutError("timed out"), UNKNOWN),
    # not in the table: unknown, never fail
    (RuntimeError("anything unclassified"), UNKNOWN),
    (KeyError("token"), UNKNOWN),
    (OSError("other"), UNKNOWN),
])
def test_failure_phase_decides_the_outcome(exc: BaseException, outcome: Outcome) -> None:
    assert error_outcome(exc) is outcome
    assert error_type_outcome(type(exc)) is outcome


def test_every_row_of_the_table_is_reached() -> None:
    """A row shadowed by a broader one above it (ConnectTimeout under TimeoutException) would fail here."""
    for exc_type, outcome in ERROR_OUTCOMES:
        assert error_type_outcome(exc_type) is outcome, exc_type
    assert {outcome for _, outcome in ERROR_OUTCOMES} == {FAIL, UNKNOWN}


def test_an_answered_earlier_request_makes_a_refusal_unknown() -> None:
    assert error_outcome(httpx.ConnectError("refused"), answered=True) is UNKNOWN
    assert error_outcome(httpx.ConnectError("refused"), answered=False) is FAIL
    assert error_outcome(httpx.ReadTimeout("no answer"), answered=True) is UNKNOWN


@pytest.mark.parametrize(("name", "outcome"), [
    ("ConnectionRefusedError", FAIL),       # what locust's client raises for a closed port
    ("ConnectError", FAIL),
    ("ConnectTimeout", FAIL),
    ("BackendError", FAIL),
    ("DeploymentError", FAIL),              # a subclass, found by its class, not by a list of names
    ("ConnectionResetError", UNKNOWN),
    ("ConnectionError", UNKNOWN),           # the parent of a refusal is not a refusal
    ("TimeoutError", UNKNOWN),
    ("timeout", UNKNOWN),
    ("ReadTimeout", UNKNOWN),
    ("Timeout", UNKNOWN),                   # httpx.Timeout is a configuration class, not an exception
    ("HTTPConnectionClosed", UNKNOWN),      # geventhttpclient's, unknown to the harness
    ("no response", UNKNOWN),
    ("", UNKNOWN),
])
def test_an_error_name_goes_through_the_same_table(name: str, outcome: Outcome) -> None:
    assert error_name_outcome(name) is outcome


def test_every_class_of_the_table_has_the_same_outcome_by_name() -> None:
    for exc_type, outcome in ERROR_OUTCOMES:
        assert error_name_outcome(exc_type.__name__) is outcome, exc_type


# ---- the client, the adapters and the load records agree -----------------------------------------

ACCEPTED, LIMITED = 200, 429
HIT = {"rate_limit": {"limit": 3, "window": 10,
                      "hit": {"method": "POST", "path": "/hit/{key}", "accepted": [ACCEPTED], "limited": [LIMITED]}}}


class PythonHit(Adapter):
    """The same operation written by hand, reading statuses as the module docstring of harness.adapter shows."""

    def rate_limit_hit(self, http: ReplicaHttp, key: str) -> Any:
        r = http.post(f"/hit/{key}")
        return {ACCEPTED: accepted(allowed=True), LIMITED: rejected(allowed=False)}.get(r.status_code) or unexpected(r)


class Fixed:
    def endpoint(self, replica: str) -> str:
        return "http://127.0.0.1:9"


def _call(adapter: Adapter, handler: Any) -> tuple[Outcome, Any]:
    client = Client(Fixed(), History(), transport=httpx.MockTransport(handler), adapter=adapter)
    with client:
        op = client.call("rate_limit", "hit", "app-0", {"key": "k"})
    return op.outcome, op.value


def _record(status: int | None, error: str = "") -> tuple[Outcome, Any]:
    return record_outcome(Record(1.0, 1.1, "app-0", "k", status, 1.0, error), (ACCEPTED,), (LIMITED,))


@pytest.mark.parametrize(("status", "expected"), [
    (ACCEPTED, (OK, {"allowed": True})),
    (LIMITED, (OK, {"allowed": False})),
    (204, (UNKNOWN, None)),     # a success the spec does not declare
    (302, (UNKNOWN, None)),     # a redirect: was FAIL in the adapter and the records, UNKNOWN in the client
    (303, (UNKNOWN, None)),
    (403, (FAIL, None)),        # a refusal that is not the spec's denial
    (404, (FAIL, None)),
    (500, (UNKNOWN, None)),
    (503, (UNKNOWN, None)),
])
def test_the_same_response_has_the_same_outcome_on_every_path(status: int, expected: tuple) -> None:
    handler = lambda request: httpx.Response(status)
    spec_path = _call(SpecAdapter(Operations.model_validate(HIT), "/t/spec.yaml"), handler)
    python_path = _call(PythonHit(), handler)
    load_path = _record(status)
    assert spec_path == python_path == load_path == expected
    if expected[1] is None:
        assert unexpected(httpx.Response(status)) == expected


@pytest.mark.parametrize(("exc", "recorded", "expected"), [
    (httpx.ConnectError("[Errno 111] Connection refused"), "ConnectionRefusedError: [Errno 111] Connection refused",
     FAIL),
    (httpx.ReadError("[Errno 104] Connection reset by peer"), "ConnectionResetError: [Errno 104] Connection reset",
     UNKNOWN),
    (httpx.ReadTimeout("timed out"), "timeout: timed out", UNKNOWN),
    (httpx.RemoteProtocolError("Server disconnected"), "HTTPConnectionClosed: connection closed", UNKNOWN),
])
def test_the_same_failure_has_the_same_outcome_in_the_client_and_the_load(exc: Exception, recorded: str,
                                                                         expected: Outcome) -> None:
    """httpx in the client and geventhttpclient under locust name one failure differently; the outcome is one."""
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    assert _call(SpecAdapter(Operations.model_validate(HIT), "/t/spec.yaml"), handler) == (expected, None)
    assert _call(PythonHit(), handler) == (expected, None)
    assert _record(None, recorded) == (expected, None)
