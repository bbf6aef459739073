"""The attach backend against an environment the harness did not deploy.

The test itself starts the reference app (two durable replicas, two memory replicas,
postgres and redis) with the docker SDK, on a network of its own, ports published on
127.0.0.1 only, every object labelled as the harness labels its own and removed at the
end, even on failure. It then points attach sections at them (one in a spec, one in
a file of its own, `--attach FILE`) with `docker` commands as the fault verbs, and runs
the restart suite as a user would: `durable` passes, `memory` is caught, and the verb
not given (redeploy) skips its scenario with that reason.
"""

from __future__ import annotations

import json
import textwrap
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

from harness import cleanup
from harness.ports import free_port

from .conftest import REFAPP, labelled
from .suite_runs import run_suites

pytestmark = pytest.mark.docker


class Environment:
    """Containers started by hand, as an environment that already runs: names and URLs of its replicas."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.run_id = f"attach-{uuid.uuid4().hex[:8]}"
        self.labels = cleanup.labels(self.run_id)
        self.prefix = f"harness-{self.run_id}"
        self.replicas: dict[str, list[tuple[str, str]]] = {}

    def start(self) -> None:
        network = f"{self.prefix}-net"
        self.client.networks.create(network, driver="bridge", labels=self.labels)
        common = {"network": network, "labels": self.labels, "detach": True}
        self.client.containers.run("harness-postgres:latest", name=f"{self.prefix}-postgres",
                                   environment={"POSTGRES_USER": "app", "POSTGRES_PASSWORD": "app",
                                                "POSTGRES_DB": "app"}, **common)
        self.client.containers.run("harness-redis:latest", name=f"{self.prefix}-redis",
                                   command=["redis-server", "--protected-mode", "no", "--bind", "0.0.0.0",
                                            "--dir", "/data", "--appendonly", "yes", "--appendfsync", "always"],
                                   **common)
        for mode in ("durable", "memory"):
            for i in range(2):
                name, port = f"{self.prefix}-{mode}-{i}", free_port()
                self.client.containers.run(
                    "harness-refapp:latest", name=name, ports={"8000/tcp": ("127.0.0.1", port)},
                    environment={"STORAGE": mode, "REPLICA_NAME": name,
                                 "DATABASE_URL": f"postgresql://app:app@{self.prefix}-postgres:5432/app",
                                 "REDIS_URL": f"redis://{self.prefix}-redis:6379/0"}, **common)
                self.replicas.setdefault(mode, []).append((name, f"http://127.0.0.1:{port}"))

    def remove(self) -> None:
        cleanup.remove_run(self.client, self.run_id)

    def section(self, mode: str) -> str:
        """The attach section for the replicas of ``mode``: docker commands as verbs, no redeploy (so its
        scenario is skipped)."""
        replicas = "".join(f"  - {{name: {name}, url: '{url}'}}\n" for name, url in self.replicas[mode])
        return "replicas:\n" + replicas + textwrap.dedent(f"""\
            dependencies: {{postgres: {self.prefix}-postgres, redis: {self.prefix}-redis}}
            verbs:
              crash: docker kill {{replica}}
              start: docker start {{replica}}
              restart: docker restart --time 10 {{replica}}
              pause: docker pause {{replica}}
              resume: docker unpause {{replica}}
            """)

    def spec(self, mode: str, folder: Path) -> Path:
        """A spec extending the reference app's ``mode`` with an attach section."""
        path = folder / f"attach-{mode}.yaml"
        path.write_text(f"extends: {REFAPP / f'{mode}.yaml'}\nname: refapp-{mode}-attached\nattach:\n"
                        + textwrap.indent(self.section(mode), "  "))
        return path

    def attach_file(self, mode: str, folder: Path) -> Path:
        """The same section in a file of its own (``--attach FILE``)."""
        path = folder / f"environment-{mode}.yaml"
        path.write_text(self.section(mode))
        return path


