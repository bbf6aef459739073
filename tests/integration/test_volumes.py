"""Volumes: the state a correct app keeps on a volume survives, on docker and on local processes.

- ``targets/refapp/shared-volume.yaml`` (the local-disk mode with its SQLite file and files on a
  volume shared by the replicas) passes the restart and scale-out suites on both backends; the
  same app without the volume (``local-disk.yaml``) is caught by the detection matrices
  (``test_detection.MATRIX``, ``test_local_detection``).
- A per-replica volume (starting as a copy of a host folder) keeps a file its replica wrote
  across that replica's crash, restart, redeploy and a scale-in and out again, and is that
  replica's alone; without the volume the redeploy loses the file.
- A compose target whose app service mounts a named volume and a read-write bind mount runs
  and keeps its files; the bind mount's folder is copied in, never written.
- Nothing is left behind: volumes go at teardown, after a failed start, and with ``sweep``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest

from harness.cleanup import LABEL_PID, LABEL_RUN, sweep
from harness.deployment import Deployment
from harness.errors import DeploymentError
from harness.spec import TargetSpec, VolumeSpec, load_spec
from tests.integration.suite_runs import ROOT, run_suites

from .conftest import labelled
from .test_local_backend import refapp_importable, roots  # noqa: F401 - the same guard on the app's packages

REFAPP = ROOT / "targets" / "refapp"
SHARED = REFAPP / "shared-volume.yaml"


SEEDED = "0123456789abcdef0123456789abcdef"  # a file id of the reference app's disk store


def per_replica(spec: TargetSpec, seed: Path) -> TargetSpec:
    """The shared-volume target with its data volume claimed per replica instead, each starting as a
    copy of ``seed`` (which holds one file of the app's disk store)."""
    (seed / "files").mkdir(parents=True)
    (seed / "files" / SEEDED).write_bytes(b"seeded")
    volume = VolumeSpec(name="data", path="/var/lib/refapp", scope="replica", source=str(seed))
    return spec.model_copy(update={"app": spec.app.model_copy(update={"volumes": [volume]})})


def upload(deployment: Deployment, replica: str, content: bytes) -> str:
    response = httpx.post(deployment.endpoint(replica) + "/files", files={"file": ("f", content)}, timeout=10)
    assert response.status_code in (200, 201), response.text
    return str(response.json()["id"])


def download(deployment: Deployment, replica: str, file_id: str) -> bytes | None:
    response = httpx.get(f"{deployment.endpoint(replica)}/files/{file_id}", timeout=10)
    assert response.status_code in (200, 404), response.text
    return response.content if response.status_code == 200 else None


def faults_keep_the_replicas_file(deployment: Deployment) -> None:
    """A file written through app-1 survives every fault of app-1, and app-0 never sees it."""
    assert download(deployment, "app-0", SEEDED) == download(deployment, "app-1", SEEDED) == b"seeded"
    file_id = upload(deployment, "app-1", b"claimed by app-1")
    deployment.crash("app-1")
    deployment.start("app-1")
    deployment.restart("app-1")
    deployment.redeploy("app-1")
    deployment.scale(1)
    deployment.scale(2)
    assert download(deployment, "app-1", file_id) == b"claimed by app-1"
    assert download(deployment, "app-0", file_id) is None  # its own volume, not app-1's


def redeploy_loses_the_file(deployment: Deployment) -> None:
    file_id = upload(deployment, "app-0", b"in the writable layer")
    deployment.redeploy("app-0")
    assert download(deployment, "app-0", file_id) is None


# ---- docker ------------------------------------------------------------------------------------


def our_volumes(client: Any, run_id: str | None = None) -> list[str]:
    label = f"{LABEL_RUN}={run_id}" if run_id else f"{LABEL_PID}={os.getpid()}"
    return sorted(v.name for v in client.volumes.list(filters={"label": label}))


@pytest.mark.docker
def test_shared_volume_passes_restart_and_scale_out_on_docker(images: None, tmp_path: Path) -> None:
    run = run_suites(SHARED, tmp_path / "out", "-m", "restart or scale_out")
    assert run.code == 0, run.tail()
    for scenario in ("state survives crash", "state survives redeploy", "state after scale-out 1 -> 3",
                     "state after scale-in 3 -> 1", "logout on one replica, honoured by all"):
        assert run.scenario(scenario)["validity"] == "pass", run.tail()
    assert all(v["validity"] == "pass" for v in run.verdicts), run.tail()


@pytest.mark.docker
def test_per_replica_volume_survives_its_replicas_faults_on_docker(images: None, docker_engine: Any,
                                                                   tmp_path: Path) -> None:
    from harness.backends.docker import DockerDeployment

    spec = per_replica(load_spec(SHARED), tmp_path / "seed")
    with DockerDeployment(spec, replicas=2, client=docker_engine).up() as deployment:
        faults_keep_the_replicas_file(deployment)
        run_id = deployment.run_id
        assert our_volumes(docker_engine, run_id) == [f"harness-{run_id}-data-app-0", f"harness-{run_id}-data-app-1"]
    assert our_volumes(docker_engine, run_id) == []
    assert sorted(p.name for p in (tmp_path / "seed" / "files").iterdir()) == [SEEDED]  # copied, never written
    with DockerDeployment(load_spec(REFAPP / "local-disk.yaml"), replicas=1, client=docker_engine).up() as deployment:
        redeploy_loses_the_file(deployment)


@pytest.mark.docker
def test_compose_target_with_a_named_volume_runs(images: None, docker_engine: Any, tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text(textwrap.dedent("""
        services:
          web:
            image: harness-refapp:latest
            ports: ["8000"]
            environment: {STORAGE: local-disk, DATA_DIR: /srv/data, REDIS_URL: "redis://cache:6379/0"}
            volumes: [appdata:/srv/data, ./seed:/srv/data/files]
          cache:
            image: harness-redis:latest
            command: redis-server --appendonly yes --protected-mode no --bind 0.0.0.0 --dir /data
            healthcheck: {test: ["CMD-SHELL", "redis-cli ping"]}
        volumes:
          appdata: {}
    """))
    seeded = "0123456789abcdef0123456789abcdef"  # a file id of the reference app's disk store
    (tmp_path / "seed").mkdir()
    (tmp_path / "seed" / seeded).write_bytes(b"from the host folder")
    (tmp_path / "spec.yaml").write_text(f"extends: {REFAPP / 'parts' / 'operations.yaml'}\nname: compose-volume\n"
                                        "compose: {file: docker-compose.yml, service: web, redis: cache}\n"
                                        "app: {readiness_path: /readyz}\n")
    from harness.backends.docker import DockerDeployment

    with DockerDeployment(load_spec(tmp_path / "spec.yaml"), replicas=2, client=docker_engine).up() as deployment:
        run_id = deployment.run_id
        assert our_volumes(docker_engine, run_id) == [f"harness-{run_id}-appdata", f"harness-{run_id}-web-bind-1"]
        assert download(deployment, "app-1", seeded) == b"from the host folder"  # the bind mount's content
        file_id = upload(deployment, "app-0", b"on the volumes")
        deployment.redeploy("app-0")
        assert download(deployment, "app-0", file_id) == b"on the volumes"
        assert download(deployment, "app-1", file_id) == b"on the volumes"  # one volume for the service
    assert our_volumes(docker_engine, run_id) == []
    assert sorted(p.name for p in (tmp_path / "seed").iterdir()) == [seeded]  # the host folder is never written


@pytest.mark.docker
def test_no_volume_left_after_a_failed_start_or_a_killed_harness(images: None, docker_engine: Any) -> None:
    from harness.backends.docker import DockerDeployment

    broken = load_spec(SHARED).with_env(STORAGE="no-such-mode")  # the app exits before it is ready
    with pytest.raises(DeploymentError, match="exited"):
        DockerDeployment(broken, replicas=1, client=docker_engine).up()
    assert our_volumes(docker_engine) == []

    script = f"from harness.backends.docker import DockerDeployment\nfrom harness.spec import load_spec\n" \
             f"DockerDeployment(load_spec({str(SHARED)!r}), replicas=1).up()\nimport time\ntime.sleep(600)\n"
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        found = labelled(docker_engine, proc.pid)
        while not any("app-0" in name for name in found):
            assert time.monotonic() < deadline and proc.poll() is None, "the harness never deployed"
            time.sleep(0.2)
            found = labelled(docker_engine, proc.pid)
        assert any(name.endswith("-data") for name in found), found  # the leak check counts volumes
    finally:
        proc.kill()  # SIGKILL: no teardown, no atexit
        proc.wait()
    sweep(docker_engine)
    assert not [v.name for v in docker_engine.volumes.list(filters={"label": f"{LABEL_PID}={proc.pid}"})]
    deadline = time.monotonic() + 10  # a container another remover (the reaper) is removing, gone soon
    while labelled(docker_engine, proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert labelled(docker_engine, proc.pid) == []


# ---- local processes ---------------------------------------------------------------------------


@pytest.fixture
def nothing_left_locally() -> Any:
    yield
    assert roots() == [], "temporary roots (and the volume folders in them) left behind"


@pytest.mark.local
@pytest.mark.parametrize("suite", ["restart", "scale_out"])
def test_shared_volume_passes_on_local_processes(suite: str, nothing_left_locally: None) -> None:
    from .test_local_detection import run_suite, suites

    run = run_suite("shared-volume", suite)
    assert len(run.results) == len(suites(0)[suite])
    assert all(r.verdict.ok for r in run.results), run.explain()


@pytest.mark.local
def test_per_replica_folder_survives_its_replicas_faults_on_local(nothing_left_locally: None, tmp_path: Path) -> None:
    from harness.backends.local import LocalDeployment

    deploy: Callable[[TargetSpec, int], LocalDeployment] = lambda spec, n: LocalDeployment(spec, replicas=n).up()
    with deploy(per_replica(load_spec(SHARED), tmp_path / "seed"), 2) as deployment:
        faults_keep_the_replicas_file(deployment)
        assert sorted(p.name for p in (deployment.root / "volumes").iterdir()) == ["data-app-0", "data-app-1"]
    assert sorted(p.name for p in (tmp_path / "seed" / "files").iterdir()) == [SEEDED]  # copied, never written
    with deploy(load_spec(REFAPP / "local-disk.yaml"), 1) as deployment:
        redeploy_loses_the_file(deployment)


@pytest.mark.local
def test_no_folder_left_after_a_failed_local_start(nothing_left_locally: None) -> None:
    from harness.backends.local import LocalDeployment

    with pytest.raises(DeploymentError, match="exited"):
        LocalDeployment(load_spec(SHARED).with_env(STORAGE="no-such-mode"), replicas=1).up()
