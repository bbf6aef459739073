"""Secrets found by value, not only by key: passwords in URLs, secret-named assignments, token
shapes and high-entropy strings are masked wherever they appear; plain words and the harness's
own names are not. Error texts and saved histories are redacted before anything shows them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import DeploymentError, ReadinessTimeout, SpecError
from harness.history import History, Outcome
from harness.redaction import Redactor, is_secret_name, looks_random, mask_shapes, pseudonym, remember, scrub, secrets_in_env, shaped_secrets

PLANTED = {
    "url password": ("DATABASE_URL=postgresql://app:Pg-pass-7781@postgres:5432/app", "Pg-pass-7781"),
    "redis url": ("redis://:r3dis-pw-x@redis:6379/0", "r3dis-pw-x"),
    "sentry dsn": ("https://0123456789abcdef0123456789abcdef@o1.ingest.sentry.io/1", "0123456789abcdef0123456789abcdef"),
    "stripe": ("charging with sk_live_4eC39HqLyjWDarjtT1zdp7dc now", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    "jwt": ("Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"),
    "aws": ("key AKIAIOSFODNN7EXAMPLE used", "AKIAIOSFODNN7EXAMPLE"),
    "github": ("ghp_16C7e42F292c6912E7710c838347Ae178B4a in env", "ghp_16C7e42F292c6912E7710c838347Ae178B4a"),
    "assignment": ("API_KEY=abc-123-def", "abc-123-def"),
    "short known-named": ("DB_PASS=hunter2", "hunter2"),
    "json field": ('{"client_secret": "two words here"}', "two words here"),
    "header": ("Authorization: Bearer opaque.token-42", "opaque.token-42"),
    "high entropy": ("session Zq8vN3xWb1Lr7KpT2sYdQ9mA restored", "Zq8vN3xWb1Lr7KpT2sYdQ9mA"),
    "dotted name": ("spring.datasource.password=s3cret!", "s3cret!"),
}


@pytest.mark.parametrize("case", sorted(PLANTED))
def test_each_secret_shape_is_masked_by_its_pseudonym(case: str) -> None:
    text, secret = PLANTED[case]
    masked = mask_shapes(text)
    assert secret not in masked, masked
    assert pseudonym(secret) in masked
    assert secret in shaped_secrets(text)


@pytest.mark.parametrize("text", [
    "SECRET_KEY_MODE=random", "STORAGE=durable", "token_type: bearer", "SESSION_COOKIE_NAME=sid",
    "replica app-0 of refapp-durable exited with code 2", "/work/main/runs/20261129-130000/x.history.jsonl",
    "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "container 3f2a9c01b7de6a5f4e3d2c1b0a9f8e7d6c5b4a39", "ReadinessTimeoutAfterThirtySeconds2",
    "field 'operations.sessions.login.extract.token': give exactly one of 'json'",
    "uuid 123e4567-e89b-12d3-a456-426614174000", "postgresql://app@postgres:5432/app",
    "TOKEN_URL=https://auth.example/token", "‹secret:3f2a9c01b7de› stays",
])
def test_plain_text_and_the_harness_names_are_left_alone(text: str) -> None:
    assert mask_shapes(text) == text


def test_env_names_that_describe_a_secret_are_not_secrets() -> None:
    assert all(map(is_secret_name, ["API_KEY", "DB_PASS", "SENTRY_DSN", "STRIPE_WEBHOOK_SIGNING", "DB_PASSWORD",
                                    "SECRET_KEY", "GITHUB_TOKEN", "jwtSecret"]))
    assert not any(map(is_secret_name, ["SECRET_KEY_MODE", "STORAGE", "KEY_PREFIX", "MONKEY", "TOKEN_URL",
                                         "SESSION_TTL", "RATE_LIMITER"]))
    assert secrets_in_env({"SECRET_KEY_MODE": "random", "API_KEY": "k-1"}) == ["k-1"]


def test_random_looking_means_random() -> None:
    assert looks_random("Zq8vN3xWb1Lr7KpT2sYdQ9mA")
    assert not looks_random("ThisIsAVeryLongName1234")  # camel words change class rarely
    assert not looks_random("deadbeefdeadbeefdeadbeefdeadbeef")  # hex: digests, ids


def test_masking_twice_changes_nothing() -> None:
    text = " ".join(t for t, _ in PLANTED.values())
    once = Redactor(["known-secret-1"]).text(text + " known-secret-1")
    assert Redactor(["known-secret-1"]).text(once) == once


def test_a_known_short_secret_is_masked_as_a_value_but_not_inside_words() -> None:
    r = Redactor(["app"])
    assert r.text("DB_PASSWORD=app on app-0") == f"DB_PASSWORD={pseudonym('app')} on app-0"


def test_scrub_knows_what_was_remembered() -> None:
    remember("remembered-secret-77")
    assert "remembered-secret-77" not in scrub("log: saw remembered-secret-77")
    assert "one-off-secret-88" not in scrub("x one-off-secret-88", extra=["one-off-secret-88"])


def test_error_texts_and_replica_logs_are_scrubbed() -> None:
    remember("app")  # the default postgres password, as load_spec remembers it
    logs = ("API_KEY=sk_live_4eC39HqLyjWDarjtT1zdp7dc\nDB_PASSWORD=app\n"
            "DATABASE_URL=postgresql://app:Pg-pass-7781@postgres:5432/app\nSECRET_KEY_MODE=random")
    error = DeploymentError("replica app-0 exited with code 1 before it became ready", logs)
    for text in (str(error), repr(error), error.logs):
        assert "sk_live_4eC39HqLyjWDarjtT1zdp7dc" not in text and "Pg-pass-7781" not in text
        assert "DB_PASSWORD=app" not in text
        assert "SECRET_KEY_MODE=random" in text
    assert "exited with code 1" in str(error)
    timeout = ReadinessTimeout("not ready (last answer: HTTP 500: token=Zq8vN3xWb1Lr7KpT2sYdQ9mA)")
    assert "Zq8vN3xWb1Lr7KpT2sYdQ9mA" not in str(timeout)
    assert "Zq8vN3xWb1Lr7KpT2sYdQ9mA" not in str(SpecError("got token Zq8vN3xWb1Lr7KpT2sYdQ9mA"))


def test_spec_secrets_include_shaped_values_under_any_name() -> None:
    from types import SimpleNamespace

    from harness.spec import spec_secrets

    spec = SimpleNamespace(dependencies=SimpleNamespace(postgres=None, services={}),
                           app=SimpleNamespace(env={"STRIPE": "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "MODE": "random",
                                                    "SENTRY_DSN": "https://abc@sentry.io/1"}))
    found = spec_secrets(spec)  # type: ignore[arg-type]
    assert "sk_live_4eC39HqLyjWDarjtT1zdp7dc" in found and "https://abc@sentry.io/1" in found
    assert "random" not in found


def test_a_saved_history_is_redacted_as_it_is_written(tmp_path: Path) -> None:
    from harness.checkers.base import Validity, Verdict
    from harness.run import Result, save

    history = History()
    token = "tok-Zq8vN3xWb1Lr7KpT2sYd"
    history.record_op(kind="sessions", name="login", replica="app-0", start=1.0, end=2.0, outcome=Outcome.OK,
                      args={"user": "u"}, value={"token": token})
    history.record_op(kind="sessions", name="whoami", replica="app-0", start=3.0, end=4.0, outcome=Outcome.UNKNOWN,
                      args={"token": token}, error=f"ReadTimeout for {token}; DB_PASSWORD=hunter22")
    verdict = Verdict("sessions", Validity.FAIL, notes=(f"raw {token}",))
    path = save(Result("s", "t", verdict, history, 2), tmp_path, "slug")
    for file in tmp_path.iterdir():
        text = file.read_text()
        assert token not in text and "hunter22" not in text, file.name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["slug.history.jsonl", "slug.verdict.json"]  # no .tmp
    assert History.from_jsonl(path).operations()[1].args["token"] == pseudonym(token)


def test_the_report_step_redacts_every_file_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    from harness.report.folder import write_reports

    token = "tok-Hm4cRf9aEo6GuJ0iVnQw"
    history = tmp_path / "a.history.jsonl"
    line = {"type": "op", "id": 0, "kind": "sessions", "name": "login", "replica": "app-0", "start": 1.0, "end": 2.0,
            "outcome": "ok", "args": {"user": "u"}, "value": {"token": token}, "status": 200, "error": None,
            "phase": "main"}
    history.write_text(json.dumps(line) + "\n")
    (tmp_path / "verdicts.json").write_text(json.dumps([{"nodeid": "t::a", "scenario": "a", "target": "t",
                                                         "valid": "pass", "history": history.name}]))
    load = tmp_path / "a.load"
    load.mkdir()
    (load / "locust.log").write_text(f"GET /me with Bearer {token}\napi_key=sk_live_4eC39HqLyjWDarjtT1zdp7dc\n")
    (load / "locust.html").write_text(f"<p>{token}</p><style>src:url(data:font/woff2;base64,d09GMgABAAAAAE3kAA0AAAAAq)</style>")
    (tmp_path / ".a.history.jsonl.tmp").write_text("")  # a killed report step's leftover
    write_reports(tmp_path)
    for file in tmp_path.rglob("*"):
        if file.is_file():
            assert token not in file.read_text() and "sk_live_4eC39HqLyjWDarjtT1zdp7dc" not in file.read_text(), file
    assert not list(tmp_path.rglob("*.tmp"))
    assert "d09GMgABAAAAAE3kAA0AAAAAq" in (load / "locust.html").read_text()  # a page's fonts are not secrets
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.jsonl")}
    write_reports(tmp_path)  # already redacted: histories are not rewritten
    assert before == {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.jsonl")}
