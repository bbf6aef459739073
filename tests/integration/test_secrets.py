"""No secret reaches any output: an app that prints its environment and dies at once, and a run
with secrets in its environment and session tokens in every response. Not one planted value may
appear in the console (stdout and stderr of `harness run`, with and without --debug) nor in any
file of the run folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.suite_runs import ROOT

REFAPP = ROOT / "targets" / "refapp"

#: name -> value; every value must stay out of every output
PLANTED = {
    "API_KEY": "sk_live_4eC39HqLyjWDarjtT1zdp7dcPlant",
    "STRIPE_WEBHOOK_SIGNING": "whsec_Planted0mJz8Qd3Vx5Lk2Np",
    "SENTRY_DSN": "https://f1e2d3c4b5a6978812345678abcdef90@o1.ingest.sentry.io/42",
    "OPAQUE_BLOB": "Zq8vN3xWb1Lr7KpT2sYdQ9mAplant",  # a random value under a name that says nothing
    "DB_PASSWORD": "{postgres.password}",
    "DATABASE_URL": "{postgres.url}",
}
PG_PASSWORD = "Pg-planted-8812"
SECRETS = [v for v in PLANTED.values() if not v.startswith("{")] + [PG_PASSWORD, "f1e2d3c4b5a6978812345678abcdef90"]


def _spec(tmp: Path, extends: Path, app: str = "") -> Path:
    env = "".join(f"    {k}: {json.dumps(v)}\n" for k, v in PLANTED.items())
    path = tmp / "secret-env.yaml"
    path.write_text(f"extends: {extends}\nname: secret-env\napp:\n{app}  env:\n{env}"
                    f"dependencies:\n  postgres: {{password: {PG_PASSWORD}}}\n")
    return path


def _run(spec: Path, out: Path, backend: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", "run", "--target", str(spec), "--suite", "restart",
                           "--backend", backend, "--out", str(out), *extra, "--", "-k", "crash"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "200"})


def _assert_nothing_leaks(proc: subprocess.CompletedProcess[str], out: Path) -> None:
    console = proc.stdout + proc.stderr
    for secret in SECRETS:
        assert secret not in console, f"{secret!r} on the console:\n{console[-3000:]}"
    files = [p for p in out.rglob("*") if p.is_file()]
    for path in files:
        text = path.read_bytes().decode(errors="replace")
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} in {path}"
    assert not [p for p in files if p.name.endswith(".tmp")]


@pytest.mark.parametrize("backend", [pytest.param("docker", marks=pytest.mark.docker),
                                     pytest.param("local", marks=pytest.mark.local)])
@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_an_app_that_prints_its_environment_and_dies_leaks_nothing(backend: str, debug: bool, tmp_path: Path,
                                                                     request: pytest.FixtureRequest) -> None:
    if backend == "docker":
        request.getfixturevalue("images")
    dump = "[sh, -c, 'env; echo started with $DATABASE_URL; exit 3']"
    spec = _spec(tmp_path, REFAPP / "durable.yaml", f"  command: {dump}\n  process: {{command: {dump}}}\n")
    proc = _run(spec, tmp_path / "run", backend, *(["--debug"] if debug else []))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    console = proc.stdout + proc.stderr
    assert "exited with code 3" in console  # the cause is shown ...
    assert "SECRET" not in console or "‹secret:" in console
    assert "API_KEY=‹secret:" in console  # ... with the app's log lines, redacted
    _assert_nothing_leaks(proc, tmp_path / "run")


@pytest.mark.docker
def test_a_run_with_secrets_in_env_and_tokens_in_responses_leaks_nothing(images: None, tmp_path: Path) -> None:
    spec = _spec(tmp_path, REFAPP / "memory.yaml")  # loses sessions: the failure text quotes tokens
    proc = _run(spec, tmp_path / "run", "docker")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    _assert_nothing_leaks(proc, tmp_path / "run")
    history = next((tmp_path / "run").glob("*.history.jsonl")).read_text().splitlines()
    logins = [json.loads(line) for line in history if '"name": "login"' in line]
    assert logins and all(op["value"]["token"].startswith("‹secret:") for op in logins if op["value"])
