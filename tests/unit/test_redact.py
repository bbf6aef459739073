"""Redaction: secrets are found by key, replaced everywhere by stable pseudonyms, and a
redacted history is judged exactly like the original."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from harness.checkers.expiry import check_session_expiry
from harness.checkers.sessions import check_sessions
from harness.history import History, Outcome
from harness.redaction import PSEUDONYM, Redactor, is_secret_key, pseudonym
from harness.spec import spec_secrets
from tests.unit.histories import OK, UNKNOWN, HistoryBuilder

TOKEN = "tok-Zq8vN3xWb1Lr7KpT2sYd"
OTHER = "tok-Hm4cRf9aEo6GuJ0iVnQw"


def _sessions() -> History:
    """A lost session (TOKEN) and a kept one (OTHER), with the token also inside free text."""
    b = HistoryBuilder("sessions")
    b.op("login", "app-0", OK, {"user": "alice"}, {"token": TOKEN, "user": "alice", "expires_at": None})
    b.op("login", "app-1", OK, {"user": "bob"}, {"token": OTHER, "user": "bob", "expires_at": None})
    b.fault("crash", "app-0")
    b.op("whoami", "app-0", OK, {"token": TOKEN}, {"accepted": False}, status=401, phase="final")
    b.op("whoami", "app-1", OK, {"token": OTHER}, {"accepted": True, "user": "bob"}, phase="final")
    b.history.record_op(kind="sessions", name="whoami", replica="app-1", start=b.t, end=b.t + 1.0, outcome=UNKNOWN,
                        args={"token": OTHER}, error=f"ReadTimeout after Bearer {OTHER}", phase="final")
    return b.history


def test_pseudonym_is_stable_short_and_shows_nothing_of_the_secret() -> None:
    assert pseudonym(TOKEN) == pseudonym(TOKEN) != pseudonym(OTHER)
    assert PSEUDONYM.fullmatch(pseudonym(TOKEN))
    assert TOKEN[:4] not in pseudonym(TOKEN) and TOKEN[-6:] not in pseudonym(TOKEN)


def test_secret_keys_are_recognised_in_their_usual_spellings() -> None:
    for key in ("token", "access_token", "accessToken", "password", "DB_PASSWORD", "client_secret", "Authorization",
                "cookie", "Set-Cookie", "api_key", "apiKey", "X-Api-Key", "session", "session_id", "sessionId"):
        assert is_secret_key(key), key
    for key in ("user", "key", "sessions", "expires_at", "replica", "monkey", "id"):
        assert not is_secret_key(key), key


def test_collects_nested_secrets_and_header_credentials() -> None:
    r = Redactor().collect({"a": [{"deep": {"session": "sessvalue-12345"}}],
                            "Authorization": "Bearer bearer-credential-1",
                            "Set-Cookie": "sid=cookie-value-9876; Path=/; HttpOnly", "user": "not-a-secret-at-all"})
    text = r.text("saw bearer-credential-1, cookie-value-9876, sessvalue-12345 and not-a-secret-at-all")
    assert "bearer-credential-1" not in text and "cookie-value-9876" not in text and "sessvalue-12345" not in text
    assert "not-a-secret-at-all" in text
    assert pseudonym("cookie-value-9876") in text


def test_redacts_everywhere_in_nested_data_including_keys() -> None:
    r = Redactor(["explicit-password-1"])
    data = {"message": "login with explicit-password-1 failed", "evidence": {"seen": ["x explicit-password-1 y"]},
            "explicit-password-1": 1, "token": "short", "n": 3, "ok": None}
    red = r.value(data)
    assert "explicit-password-1" not in json.dumps(red)
    assert red["token"] == pseudonym("short")  # a secret-named key hides its value whatever its length
    assert red["n"] == 3 and red["ok"] is None


def test_short_secrets_never_rewrite_ordinary_text() -> None:
    r = Redactor(["app"])  # the default postgres password
    assert r.text("acknowledged by app-0") == "acknowledged by app-0"
    assert r.value({"password": "app"}) == {"password": pseudonym("app")}
    assert r.too_short == 1


def test_redacting_twice_changes_nothing() -> None:
    r = Redactor(["secret", "a-long-secret-value"]).collect_history(_sessions())
    once = r.value({"m": f"secret a-long-secret-value {TOKEN}", "token": TOKEN})
    again = Redactor(["secret", "a-long-secret-value"]).collect(once)  # a re-render learns pseudonyms: ignored
    assert again.value(once) == once
    assert r.value(once) == once


def test_the_longest_secret_wins_when_one_contains_another() -> None:
    r = Redactor(["abcdefgh", "abcdefgh-ijkl"])
    assert r.text("abcdefgh-ijkl") == pseudonym("abcdefgh-ijkl")


def test_redacted_history_keeps_no_secret_and_gets_the_same_verdict(tmp_path: Path) -> None:
    history = _sessions()
    redactor = Redactor().collect_history(history)
    redacted = redactor.history(history)
    path = tmp_path / "h.jsonl"
    redacted.to_jsonl(path)
    raw = path.read_text()
    assert TOKEN not in raw and OTHER not in raw and "tok-" not in raw
    again = History.from_jsonl(path)
    before, after = check_sessions(history), check_sessions(again)
    assert before.validity == after.validity and before.stats == after.stats
    assert [v.message for v in before.violations] == [v.message for v in after.violations]
    assert [v.op_ids for v in before.violations] == [v.op_ids for v in after.violations]
    assert pseudonym(TOKEN) in before.violations[0].message  # the checker names the token as the history does
    assert again.operations()[0].outcome is Outcome.OK and again.operations()[0].replica == "app-0"


def test_checker_messages_carry_no_part_of_a_token() -> None:
    b = HistoryBuilder("sessions")
    b.op("login", "app-0", OK, {"user": "alice"}, {"token": TOKEN, "user": "alice", "expires_at": b.t + 0.5})
    b.wait(2.0)
    b.op("whoami", "app-1", OK, {"token": TOKEN}, {"accepted": True}, phase="final")
    for verdict in (check_session_expiry(b.history), check_sessions(b.history)):
        for v in verdict.violations:
            assert TOKEN[:6] not in v.message, v.message


def test_spec_secrets_are_the_postgres_password_and_secret_named_env() -> None:
    spec = SimpleNamespace(
        dependencies=SimpleNamespace(postgres=SimpleNamespace(password="pg-pass-42"), services={}),
        app=SimpleNamespace(env={"STORAGE": "durable", "APP_SECRET_KEY": "s3cr3t-key-value", "API_TOKEN": "tkn-123456",
                                 "DB_PASSWORD": "{postgres.password}", "DATABASE_URL": "{postgres.url}"}))
    assert sorted(spec_secrets(spec)) == ["pg-pass-42", "s3cr3t-key-value", "tkn-123456"]  # type: ignore[arg-type]
    assert spec_secrets(None) == []
    spec.dependencies.postgres = None
    assert sorted(spec_secrets(spec)) == ["s3cr3t-key-value", "tkn-123456"]  # type: ignore[arg-type]


def test_many_tokens_redact_fast() -> None:
    import time

    tokens = [f"tok-{i:06d}-{'x' * 30}" for i in range(3000)]
    r = Redactor(tokens)
    text = " ".join(f"read {t} on app-1" for t in tokens)
    started = time.monotonic()
    out = r.text(text)
    assert time.monotonic() - started < 10
    assert "tok-" not in out and out.count("‹secret:") == 3000


def test_assert_pass_prints_no_secret() -> None:
    """The terminal is a report too: the failure text pytest prints is redacted."""
    import pytest

    from harness.checkers.base import Validity, Verdict, merge
    from harness.plugin import Harness
    from harness.run import Result

    history = _sessions()
    verdict = merge([check_sessions(history),
                     Verdict("extra", Validity.FAIL, notes=(f"raw {TOKEN} and pg-password-99 in a note",))])
    harness = object.__new__(Harness)
    harness.spec = SimpleNamespace(source="spec.yaml", app=SimpleNamespace(env={}),  # type: ignore[assignment]
                                   dependencies=SimpleNamespace(postgres=SimpleNamespace(password="pg-password-99"), services={}))
    harness.seed = 3
    harness._node = SimpleNamespace(nodeid="scenarios/test_x.py::test_y")  # type: ignore[assignment]
    with pytest.raises(pytest.fail.Exception) as failed:
        harness.assert_pass(Result("s", "t", verdict, history, 2))
    text = str(failed.value)
    assert TOKEN not in text and "pg-password-99" not in text
    assert pseudonym(TOKEN) in text and "--seed 3" in text


def test_spec_secrets_include_service_env_and_url_passwords(tmp_path: Path) -> None:
    from harness.spec import load_spec

    (tmp_path / "docker-compose.yml").write_text(
        "services:\n"
        "  web:\n    image: web:1\n    environment:\n"
        "      DATABASE_URL: postgresql://shop:s3cret-url-pw@db:5432/shop\n"
        "  db:\n    image: db:1\n    environment: {POSTGRES_PASSWORD: db-password-123, POSTGRES_USER: shop}\n")
    (tmp_path / "t.yaml").write_text(
        "name: t\ncompose: {file: docker-compose.yml, service: web}\n"
        "operations: {rate_limit: {hit: {path: /x}, limit: 1, window: 1}}\n")
    found = spec_secrets(load_spec(tmp_path / "t.yaml"))
    assert "s3cret-url-pw" in found and "db-password-123" in found
    assert "shop" not in found  # a user name is not a secret
