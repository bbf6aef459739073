"""Integration tests need a Docker engine; under CI=true a missing engine fails, never skips."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from harness.cleanup import sweep
from harness.errors import EngineUnavailable


REFAPP = Path(__file__).resolve().parents[2] / "targets" / "refapp"


@pytest.fixture(scope="session")
def docker_engine() -> Any:
    from harness.backends.docker import docker_client

    try:
        client = docker_client()
    except EngineUnavailable as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and no Docker engine: {exc}", pytrace=False)
        pytest.skip(f"no Docker engine: {exc}")
    # A killed earlier session's containers outlive it (and an engine restart); they only cost
    # memory here, since every check of leftovers looks at this process's own.
    sweep(client)
    return client


@pytest.fixture(scope="session")
def images(docker_engine: Any) -> None:
    from harness.images import build_images
    from harness.spec import load_spec

    build_images(docker_engine, specs=[load_spec(REFAPP / "durable.yaml")])


@pytest.fixture(scope="session")
def swarm(docker_engine: Any, images: None) -> Any:
    """The engine, when it is a swarm manager (`scripts/swarm.sh ensure` makes it one; `.ci/run` does):
    skipped without one, except under CI=true, where that is a failure."""
    from harness.backends.swarm import swarm_state

    why = swarm_state(docker_engine)
    if why is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and {why}", pytrace=False)
        pytest.skip(why)
    return docker_engine


def labelled(client: Any, pid: int | None = None) -> list[str]:
    """Names of our containers, networks, volumes and swarm services (optionally of one owning process) still
    present."""
    from harness.cleanup import LABEL_PID, LABEL_RUN

    label = f"{LABEL_PID}={pid}" if pid is not None else LABEL_RUN
    found = [c.name for c in client.containers.list(all=True, filters={"label": label}, ignore_removed=True)]
    found += [n.name for n in client.networks.list(filters={"label": label})]
    found += [v.name for v in client.volumes.list(filters={"label": label})]
    return found + swarm_services(client, label)


def swarm_services(client: Any, label: str) -> list[str]:
    """Names of the swarm services labelled ``label``; none on an engine that is no swarm manager (503)."""
    import docker.errors

    try:
        return [s.name for s in client.services.list(filters={"label": label})]
    except docker.errors.APIError as exc:
        if exc.status_code == 503:
            return []
        raise


@pytest.fixture(scope="session", autouse=True)
def nothing_left_behind() -> Any:
    """After the whole session, no container, network or volume of this process may remain."""
    yield
    from harness.backends.docker import docker_client

    try:
        client = docker_client()
    except EngineUnavailable:
        return
    from harness.reaper import release

    release()  # this process's reaper (harness/reaper.py) lives as long as it: let it go first
    left = labelled(client, os.getpid())
    assert not left, f"left behind after the test session: {left}"
