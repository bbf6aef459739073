"""check-spec shows what will be sent, placeholders filled in per backend, secrets masked by value
as well as by name, plain settings readable."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from harness.redaction import pseudonym
from harness.report.spec_summary import expand, placeholder_values, spec_tree
from harness.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]

SPEC = """\
name: t
app:
  image: harness-refapp:latest
  env:
    SECRET_KEY_MODE: random
    DB_PASS: hunter2x
    STRIPE_WEBHOOK_SIGNING: whsec_abcdefghijklmnop1234
    SENTRY_DSN: https://0123456789abcdef0123456789abcdef@o1.ingest.sentry.io/1
    CACHE_URL: redis://:Redis-pw-991@cache:6379/0
    DB_PASSWORD: "{postgres.password}"
    DATABASE_URL: "{postgres.url}"
    REDIS_URL: "{redis.url}"
dependencies:
  postgres: {password: pg-secret-1}
  redis: {}
operations:
  sessions:
    login:
      method: POST
      path: /login
      query: {tenant: acme}
      json: {user: "{user}", password: letmein-123}
      extract: {token: {json: token}}
    whoami:
      path: /me
      headers: {Authorization: "Bearer {token}", X-Client-Id: cli-7, X-Api-Key: sk_live_4eC39HqLyjWDarjtT1zdp7dc}
      cookies: {sid: "{token}"}
"""


def shown(tmp_path: Path, backend: str = "docker") -> str:
    path = tmp_path / "t.yaml"
    path.write_text(SPEC)
    out = io.StringIO()
    Console(file=out, width=300, color_system=None).print(spec_tree(load_spec(path), backend=backend))
    return out.getvalue()


def test_every_part_of_every_request_is_shown(tmp_path: Path) -> None:
    text = shown(tmp_path)
    assert "query: tenant=acme" in text
    assert "headers: Authorization: Bearer {token}, X-Client-Id: cli-7" in text  # a typo here would be visible
    assert "cookies: sid={token}" in text
    assert '"user": "{user}"' in text


def test_secrets_are_masked_by_value_and_plain_settings_are_not(tmp_path: Path) -> None:
    text = shown(tmp_path)
    for secret in ("hunter2x", "whsec_abcdefghijklmnop1234", "0123456789abcdef0123456789abcdef", "Redis-pw-991",
                   "pg-secret-1", "letmein-123", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"):
        assert secret not in text, secret
    assert "SECRET_KEY_MODE=random" in text
    assert f"X-Api-Key: {pseudonym('sk_live_4eC39HqLyjWDarjtT1zdp7dc')}" in text  # the pseudonym reports use
    assert f"CACHE_URL=redis://:{pseudonym('Redis-pw-991')}@cache:6379/0" in text


def test_placeholders_are_shown_with_their_docker_values(tmp_path: Path) -> None:
    text = shown(tmp_path)
    assert (f"DATABASE_URL=postgresql://app:{pseudonym('pg-secret-1')}@postgres:5432/app  (from {{postgres.url}})"
            in text)
    assert "REDIS_URL=redis://redis:6379/0  (from {redis.url})" in text
    assert f"DB_PASSWORD={pseudonym('pg-secret-1')}  (from {{postgres.password}})" in text


def test_placeholders_are_shown_with_their_local_values(tmp_path: Path) -> None:
    text = shown(tmp_path, backend="local")
    assert "environment (as on the local backend)" in text
    assert "REDIS_URL=redis://127.0.0.1:‹picked at start›/0" in text


def test_every_placeholder_expands_on_both_backends(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(SPEC)
    spec = load_spec(path)
    for backend in ("docker", "local"):
        values = placeholder_values(spec, backend)
        for name, fields in (("postgres", ("url", "host", "port", "user", "password", "database")),
                             ("redis", ("url", "host", "port"))):
            for field in fields:
                assert "{" not in expand(f"{{{name}.{field}}}", values), (backend, name, field)
    assert expand("{postgres.user}/{postgres.database}", placeholder_values(spec, "docker")) == "app/app"


def test_an_image_neither_present_nor_buildable_is_warned_about(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.backends.docker as docker_backend
    from harness.errors import EngineUnavailable
    from harness.report.spec_summary import image_warnings

    def no_engine() -> None:
        raise EngineUnavailable("no engine here")

    monkeypatch.setattr(docker_backend, "docker_client", no_engine)
    path = tmp_path / "t.yaml"
    path.write_text(SPEC.replace("harness-refapp:latest", "nosuch/app:1"))
    warnings = image_warnings(load_spec(path))
    assert list(warnings) == ["nosuch/app:1"]  # harness-postgres and harness-redis are buildable
    assert "not buildable by `harness images`" in warnings["nosuch/app:1"]
    out = io.StringIO()
    Console(file=out, width=300, color_system=None).print(spec_tree(load_spec(path), images=warnings))
    assert "warning: image nosuch/app:1: not buildable" in out.getvalue()
    built = ROOT / "targets" / "refapp" / "durable.yaml"
    assert image_warnings(load_spec(built)) == {}  # built from app.build


HTML_SPEC = """\
name: notes
app: {image: harness-refapp:latest}
operations:
  sessions:
    login:
      before:
        - {method: POST, path: /register, form: {username: "{user}", password: "pw-{user}"},
           accepted: [{status: 302, header: {Location: "^/login"}}]}
        - path: /login
          extract: {csrf: {body: true, pattern: 'name="csrf" value="([^"]+)"'}}
      method: POST
      path: /login
      form: {username: "{user}", csrf: "{csrf}"}
      accepted: [{status: 302, header: {Location: "^/notes"}}]
      rejected: [{status: 302, header: {Location: "^/login"}}]
      follow_redirects: false
      extract: {token: {cookie: session}}
    whoami:
      path: /notes
      cookies: {session: "{token}"}
      follow_redirects: true
      rejected: [401, {status: 302, header: {Location: "^/login"}, reason: logged-out}]
"""


def test_steps_body_extractions_and_header_rules_are_shown(tmp_path: Path) -> None:
    path = tmp_path / "notes.yaml"
    path.write_text(HTML_SPEC)
    out = io.StringIO()
    Console(file=out, width=300, color_system=None).print(spec_tree(load_spec(path)))
    text = out.getvalue()
    assert ("before 1: POST /register with form body; accepted [302 with Location matching /^/login/]; "
            "redirects not followed") in text
    assert 'form body: {"username": "{user}", "password": "pw-{user}"}' in text
    assert ("before 2: GET /login; accepted [any 2xx or 3xx]; redirects not followed; extracts csrf from the body "
            'matching /name="csrf" value="([^"]+)"/') in text
    assert ("login: POST /login with form body; accepted [302 with Location matching /^/notes/]; rejected 302 with "
            "Location matching /^/login/; rules with headers decide first; redirects not followed; extracts token "
            "from cookie 'session'") in text
    assert ("whoami: GET /notes; accepted [200, 201, 204]; rejected 401, 302 with Location matching /^/login/ "
            "(logged-out); rules with headers decide first; redirects followed (at most 5, same origin)") in text
    # steps come before the operation's own request parts
    assert text.index("before 1:") < text.index("before 2:") < text.index('form body: {"username": "{user}", "csrf"')
