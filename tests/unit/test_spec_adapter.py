"""The adapter made from a spec's ``operations``: rendering, extraction, and reading statuses.

HTTP goes through ``httpx.MockTransport``; each handler is the app, and asserts what it was sent.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Callable
from urllib.parse import parse_qs, quote

import httpx
import pytest

from harness.adapter import ReplicaHttp
from harness.errors import ExtractionError, SpecError
from harness.history import Outcome
from harness.operations import Extraction, HttpOperation, Operations
from harness.operations import MISSING as _MISSING
from harness.operations import json_path
from harness.spec_adapter import SpecAdapter, build_request, extract, render

OK, FAIL, UNKNOWN = Outcome.OK, Outcome.FAIL, Outcome.UNKNOWN
BASE = "http://app-0.test:8000"
SOURCE = "/targets/shop.yaml"

Handler = Callable[[httpx.Request], httpx.Response]


class App:
    """A MockTransport app that keeps every request it got."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []
        self.statuses: list[int] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return self.handler(request)

    def http(self) -> ReplicaHttp:
        return ReplicaHttp(httpx.Client(transport=httpx.MockTransport(self)), BASE,
                           lambda response: self.statuses.append(response.status_code))

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


def answer(status: int, **kwargs: Any) -> Handler:
    return lambda request: httpx.Response(status, **kwargs)


def adapter(operations: dict[str, Any]) -> SpecAdapter:
    return SpecAdapter(Operations.model_validate(operations), SOURCE)


def perform(spec: SpecAdapter, kind: str, operation: str, handler: Handler, **variables: Any) -> tuple[Any, App]:
    app = App(handler)
    return spec.perform(kind, operation, app.http(), variables), app


# --- render ------------------------------------------------------------------------------------------


def test_a_whole_placeholder_keeps_the_type() -> None:
    assert render("{by}", {"by": 3}) == 3
    assert render("{data}", {"data": {"a": [1, 2]}}) == {"a": [1, 2]}
    assert render("{flag}", {"flag": False}) is False
    assert render("{content}", {"content": b"\x00\x01"}) == b"\x00\x01"


def test_an_embedded_placeholder_becomes_text() -> None:
    assert render("Bearer {token}", {"token": "abc"}) == "Bearer abc"
    assert render("n={by}", {"by": 3}) == "n=3"
    assert render("{a}-{b}", {"a": 1, "b": "x"}) == "1-x"
    assert render("no placeholder", {}) == "no placeholder"


def test_nested_dicts_and_lists_are_rendered() -> None:
    template = {"user": "{user}", "tags": ["{user}", "x-{by}", 7], "meta": {"by": "{by}", "k-{user}": None},
                "n": 5, "on": True}
    assert render(template, {"user": "al", "by": 2}) == {
        "user": "al", "tags": ["al", "x-2", 7], "meta": {"by": 2, "k-al": None}, "n": 5, "on": True}


def test_non_strings_pass_through() -> None:
    for value in (None, 5, 2.5, True):
        assert render(value, {}) == value


def test_escape_applies_to_whole_and_embedded_placeholders() -> None:
    escape = lambda s: quote(s, safe="")  # noqa: E731
    assert render("/records/{id}", {"id": "a/b c?d"}, escape) == "/records/a%2Fb%20c%3Fd"
    assert render("{id}", {"id": 5}, escape) == "5"  # escaped text, not the typed value
    assert render("/x/{id}/y", {"id": "ü#"}, escape) == "/x/%C3%BC%23/y"


def test_a_missing_variable_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        render("{nope}", {})


# --- json_path ---------------------------------------------------------------------------------------

BODY = {"token": "t", "data": {"items": [{"id": 1}, {"id": 2}], "none": None, "zero": 0}, "list": ["a", "b"]}


@pytest.mark.parametrize(("path", "expected"), [
    ("token", "t"),
    ("$.token", "t"),
    ("data.items.0.id", 1),
    ("$.data.items.1.id", 2),
    ("data.items.-1.id", 2),
    ("list.1", "b"),
    ("data.none", None),  # present, and null
    ("data.zero", 0),
    ("$", BODY),
    ("", BODY),
])
def test_json_path_finds(path: str, expected: Any) -> None:
    assert json_path(BODY, path) == expected


