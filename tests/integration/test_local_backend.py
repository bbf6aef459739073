"""The local-process backend: the reference app as child processes, every fault verb, nothing left behind.

No Docker needed. PostgreSQL and Redis run from their installed programs when this
machine has them (else the embedded SQLite file stands in, and the dependency steps
are skipped); the embedded file is also tested on its own. "Nothing left behind"
means: no child process of this test process (running or unreaped), no process
under the deployment's root, and no temporary root.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from harness.backends import choose_backend
from harness.backends.local import LocalDeployment, sweep
from harness.backends.local_processes import ForkedProcess, ForkServer, processes_under
from harness.backends.local_servers import postgres_bindir, redis_server
from harness.capabilities import NetworkCuttable
from harness.client import Client
from harness.errors import BackendError, DeploymentError
from harness.history import Outcome
from harness.spec import ProcessSpec, TargetSpec, load_spec
from harness.spec_adapter import make_adapter

ROOT = Path(__file__).resolve().parents[2]
DURABLE = ROOT / "targets" / "refapp" / "durable.yaml"
pytestmark = pytest.mark.local


@pytest.fixture(scope="module", autouse=True)
def refapp_importable() -> None:
    """The local backend runs the reference app with this interpreter: its packages must be here."""
    missing = [m for m in ("fastapi", "uvicorn", "psycopg", "psycopg_pool", "redis", "multipart")
               if subprocess.run([sys.executable, "-c", f"import {m}"], capture_output=True).returncode]
    if missing:
        message = f"the reference app's packages are not installed ({', '.join(missing)}): pip install -e '.[dev]'"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def children() -> list[str]:
    """Child processes of this process, zombies included (an unreaped child counts as left behind).

    Its watchdog (harness/backends/watchdog.py) is not counted: it lives as long as this process.
    """
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        if rest[1] == str(os.getpid()) and int(entry.name) not in watchdogs_of(os.getpid()):
            found.append(f"{entry.name} {name} ({rest[0]})")
    return found


def roots(pid: int | None = None) -> list[Path]:
    return sorted(Path(tempfile.gettempdir()).glob(f"harness-local-{pid or os.getpid()}-*"))


def assert_nothing_left(root: Path) -> None:
    assert children() == []
    assert processes_under(root) == []
    assert not root.exists()
    assert roots() == []


@pytest.fixture
def spec() -> TargetSpec:
    return load_spec(DURABLE)


@pytest.fixture
def clean() -> Iterator[None]:
    """Each test starts and must end without children or roots of this process."""
    assert children() == [] and roots() == [], "left over from an earlier test"
    yield
    assert children() == [], "child processes left behind"
    assert roots() == [], "temporary roots left behind"


def write(client: Client, replica: str, data: dict[str, Any]) -> str:
    op = client.call("records", "create", replica, {"data": data})
    assert op.outcome == Outcome.OK, op
    return str(op.value["id"])


def read(client: Client, replica: str, record: str) -> Any:
    op = client.call("records", "read", replica, {"id": record})
    assert op.outcome == Outcome.OK, op
    return op.value["data"] if op.value["found"] else None


def login(client: Client, replica: str, user: str) -> str:
    op = client.call("sessions", "login", replica, {"user": user})
    assert op.outcome == Outcome.OK, op
    return str(op.value["token"])


def logged_in(client: Client, replica: str, token: str) -> bool:
    op = client.call("sessions", "whoami", replica, {"token": token})
    assert op.outcome == Outcome.OK, op
    return bool(op.value["accepted"])


def pid_of(deployment: LocalDeployment, replica: str) -> int:
    return deployment._procs[replica].pid


def test_durable_on_local_processes_survives_every_fault(spec: TargetSpec, clean: None) -> None:
    servers = postgres_bindir() is not None and redis_server() is not None
    with LocalDeployment(spec, replicas=2) as deployment, \
            Client(deployment, deployment.history, adapter=make_adapter(spec)) as client:
        root = deployment.root
        assert deployment.replicas == ["app-0", "app-1"]
        ports = {deployment.endpoint(r) for r in deployment.replicas}
        assert len(ports) == 2 and all(p.startswith("http://127.0.0.1:") for p in ports)
        assert ("server" in deployment.description) == servers, deployment.description
        # each replica its own process group and working directory
        pids = {r: pid_of(deployment, r) for r in deployment.replicas}
        assert all(os.getpgid(pid) == pid for pid in pids.values())
        assert len({deployment._work[r] for r in deployment.replicas}) == 2

        record = write(client, "app-0", {"n": 1})
        token = login(client, "app-1", "alice")
        assert read(client, "app-1", record) == {"n": 1} and logged_in(client, "app-0", token)

        deployment.crash("app-0")  # SIGKILL
        assert deployment._exit_status("app-0") == -signal.SIGKILL
        with pytest.raises(BackendError):
            deployment.endpoint("app-0")
        deployment.start("app-0")
        assert pid_of(deployment, "app-0") != pids["app-0"]
        assert read(client, "app-0", record) == {"n": 1} and logged_in(client, "app-0", token)

        work = deployment._work["app-1"]
        deployment.restart("app-1")  # SIGTERM, then start in the same working directory
        assert deployment._work["app-1"] == work and work.exists()
        assert read(client, "app-1", record) == {"n": 1}

        deployment.pause("app-0")  # SIGSTOP: requests hang
        with pytest.raises(httpx.TimeoutException):
            httpx.get(deployment.endpoint("app-0") + "/healthz", timeout=0.5)
        deployment.resume("app-0")
        assert httpx.get(deployment.endpoint("app-0") + "/healthz", timeout=5).status_code == 200

        deployment.redeploy("app-1")  # a fresh working directory
        assert deployment._work["app-1"] != work and not work.exists()
        assert read(client, "app-1", record) == {"n": 1} and logged_in(client, "app-1", token)

        if servers:
            deployment.restart_dependency("postgres")
            deployment.restart_dependency("redis")
            deployment.stop_dependency("postgres")
            assert client.call("records", "create", "app-0", {"data": {"n": 2}}).outcome != Outcome.OK
            deployment.start_dependency("postgres")
            deployment.wait_ready("app-0")
            assert read(client, "app-0", record) == {"n": 1} and logged_in(client, "app-1", token)

        # no network cut to pretend: processes share the host's network (harness.capabilities)
        assert not isinstance(deployment, NetworkCuttable) and not hasattr(deployment, "cut_network")

        deployment.scale(3)
        assert read(client, "app-2", record) == {"n": 1}
        deployment.scale(1)
        assert deployment.replicas == ["app-0"]

    faults = [f.label for f in deployment.history.faults()]
    assert faults[:6] == ["crash", "crash heal", "graceful-restart", "pause", "pause heal", "redeploy"]
    restart = deployment.history.faults()[2]  # the process group obeyed SIGTERM: its stop says so
    assert restart.detail.startswith("exited on SIGTERM after "), restart.detail
    assert "network-cut" not in faults and faults[-2:] == ["scale", "scale"]
    assert_nothing_left(root)


def test_embedded_sqlite_stands_in_for_missing_servers(spec: TargetSpec, clean: None) -> None:
    with LocalDeployment(spec, replicas=2, dependencies="embedded") as deployment, \
            Client(deployment, deployment.history, adapter=make_adapter(spec)) as client:
        root = deployment.root
        assert "embedded SQLite file" in deployment.description
        stats = httpx.get(deployment.endpoint("app-0") + "/stats").json()
        assert stats["stores"].startswith("shared SQLite file") and stats["stores"].endswith("for everything")
        record = write(client, "app-0", {"n": 1})
        token = login(client, "app-0", "bob")
        assert read(client, "app-1", record) == {"n": 1} and logged_in(client, "app-1", token)
        deployment.crash("app-1")
        deployment.start("app-1")
        deployment.redeploy("app-0")
        assert read(client, "app-0", record) == {"n": 1} and logged_in(client, "app-1", token)
        with pytest.raises(BackendError, match="embedded SQLite file"):
            deployment.restart_dependency("postgres")
    assert_nothing_left(root)


def with_command(spec: TargetSpec, command: list[str]) -> TargetSpec:
    assert spec.app.process is not None
    process = ProcessSpec(command=command, cwd=spec.app.process.cwd, env=spec.app.process.env)
    return spec.model_copy(update={"app": spec.app.model_copy(update={"process": process})})


@pytest.mark.parametrize("command, message", [
    (["python", "-c", "import sys; print('bad start'); sys.exit(3)"], "exited with code 3"),
    (["./no-such-program", "{port}"], "could not start replica"),
], ids=["exits", "missing-program"])
def test_failed_start_leaves_nothing(spec: TargetSpec, clean: None, command: list[str], message: str) -> None:
    deployment = LocalDeployment(with_command(spec, command), replicas=2)
    with pytest.raises(DeploymentError, match=message) as failed:
        deployment.up()
    if "exited" in message:
        assert "bad start" in str(failed.value)  # the replica's log comes with the error
    assert_nothing_left(deployment.root)


def test_preloaded_replicas_are_forked_and_report_their_exit(spec: TargetSpec, clean: None) -> None:
    """The reference app preloads its libraries: replicas are children of the fork server, a crash's
    status comes back through it, and a crashed replica is forked again."""
    import psutil

    assert spec.app.process is not None and spec.app.process.preload
    with LocalDeployment(spec, replicas=2) as deployment:
        root, server = deployment.root, deployment._forkserver
        assert server is not None
        assert {psutil.Process(pid_of(deployment, r)).ppid() for r in deployment.replicas} == {server.proc.pid}
        crashed = deployment._procs["app-0"]
        deployment.crash("app-0")
        assert crashed.exit_status() == -signal.SIGKILL
        deployment.start("app-0")
        assert httpx.get(deployment.endpoint("app-0") + "/readyz", timeout=5).status_code == 200
        assert psutil.Process(pid_of(deployment, "app-0")).ppid() == server.proc.pid
    assert_nothing_left(root)


@pytest.fixture
def fork_server(clean: None, tmp_path: Path) -> Iterator[ForkServer]:
    """A bare fork server (nothing but ``json`` preloaded) whose replicas run ``-c`` code in ``tmp_path``."""
    (tmp_path / "logs").mkdir()
    server = ForkServer(["json"], tmp_path, {"PATH": os.environ.get("PATH", "")}, 30)
    yield server
    server.close()


def _exiting(server: ForkServer, code: int, folder: Path) -> ForkedProcess:
    return server.spawn(["-c", f"import sys; sys.exit({code})"], folder, {}, folder / "logs" / "r.log")


def test_fork_server_reports_every_exit_when_replicas_end_together(fork_server: ForkServer, tmp_path: Path) -> None:
    """Children ending during the fork server's reaping must neither be missed nor kill it (a nested
    SIGCHLD handler once reaped a child twice and took the fork server down)."""
    for round_ in range(40):
        replicas = [_exiting(fork_server, n, tmp_path) for n in range(1, 5)]
        statuses = [r.exit_status() if r.wait(10) else None for r in replicas]
        assert statuses == [1, 2, 3, 4], f"round {round_}: {statuses}\n{fork_server.log.read_text()}"
        assert fork_server.proc.poll() is None, "the fork server died"


def test_a_replica_polled_as_it_ends_reports_its_own_status(fork_server: ForkServer, tmp_path: Path) -> None:
    """The status is written, then the child reaped: a poll that misses the file and then finds the
    pid gone must read the file again, not report the fork server as gone (-1)."""
    seen = []
    for _ in range(150):
        replica = _exiting(fork_server, 3, tmp_path)
        deadline = time.monotonic() + 10
        while (status := replica.exit_status()) is None and time.monotonic() < deadline:
            pass  # as tight as it gets: the race is between two reads of one poll
        seen.append(status)
    assert set(seen) == {3}, {s: seen.count(s) for s in set(seen)}


def test_a_replica_killed_as_the_fork_server_answers_reports_its_exit(fork_server: ForkServer,
                                                                        tmp_path: Path) -> None:
    """A replica killed the moment its pid is answered ends while the fork server goes back to
    waiting for the next request. A SIGCHLD handled between bytecodes was then seen only when
    the next request came (about 3 in 1,000 here, so 2,500 rounds fail the old reaper almost
    surely); the wake-up pipe the select waits on makes the status appear at once."""
    missed = []
    for round_ in range(2500):
        replica = fork_server.spawn(["-c", "import time; time.sleep(60)"], tmp_path, {}, tmp_path / "logs" / "r.log")
        os.kill(replica.pid, signal.SIGKILL)
        if not replica.wait(0.5):
            missed.append(round_)
    assert not missed, f"{len(missed)} of 2500 exits unreported within 0.5 s (rounds {missed[:10]})"


@pytest.mark.parametrize("preload, command, message, log", [
    (["json"], ["python", "-c", "import sys; print('bad start'); sys.exit(3)"], "exited with code 3", "bad start"),
    # an import that prints to stdout, even what looks like an answer, cannot confuse the fork server's answers
    (["chatty"], ["python", "-c", "import sys; print('bad start'); sys.exit(4)"], "exited with code 4", "bad start"),
    (["no_such_module"], ["python", "-c", "pass"], "fork server failed while importing no_such_module",
     "ModuleNotFoundError"),
], ids=["replica-exits", "chatty-preload", "bad-preload"])
def test_failed_forked_start_leaves_nothing(spec: TargetSpec, clean: None, tmp_path: Path, preload: list[str],
                                            command: list[str], message: str, log: str) -> None:
    (tmp_path / "chatty.py").write_text('print(\'{"pid": 1}\')\nprint(\'{"ready": true}\')\n')
    process = ProcessSpec(command=command, cwd=str(tmp_path), env=spec.app.process.env,  # type: ignore[union-attr]
                          preload=preload)
    bad = spec.model_copy(update={"app": spec.app.model_copy(update={"process": process})})
    deployment = LocalDeployment(bad, replicas=2)
    started = time.monotonic()
    with pytest.raises(DeploymentError, match=message) as failed:
        deployment.up()
    assert log in str(failed.value)  # the log comes with the error
    assert time.monotonic() - started < 20
    assert_nothing_left(deployment.root)


def test_keyboard_interrupt_mid_up_leaves_nothing(spec: TargetSpec, clean: None,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[int] = []

    def interrupted(self: LocalDeployment, replica: str, timeout: float | None = None) -> float:
        started.append(pid_of(self, replica))
        raise KeyboardInterrupt

    monkeypatch.setattr(LocalDeployment, "wait_ready", interrupted)
    deployment = LocalDeployment(spec, replicas=2)
    with pytest.raises(KeyboardInterrupt):
        deployment.up()
    assert started  # replica processes were running when the interrupt came
    assert_nothing_left(deployment.root)


SCRIPT = textwrap.dedent("""
    import signal, sys
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started from a job that ignores it
    from harness.backends.local import LocalDeployment
    from harness.spec import load_spec
    deployment = LocalDeployment(load_spec(sys.argv[1]), replicas=2).up()
    print("up", flush=True)
    import time
    time.sleep(120)
