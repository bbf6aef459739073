"""Bad input gives a clear error, and a failed start leaves nothing behind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.backends.docker import DockerDeployment, docker_client
from harness.errors import DeploymentError, EngineUnavailable, ReadinessTimeout, SpecError
from harness.spec import TargetSpec, load_spec

from .conftest import labelled

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.docker


@pytest.fixture
def durable() -> TargetSpec:
    return load_spec(ROOT / "targets" / "refapp" / "durable.yaml")


def failed_start(spec: TargetSpec, client: Any, error: type[Exception]) -> pytest.ExceptionInfo:
    deployment = DockerDeployment(spec, replicas=2, client=client)
    with pytest.raises(error) as info:
        deployment.up()
    assert not [n for n in labelled(client) if deployment.run_id in n], "a failed start left objects behind"
    return info


def test_unknown_storage_mode_fails_fast_with_the_apps_message(images: None, docker_engine: Any,
                                                               durable: TargetSpec) -> None:
    info = failed_start(durable.with_env(STORAGE="bogus"), docker_engine, DeploymentError)
    message = str(info.value)
    assert "exited with code 2 before it became ready" in message
    assert "unknown STORAGE 'bogus'" in message  # the app's own log line, carried in the error
    assert "durable" in message  # ... which lists the valid modes


def test_app_that_never_becomes_ready_times_out_with_its_logs(images: None, docker_engine: Any,
                                                              durable: TargetSpec) -> None:
    app = durable.app.model_copy(update={"command": ["sh", "-c", "echo still-warming-up; sleep 600"],
                                         "ready_timeout": 2.0, "stop_timeout": 1})
    info = failed_start(durable.model_copy(update={"app": app}), docker_engine, ReadinessTimeout)
    message = str(info.value)
    assert "was not ready on /readyz after 2s" in message
    assert "still-warming-up" in message


def test_missing_image_says_how_to_build_it(docker_engine: Any, durable: TargetSpec) -> None:
    app = durable.app.model_copy(update={"image": "harness-no-such-image:1"})
    info = failed_start(durable.model_copy(update={"app": app}), docker_engine, DeploymentError)
    assert "harness images" in str(info.value)


def test_unknown_placeholder_names_the_env_key(images: None, docker_engine: Any, durable: TargetSpec) -> None:
    info = failed_start(durable.with_env(CACHE_URL="{memcached.url}"), docker_engine, SpecError)
    assert "field 'app.env.CACHE_URL'" in str(info.value)
    assert "{postgres.url}" in str(info.value)


def test_unreachable_engine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    with pytest.raises(EngineUnavailable, match=r"no Docker engine answers at unix://.*no-engine\.sock"):
        docker_client()
    env = {**__import__("os").environ, "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}
    # A command that needs the engine fails with the reason and exit 2 ...
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "images"], capture_output=True, text=True, env=env)
    assert proc.returncode == 2
    assert "no Docker engine answers" in proc.stderr
    # ... while sweep still cleans up local runs and says Docker was not reachable.
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "sweep"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0
    assert "no Docker engine: only local runs were swept" in proc.stderr