@pytest.mark.parametrize("path", ["missing", "data.items.2.id", "data.items.-3", "data.items.x", "token.length",
                                  "data.zero.x", "list.1.0"])
def test_json_path_missing(path: str) -> None:
    assert json_path(BODY, path) is _MISSING


def test_json_path_into_a_top_level_list() -> None:
    assert json_path([{"id": "a"}], "0.id") == "a"
    assert json_path([], "0") is _MISSING


# --- extract ------------------------------------------------------------------------------------------


def test_extract_by_header_is_case_insensitive() -> None:
    response = httpx.Response(200, headers={"X-Session": "s1"})
    assert extract(response, Extraction(header="x-session")) == "s1"
    assert extract(response, Extraction(header="X-Other")) is _MISSING


def test_extract_by_json() -> None:
    assert extract(httpx.Response(200, json={"a": {"b": 3}}), Extraction.model_validate({"json": "a.b"})) == 3
    assert extract(httpx.Response(200, text="not json"), Extraction.model_validate({"json": "a"})) is _MISSING
    assert extract(httpx.Response(204), Extraction.model_validate({"json": "a"})) is _MISSING


def test_extract_by_cookie_among_several() -> None:
    response = httpx.Response(302, headers=[
        ("Set-Cookie", "tracking=t1; Path=/"),
        ("Set-Cookie", "sid=abc.def==; Path=/; HttpOnly; SameSite=Lax; Expires=Wed, 21 Oct 2037 07:28:00 GMT"),
        ("Set-Cookie", 'pref="dark mode"; Max-Age=60'),
    ])
    assert extract(response, Extraction(cookie="sid")) == "abc.def=="
    assert extract(response, Extraction(cookie="tracking")) == "t1"
    assert extract(response, Extraction(cookie="pref")) == "dark mode"
    assert extract(response, Extraction(cookie="other")) is _MISSING
    assert extract(httpx.Response(200), Extraction(cookie="sid")) is _MISSING


def test_extract_a_partitioned_cookie() -> None:
    response = httpx.Response(200, headers={"Set-Cookie": "sid=abc; Path=/; Secure; Partitioned"})
    assert extract(response, Extraction(cookie="sid")) == "abc"


# --- build_request ------------------------------------------------------------------------------------


def op(**fields: Any) -> HttpOperation:
    return HttpOperation.model_validate(fields)


def test_build_request_renders_every_part() -> None:
    request = build_request(op(method="post", path="/c/{name}/inc", query={"by": "{by}", "q": "n-{name}"},
                               headers={"X-By": "{by}"}, cookies={"c": "{name}"}, json={"by": "{by}"}),
                            {"name": "a b", "by": 3})
    assert request == {"method": "POST", "path": "/c/a%20b/inc", "params": {"by": 3, "q": "n-a b"},
                       "headers": {"X-By": 3}, "cookies": {"c": "a b"}, "json": {"by": 3}}


def test_build_request_form_and_multipart() -> None:
    form = build_request(op(method="POST", path="/login", form={"user": "{user}"}), {"user": "al"})
    assert form["data"] == {"user": "al"} and "json" not in form and "files" not in form
    multi = build_request(op(method="POST", path="/files", multipart={"file": "{content}", "name": "{filename}"}),
                          {"content": b"\x00bytes", "filename": "f.bin"})
    assert multi["files"] == {"file": ("f.bin", b"\x00bytes", "application/octet-stream")}
    assert multi["data"] == {"name": "f.bin"}
    assert "params" not in multi


# --- perform: sessions with a cookie ------------------------------------------------------------------

COOKIE_SESSIONS = {"sessions": {
    "login": {"method": "POST", "path": "/login", "form": {"user": "{user}", "remember": "1"}, "accepted": [200, 302],
              "extract": {"token": {"cookie": "sid"}, "expires_at": {"header": "X-Expires"}}},
    "whoami": {"path": "/me", "cookies": {"sid": "{token}"}, "extract": {"user": {"json": "user"}}},
    "logout": {"method": "POST", "path": "/logout", "cookies": {"sid": "{token}"}},
}}


