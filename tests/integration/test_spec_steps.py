"""Setup steps and status rules with headers against the real reference app (its JSON routes).

One replica of the reference app in memory mode, as a local process: a login whose setup
steps log another user in and out first (the second step's request carries the first
step's token, the login carries a value read by a step), a whoami decided by a rule on a
response header (and the same 401 undeclared when the rule does not match), and a login
whose step is refused, so the login itself is never sent.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from harness.backends.local import LocalDeployment
from harness.client import Client
from harness.history import History, Outcome
from harness.spec import TargetSpec, load_spec
from harness.spec_adapter import make_adapter

REFAPP = Path(__file__).resolve().parents[2] / "targets" / "refapp"
pytestmark = pytest.mark.local

SPEC = f"""\
extends: {REFAPP / "memory.yaml"}
name: refapp-steps
operations:
  sessions:
    login:
      before:
        - method: POST
          path: /sessions/login
          json: {{user: "pre-{{user}}"}}
          accepted: [200]
          extract: {{pre_token: {{json: token}}, pre_user: {{json: user}}}}
        - method: POST
          path: /sessions/logout
          headers: {{Authorization: "Bearer {{pre_token}}"}}
          accepted: [{{status: 200, header: {{content-type: "^application/json"}}}}]
      json: {{user: "{{pre_user}}-then-{{user}}"}}
    whoami:
      extract: {{user: {{json: user}}}}
      rejected: [{{status: 401, header: {{content-type: "{{type}}"}}}}]
"""


def spec(tmp_path: Path, content_type: str, name: str) -> TargetSpec:
    path = tmp_path / f"{name}.yaml"
    path.write_text(SPEC.replace('"{type}"', f'"{content_type}"'))
    return load_spec(path)


@pytest.fixture(scope="module", autouse=True)
def refapp_importable() -> None:
    """The local backend runs the reference app with this interpreter: its packages must be here."""
    missing = [m for m in ("fastapi", "uvicorn") if subprocess.run([sys.executable, "-c", f"import {m}"],
                                                                   capture_output=True).returncode]
    if missing:
        message = f"the reference app's packages are not installed ({', '.join(missing)}): pip install -e '.[dev]'"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalDeployment]:
    base = spec(tmp_path_factory.mktemp("steps"), "^application/json", "deploy")
    with LocalDeployment(base, replicas=1, history=History(), dependencies="embedded") as up:
        yield up


def client_for(deployment: LocalDeployment, target: TargetSpec) -> Client:
    return Client(deployment, deployment.history, adapter=make_adapter(target))


def test_steps_run_first_and_feed_the_login_and_a_header_rule_reads_the_401(
        deployment: LocalDeployment, tmp_path: Path) -> None:
    with client_for(deployment, spec(tmp_path, "^application/json", "json")) as client:
        login = client.call("sessions", "login", "app-0", {"user": "alice"})
        assert (login.outcome, login.status, login.error) == (Outcome.OK, 200, None), login
        assert login.value["user"] == "alice" and login.args == {"user": "alice"}
        me = client.call("sessions", "whoami", "app-0", {"token": login.value["token"]})
        # the app saw the name built from the first step's answer
        assert (me.outcome, me.value) == (Outcome.OK, {"accepted": True, "user": "pre-alice-then-alice"})
        forged = client.call("sessions", "whoami", "app-0", {"token": "forged"})
        assert (forged.outcome, forged.status, forged.value) == (Outcome.OK, 401, {"accepted": False})


def test_a_401_the_rule_does_not_match_is_undeclared(deployment: LocalDeployment, tmp_path: Path) -> None:
    with client_for(deployment, spec(tmp_path, "^text/html", "html")) as client:
        forged = client.call("sessions", "whoami", "app-0", {"token": "forged"})
        assert (forged.outcome, forged.status, forged.value) == (Outcome.FAIL, 401, None)


def test_a_refused_step_fails_the_login_unsent(deployment: LocalDeployment, tmp_path: Path) -> None:
    target = spec(tmp_path, "^application/json", "refused")
    step = target.operations.sessions.login.before[1]  # type: ignore[union-attr]
    step.headers = {"Authorization": "Bearer not-{pre_token}"}  # logs out a token nobody has: 401
    with client_for(deployment, target) as client:
        before = len(deployment.history.operations())
        login = client.call("sessions", "login", "app-0", {"user": "bob"})
        assert (login.outcome, login.status, login.value) == (Outcome.FAIL, 401, None)
        assert login.error is not None and login.error.startswith(
            "StepFailed: operations.sessions.login.before.1 (POST /sessions/logout): answered 401")
        assert len(deployment.history.operations()) == before + 1  # one operation, steps inside it
