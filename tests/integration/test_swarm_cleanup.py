"""Swarm objects are objects of a run: `remove_run`, `sweep` and the reaper remove them.

Each test deploys, under a run id of its own, what the swarm backend deploys: an attachable
overlay network, a service of two replicas of the reference app whose task containers carry
the run's labels and mount a named volume created with them, and a config. Needs an engine
that is a swarm manager (`scripts/swarm.sh ensure` makes one; `.ci/run` calls it): skipped
without one, except under CI=true, where that is a failure.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from harness import cleanup

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "harness-refapp:latest"
REPLICAS = 2
GONE_WITHIN = 30.0  # seconds for the reaper to remove a dropped connection's runs
pytestmark = pytest.mark.docker


def new_run() -> str:
    return f"swarm-cleanup-{uuid.uuid4().hex[:10]}"


def deploy(client: Any, run_id: str, run_labels: dict[str, str], replicas: int = REPLICAS) -> None:
    """The swarm backend's objects for run ``run_id``, labelled ``run_labels``; returns once
    ``replicas`` tasks run."""
    import docker.types

    network = client.networks.create(f"harness-{run_id}", driver="overlay", attachable=True, labels=run_labels)
    client.configs.create(name=f"harness-{run_id}-config", data=b"unused", labels=run_labels)
    service = client.services.create(
        IMAGE, name=f"harness-{run_id}-app", labels={**run_labels, cleanup.LABEL_ROLE: "app"},
        container_labels=run_labels, env=["STORAGE=memory"], networks=[network.id],
        mounts=[docker.types.Mount(target="/data", source=f"harness-{run_id}-data", type="volume",
                                   labels=run_labels)],
        mode=docker.types.ServiceMode("replicated", replicas=replicas),
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        tasks = service.tasks(filters={"desired-state": "running"})
        if sum(task["Status"]["State"] == "running" for task in tasks) == replicas:
            return
        time.sleep(0.2)
    pytest.fail(f"the tasks of run {run_id} did not run within 30 s: {[t['Status'] for t in tasks]}")


def left(client: Any, run_id: str) -> dict[str, list[str]]:
    """Every object of run ``run_id`` still present, by kind (list calls only)."""
    label = {"label": [f"{cleanup.LABEL_RUN}={run_id}"]}
    return {
        "services": [s["Spec"]["Name"] for s in client.api.services(filters=label)],
        "configs": [c["Spec"]["Name"] for c in client.api.configs(filters=label)],
        "containers": [c["Names"][0] for c in client.api.containers(all=True, filters=label)],
        "networks": [n["Name"] for n in client.api.networks(filters=label)],
        "volumes": [v["Name"] for v in client.api.volumes(filters=label).get("Volumes") or []],
    }


@pytest.fixture
def runs(swarm: Any) -> Iterator[list[str]]:
    """Run ids a test deploys; whatever of them is left at its end is removed."""
    ids: list[str] = []
    yield ids
    for run_id in ids:
        cleanup.remove_run(swarm, run_id)


def test_remove_run_removes_services_tasks_configs_network_and_volume(swarm: Any, runs: list[str]) -> None:
    run_id = new_run()
    runs.append(run_id)
    deploy(swarm, run_id, cleanup.labels(run_id))
    present = left(swarm, run_id)
    assert len(present["containers"]) == REPLICAS and all(present.values()), present
    removed = cleanup.remove_run(swarm, run_id)
    assert removed >= 1 + 1 + REPLICAS + 1 + 1  # service, config, tasks (unless Swarm was first), network, volume
    assert not any(left(swarm, run_id).values()), left(swarm, run_id)


def test_sweep_removes_the_swarm_run_of_a_dead_process_and_leaves_a_live_one(swarm: Any, runs: list[str]) -> None:
    # the owner dies only once its run is deployed: a sweep of another session meanwhile leaves it alone
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead, live = new_run(), new_run()
    runs.extend([dead, live])
    try:
        deploy(swarm, dead, {**cleanup.labels(dead), cleanup.LABEL_PID: str(owner.pid)})
        deploy(swarm, live, cleanup.labels(live), replicas=1)
    finally:
        owner.kill()
        owner.wait()
    swept = cleanup.sweep(swarm)
    assert dead in swept and live not in swept
    assert not any(left(swarm, dead).values()), left(swarm, dead)
    still = left(swarm, live)
    assert still["services"] == [f"harness-{live}-app"] and still["networks"] and still["configs"], still


def test_the_reaper_removes_a_swarm_run_when_the_connection_drops(swarm: Any, runs: list[str]) -> None:
    run_id = new_run()
    runs.append(run_id)
    # a harness process that has its reaper watch the run, then is SIGKILLed: no teardown, no exit hook
    script = textwrap.dedent(f"""
        import time
        from harness import reaper
        from harness.backends.docker import docker_client
        reaper.watch(docker_client(), {run_id!r})
        print("watching", flush=True)
        time.sleep(120)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "watching"
        deploy(swarm, run_id, {**cleanup.labels(run_id), cleanup.LABEL_PID: str(proc.pid)})
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + GONE_WITHIN
    while any(left(swarm, run_id).values()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(left(swarm, run_id).values()), f"{GONE_WITHIN:.0f}s after the drop: {left(swarm, run_id)}"
