"""The signal matrix: SIGINT, SIGTERM, SIGHUP and SIGKILL at deploy, mid-scenario and report
writing, on both backends, against a real `harness run` in a subprocess.

Whatever the signal and the moment, within 15 s of it nothing of the run is left: no
labelled container, network or volume, no process (of the run's process tree or under
its local roots), and no sweep is run to get there. A catchable signal ends the run with
exit status 130 and reports (verdicts.json, junit.xml, report.html) that carry the
interrupted mark; every history in the folder is redacted, whatever the signal.

Each case runs one tiny scenario (two logins, one replica) of a test module written
here and passed to `harness run`, so the matrix stays within a few minutes. The stage
is chosen by watching the run, not by timing it:

- deploy: the target's readiness path never answers 200 (``ready_timeout`` 60 s), and
  the signal comes once the replica exists, while the harness waits for it;
- mid-scenario: the scenario's fault touches a file, then holds for 30 s (bounded);
  the signal comes once the file is there;
- report: the signal comes as soon as verdicts.json appears in the run folder.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from harness.cleanup import LABEL_PID
from harness.redaction import PSEUDONYM, is_secret_key

ROOT = Path(__file__).resolve().parents[2]
DURABLE = ROOT / "targets" / "refapp" / "durable.yaml"
LEFTOVER_BOUND = 15.0   # seconds from the signal until nothing of the run is left
TRIGGER_TIMEOUT = 180.0  # seconds to reach the stage (the first case may build images)

TINY = textwrap.dedent('''
    """One tiny scenario for the signal matrix (tests/integration/test_signals.py)."""
    import os
    import time
    from pathlib import Path

    import pytest

    from harness.checkers.sessions import check_sessions
    from harness.run import Scenario
    from harness.workloads import SessionWorkload

    pytestmark = pytest.mark.restart


    class Hold:
        """Marks the moment the scenario is under way, then holds it (bounded)."""

        name = "hold"

        def apply(self, deployment):
            Path(os.environ["SIGNAL_TEST_MARK"]).touch()
            deadline = time.monotonic() + float(os.environ.get("SIGNAL_TEST_HOLD", "0"))
            while time.monotonic() < deadline:
                time.sleep(0.05)

        def heal(self, deployment):
            pass


    def test_tiny_signal_scenario(harness):
        result = harness.run(Scenario("tiny", SessionWorkload(sessions=2), [Hold()], [check_sessions]))
        harness.assert_pass(result)
''')

NEVER_READY = """\
extends: {durable}
name: refapp-never-ready
app:
  readiness_path: /never-ready
  ready_timeout: 60