""")


def wait_for_replicas(pid: int, timeout: float = 60.0) -> Path:
    """The root of process ``pid``'s deployment, once a replica's log exists (its processes started)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for root in roots(pid):
            if list((root / "logs").glob("app-*.log")):
                return root
        time.sleep(0.05)
    pytest.fail(f"process {pid} never started a replica")


def test_ctrl_c_during_up_leaves_nothing(clean: None) -> None:
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(DURABLE)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        root = wait_for_replicas(proc.pid)
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode != 0 and "KeyboardInterrupt" in output, output
    assert processes_under(root) == [] and not root.exists(), output


def watchdogs_of(pid: int) -> list[int]:
    """The watchdog processes harness process ``pid`` started."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, NotADirectoryError):
            continue
        if int(stat[stat.rindex(")") + 2:].split()[1]) == pid and b"watchdog.py" in cmdline:
            found.append(int(entry.name))
    return found


def test_sweep_removes_what_a_killed_harness_left(clean: None) -> None:
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(DURABLE)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "up"
        [root] = roots(proc.pid)
        # its watchdog (harness/backends/watchdog.py) would clean up at once: gone first, so sweep is the backstop
        for watchdog in watchdogs_of(proc.pid):
            os.kill(watchdog, signal.SIGKILL)
        proc.kill()  # no atexit, no teardown: its children live on in their own sessions
        proc.wait()
        assert processes_under(root) and root.exists()
        assert str(root) in sweep()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert processes_under(root) == [] and not root.exists()


def test_choose_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.backends.docker import DockerDeployment

    chosen = choose_backend("local")
    assert chosen.name == "local" and chosen.kind is LocalDeployment and chosen.reason.startswith("local: ")
    chosen = choose_backend("docker")
    assert chosen.name == "docker" and chosen.kind is DockerDeployment and chosen.reason.startswith("docker: ")
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    chosen = choose_backend("auto")
    assert chosen.name == "local" and chosen.kind is LocalDeployment
    assert chosen.reason.startswith("local: no Docker engine at unix:///nonexistent/docker.sock (")
    assert "\n" not in chosen.reason
    with pytest.raises(BackendError, match="expected one of auto, docker, local"):
        choose_backend("k8s")
