"""scripts/swarm.sh: it initialises a swarm only on an engine in none, never prints the join
token, and leaves only the swarm it initialised.

Run against a fake ``docker`` first on PATH: it answers ``docker info`` with the node state
it keeps in a file, records every call, and prints a join token on a successful init.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "swarm.sh"
TOKEN = "SWMTKN-1-fake0secret0join0token"

FAKE_DOCKER = f"""#!/usr/bin/env bash
echo "$*" >>"$FAKE_DIR/calls"
case "$1 $2" in
  "info --format") cat "$FAKE_DIR/node-state" ;;
  "swarm init")
    if [ -f "$FAKE_DIR/refuse-data-path" ] && [[ " $* " == *" --data-path-addr "* ]]; then
      echo "unknown flag: --data-path-addr" >&2; exit 1
    fi
    if [ -f "$FAKE_DIR/init-fails" ]; then echo "Error response from daemon: no way" >&2; exit 1; fi
    echo active >"$FAKE_DIR/node-state"; touch "$FAKE_DIR/gwbridge"
    echo "Swarm initialized: current node (abc) is now a manager."
    echo "    docker swarm join --token {TOKEN} 127.0.0.1:2377" ;;
  "swarm leave") echo inactive >"$FAKE_DIR/node-state"; echo "Node left the swarm." ;;
  "network inspect") [ -f "$FAKE_DIR/gwbridge" ] ;;
  "network rm") rm -f "$FAKE_DIR/gwbridge" ;;
  *) echo "fake docker: unexpected call: $*" >&2; exit 99 ;;
esac
"""


@pytest.fixture
def fake(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(FAKE_DOCKER)
    docker.chmod(0o755)
    (tmp_path / "calls").touch()
    return tmp_path


def swarm(fake: Path, command: str, node_state: str | None = None) -> subprocess.CompletedProcess[str]:
    if node_state is not None:
        (fake / "node-state").write_text(node_state + "\n")
    env = {**os.environ, "PATH": f"{fake / 'bin'}:{os.environ['PATH']}", "FAKE_DIR": str(fake),
           "HARNESS_SWARM_STATE": str(fake / "swarm.state")}
    return subprocess.run([str(SCRIPT), command], env=env, capture_output=True, text=True, timeout=30)


def calls(fake: Path) -> list[str]:
    return (fake / "calls").read_text().splitlines()


def test_on_an_active_swarm_ensure_records_nothing_and_leave_does_nothing(fake: Path) -> None:
    assert swarm(fake, "ensure", "active").returncode == 0
    assert not (fake / "swarm.state").exists()
    assert swarm(fake, "leave").returncode == 0
    assert not any(call.startswith("swarm") for call in calls(fake))
    assert (fake / "node-state").read_text().strip() == "active"


def test_on_an_inactive_engine_ensure_initialises_on_loopback_only_and_leave_undoes_it(fake: Path) -> None:
    ensured = swarm(fake, "ensure", "inactive")
    assert ensured.returncode == 0, ensured.stderr
    assert calls(fake)[-1] == ("swarm init --listen-addr 127.0.0.1:2377 --advertise-addr 127.0.0.1 "
                               "--data-path-addr 127.0.0.1")
    assert TOKEN not in ensured.stdout + ensured.stderr
    assert (fake / "swarm.state").exists()
    assert swarm(fake, "ensure").returncode == 0  # a second ensure finds it active: still ours to leave
    left = swarm(fake, "leave")
    assert left.returncode == 0, left.stderr
    assert calls(fake)[-2:] == ["swarm leave --force", "network rm docker_gwbridge"]
    assert not (fake / "swarm.state").exists()
    assert (fake / "node-state").read_text().strip() == "inactive"
    assert swarm(fake, "leave").returncode == 0  # once only
    assert calls(fake).count("swarm leave --force") == 1


def test_an_engine_refusing_the_data_path_flag_is_initialised_without_it(fake: Path) -> None:
    (fake / "refuse-data-path").touch()
    ensured = swarm(fake, "ensure", "inactive")
    assert ensured.returncode == 0, ensured.stderr
    assert calls(fake)[-1] == "swarm init --listen-addr 127.0.0.1:2377 --advertise-addr 127.0.0.1"
    assert TOKEN not in ensured.stdout + ensured.stderr
    assert (fake / "swarm.state").exists()


def test_a_failed_init_is_an_error_that_records_nothing(fake: Path) -> None:
    (fake / "init-fails").touch()
    ensured = swarm(fake, "ensure", "inactive")
    assert ensured.returncode == 1
    assert "no way" in ensured.stderr
    assert not (fake / "swarm.state").exists()
    assert swarm(fake, "leave").returncode == 0
    assert "swarm leave --force" not in calls(fake)


@pytest.mark.parametrize("state", ["pending", "error", "locked"])
def test_a_swarm_in_another_state_is_an_error_naming_it(fake: Path, state: str) -> None:
    ensured = swarm(fake, "ensure", state)
    assert ensured.returncode == 1
    assert f"'{state}'" in ensured.stderr
    assert not any(call.startswith("swarm") for call in calls(fake))


def test_usage(fake: Path) -> None:
    used = swarm(fake, "join")
    assert used.returncode == 2
    assert "usage:" in used.stderr and "ensure|leave" in used.stderr


@pytest.mark.parametrize("before", [False, True])
def test_leave_removes_the_bridge_only_when_the_init_made_it(fake: Path, before: bool) -> None:
    if before:  # an engine that was in a swarm once keeps its docker_gwbridge
        (fake / "gwbridge").touch()
    assert swarm(fake, "ensure", "inactive").returncode == 0
    assert (fake / "gwbridge").exists()
    assert swarm(fake, "leave").returncode == 0
    assert (fake / "gwbridge").exists() is before
    assert ("network rm docker_gwbridge" in calls(fake)) is not before