"""


def labelled(client: Any, pid: int) -> list[str]:
    """Containers, networks and volumes labelled with harness process ``pid``.

    Through the engine's list calls alone: the SDK's ``containers.list`` inspects each
    container it lists, and fails when one is removed in between (as the reaper does).
    """
    label = {"label": [f"{LABEL_PID}={pid}"]}
    found = [c["Names"][0].lstrip("/") for c in client.api.containers(all=True, filters=label)]
    found += [n["Name"] for n in client.api.networks(filters=label)]
    found += [v["Name"] for v in client.api.volumes(filters=label).get("Volumes") or []]
    return found


# ---- processes ----------------------------------------------------------------------


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return fields[0], int(fields[1])


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` in the process tree, now."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (st := _stat(int(entry.name))) is not None:
            children.setdefault(st[1], []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def running(pids: set[int]) -> set[int]:
    """The pids that still run (a zombie, waiting for a parent to reap it, does not)."""
    return {p for p in pids if (st := _stat(p)) is not None and st[0] != "Z"}


def under_roots(owner: int) -> list[str]:
    """Processes whose working directory is under a local root of harness process ``owner``."""
    prefix = f"/tmp/harness-local-{owner}-"
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if cwd.startswith(prefix) and (st := _stat(int(entry.name))) is not None and st[0] != "Z":
            found.append(f"{entry.name} in {cwd}")
    return found


def local_roots(owner: int) -> list[Path]:
    return sorted(Path("/tmp").glob(f"harness-local-{owner}-*"))


# ---- the run ------------------------------------------------------------------------


class Run:
    """One `harness run` in a subprocess, its console in a file."""

    def __init__(self, tmp: Path, backend: str, target: Path, hold: float) -> None:
        (tmp / "tiny").mkdir()
        (tmp / "tiny" / "test_tiny_signal.py").write_text(TINY)
        self.out, self.mark, self.console = tmp / "run", tmp / "under-way", tmp / "console.txt"
        env = {**os.environ, "SIGNAL_TEST_MARK": str(self.mark), "SIGNAL_TEST_HOLD": str(hold)}
        with self.console.open("w") as console:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "harness.cli", "run", "--target", str(target), "--backend", backend,
                 "--suite", "restart", "--replicas", "1", "--out", str(self.out), "--",
                 str(tmp / "tiny" / "test_tiny_signal.py"), "-k", "tiny_signal"],
                cwd=ROOT, env=env, stdout=console, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid

    def output(self) -> str:
        return self.console.read_text(errors="replace")

    def wait_for(self, what: str, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + TRIGGER_TIMEOUT
        while not ready():
            if self.proc.poll() is not None:
                pytest.fail(f"the run ended (exit {self.proc.returncode}) before {what}:\n{self.output()}")
            if time.monotonic() > deadline:
                self.proc.kill()
                self.proc.wait()
                pytest.fail(f"no {what} within {TRIGGER_TIMEOUT:.0f}s:\n{self.output()}")
            time.sleep(0.01)

    def replica_created(self, backend: str, client: Any) -> bool:
        if backend == "local":
            return any((root / "logs" / "app-0.log").exists() for root in local_roots(self.pid))
        return any("app-0" in name for name in labelled(client, self.pid))


def _redacted(folder: Path) -> list[str]:
    """Values under secret-named keys, in any history-like file of the folder, that are not pseudonyms."""
    raw = []

    def walk(value: Any, where: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if is_secret_key(str(key)) and isinstance(item, str) and item and not PSEUDONYM.fullmatch(item):
                    raw.append(f"{where}: {key}={item[:6]}...")
                walk(item, where)
        elif isinstance(value, list):
            for item in value:
                walk(item, where)

    for path in folder.rglob("*"):
        if not path.is_file() or not (".jsonl" in path.name or path.name.endswith(".tmp")):
            continue
        for line in path.read_text(errors="replace").splitlines():
            try:
                walk(json.loads(line), path.name)
            except ValueError:
                continue
    return raw


STAGES = ("deploy", "mid-scenario", "report")
SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGKILL")
BACKENDS = [pytest.param("docker", marks=pytest.mark.docker), pytest.param("local", marks=pytest.mark.local)]


@pytest.mark.parametrize("signame", SIGNALS)
@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_signal_at_any_stage_leaves_nothing_and_marks_the_reports(
        backend: str, stage: str, signame: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    client = None
    if backend == "docker":
        request.getfixturevalue("images")
        client = request.getfixturevalue("docker_engine")
    target = DURABLE
    if stage == "deploy":
        target = tmp_path / "never-ready.yaml"
        target.write_text(NEVER_READY.format(durable=DURABLE))
    run = Run(tmp_path, backend, target, hold=30.0 if stage == "mid-scenario" else 0.0)
    try:
        if stage == "deploy":
            run.wait_for("replica being waited for", lambda: run.replica_created(backend, client))
            time.sleep(0.5)  # well inside the readiness wait
        elif stage == "mid-scenario":
            run.wait_for("scenario under way", run.mark.exists)
        else:
            run.wait_for("verdicts.json", (run.out / "verdicts.json").exists)
        tree = descendants(run.pid)
        os.kill(run.pid, signal.Signals[signame])
        signalled = time.monotonic()
        code = run.proc.wait(timeout=60)
        stopped_after = time.monotonic() - signalled
    finally:
        if run.proc.poll() is None:
            run.proc.kill()
            run.proc.wait()

    # Nothing left within LEFTOVER_BOUND of the signal, without a sweep.
    deadline = signalled + LEFTOVER_BOUND
    while True:
        left = {
            "docker objects": labelled(client, run.pid) if client is not None else [],
            "processes of the run's tree": sorted(running(tree)),
            "processes under its local roots": under_roots(run.pid),
            "local roots": [str(p) for p in local_roots(run.pid)],
        }
        if not any(left.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    output = run.output()
    assert not any(left.values()), f"{LEFTOVER_BOUND:.0f}s after {signame} at {stage}: {left}\n{output}"

    assert _redacted(run.out) == [], output
    if signame == "SIGKILL":
        assert code == -signal.SIGKILL
        return
    assert code == 130, f"exit {code} after {signame} at {stage} ({stopped_after:.1f}s):\n{output}"
    assert f"interrupted by {signame}" in output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output
    records = json.loads((run.out / "verdicts.json").read_text())
    marks = [r for r in records if r.get("validity") == "interrupted"]
    assert len(marks) == 1 and marks[0]["interrupted"]["signal"] == signame, records
    finished = [r for r in records if r.get("validity") != "interrupted"]
    assert len(finished) == (1 if stage == "report" else 0), records
    assert 'type="interrupted"' in (run.out / "junit.xml").read_text()
    assert f"INTERRUPTED by {signame}" in (run.out / "report.html").read_text()


def test_the_redaction_check_finds_a_raw_token(tmp_path: Path) -> None:
    """The matrix's check of the folder is not vacuous: a raw token under a secret-named key is found."""
    raw = {"type": "op", "name": "login", "value": {"token": "f3a9c1d0b7e24c59a8e1"}, "args": {"user": "u"}}
    (tmp_path / "a.history.jsonl").write_text(json.dumps(raw) + "\n")
    assert _redacted(tmp_path) == ["a.history.jsonl: token=f3a9c1..."]
    (tmp_path / "a.history.jsonl").write_text(json.dumps({**raw, "value": {"token": "‹secret:0123456789ab›"}}) + "\n")
    assert _redacted(tmp_path) == []