def shop(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/login":
        form = parse_qs(request.content.decode())
        assert request.headers["content-type"] == "application/x-www-form-urlencoded"
        return httpx.Response(302, headers=[("Location", "/"), ("Set-Cookie", "csrf=c1; Path=/"),
                                            ("Set-Cookie", f"sid=s-{form['user'][0]}; Path=/; HttpOnly")])
    cookie = request.headers.get("cookie")
    if request.url.path == "/me":
        return httpx.Response(200, json={"user": "al"}) if cookie == "sid=s-al" else httpx.Response(401)
    return httpx.Response(204) if cookie == "sid=s-al" else httpx.Response(401)


def test_cookie_login_sends_a_form_and_extracts_the_cookie() -> None:
    reply, app = perform(adapter(COOKIE_SESSIONS), "sessions", "login", shop, user="al")
    assert reply == (OK, {"token": "s-al", "user": "al", "expires_at": None})
    assert parse_qs(app.last.content.decode()) == {"user": ["al"], "remember": ["1"]}
    assert app.last.method == "POST" and str(app.last.url) == BASE + "/login"
    assert app.statuses == [302]


def test_cookie_whoami_sends_only_the_given_cookie() -> None:
    reply, app = perform(adapter(COOKIE_SESSIONS), "sessions", "whoami", shop, token="s-al")
    assert reply == (OK, {"accepted": True, "user": "al"})
    assert app.last.headers["cookie"] == "sid=s-al"


@pytest.mark.parametrize("status", [401, 403])
def test_whoami_rejected_by_default(status: int) -> None:
    reply, _ = perform(adapter(COOKIE_SESSIONS), "sessions", "whoami", answer(status), token="old")
    assert reply == (OK, {"accepted": False})


@pytest.mark.parametrize(("status", "reply"), [(500, (UNKNOWN, None)), (503, (UNKNOWN, None)),
                                               (418, (FAIL, None)), (404, (FAIL, None)), (429, (FAIL, None))])
def test_whoami_other_statuses(status: int, reply: tuple[Outcome, Any]) -> None:
    assert perform(adapter(COOKIE_SESSIONS), "sessions", "whoami", answer(status), token="t")[0] == reply


def test_logout_accepted_and_rejected() -> None:
    spec = adapter(COOKIE_SESSIONS)
    assert perform(spec, "sessions", "logout", shop, token="s-al")[0] == (OK, {"revoked": True})
    assert perform(spec, "sessions", "logout", shop, token="nope")[0] == (OK, {"revoked": False})


def test_login_rejected_status_without_a_reader_is_refused() -> None:
    spec = adapter({"sessions": {**COOKIE_SESSIONS["sessions"],
                                 "login": {**COOKIE_SESSIONS["sessions"]["login"], "rejected": [403]}}})
    assert perform(spec, "sessions", "login", answer(403), user="al")[0] == (FAIL, None)


def test_login_with_header_token_and_expiry() -> None:
    spec = adapter({"sessions": {
        "login": {"method": "POST", "path": "/login", "json": {"user": "{user}"},
                  "extract": {"token": {"header": "X-Token"}, "expires_at": {"json": "session.exp"}}},
        "whoami": {"path": "/me", "headers": {"Authorization": "Bearer {token}"}},
    }})
    reply, app = perform(spec, "sessions", "login",
                         answer(201, headers={"X-Token": "h1"}, json={"session": {"exp": 1700000000}}), user="al")
    assert reply == (OK, {"token": "h1", "user": "al", "expires_at": 1700000000})
    assert json.loads(app.last.content) == {"user": "al"}
    assert app.last.headers["content-type"] == "application/json"
    _, app = perform(spec, "sessions", "whoami", answer(200), token="h1")
    assert app.last.headers["authorization"] == "Bearer h1" and "cookie" not in app.last.headers


# --- perform: records ---------------------------------------------------------------------------------

RECORDS = {"records": {
    "create": {"method": "POST", "path": "/records", "json": {"data": "{data}"},
               "extract": {"id": {"json": "id"}, "version": {"json": "version"}}},
    "read": {"path": "/records/{id}", "extract": {"data": {"json": "record.data"}, "version": {"header": "ETag"}}},
    "update": {"method": "PUT", "path": "/records/{id}", "json": {"data": "{data}"}},
    "delete": {"method": "DELETE", "path": "/records/{id}"},
    "list": {"path": "/records", "query": {"limit": 100}, "extract": {"records": {"json": "records"}}},
}}


def test_records_create_sends_typed_json_and_reads_the_id_as_text() -> None:
    reply, app = perform(adapter(RECORDS), "records", "create", answer(201, json={"id": 7}), data={"n": 1})
    assert reply == (OK, {"id": "7", "version": None})  # version is optional
    assert json.loads(app.last.content) == {"data": {"n": 1}}


def test_records_read_found_and_not_found() -> None:
    spec = adapter(RECORDS)
    reply, app = perform(spec, "records", "read", answer(200, json={"record": {"data": {"n": 1}}},
                                                         headers={"ETag": "v3"}), id="a/b")
    assert reply == (OK, {"found": True, "data": {"n": 1}, "version": "v3"})
    assert app.last.url.raw_path == b"/records/a%2Fb"  # the id stays one path segment
    assert perform(spec, "records", "read", answer(404), id="x")[0] == (OK, {"found": False, "data": None,
                                                                             "version": None})
    assert perform(spec, "records", "read", answer(500), id="x")[0] == (UNKNOWN, None)
    assert perform(spec, "records", "read", answer(400), id="x")[0] == (FAIL, None)


def test_records_update_delete_and_list() -> None:
    spec = adapter(RECORDS)
    reply, app = perform(spec, "records", "update", answer(204), id="r1", data={"n": 2})
    assert reply == (OK, {"id": "r1", "version": None}) and app.last.method == "PUT"
    reply, app = perform(spec, "records", "delete", answer(204), id="r1")
    assert reply == (OK, {}) and app.last.method == "DELETE"
    listing = {"records": [{"id": 1, "data": {"n": 1}}, {"id": "b", "data": None}, "junk"]}
    reply, app = perform(spec, "records", "list", answer(200, json=listing))
    assert reply == (OK, {"records": {"1": {"n": 1}, "b": None}})
    assert app.last.url.params["limit"] == "100"
    reply, _ = perform(spec, "records", "list", answer(200, json={"records": {"a": 1}}))
    assert reply == (OK, {"records": {"a": 1}})


# --- perform: quotes ----------------------------------------------------------------------------------

QUOTES = {"quotes": {
    "create": {"method": "POST", "path": "/quotes", "json": {"amount": "{amount}", "ttl": "{ttl}"},
               "extract": {"id": {"json": "id"}, "expires_at": {"json": "expires_at"}}},
    "use": {"method": "POST", "path": "/quotes/{id}/use"},
    "read": {"path": "/quotes/{id}", "extract": {"used": {"json": "used"}}},
}}


def test_quotes_create() -> None:
    reply, app = perform(adapter(QUOTES), "quotes", "create", answer(201, json={"id": 5, "expires_at": "1700.5"}),
                         amount=9.5, ttl=30)
    assert reply == (OK, {"id": "5", "expires_at": 1700.5})
    assert json.loads(app.last.content) == {"amount": 9.5, "ttl": 30}


@pytest.mark.parametrize(("status", "value"), [
    (200, {"used": True}),
    (404, {"used": False, "reason": "not-found"}),
    (409, {"used": False, "reason": "already-used"}),
    (410, {"used": False, "reason": "expired"}),
])
def test_quotes_use_reasons(status: int, value: dict[str, Any]) -> None:
    assert perform(adapter(QUOTES), "quotes", "use", answer(status), id="q1")[0] == (OK, value)


def test_quotes_use_with_reasons_of_the_spec() -> None:
    spec = adapter({"quotes": {**QUOTES["quotes"], "use": {"method": "POST", "path": "/quotes/{id}/use",
                                                           "rejected": {422: "already-used"}}}})
    assert perform(spec, "quotes", "use", answer(422), id="q")[0] == (OK, {"used": False, "reason": "already-used"})
    assert perform(spec, "quotes", "use", answer(409), id="q")[0] == (FAIL, None)  # no longer a default


def test_quotes_read() -> None:
    spec = adapter(QUOTES)
    assert perform(spec, "quotes", "read", answer(200, json={"used": 1}), id="q")[0] == (
        OK, {"found": True, "expired": False, "used": True})
    assert perform(spec, "quotes", "read", answer(410), id="q")[0] == (OK, {"found": True, "expired": True,
                                                                           "used": None})
    assert perform(spec, "quotes", "read", answer(404), id="q")[0] == (OK, {"found": False, "expired": False,
                                                                           "used": False})


# --- perform: rate limits and cooldowns ---------------------------------------------------------------


def limiter(**hit: Any) -> SpecAdapter:
    return adapter({"rate_limit": {"hit": {"path": "/limited/{key}", **hit}, "limit": 3, "window": 1}})


def test_rate_limit_default_statuses() -> None:
    spec = limiter()
    assert perform(spec, "rate_limit", "hit", answer(200), key="k")[0] == (OK, {"allowed": True})
    assert perform(spec, "rate_limit", "hit", answer(429), key="k")[0] == (OK, {"allowed": False})
    assert perform(spec, "rate_limit", "hit", answer(500), key="k")[0] == (UNKNOWN, None)
    assert perform(spec, "rate_limit", "hit", answer(418), key="k")[0] == (FAIL, None)


def test_rate_limit_403_configured_as_limited() -> None:
    spec = limiter(limited=[403])
    reply, app = perform(spec, "rate_limit", "hit", answer(403), key="login:al")
    assert reply == (OK, {"allowed": False})
    assert app.last.url.raw_path == b"/limited/login%3Aal"
    assert perform(spec, "rate_limit", "hit", answer(429), key="k")[0] == (FAIL, None)


def test_cooldowns() -> None:
    spec = adapter({"cooldowns": {"start": {"method": "POST", "path": "/cool/{key}",
                                            "extract": {"until": {"json": "until"}}}, "period": 5}})
    assert perform(spec, "cooldowns", "start", answer(200, json={"until": 10.0}), key="k")[0] == (
        OK, {"allowed": True, "until": 10.0})
    assert perform(spec, "cooldowns", "start", answer(429, json={"until": 12.0}), key="k")[0] == (
        OK, {"allowed": False, "until": 12.0})
    assert perform(spec, "cooldowns", "start", answer(429, text="slow down"), key="k")[0] == (
        OK, {"allowed": False, "until": None})


# --- perform: counters and files ----------------------------------------------------------------------


def test_counters() -> None:
    spec = adapter({"counters": {
        "increment": {"method": "POST", "path": "/counters/{name}/increment", "json": {"by": "{by}"}},
        "read": {"path": "/counters/{name}", "extract": {"value": {"json": "value"}}},
    }})
    reply, app = perform(spec, "counters", "increment", answer(200, json={"value": 4}), name="c", by=2)
    assert reply == (OK, {"value": None})  # the spec extracts no value from increment
    assert json.loads(app.last.content) == {"by": 2}
    assert perform(spec, "counters", "read", answer(200, json={"value": 4}), name="c")[0] == (OK, {"value": 4})


FILES = {"files": {
    "upload": {"method": "POST", "path": "/files", "multipart": {"file": "{content}", "label": "up-{filename}"},
               "extract": {"id": {"json": "id"}, "sha256": {"json": "sha256"}}},
    "download": {"path": "/files/{id}"},
}}


def test_files_download_hashes_the_body() -> None:
    content = bytes(range(256)) * 10
    reply, _ = perform(adapter(FILES), "files", "download", answer(200, content=content), id="f1")
    assert reply == (OK, {"found": True, "sha256": hashlib.sha256(content).hexdigest()})
    assert perform(adapter(FILES), "files", "download", answer(404), id="f1")[0] == (OK, {"found": False,
                                                                                         "sha256": None})


def test_multipart_upload_sends_the_bytes_as_a_file_part() -> None:
    content = b"\x00\xffpayload\r\n--not-a-boundary"

    def app(request: httpx.Request) -> httpx.Response:
        ctype = request.headers["content-type"]
        assert ctype.startswith("multipart/form-data; boundary=")
        body = request.content
        assert b'Content-Disposition: form-data; name="file"; filename="f.bin"' in body
        assert b"Content-Type: application/octet-stream\r\n\r\n" + content + b"\r\n" in body
        assert b'Content-Disposition: form-data; name="label"\r\n\r\nup-f.bin\r\n' in body
        return httpx.Response(201, json={"id": "f1", "sha256": "abc"})

    reply, _ = perform(adapter(FILES), "files", "upload", app, content=content, filename="f.bin")
    assert reply == (OK, {"id": "f1", "sha256": "abc"})


# --- extraction errors at run time --------------------------------------------------------------------


def test_missing_token_is_an_extraction_error_naming_file_field_and_expectation() -> None:
    spec = adapter({"sessions": {"login": {"method": "POST", "path": "/login", "json": {"user": "{user}"},
                                           "extract": {"token": {"json": "data.token"}}},
                                 "whoami": {"path": "/me"}}})
    with pytest.raises(ExtractionError) as info:
        perform(spec, "sessions", "login", answer(200, json={"token": "t"}), user="al")
    message = str(info.value)
    assert isinstance(info.value, SpecError)
    assert message.startswith(f"{SOURCE}: field 'operations.sessions.login.extract.token': ")
    assert "JSON path 'data.token' found nothing in the 200 response to POST /login" in message
    assert BASE in message and "expected the token there" in message
    assert "{\"token\":\"t\"}" in message.replace(" ", "")  # the body it got


def test_missing_cookie_is_an_extraction_error() -> None:
    with pytest.raises(ExtractionError, match=r"operations\.sessions\.login\.extract\.token': cookie 'sid' found "
                                              r"nothing in the 302 response"):
        perform(adapter(COOKIE_SESSIONS), "sessions", "login", answer(302, headers={"Set-Cookie": "other=1"}),
                user="al")


def test_non_json_body_is_an_extraction_error() -> None:
    with pytest.raises(ExtractionError, match=r"operations\.records\.read\.extract\.data'.*body: '<html>oops"):
        perform(adapter(RECORDS), "records", "read", answer(200, text="<html>oops</html>"), id="r")


def test_missing_values_that_are_not_required_are_no_error() -> None:
    spec = adapter(RECORDS)
    assert perform(spec, "records", "create", answer(201, json={"id": "r"}), data=1)[0] == (OK, {"id": "r",
                                                                                         "version": None})
    # a rejected answer needs no extraction, even of required values
    assert perform(spec, "records", "read", answer(404, text="gone"), id="r")[0][1]["found"] is False


def test_quote_without_expiry_is_an_extraction_error() -> None:
    with pytest.raises(ExtractionError, match=r"operations\.quotes\.create\.extract\.expires_at'.*"
                                              r"expected the expires_at there"):
        perform(adapter(QUOTES), "quotes", "create", answer(201, json={"id": 1}), amount=1, ttl=1)


# --- the adapter as a whole ---------------------------------------------------------------------------


def test_spec_adapter_kinds_supports_and_settings() -> None:
    spec = adapter({**RECORDS, **FILES, "rate_limit": {"hit": {"path": "/h"}, "limit": 3, "window": 1.5}})
    assert spec.kinds() == ["files", "rate_limit", "records"]  # the vocabulary's order
    assert spec.supports("records", "list") and not spec.supports("sessions", "login")
    assert not spec.supports("records", "nonsense")
    assert spec.settings("rate_limit") == {"limit": 3, "window": 1.5,
                                           "algorithm": {"name": "fixed-window", "anchor": "any"}}
    assert spec.settings("cooldowns") == {}
    assert spec.describe() == f"operations in {SOURCE}"


def test_an_operation_the_spec_lacks_is_not_implemented() -> None:
    with pytest.raises(NotImplementedError, match=r"no operations\.sessions\.logout"):
        perform(adapter({"sessions": {k: v for k, v in COOKIE_SESSIONS["sessions"].items() if k != "logout"}}),
                "sessions", "logout", answer(200), token="t")


def test_a_pattern_takes_part_of_a_header_and_a_listing_uses_its_own_keys() -> None:
    import httpx

    from harness.adapter import ReplicaHttp
    from harness.operations import Operations
    from harness.spec_adapter import SpecAdapter

    ops = Operations.model_validate({"records": {
        "create": {"method": "POST", "path": "/o", "json": "{data}",
                   "extract": {"id": {"header": "Location", "pattern": r"/o/(\w+)$"}}},
        "read": {"path": "/o/{id}", "extract": {"data": {"json": "payload"}}},
        "list": {"path": "/o", "extract": {"records": {"json": "orders"}}},
        "list_id": "order_id", "list_data": "payload"}})

    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(201, headers={"Location": "/o/ab12"})
        return httpx.Response(200, json={"orders": [{"order_id": "ab12", "payload": {"n": 1}}]})

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        http = ReplicaHttp(client, "http://replica")
        adapter = SpecAdapter(ops, "t.yaml")
        assert adapter.perform("records", "create", http, {"data": {"n": 1}})[1]["id"] == "ab12"
        assert adapter.perform("records", "list", http, {})[1] == {"records": {"ab12": {"n": 1}}}
