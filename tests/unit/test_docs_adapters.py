"""docs/adapters.md holds: every YAML block is a valid spec, and each worked example's YAML and
Python forms give the same outcomes and values against the same small app.

The apps are ``httpx.MockTransport`` handlers (the thing checked is the docs' specs and
adapters as the harness reads them, not an app).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest
import yaml

from harness.adapter import Adapter
from harness.client import Client
from harness.history import History, Operation, Outcome
from harness.spec import load_spec
from harness.spec_adapter import make_adapter

DOC = Path(__file__).resolve().parents[2] / "docs" / "adapters.md"
Handler = Callable[[httpx.Request], httpx.Response]


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.S)


def spec_of(block: str, tmp_path: Path, name: str) -> Any:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\napp: {{image: i}}\n" + block)
    return load_spec(path)


def test_the_docs_have_both_examples_in_both_forms() -> None:
    assert len(blocks("yaml")) == 2 and len(blocks("python")) == 2
    readme = (DOC.parents[1] / "README.md").read_text()
    assert "docs/adapters.md" in readme


@pytest.mark.parametrize("index", [0, 1])
def test_every_yaml_block_is_a_valid_spec(index: int, tmp_path: Path) -> None:
    spec = spec_of(blocks("yaml")[index], tmp_path, f"block{index}")
    assert spec.operations.sessions.login.before  # each example uses a setup step
    assert yaml.safe_load(blocks("yaml")[index])["operations"]


def python_adapter(index: int) -> Adapter:
    scope: dict[str, Any] = {}
    exec(compile(blocks("python")[index], f"{DOC}:python-{index}", "exec"), scope)  # noqa: S102 - our own docs
    [cls] = [v for k, v in scope.items() if isinstance(v, type) and issubclass(v, Adapter) and v is not Adapter]
    return cls()


class Site:
    """The small app both examples describe: form logins redirecting, a page saying who is signed in."""

    def __init__(self, csrf: bool, register_status: int = 302, form_status: int = 200) -> None:
        self.csrf, self.register_status, self.form_status = csrf, register_status, form_status
        self.users: set[str] = set()
        self.sessions: dict[str, str] = {}
        self.sent: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.sent.append(f"{request.method} {request.url.path}")
        form = dict(httpx.QueryParams(request.content.decode()))
        cookies = dict(part.split("=", 1) for part in request.headers.get("cookie", "").split("; ") if "=" in part)
        path, home = request.url.path, "/" if self.csrf else "/notes"
        if path == "/register" and request.method == "POST":
            if self.register_status != 302:
                return httpx.Response(self.register_status)
            self.users.add(form["username"])
            return httpx.Response(302, headers={"Location": "/login"})
        if path == "/login" and request.method == "GET":
            if self.form_status != 200:
                return httpx.Response(self.form_status)
            return httpx.Response(200, text='<input type="hidden" name="csrf_token" value="t-9">',
                                  headers={"Set-Cookie": "csrf=c-9; HttpOnly"})
        if path == "/login":
            known = form["username"] in self.users or self.csrf
            csrf_ok = not self.csrf or (form.get("csrf_token") == "t-9" and cookies.get("csrf") == "c-9")
            if not (known and csrf_ok and form["password"] == f"pw-{form['username']}"):
                return httpx.Response(302, headers={"Location": "/login?error=1"})
            token = f"s-{len(self.sessions)}"
            self.sessions[token] = form["username"]
            return httpx.Response(302, headers={"Location": home, "Set-Cookie": f"session={token}; Path=/"})
        if path in ("/account", "/notes"):
            user = self.sessions.get(cookies.get("session", ""))
            if user is None:
                return httpx.Response(302, headers={"Location": "/login"})
            page = f"Signed in as <b>{user}</b>" if self.csrf else f'<p class="user">{user}</p>'
            return httpx.Response(200, text=page)
        return httpx.Response(404)


class Fixed:
    def endpoint(self, replica: str) -> str:
        return "http://127.0.0.1:9"


def session_ops(adapter: Adapter, site: Site) -> list[Operation]:
    """Log alice in, ask who she is, and ask with a token nobody issued."""
    history = History()
    with Client(Fixed(), history, transport=httpx.MockTransport(site), adapter=adapter) as client:
        login = client.call("sessions", "login", "app-0", {"user": "alice"})
        token = login.value["token"] if login.outcome is Outcome.OK else "none"
        client.call("sessions", "whoami", "app-0", {"token": token})
        client.call("sessions", "whoami", "app-0", {"token": "forged"})
    return history.operations()


def reading(ops: list[Operation]) -> list[tuple[Outcome, Any]]:
    """What the checkers read: outcome and value, keys with None left out (a Python reply may omit them)."""
    return [(op.outcome, {k: v for k, v in op.value.items() if v is not None} if isinstance(op.value, dict)
             else op.value) for op in ops]


@pytest.mark.parametrize("index", [0, 1])
def test_yaml_and_python_forms_read_the_app_alike(index: int, tmp_path: Path) -> None:
    yaml_ops = session_ops(make_adapter(spec_of(blocks("yaml")[index], tmp_path, "doc")), Site(csrf=index == 0))
    python_ops = session_ops(python_adapter(index), Site(csrf=index == 0))
    assert reading(yaml_ops) == reading(python_ops)
    login, me, forged = yaml_ops
    assert (login.outcome, login.value["user"], login.value["token"]) == (Outcome.OK, "alice", "s-0")
    assert python_ops[0].value["user"] == "alice"  # filled in from the variables, as for YAML
    assert (me.outcome, me.value) == (Outcome.OK, {"accepted": True, "user": "alice"})
    assert (forged.outcome, forged.value["accepted"]) == (Outcome.OK, False)


@pytest.mark.parametrize(("index", "site"), [(0, Site(csrf=True, form_status=500)),
                                            (1, Site(csrf=False, register_status=500))])
def test_a_failed_step_fails_the_login_in_both_forms(index: int, site: Site, tmp_path: Path) -> None:
    yaml_login = session_ops(make_adapter(spec_of(blocks("yaml")[index], tmp_path, "doc")), site)[0]
    assert yaml_login.outcome is Outcome.FAIL and "StepFailed" in (yaml_login.error or "")
    assert "POST /login" not in site.sent
    python_login = session_ops(python_adapter(index), site)[0]
    assert python_login.outcome is Outcome.FAIL and "StepFailed" in (python_login.error or "")
