"""Nothing is left behind: after a scenario that raises, after Ctrl-C, after a killed harness."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from harness.cleanup import sweep

from .conftest import labelled

ROOT = Path(__file__).resolve().parents[2]
DURABLE = ROOT / "targets" / "refapp" / "durable.yaml"
pytestmark = pytest.mark.docker


def wait_for_containers(client: Any, pid: int, timeout: float = 60.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = labelled(client, pid)
        if any("app-0" in name for name in found):
            return found
        time.sleep(0.2)
    pytest.fail(f"process {pid} never deployed anything")


def test_scenario_that_raises_midway_leaves_nothing(images: None, docker_engine: Any, tmp_path: Path) -> None:
    (tmp_path / "test_boom.py").write_text(textwrap.dedent("""
        from harness.checkers.sessions import check_sessions
        from harness.run import Scenario
        from harness.workloads import SessionWorkload

        class Boom:
            name = "boom"
            def apply(self, deployment):
                raise RuntimeError("boom mid-scenario")
            def heal(self, deployment):
                pass

        def test_raises(harness):
            harness.run(Scenario("raises", SessionWorkload(sessions=3), [Boom()], [check_sessions]))
    """))
    proc = subprocess.Popen([sys.executable, "-m", "pytest", str(tmp_path), "--target", str(DURABLE),
                             "-p", "no:cacheprovider", "-q"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode == 1, output
    assert "boom mid-scenario" in output
    assert labelled(docker_engine, proc.pid) == []


def test_ctrl_c_during_a_run_removes_its_deployment(images: None, docker_engine: Any, tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "run", "--suite", "restart",
                             "--out", str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_containers(docker_engine, proc.pid)
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0, output
    assert labelled(docker_engine, proc.pid) == [], output


def test_sweep_removes_what_a_killed_harness_left(images: None, docker_engine: Any) -> None:
    script = textwrap.dedent(f"""
        import time
        from harness.backends.docker import DockerDeployment
        from harness.spec import load_spec
        DockerDeployment(load_spec({str(DURABLE)!r}), replicas=1).up()
        time.sleep(600)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    try:
        wait_for_containers(docker_engine, proc.pid)
        # its reaper (harness/reaper.py) would remove everything at once: gone first, so sweep is the backstop
        reapers = {"label": [f"io.harness.pid={proc.pid}", "io.harness.role=reaper"]}
        for reaper in docker_engine.api.containers(filters=reapers):
            docker_engine.api.kill(reaper["Id"])
        deadline = time.monotonic() + 30
        while docker_engine.api.containers(all=True, filters=reapers) and time.monotonic() < deadline:
            time.sleep(0.1)  # removed by the engine (--rm), not by us
    finally:
        proc.kill()  # SIGKILL: no teardown, no atexit
        proc.wait()
    assert labelled(docker_engine, proc.pid), "expected leftovers of the killed process"
    swept = sweep(docker_engine)
    assert swept
    assert labelled(docker_engine, proc.pid) == []
