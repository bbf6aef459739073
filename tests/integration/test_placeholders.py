"""Every documented placeholder reaches the app, with its value, on every backend.

A tiny app (the standard library's HTTP server, run by the reference app's image or by this
interpreter) answers every GET with the ``P_*`` variables it was started with; one
deployment per backend, one test per placeholder.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from harness.history import History
from harness.spec import TargetSpec, load_spec

ECHO_ENV = """\
import http.server, json, os, sys
local = len(sys.argv) > 1
class Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({k: v for k, v in os.environ.items() if k.startswith("P_")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1" if local else "0.0.0.0", int(sys.argv[1]) if local else 8000), Echo)
server.serve_forever()
"""

#: placeholder -> the variable that carries it
PLACEHOLDERS = {f"{{{dep}.{field}}}": f"P_{dep.upper()}_{field.upper()}"
                for dep, fields in (("postgres", ("url", "host", "port", "user", "password", "database")),
                                    ("redis", ("url", "host", "port")))
                for field in fields}
USER, PASSWORD, DATABASE = "pguser", "pg-pass-4471", "pgdb"


def _spec(tmp: Path) -> TargetSpec:
    env = "\n".join(f"    {var}: \"{placeholder}\"" for placeholder, var in PLACEHOLDERS.items())
    path = tmp / "echo-env.yaml"
    path.write_text(
        "name: echo-env\napp:\n  image: harness-refapp:latest\n  readiness_path: /\n  ready_timeout: 60\n"
        f"  command: [/venv/bin/python, -c, {json.dumps(ECHO_ENV)}]\n"
        # the local command is a template ({port}): the code's own braces are doubled
        f"  process: {{command: [python, -c, {json.dumps(ECHO_ENV.replace('{', '{{').replace('}', '}}'))}, \"{{port}}\"]}}\n"
        f"  env:\n{env}\n"
        f"dependencies:\n  postgres: {{user: {USER}, password: {PASSWORD}, database: {DATABASE}}}\n  redis: {{}}\n"
        "operations: {rate_limit: {hit: {path: /x}, limit: 1, window: 1}}\n")
    return load_spec(path)


@pytest.fixture(scope="module", params=["docker", "local"])
def received(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict]]:
    """(backend, the P_* environment the replica received)."""
    backend = request.param
    spec = _spec(tmp_path_factory.mktemp("placeholders"))
    if backend == "docker":
        request.getfixturevalue("images")
        from harness.backends.docker import DockerDeployment

        deployment: Any = DockerDeployment(spec, replicas=1, history=History(),
                                           client=request.getfixturevalue("docker_engine"))
    else:
        from harness.backends.local import LocalDeployment

        deployment = LocalDeployment(spec, replicas=1, history=History())
    with deployment.up() as up:
        env = httpx.get(up.endpoint(up.replicas[0]) + "/", timeout=5).json()
    yield backend, env


@pytest.mark.docker
@pytest.mark.local
@pytest.mark.parametrize("placeholder", sorted(PLACEHOLDERS))
def test_placeholder_reaches_the_app(placeholder: str, received: tuple[str, dict]) -> None:
    backend, env = received
    value = env[PLACEHOLDERS[placeholder]]
    host = "postgres" if backend == "docker" else "127.0.0.1"
    pg_port, redis_port = env["P_POSTGRES_PORT"], env["P_REDIS_PORT"]
    expected = {
        "{postgres.user}": USER, "{postgres.password}": PASSWORD, "{postgres.database}": DATABASE,
        "{postgres.host}": host, "{postgres.url}": f"postgresql://{USER}:{PASSWORD}@{host}:{pg_port}/{DATABASE}",
        "{redis.host}": "redis" if backend == "docker" else "127.0.0.1",
        "{redis.url}": f"redis://{'redis' if backend == 'docker' else '127.0.0.1'}:{redis_port}/0",
    }
    if placeholder.endswith(".port}"):
        assert re.fullmatch(r"[1-9][0-9]{1,4}", value), (backend, value)
        if backend == "docker":
            assert value == {"{postgres.port}": "5432", "{redis.port}": "6379"}[placeholder]
    else:
        assert value == expected[placeholder], (backend, placeholder, value)