@pytest.fixture(scope="module")
def environment(images: None, docker_engine: Any) -> Iterator[Environment]:
    env = Environment(docker_engine)
    try:
        env.start()
        yield env
    finally:
        env.remove()
    assert [name for name in labelled(docker_engine) if env.run_id in name] == []


def test_restart_suite_durable_passes_and_missing_verb_skips(environment: Environment, tmp_path: Path) -> None:
    run = run_suites(environment.spec("durable", tmp_path), tmp_path / "out", "-m", "restart",
                     "--backend", "attach", "--replicas", "2", "-rs")
    assert run.code == 0, run.tail()
    passed = {v["scenario"]: v for v in run.verdicts}
    for fault in ("crash", "graceful-restart", "rolling-restart", "pause"):
        verdict = passed[f"state survives {fault}"]
        assert verdict["validity"] == "pass" and not verdict["violations"], (fault, verdict)
    assert "state survives redeploy" not in passed
    # the crash and its heal are recorded as on any backend, the commands' output in their detail
    events = [json.loads(line) for line in (run.out / passed["state survives crash"]["history"]).read_text().splitlines()]
    crash = [(e["target"], e["heal"]) for e in events if e["type"] == "fault"]
    first = environment.replicas["durable"][0][0]
    assert crash == [(first, False), (first, True)], crash
    assert ("attach backend: fault redeploy needs the redeploy capability" in run.output
            and "which AttachDeployment lacks" in run.output), run.tail()
    # nothing was deployed or removed: the environment's replicas still run, and every scenario had keys of its own
    states = {c.name: c.status for c in environment.client.containers.list(
        all=True, filters={"label": f"{cleanup.LABEL_RUN}={environment.run_id}"})}
    assert all(states[name] == "running" for name, _ in environment.replicas["durable"]), states
    seeds = [v["seed"] for v in run.verdicts]
    assert len(set(seeds)) == len(seeds) and 0 not in seeds, seeds


def test_restart_suite_catches_memory_attached_by_file(environment: Environment, tmp_path: Path) -> None:
    # the reference app's own spec, unchanged; the environment in a file of its own
    run = run_suites(REFAPP / "memory.yaml", tmp_path / "out", "-m", "restart", "-k", "crash", "--backend", "attach",
                     "--attach", str(environment.attach_file("memory", tmp_path)), "--replicas", "2")
    assert run.code != 0, run.tail()
    caught = {(v["checker"], v["kind"]) for v in run.violations("state survives crash")}
    assert ("records", "lost") in caught and ("sessions", "lost") in caught, (caught, run.tail())


def test_two_soaks_of_one_seed_on_a_kept_environment_both_pass(environment: Environment, tmp_path: Path) -> None:
    """``harness soak --backend attach`` twice with the same seed, on replicas whose state the first soak
    left behind: the same schedule, keys of each run's own (a nonce), so neither meets the other's records."""
    import os
    import subprocess
    import sys

    spec = environment.spec("durable", tmp_path)
    prefixes = []
    for run in ("first", "second"):
        out = tmp_path / run
        proc = subprocess.run([sys.executable, "-m", "harness.cli", "soak", "--target", str(spec), "--backend",
                               "attach", "--duration", "10s", "--seed", "11", "--clients", "2", "--replicas", "2",
                               "--faults", "crash,graceful-restart", "--mean-gap", "4s", "--no-shrink",
                               "--out", str(out)], capture_output=True, text=True, timeout=600,
                              env={**os.environ, "COLUMNS": "200"})
        said = " ".join((proc.stdout + proc.stderr).split())
        assert proc.returncode == 0 and "verdict: pass" in said, (run, said[-3000:])
        lists = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()
                 if '"own_nonces"' in line]
        prefixes.append({e["args"]["own_nonces"] for e in lists if e.get("args", {}).get("own_nonces")})
    assert all(len(p) == 1 and next(iter(p)).startswith("r-11-") for p in prefixes), prefixes
    assert prefixes[0] != prefixes[1], prefixes
