"""Adapters in Python, loading them by name, and the client performing operations through one.

HTTP goes through ``httpx.MockTransport``; no app and no network is needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.adapter import Adapter, ReplicaHttp, accepted, rejected, response_cookies, unexpected
from harness.client import Client
from harness.errors import ExtractionError, SpecError
from harness.history import History, Outcome
from harness.operation_table import KIND_OPERATIONS, REQUIRED
from harness.operations import Operations
from harness.spec_adapter import SpecAdapter, load_adapter

OK, FAIL, UNKNOWN = Outcome.OK, Outcome.FAIL, Outcome.UNKNOWN


class SessionsOnly(Adapter):
    rate_limit_limit = 4  # set although this adapter has no rate limit: harmless

    def sessions_login(self, http: ReplicaHttp, user: str) -> Any:
        r = http.post("/login", json={"user": user})
        return accepted(token=r.json()["token"], expires_at=None) if r.status_code == 200 else unexpected(r)

    def sessions_whoami(self, http: ReplicaHttp, token: str) -> Any:
        r = http.get("/me", headers={"Authorization": f"Bearer {token}"})
        if r.status_code == 200:
            return accepted(accepted=True)
        return rejected(accepted=False) if r.status_code == 401 else unexpected(r)


class LoginOnly(Adapter):
    def sessions_login(self, http: ReplicaHttp, user: str) -> Any:
        return accepted(token="t")


# --- the Adapter base class ---------------------------------------------------------------------------


def test_an_adapter_has_the_kinds_it_implements() -> None:
    assert SessionsOnly().kinds() == ["sessions"]
    assert Adapter().kinds() == []
    assert LoginOnly().kinds() == []  # whoami is required too


def test_supports() -> None:
    adapter = SessionsOnly()
    assert adapter.supports("sessions", "login") and adapter.supports("sessions", "whoami")
    assert not adapter.supports("sessions", "logout")
    assert not adapter.supports("records", "read")
    assert not adapter.supports("records", "nonsense")
    assert not Adapter().supports("sessions", "login")


def test_every_kind_has_a_method_per_operation() -> None:
    for kind, names in KIND_OPERATIONS.items():
        assert set(REQUIRED[kind]) <= set(names)
        for name in names:
            assert callable(getattr(Adapter, f"{kind}_{name}"))


class Limited(Adapter):
    rate_limit_limit = 4
    rate_limit_window = 2.5

    def rate_limit_hit(self, http: ReplicaHttp, key: str) -> Any:
        return accepted(allowed=True)


class Cooling(Adapter):
    cooldown_period = 30.0
    sessions_model = "client-side"

    def cooldowns_start(self, http: ReplicaHttp, key: str) -> Any:
        return accepted(allowed=True, until=None)


def test_settings_come_from_class_attributes() -> None:
    assert Limited().settings("rate_limit") == {"limit": 4, "window": 2.5}
    assert Cooling().settings("cooldowns") == {"period": 30.0}
    assert Cooling().settings("sessions") == {"model": "client-side"}
    assert Adapter().settings("sessions") == {} and Adapter().settings("records") == {}
    assert Adapter().settings("nonsense") == {}
    assert SessionsOnly().describe() == "SessionsOnly"


def test_an_optional_setting_is_copied() -> None:
    class Sliding(Limited):
        rate_limit_algorithm = {"name": "sliding-window"}

    settings = Sliding().settings("rate_limit")
    assert settings == {"limit": 4, "window": 2.5, "algorithm": {"name": "sliding-window"}}
    settings["algorithm"]["name"] = "changed"
    assert Sliding.rate_limit_algorithm == {"name": "sliding-window"}  # a copy: the class keeps its own


@pytest.mark.parametrize(("attributes", "missing"), [
    ({}, "rate_limit_limit"),
    ({"rate_limit_limit": 5}, "rate_limit_window"),
    ({"rate_limit_window": 1.0}, "rate_limit_limit"),
])
def test_a_rate_limit_without_its_numbers_is_refused(attributes: dict[str, Any], missing: str) -> None:
    """Before, the reference app's 10 per 10 s were used: the app was judged against another app's limit."""
    hit = Limited.__dict__["rate_limit_hit"]
    adapter = type("ShopLimiter", (Adapter,), {**attributes, "rate_limit_hit": hit})()
    assert adapter.kinds() == ["rate_limit"]
    with pytest.raises(SpecError) as info:
        adapter.settings("rate_limit")
    message = str(info.value)
    assert message.startswith(f"adapter ShopLimiter: has rate_limit but does not set {missing} ("), message
    assert f"e.g. {missing} = " in message
    with pytest.raises(SpecError, match=missing):
        adapter.check_settings()


def test_a_cooldown_without_its_period_is_refused() -> None:
    adapter = type("Daily", (Adapter,), {"cooldowns_start": Cooling.__dict__["cooldowns_start"]})()
    with pytest.raises(SpecError, match=r"adapter Daily: has cooldowns but does not set cooldown_period "
                                        r"\(seconds a started cooldown lasts\).*cooldown_period = 86400"):
        adapter.settings("cooldowns")


def test_settings_of_kinds_an_adapter_lacks_are_not_checked() -> None:
    SessionsOnly().check_settings()  # no rate limit, no cooldown: nothing to set
    Limited().check_settings()
    Cooling().check_settings()


def test_perform_calls_the_method_with_the_variables() -> None:
    seen: list[httpx.Request] = []

    def app(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"token": "tok"})

    http = ReplicaHttp(httpx.Client(transport=httpx.MockTransport(app)), "http://h:1")
    assert SessionsOnly().perform("sessions", "login", http, {"user": "al"}) == (OK, {"token": "tok",
                                                                                       "expires_at": None, "user": "al"})
    assert str(seen[0].url) == "http://h:1/login"


def test_an_operation_not_implemented_raises() -> None:
    http = ReplicaHttp(httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200))), "http://h:1")
    with pytest.raises(NotImplementedError, match="SessionsOnly does not implement records.read"):
        SessionsOnly().perform("records", "read", http, {"id": "x"})


def test_reply_helpers() -> None:
    assert accepted(a=1) == (OK, {"a": 1})
    assert rejected(found=False) == (OK, {"found": False})
    assert unexpected(httpx.Response(502)) == (UNKNOWN, None)
    assert unexpected(httpx.Response(404)) == (FAIL, None)
    assert unexpected(httpx.Response(302)) == (UNKNOWN, None)  # a redirect is not a refusal (harness.outcome)


def test_replica_http_sends_cookies_only_when_given() -> None:
    seen: list[httpx.Request] = []
    statuses: list[int] = []

    def app(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201)

    http = ReplicaHttp(httpx.Client(transport=httpx.MockTransport(app)), "http://h:1",
                       lambda r: statuses.append(r.status_code))
    http.get("/a", cookies={"sid": "mine", "x": "1"}, headers={"X-A": "b"})
    http.post("/b", json={})
    assert seen[0].headers["cookie"] == "sid=mine; x=1" and seen[0].headers["x-a"] == "b"
    assert "cookie" not in seen[1].headers
    assert [r.method for r in seen] == ["GET", "POST"] and statuses == [201, 201]


def test_response_cookies() -> None:
    response = httpx.Response(200, headers=[("Set-Cookie", "a=1; Path=/; HttpOnly"), ("Set-Cookie", "b=2")])
    assert response_cookies(response) == {"a": "1", "b": "2"}
    assert response_cookies(httpx.Response(200)) == {}


# --- load_adapter -------------------------------------------------------------------------------------

ADAPTERS = """\
from harness.adapter import Adapter, accepted
from harness.spec_adapter import SpecAdapter


