"""Server-rendered apps in YAML: body extraction, status rules with headers, setup steps, redirects.

The spec is parsed as ``load_spec`` parses it (errors name the file, the field and what was
expected); requests go through ``httpx.MockTransport``, each handler standing for the app,
since what is verified is how the harness reads a spec and an answer, not an app.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import httpx
import pytest
import yaml

from harness.client import Client
from harness.errors import ExtractionError, SpecError
from harness.history import History, Outcome
from harness.operations import Extraction, HttpOperation, Operations
from harness.spec import load_spec
from harness.spec_adapter import MAX_REDIRECTS, SpecAdapter, extract

OK, FAIL, UNKNOWN = Outcome.OK, Outcome.FAIL, Outcome.UNKNOWN
SOURCE = "/t/html.yaml"
Handler = Callable[[httpx.Request], httpx.Response]


class Fixed:
    def endpoint(self, replica: str) -> str:
        return "http://127.0.0.1:9"


class App:
    """A MockTransport app keeping every request it got."""

    def __init__(self, handler: Handler) -> None:
        self.handler, self.requests = handler, []  # type: ignore[var-annotated]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return self.handler(request)

    def sent(self) -> list[str]:
        return [f"{r.method} {r.url.raw_path.decode()}" for r in self.requests]


def client(handler: Handler, operations: dict[str, Any]) -> tuple[Client, History, App]:
    app, history = App(handler), History()
    adapter = SpecAdapter(Operations.model_validate(operations), SOURCE)
    return Client(Fixed(), history, transport=httpx.MockTransport(app), adapter=adapter), history, app


def refused(tmp_path: Path, operations: str) -> str:
    """The error of loading a spec with these operations (YAML, under 'operations:')."""
    path = tmp_path / "html.yaml"
    path.write_text("name: t\napp: {image: i}\noperations:\n" + operations)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    text = " ".join(str(info.value).split())
    assert str(path) in text
    return text


# --- parsing and validation --------------------------------------------------------------------------

LOGIN = "  sessions:\n    whoami: {path: /me}\n    login:\n      method: POST\n      path: /login\n"


@pytest.mark.parametrize(("operations", "expected"), [
    (LOGIN + "      extract: {token: {body: true}}\n",
     ("field 'operations.sessions.login.extract.token'", "a body extraction (body: true) needs a 'pattern'")),
    (LOGIN + "      extract: {token: {body: true, cookie: sid, pattern: x}}\n",
     ("operations.sessions.login.extract.token", "give exactly one of 'json', 'header', 'cookie' or 'body: true'",
      "got cookie, body")),
    (LOGIN + "      extract: {token: {body: true, pattern: 'a(b'}}\n",
     ("operations.sessions.login.extract.token.pattern", "not a regular expression")),
    (LOGIN + "      extract: {token: {body: true, pattern: 'tok-{title}-(\\w+)'}}\n",
     ("sessions.login.extract.token.pattern: unknown placeholder {title}", "provides {user}")),
    (LOGIN + "      extract: {token: {cookie: sid}}\n      rejected: [{status: 302, header: {Location: '^(/login'}}]\n",
     ("operations.sessions.login.rejected", "header 'Location': not a regular expression")),
    (LOGIN + "      extract: {token: {cookie: sid}}\n      accepted: [{status: 302, reason: expired}]\n",
     ("operations.sessions.login.accepted", "'reason' belongs to 'rejected' entries only")),
    (LOGIN + "      extract: {token: {cookie: sid}}\n      accepted: [{status: 302, headers: {Location: x}}]\n",
     ("operations.sessions.login.accepted", "headers")),
    (LOGIN + "      extract: {token: {cookie: sid}}\n      before: [{path: /form, form: {t: '{csrf}'}}]\n",
     ("sessions.login.before.0.form: unknown placeholder {csrf}", "provides {user}")),
    (LOGIN + "      extract: {token: {cookie: sid}}\n      form: {t: '{csrf}'}\n"
             "      before: [{path: /form, extract: {csrf: {body: true}}}]\n",
     ("operations.sessions.login.before.0.extract.csrf", "a body extraction (body: true) needs a 'pattern'")),
    (LOGIN + "      extract: {token: {cookie: sid}}\n      before: [{path: /r, extract: {user: {cookie: u}}}]\n",
     ("sessions.login.before.0.extract.user: 'user' is a variable of sessions.login already",)),
    (LOGIN + "      extract: {token: {cookie: sid}}\n      before: [{path: /r, extract: {a: {cookie: a}}}, "
             "{path: '/s/{b}'}, {path: /t, extract: {b: {cookie: b}}}]\n",
     ("sessions.login.before.1.path: unknown placeholder {b}", "provides {a}, {user}")),
    (LOGIN + "      extract: {token: {cookie: sid}}\n      before: [{path: /r, accepted: [600]}]\n",
     ("operations.sessions.login.before.0.accepted",)),
    ("  rate_limit:\n    limit: 1\n    window: 1\n    hit: {path: /x, before: [{path: /login}]}\n",
     ("operations.rate_limit", "before not supported for rate_limit.hit", "the load generator")),
    ("  rate_limit:\n    limit: 1\n    window: 1\n    hit: {path: /x, accepted: [{status: 200, header: {X: y}}]}\n",
     ("operations.rate_limit", "accepted (a rule with headers) not supported for rate_limit.hit")),
])
def test_mistakes_are_refused_naming_file_field_and_expectation(tmp_path: Path, operations: str,
                                                                 expected: tuple[str, ...]) -> None:
    text = refused(tmp_path, operations)
    for part in expected:
        assert part in text, (part, text)


def test_todays_status_forms_stay_valid(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text("name: t\napp: {image: i}\noperations:\n  quotes:\n"
                    "    create: {method: POST, path: /q, extract: {id: {json: id}, expires_at: {json: e}}}\n"
                    "    use: {method: POST, path: '/q/{id}', rejected: {404: not-found, 409: already-used}}\n"
                    "    read: {path: '/q/{id}', rejected: [404], accepted: [200, {status: 203}]}\n")
    quotes = load_spec(path).operations.quotes  # type: ignore[union-attr]
    assert quotes.use.reasons() == {404: "not-found", 409: "already-used"}
    assert quotes.read.reasons() == {404: "rejected"}
    assert quotes.read.accepted == [200, 203]  # a rule without headers is its bare status
    assert quotes.create.reasons() == {}  # create has no default rejections


def test_a_bare_rejected_default_is_kept_when_the_spec_gives_none() -> None:
    ops = Operations.model_validate({"quotes": {
        "create": {"method": "POST", "path": "/q", "extract": {"id": {"json": "id"}, "expires_at": {"json": "e"}}},
        "use": {"method": "POST", "path": "/q/{id}"}}})
    assert ops.quotes.use.reasons() == {404: "not-found", 409: "already-used", 410: "expired"}  # type: ignore[union-attr]


# --- the decision order ------------------------------------------------------------------------------


def op(**fields: Any) -> HttpOperation:
    return HttpOperation.model_validate({"path": "/x", **fields})


def headers(**values: str) -> httpx.Headers:
    return httpx.Headers(values)


def test_a_rule_with_headers_decides_before_a_bare_status() -> None:
    rule = op(accepted=[302], rejected=[{"status": 302, "header": {"Location": "^/login"}}])
    assert rule.decide(302, headers(location="/login?next=/notes")) == ("rejected", "rejected")
    assert rule.decide(302, headers(location="/notes/7")) == ("accepted", "")
    assert rule.decide(302, headers()) == ("accepted", "")  # no Location: the rule does not match
    assert rule.decide(303, headers(location="/login")) is None  # undeclared: the client reads it (unknown)


def test_every_header_of_a_rule_must_match_and_the_reason_is_the_rules() -> None:
    rule = op(accepted=[200], rejected=[{"status": 302, "header": {"Location": "^/gone", "X-Why": "exp"},
                                         "reason": "expired"}, 404])
    assert rule.decide(302, headers(location="/gone", x_why="expired")) is None  # header names differ (x_why)
    assert rule.decide(302, httpx.Headers({"Location": "/gone", "X-Why": "expired"})) == ("rejected", "expired")
    assert rule.decide(302, httpx.Headers({"Location": "/gone"})) is None
    assert rule.decide(404, headers()) == ("rejected", "rejected")


def test_an_accepted_rule_with_headers_beats_a_bare_rejected_status() -> None:
    rule = op(accepted=[{"status": 404, "header": {"X-Soft": "yes"}}], rejected=[404])
    assert rule.decide(404, httpx.Headers({"X-Soft": "yes"})) == ("accepted", "")
    assert rule.decide(404, headers()) == ("rejected", "rejected")


def test_a_response_matching_rules_of_both_categories_is_a_spec_error() -> None:
    both = {"sessions": {"login": {"method": "POST", "path": "/login", "extract": {"token": {"cookie": "s"}},
                                   "accepted": [{"status": 302, "header": {"Location": "^/"}}],
                                   "rejected": [{"status": 302, "header": {"Location": "login"}}]},
                         "whoami": {"path": "/me"}}}
    c, history, _ = client(lambda r: httpx.Response(302, headers={"Location": "/login"}), both)
    with pytest.raises(SpecError, match=r"field 'operations\.sessions\.login': the 302 response matches rules of "
                                        r"both 'accepted' and 'rejected'"):
        c.call("sessions", "login", "app-0", {"user": "al"})
    assert history.operations()[0].outcome is UNKNOWN


NOTES = {"records": {
    "create": {"method": "POST", "path": "/notes", "form": {"body": "{data}"},
               "accepted": [{"status": 302, "header": {"Location": "^/notes$"}}],
               "rejected": [{"status": 302, "header": {"Location": "^/login"}}],
               "follow_redirects": False,
               "extract": {"id": {"header": "Location", "pattern": "(.*)"}}},
    "read": {"path": "/notes/{id}", "extract": {"data": {"body": True, "pattern": "<p>(.*)</p>"}}},
}}


@pytest.mark.parametrize(("location", "outcome", "value"), [
    ("/notes", OK, {"id": "/notes", "version": None}),
    ("/login?next=/notes", FAIL, None),  # declared rejected: a definite "no", though create has no rejected reply
    ("/elsewhere", UNKNOWN, None),  # an undeclared 302: may have been applied
])
def test_outcomes_of_a_create_answered_by_redirects(location: str, outcome: Outcome, value: Any) -> None:
    c, _, _ = client(lambda r: httpx.Response(302, headers={"Location": location}), NOTES)
    op_ = c.call("records", "create", "app-0", {"data": "n1"})
    assert (op_.outcome, op_.value, op_.status) == (outcome, value, 302)


# --- body extraction ---------------------------------------------------------------------------------

PAGE = """<ul>
<li><a href="/html/notes/3">groceries (x)</a></li>
<li><a href="/html/notes/7">note-1 (a+b)</a></li>
<li><a href="/html/notes/9">note-1 (a+b) again</a></li>
</ul>"""


def test_body_extraction_fills_placeholders_escaped() -> None:
    how = Extraction.model_validate({"body": True, "pattern": '<a href="/html/notes/(\\d+)">{title}</a>'})
    response = httpx.Response(200, text=PAGE)
    assert extract(response, how, {"title": "note-1 (a+b)"}) == "7"  # '(' and '+' matched literally
    assert extract(response, how, {"title": "groceries (x)"}) == "3"
    from harness.operations import MISSING as _MISSING
    assert extract(response, how, {"title": "note-1 (a+b"}) is _MISSING
    assert extract(response, how, {"title": "no.te-1 (a+b)"}) is _MISSING  # '.' is not a wildcard


def test_a_create_finds_the_id_of_what_it_wrote_on_the_listing_it_is_redirected_to() -> None:
    listing = {"records": {
        "create": {"method": "POST", "path": "/html/notes", "form": {"title": "{data}"}, "follow_redirects": True,
                   "extract": {"id": {"body": True, "pattern": '<a href="/html/notes/(\\d+)">{data}</a>'}}},
        "read": {"path": "/html/notes/{id}", "extract": {"data": {"body": True, "pattern": "<h1>(.*)</h1>"}}},
    }}

    def app(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(303, headers={"Location": "/html/notes"})
        return httpx.Response(200, text=PAGE)

    c, _, sent = client(app, listing)
    created = c.call("records", "create", "app-0", {"data": "note-1 (a+b)"})
    assert (created.outcome, created.value) == (OK, {"id": "7", "version": None})
    assert sent.sent() == ["POST /html/notes", "GET /html/notes"]


def test_a_body_extraction_finding_nothing_names_the_field() -> None:
    c, _, _ = client(lambda r: httpx.Response(200, text="<div>empty</div>"), NOTES)
    with pytest.raises(ExtractionError, match=r"operations\.records\.read\.extract\.data': the body matching "
                                              r"/<p>\(\.\*\)</p>/ found nothing in the 200 response to GET /notes/1"):
        c.call("records", "read", "app-0", {"id": "1"})


# --- setup steps -------------------------------------------------------------------------------------

CSRF_FORM = '<form method="post"><input type="hidden" name="csrf" value="tok-{n}"></form>'

REGISTER_THEN_LOGIN = {"sessions": {
    "login": {
        "method": "POST", "path": "/login", "form": {"username": "{user}", "password": "pw-{user}", "csrf": "{csrf}"},
        "cookies": {"csrf_cookie": "{csrf_cookie}"},
        "before": [
            {"method": "POST", "path": "/register", "form": {"username": "{user}", "password": "pw-{user}"},
             "accepted": [201, {"status": 302, "header": {"Location": "^/login"}}]},
            {"path": "/login", "extract": {"csrf": {"body": True, "pattern": 'name="csrf" value="([^"]+)"'},
                                           "csrf_cookie": {"cookie": "csrf_cookie"}}},
        ],
        "accepted": [{"status": 302, "header": {"Location": "^/$"}}],
        "rejected": [{"status": 302, "header": {"Location": "^/login"}}],
        "extract": {"token": {"cookie": "session"}},
    },
    "whoami": {"path": "/me", "cookies": {"session": "{token}"}},
}}


def shop(register: int = 201, form: int = 200, login_to: str = "/") -> Handler:
    def app(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/register":
            return httpx.Response(register, headers={"Location": "/login"} if register == 302 else {})
        if request.method == "GET":
            return httpx.Response(form, text=CSRF_FORM.replace("{n}", "41"),
                                  headers={"Set-Cookie": "csrf_cookie=c-41; HttpOnly"})
        body = request.content.decode()
        assert "csrf=tok-41" in body and request.headers["cookie"] == "csrf_cookie=c-41", (body, request.headers)
        return httpx.Response(302, headers={"Location": login_to, "Set-Cookie": "session=s-alice; Path=/"})
    return app


def test_steps_run_in_order_and_their_extractions_fill_the_operation() -> None:
    c, history, app = client(shop(), REGISTER_THEN_LOGIN)
    op_ = c.call("sessions", "login", "app-0", {"user": "alice"})
    assert app.sent() == ["POST /register", "GET /login", "POST /login"]
    assert "username=alice" in app.requests[0].content.decode()
    assert (op_.outcome, op_.status, op_.error) == (OK, 302, None)
    assert op_.value == {"token": "s-alice", "user": "alice", "expires_at": None}
    assert op_.args == {"user": "alice"}  # steps' values are not the operation's arguments
    assert len(history.operations()) == 1  # the steps are part of the one operation


def test_a_step_accepted_by_a_header_rule() -> None:
    c, _, _ = client(shop(register=302), REGISTER_THEN_LOGIN)
    assert c.call("sessions", "login", "app-0", {"user": "alice"}).outcome is OK


def test_a_header_rule_rejects_the_operations_own_answer() -> None:
    c, _, _ = client(shop(login_to="/login?error=1"), REGISTER_THEN_LOGIN)
    op_ = c.call("sessions", "login", "app-0", {"user": "alice"})
    # login has no rejected reading: a definite "no" read as a refusal
    assert (op_.outcome, op_.value) == (FAIL, None)


@pytest.mark.parametrize(("register", "form", "expected"), [
    (409, 200, "before.0 (POST /register): answered 409, expected 201, 302 with Location matching /^/login/"),
    (302, 200, None),
    (201, 500, "before.1 (GET /login): answered 500, expected a 2xx or 3xx"),
])
def test_a_step_not_accepted_fails_the_operation_unsent(register: int, form: int, expected: str | None) -> None:
    c, _, app = client(shop(register=register, form=form), REGISTER_THEN_LOGIN)
    op_ = c.call("sessions", "login", "app-0", {"user": "alice"})
    if expected is None:
        assert op_.outcome is OK
        return
    assert (op_.outcome, op_.value) == (FAIL, None)
    assert op_.error is not None and op_.error.startswith("StepFailed: operations.sessions.login." + expected)
    assert "the operation's own request was not sent" in op_.error
    assert "POST /login" not in app.sent()


@pytest.mark.parametrize("exc", [httpx.ReadTimeout("slow"), httpx.ConnectError("refused"),
                                 httpx.RemoteProtocolError("closed")])
def test_a_step_not_answered_fails_the_operation_even_after_an_answered_step(exc: Exception) -> None:
    """Jepsen's rule: the operation's own request was never sent, so it took no effect (steps are not
    writes any checker counts), although an earlier step was answered."""
    def app(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/register":
            return httpx.Response(201)
        raise exc

    c, _, _ = client(app, REGISTER_THEN_LOGIN)
    op_ = c.call("sessions", "login", "app-0", {"user": "alice"})
    assert op_.outcome is FAIL
    assert op_.error is not None and f"before.1 (GET /login): no answer ({type(exc).__name__}" in op_.error


def test_the_operations_own_timeout_after_steps_is_unknown() -> None:
    def app(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/login":
            raise httpx.ReadTimeout("slow")
        return shop()(request)

    c, _, _ = client(app, REGISTER_THEN_LOGIN)
    assert c.call("sessions", "login", "app-0", {"user": "alice"}).outcome is UNKNOWN


def test_a_step_extraction_finding_nothing_is_a_spec_error_naming_the_step() -> None:
    c, _, _ = client(shop(), {"sessions": {**REGISTER_THEN_LOGIN["sessions"], "login": {
        **REGISTER_THEN_LOGIN["sessions"]["login"],
        "before": [{"path": "/login", "extract": {"csrf": {"body": True, "pattern": 'name="token" value="(\\w+)"'},
                                                  "csrf_cookie": {"cookie": "csrf_cookie"}}}]}}})
    with pytest.raises(ExtractionError, match=r"field 'operations\.sessions\.login\.before\.0\.extract\.csrf': the "
                                              r"body matching .* found nothing in the 200 response to GET /login"):
        c.call("sessions", "login", "app-0", {"user": "alice"})


def test_a_step_pattern_may_use_the_operations_variables() -> None:
    page = '<a href="/u/5">bob</a><a href="/u/6">alice</a>'
    ops = {"sessions": {"login": {
        "method": "POST", "path": "/login/{uid}",
        "before": [{"path": "/users", "extract": {"uid": {"body": True, "pattern": '<a href="/u/(\\d+)">{user}</a>'}}}],
        "extract": {"token": {"json": "t"}}}, "whoami": {"path": "/me"}}}

    def app(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=page) if request.method == "GET" else httpx.Response(200, json={"t": "x"})

    c, _, sent = client(app, ops)
    assert c.call("sessions", "login", "app-0", {"user": "alice"}).outcome is OK
    assert sent.sent() == ["GET /users", "POST /login/6"]


# --- redirects -----------------------------------------------------------------------------------------


def test_redirects_are_not_followed_unless_asked() -> None:
    def app(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/notes/1":
            return httpx.Response(301, headers={"Location": "/notes/1/"})
        return httpx.Response(200, text="<p>hello</p>")

    c, _, sent = client(app, NOTES)
    op_ = c.call("records", "read", "app-0", {"id": "1"})
    assert (op_.outcome, op_.status) == (UNKNOWN, 301) and sent.sent() == ["GET /notes/1"]
    followed = {"records": {**NOTES["records"], "read": {**NOTES["records"]["read"], "follow_redirects": True}}}
    c, _, sent = client(app, followed)
    op_ = c.call("records", "read", "app-0", {"id": "1"})
    assert (op_.outcome, op_.value["data"]) == (OK, "hello")
    assert sent.sent() == ["GET /notes/1", "GET /notes/1/"]


def test_followed_redirects_keep_headers_add_cookies_and_stop_at_the_bound() -> None:
    def app(request: httpx.Request) -> httpx.Response:
        hop = int(request.url.path.rsplit("/", 1)[1])
        assert request.headers["x-app"] == "1"
        if hop < 100:
            return httpx.Response(302, headers={"Location": f"/hop/{hop + 1}", "Set-Cookie": f"c{hop}=v"})
        return httpx.Response(200)

    ops = {"records": {**NOTES["records"], "read": {"path": "/hop/{id}", "headers": {"X-App": "1"},
                                                    "follow_redirects": True, "extract": {"data": {"cookie": "c98"}}}}}
    c, _, sent = client(app, ops)
    op_ = c.call("records", "read", "app-0", {"id": "98"})  # 98 -> 99 -> 100
    assert (op_.outcome, op_.status) == (OK, 200)
    assert sent.requests[-1].headers["cookie"] == "c98=v; c99=v"
    c, _, sent = client(app, ops)
    op_ = c.call("records", "read", "app-0", {"id": "0"})
    assert len(sent.requests) == MAX_REDIRECTS + 1  # the sixth redirect is the answer itself
    assert (op_.outcome, op_.status) == (UNKNOWN, 302)


def test_a_redirect_to_another_origin_is_not_followed() -> None:
    def app(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "http://example.org/notes/1"})

    followed = {"records": {**NOTES["records"], "read": {**NOTES["records"]["read"], "follow_redirects": True}}}
    c, _, sent = client(app, followed)
    op_ = c.call("records", "read", "app-0", {"id": "1"})
    assert (op_.outcome, op_.status, len(sent.requests)) == (UNKNOWN, 302, 1)


def test_a_post_answered_303_continues_as_a_get_without_body() -> None:
    def app(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(303, headers={"Location": "http://127.0.0.1:9/notes"})
        assert request.content == b""
        return httpx.Response(200, text='<a href="/html/notes/4">n</a>')

    ops = {"records": {**NOTES["records"], "create": {
        "method": "POST", "path": "/notes", "form": {"t": "{data}"}, "follow_redirects": True,
        "extract": {"id": {"body": True, "pattern": '/html/notes/(\\d+)">{data}<'}}}}}
    c, _, sent = client(app, ops)
    assert c.call("records", "create", "app-0", {"data": "n"}).value == {"id": "4", "version": None}
    assert sent.sent() == ["POST /notes", "GET /notes"]


def test_yaml_roundtrip_of_the_briefs_forms() -> None:
    """The exact forms the docs promise parse: body extraction, header rules, steps."""
    text = """
    records:
      create:
        method: POST
        path: /html/notes
        form: {title: "{data}"}
        before:
          - {path: /html/login, extract: {csrf: {body: true, pattern: 'name="csrf" value="([^"]+)"'}}}
        accepted: [302]
        rejected: [{status: 302, header: {Location: "^/html/login"}}]
        extract: {id: {body: true, pattern: '<a href="/html/notes/(\\\\d+)">'}}
      read: {path: "/html/notes/{id}", extract: {data: {body: true, pattern: "<h1>(.*)</h1>"}}}
    """
    ops = Operations.model_validate(yaml.safe_load(text))
    create = ops.records.create  # type: ignore[union-attr]
    assert create.decide(302, httpx.Headers({"Location": "/html/login"})) == ("rejected", "rejected")
    assert create.decide(302, httpx.Headers({"Location": "/html/notes"})) == ("accepted", "")
    assert create.before[0].extract["csrf"].body is True


# --- records shown on pages: data as JSON text -------------------------------------------------------

HTML_RECORDS = {"records": {
    "create": {"method": "POST", "path": "/notes", "form": {"text": "{data}", "label": "note {data}"},
               "extract": {"id": {"body": True, "pattern": '<a href="/notes/(\\d+)">'}}},
    "read": {"path": "/notes/{id}", "rejected": {404: "not-found"},
             "extract": {"data": {"body": True, "pattern": '<pre id="text">(.*?)</pre>', "parse": "json"}}},
}}


def test_a_record_round_trips_through_a_form_and_a_page() -> None:
    import html
    import json
    from urllib.parse import parse_qs

    stored: dict[str, str] = {}

    def app(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
            stored["1"] = form["text"]
            assert form["label"] == "note " + form["text"]  # inside a longer string: JSON text too
            return httpx.Response(200, text='<a href="/notes/1">saved</a>')
        if request.url.path.removeprefix("/notes/") not in stored:
            return httpx.Response(404)
        return httpx.Response(200, text=f'<pre id="text">{html.escape(stored["1"])}</pre>')

    c, _, _ = client(app, HTML_RECORDS)
    data = {"nonce": "r-0-1", "n": 1, "tags": ["a", "<b>"]}
    created = c.call("records", "create", "app-0", {"data": data})
    assert json.loads(stored["1"]) == data  # the form field held the JSON text, not Python's repr
    read = c.call("records", "read", "app-1", {"id": created.value["id"]})
    assert (read.outcome, read.value["data"]) == (OK, data)  # unescaped (&quot;, &lt;), then parsed
    missing = c.call("records", "read", "app-1", {"id": "2"})
    assert (missing.outcome, missing.value) == (OK, {"found": False, "data": None, "version": None})


def test_text_that_is_not_json_is_nothing_found() -> None:
    how = Extraction.model_validate({"body": True, "pattern": "<pre>(.*)</pre>", "parse": "json"})
    from harness.operations import MISSING as _MISSING
    assert extract(httpx.Response(200, text="<pre>{'n': 1}</pre>"), how) is _MISSING
    assert extract(httpx.Response(200, text="<pre>[1, &quot;x&quot;]</pre>"), how) == [1, "x"]
    assert Extraction.model_validate({"header": "X-Data", "parse": "json"}).describe() == "header 'X-Data', read as JSON"


def test_parse_accepts_json_only(tmp_path: Path) -> None:
    text = refused(tmp_path, LOGIN + "      extract: {token: {cookie: sid, parse: yaml}}\n")
    assert "operations.sessions.login.extract.token.parse" in text and "'json'" in text


def test_a_list_of_plain_values_in_a_form_stays_repeated_fields() -> None:
    from harness.spec_adapter import build_request

    request = build_request(HttpOperation.model_validate({"path": "/x", "form": {"a": ["1", "2"], "d": "{data}"}}),
                            {"data": {"k": [1]}})
    assert request["data"] == {"a": ["1", "2"], "d": '{"k": [1]}'}