class Mine(Adapter):
    def counters_increment(self, http, name, by):
        return accepted(value=None)

    def counters_read(self, http, name):
        return accepted(value=len(name))


class FromSpec(SpecAdapter):
    pass


class FromSpecWithPython(SpecAdapter):
    def sessions_login(self, http, user):
        return accepted(token="python-" + user, user=user, expires_at=None)

    def counters_increment(self, http, name, by):
        return accepted(value=None)

    def counters_read(self, http, name):
        return accepted(value=1)


class NoLimit(Adapter):
    def rate_limit_hit(self, http, key):
        return accepted(allowed=True)


NOT_A_CLASS = 3
"""

OPERATIONS = Operations.model_validate({"sessions": {
    "login": {"method": "POST", "path": "/login", "json": {"user": "{user}"}, "extract": {"token": {"json": "token"}}},
    "whoami": {"path": "/me", "headers": {"Authorization": "Bearer {token}"}},
}})


@pytest.fixture
def adapters_dir(tmp_path: Path) -> Path:
    (tmp_path / "my_adapters.py").write_text(ADAPTERS)
    return tmp_path


def test_load_adapter_from_a_file(adapters_dir: Path) -> None:
    adapter = load_adapter("my_adapters.py:Mine", adapters_dir)
    assert isinstance(adapter, Adapter) and type(adapter).__name__ == "Mine"
    assert adapter.kinds() == ["counters"]


def test_load_adapter_from_a_module() -> None:
    adapter = load_adapter("harness.adapter:Adapter", Path("/nonexistent"))
    assert type(adapter) is Adapter
    spec_adapter = load_adapter("harness.spec_adapter:SpecAdapter", Path("/nonexistent"), OPERATIONS, "s.yaml")
    assert isinstance(spec_adapter, SpecAdapter) and spec_adapter.operations is OPERATIONS


def test_a_spec_adapter_subclass_gets_the_operations(adapters_dir: Path) -> None:
    adapter = load_adapter("my_adapters.py:FromSpec", adapters_dir, OPERATIONS, "/t/spec.yaml")
    assert isinstance(adapter, SpecAdapter)
    assert adapter.operations is OPERATIONS and adapter.source == "/t/spec.yaml"
    assert adapter.kinds() == ["sessions"]
    assert adapter.supports("sessions", "whoami") and not adapter.supports("sessions", "logout")


def python_login_app(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"token": "yaml-token"})


def test_a_spec_adapter_subclass_override_is_used(adapters_dir: Path) -> None:
    adapter = load_adapter("my_adapters.py:FromSpecWithPython", adapters_dir, OPERATIONS, "/t/spec.yaml")
    http = ReplicaHttp(httpx.Client(transport=httpx.MockTransport(python_login_app)), "http://h:1")
    assert adapter.perform("sessions", "login", http, {"user": "al"}) == (
        OK, {"token": "python-al", "user": "al", "expires_at": None})


def test_a_spec_adapter_subclass_has_the_kinds_it_implements_in_python(adapters_dir: Path) -> None:
    adapter = load_adapter("my_adapters.py:FromSpecWithPython", adapters_dir, OPERATIONS, "/t/spec.yaml")
    assert adapter.kinds() == ["sessions", "counters"]


def test_a_kind_a_spec_adapter_subclass_has_in_python_needs_its_settings() -> None:
    class PythonLimit(SpecAdapter):
        def rate_limit_hit(self, http: ReplicaHttp, key: str) -> Any:
            return accepted(allowed=True)

    class WithNumbers(PythonLimit):
        rate_limit_limit, rate_limit_window = 3, 1.0

    assert PythonLimit(OPERATIONS, "/t/spec.yaml").kinds() == ["sessions", "rate_limit"]
    with pytest.raises(SpecError, match="adapter PythonLimit: has rate_limit but does not set rate_limit_limit"):
        PythonLimit(OPERATIONS, "/t/spec.yaml").check_settings()
    assert WithNumbers(OPERATIONS, "/t/spec.yaml").settings("rate_limit") == {"limit": 3, "window": 1.0}
    assert WithNumbers(OPERATIONS, "/t/spec.yaml").settings("sessions") == {}  # from the spec: no model given


@pytest.mark.parametrize(("ref", "expected"), [
    ("my_adapters.py", "expected 'file.py:ClassName' or 'module:ClassName', got 'my_adapters.py'"),
    (":Mine", "expected 'file.py:ClassName'"),
    ("my_adapters.py:", "expected 'file.py:ClassName'"),
    ("absent.py:Mine", "absent.py does not exist"),
    ("my_adapters.py:Nope", "has no Adapter subclass named 'Nope'"),
    ("my_adapters.py:NOT_A_CLASS", "has no Adapter subclass named 'NOT_A_CLASS'"),
    ("my_adapters.py:History", "has no Adapter subclass named 'History'"),
    ("harness.history:History", "harness.history has no Adapter subclass named 'History'"),
    ("no_such_module_for_harness_tests:A", "could not import no_such_module_for_harness_tests: ModuleNotFoundError"),
    ("my_adapters.py:FromSpec", "FromSpec extends SpecAdapter, so the spec needs an 'operations' section"),
    ("my_adapters.py:NoLimit", "adapter NoLimit: has rate_limit but does not set rate_limit_limit"),
])
def test_load_adapter_errors_name_the_field(adapters_dir: Path, ref: str, expected: str) -> None:
    with pytest.raises(SpecError) as info:
        load_adapter(ref, adapters_dir, source="/t/spec.yaml")
    message = str(info.value)
    assert message.startswith("/t/spec.yaml: field 'adapter': "), message
    assert expected in message


def test_load_adapter_import_error(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("import no_such_module_for_harness_tests\n")
    with pytest.raises(SpecError, match=r"field 'adapter': could not import broken\.py: ModuleNotFoundError"):
        load_adapter("broken.py:X", tmp_path)


# --- Client.call --------------------------------------------------------------------------------------


class Fixed:
    def __init__(self, url: str = "http://127.0.0.1:9") -> None:
        self.url = url

    def endpoint(self, replica: str) -> str:
        return self.url


def spec_client(handler: Any, operations: dict[str, Any], url: str = "http://127.0.0.1:9") -> tuple[Client, History]:
    history = History()
    adapter = SpecAdapter(Operations.model_validate(operations), "/t/spec.yaml")
    return Client(Fixed(url), history, transport=httpx.MockTransport(handler), adapter=adapter), history


RECORDS = {"records": {
    "create": {"method": "POST", "path": "/records", "json": {"data": "{data}"}, "extract": {"id": {"json": "id"}}},
    "read": {"path": "/records/{id}", "extract": {"data": {"json": "data"}}},
}}


def test_call_records_args_value_status_and_outcome() -> None:
    def app(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/records/r1":
            return httpx.Response(200, json={"data": {"n": 1}})
        return httpx.Response(404)

    client, history = spec_client(app, RECORDS)
    op = client.call("records", "read", "app-1", {"id": "r1"}, phase="final")
    assert (op.kind, op.name, op.replica, op.phase) == ("records", "read", "app-1", "final")
    assert (op.outcome, op.status, op.error) == (OK, 200, None)
    assert op.args == {"id": "r1"}
    assert op.value == {"found": True, "data": {"n": 1}, "version": None}
    assert op.start <= op.end
    missing = client.call("records", "read", "app-0", {"id": "r2"}, args={"id": "r2", "expected": "absent"})
    assert (missing.outcome, missing.status) == (OK, 404)
    assert missing.value == {"found": False, "data": None, "version": None}
    assert missing.args == {"id": "r2", "expected": "absent"}  # args, not the variables, are kept
    assert history.operations() == [op, missing]


@pytest.mark.parametrize(("status", "outcome"), [(500, UNKNOWN), (418, FAIL)])
def test_call_unexpected_statuses(status: int, outcome: Outcome) -> None:
    client, history = spec_client(lambda request: httpx.Response(status), RECORDS)
    op = client.call("records", "read", "app-0", {"id": "r"})
    assert (op.outcome, op.status, op.value, op.error) == (outcome, status, None, None)


@pytest.mark.parametrize(("exc", "outcome"), [
    (httpx.ConnectError("refused"), FAIL),
    (httpx.ConnectTimeout("slow connect"), FAIL),
    (httpx.ReadTimeout("no answer"), UNKNOWN),
    (httpx.RemoteProtocolError("closed mid-response"), UNKNOWN),
])
def test_call_transport_errors_become_outcomes(exc: Exception, outcome: Outcome) -> None:
    def app(request: httpx.Request) -> httpx.Response:
        raise exc

    client, history = spec_client(app, RECORDS)
    op = client.call("records", "create", "app-0", {"data": {"n": 1}})
    assert (op.outcome, op.status, op.value) == (outcome, None, None)
    assert op.error is not None and op.error.startswith(type(exc).__name__)
    assert history.operations() == [op]


def test_call_of_an_operation_the_adapter_lacks_is_unknown() -> None:
    client, _ = spec_client(lambda request: httpx.Response(200), RECORDS)
    op = client.call("sessions", "login", "app-0", {"user": "al"})
    assert op.outcome is UNKNOWN and "NotImplementedError" in op.error


def test_call_with_the_default_adapter_is_unknown() -> None:
    client = Client(Fixed(), History(), transport=httpx.MockTransport(lambda request: httpx.Response(200)))
    assert client.call("records", "read", "app-0", {"id": "r"}).outcome is UNKNOWN


def test_call_records_a_spec_error_then_raises_it() -> None:
    client, history = spec_client(lambda request: httpx.Response(200, json={"nothing": 1}), RECORDS)
    with pytest.raises(ExtractionError, match=r"operations\.records\.create\.extract\.id"):
        client.call("records", "create", "app-0", {"data": {"n": 1}})
    [op] = history.operations()
    assert (op.outcome, op.status, op.value) == (UNKNOWN, 200, None)
    assert op.error.startswith("ExtractionError: /t/spec.yaml: field 'operations.records.create.extract.id'")


def test_a_spec_error_of_a_python_adapter_is_recorded_then_raised() -> None:
    class Strict(SessionsOnly):
        def sessions_whoami(self, http: ReplicaHttp, token: str) -> Any:
            http.get("/me")
            raise SpecError("shop.py: whoami answered a page this adapter cannot read")

    history = History()
    client = Client(Fixed(), history, transport=httpx.MockTransport(lambda request: httpx.Response(203)),
                    adapter=Strict())
    with pytest.raises(SpecError, match="cannot read"):
        client.call("sessions", "whoami", "app-0", {"token": "t"})
    [op] = history.operations()
    assert (op.outcome, op.status, op.error) == (UNKNOWN, 203, "SpecError: shop.py: whoami answered a page this "
                                                                "adapter cannot read")


COOKIE_SESSIONS = {"sessions": {
    "login": {"method": "POST", "path": "/login", "form": {"user": "{user}"}, "extract": {"token": {"cookie": "sid"}}},
    "whoami": {"path": "/me", "headers": {"Authorization": "Bearer {token}"}},
    "logout": {"method": "POST", "path": "/logout", "cookies": {"sid": "{token}"}},
}}


def cookie_app(seen: list[httpx.Request]) -> Any:
    def app(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/login":
            return httpx.Response(200, headers=[("Set-Cookie", "sid=s1; Path=/"),
                                                ("Set-Cookie", "tracking=t1; Path=/; Max-Age=3600")])
        return httpx.Response(200 if request.headers.get("cookie") == "sid=s1" else 401)

    return app


@pytest.mark.parametrize("url", ["http://127.0.0.1:9", "http://localhost:8000", "http://app.example.com"])
def test_a_cookie_set_by_one_call_is_not_sent_on_the_next(url: str) -> None:
    # Control: a plain httpx client with a jar would send it (so this test can fail).
    seen: list[httpx.Request] = []
    plain = httpx.Client(transport=httpx.MockTransport(cookie_app(seen)))
    plain.post(url + "/login")
    plain.get(url + "/me")
    assert "sid=s1" in seen[-1].headers.get("cookie", "")

    seen.clear()
    client, history = spec_client(cookie_app(seen), COOKIE_SESSIONS, url)
    login = client.call("sessions", "login", "app-0", {"user": "al"})
    assert login.value == {"token": "s1", "user": "al", "expires_at": None}
    whoami = client.call("sessions", "whoami", "app-0", {"token": "s1"})
    assert "cookie" not in seen[-1].headers
    assert seen[-1].headers["authorization"] == "Bearer s1"
    assert whoami.value == {"accepted": False}  # the app saw no cookie: no session leaked into this call
    logout = client.call("sessions", "logout", "app-0", {"token": "s1"})
    assert seen[-1].headers["cookie"] == "sid=s1"  # only the cookie the operation sends, not tracking=t1
    assert logout.value == {"revoked": True}


# --- a Python adapter records what a YAML operation records -------------------------------------------


class TinyShop(Adapter):
    """A Python adapter that returns only what it read (no user, no id): the harness fills the rest in."""

    def sessions_login(self, http: ReplicaHttp, user: str) -> Any:
        r = http.post("/login", json={"user": user})
        return accepted(token=r.json()["token"])

    def sessions_whoami(self, http: ReplicaHttp, token: str) -> Any:
        r = http.get("/me", headers={"Authorization": f"Bearer {token}"})
        return {200: accepted(accepted=True), 401: rejected(accepted=False)}.get(r.status_code) or unexpected(r)

    def records_create(self, http: ReplicaHttp, data: Any) -> Any:
        return accepted(id=http.post("/records", json={"data": data}).json()["id"])

    def records_read(self, http: ReplicaHttp, id: str) -> Any:
        r = http.get(f"/records/{id}")
        return accepted(found=True, data=r.json()["data"])

    def records_update(self, http: ReplicaHttp, id: str, data: Any) -> Any:
        http.request("PUT", f"/records/{id}", json={"data": data})
        return accepted(version=2)


def forgetful_app(request: httpx.Request) -> httpx.Response:
    """Logs in, then forgets every session (a whoami is always 401); keeps record r1."""
    if request.url.path == "/login":
        return httpx.Response(200, json={"token": "tok-1"})
    if request.url.path == "/me":
        return httpx.Response(401)
    return httpx.Response(200, json={"id": "r1", "data": {"n": 1}})


TINY_YAML = {
    "sessions": {"login": {"method": "POST", "path": "/login", "json": {"user": "{user}"},
                           "extract": {"token": {"json": "token"}}},
                 "whoami": {"path": "/me", "headers": {"Authorization": "Bearer {token}"}}},
    "records": {"create": {"method": "POST", "path": "/records", "json": {"data": "{data}"},
                           "extract": {"id": {"json": "id"}}},
                "read": {"path": "/records/{id}", "extract": {"data": {"json": "data"}}},
                "update": {"method": "PUT", "path": "/records/{id}", "json": {"data": "{data}"},
                           "extract": {"version": {"json": "version"}}}},
}


def tiny_run(adapter: Adapter) -> History:
    history = History()
    with Client(Fixed(), history, transport=httpx.MockTransport(forgetful_app), adapter=adapter) as client:
        client.call("sessions", "login", "app-0", {"user": "alice"})
        client.call("sessions", "whoami", "app-1", {"token": "tok-1"})
        client.call("records", "create", "app-0", {"data": {"n": 1}})
        client.call("records", "update", "app-0", {"id": "r1", "data": {"n": 2}})
    return history


def test_a_python_adapter_records_the_same_arguments_and_echoed_values_as_yaml() -> None:
    python = tiny_run(TinyShop()).operations()
    spec = tiny_run(SpecAdapter(Operations.model_validate(TINY_YAML), "/t/tiny.yaml")).operations()
    assert [op.args for op in python] == [op.args for op in spec]
    assert python[0].args == {"user": "alice"}
    assert python[0].value["user"] == spec[0].value["user"] == "alice"  # not None
    assert python[3].value["id"] == spec[3].value["id"] == "r1"  # an update echoes its id
    assert python[1].value == {"accepted": False}  # nothing echoed into a reply that has no such key


def test_a_python_adapters_violation_names_the_user() -> None:
    from harness.checkers.sessions import check_sessions

    verdict = check_sessions(tiny_run(TinyShop()))
    messages = " ".join(v.message for v in verdict.violations)
    assert "session of user 'alice'" in messages and "'None'" not in messages


def test_a_value_the_adapter_gives_is_kept() -> None:
    class Renaming(TinyShop):
        def sessions_login(self, http: ReplicaHttp, user: str) -> Any:
            return accepted(token="t", user="ALICE")

    http = ReplicaHttp(httpx.Client(transport=httpx.MockTransport(forgetful_app)), "http://h:1")
    assert Renaming().perform("sessions", "login", http, {"user": "alice"})[1] == {"token": "t", "user": "ALICE"}
