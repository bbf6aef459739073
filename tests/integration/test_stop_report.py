"""A graceful stop that ended in SIGKILL, end to end: a real container whose PID 1 ignores SIGTERM,
restarted gracefully, is reported as killed in the history, verdicts.json, JUnit, the HTML timeline
and the terminal, and the verdict still passes; the reference app as built (it exits on SIGTERM)
gets no such finding. On the local backend, the process group's stop reports which way it ended."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from junitparser import JUnitXml

from harness.backends.local import LocalDeployment
from harness.backends.local_processes import Process
from harness.checkers.faults_as_claimed import KILLED, fault_findings, killed_after
from harness.history import FaultEvent
from harness.spec import load_spec
from harness.vocabulary import KILLED_ON_STOP
from tests.integration.suite_runs import ROOT

REFAPP = ROOT / "targets" / "refapp"
# the image's own command (targets/refapp/Dockerfile), under a shell that ignores SIGTERM and, as PID 1,
# never passes it on: `docker stop` waits out stop_timeout and kills it, as with Node as PID 1
IGNORING = "trap '' TERM; /venv/bin/uvicorn refapp.main:app --host 0.0.0.0 --port 8000 --no-access-log & wait"


def harness(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          check=False, timeout=600, env={**os.environ, "COLUMNS": "250"})


def graceful_restart(spec: Path, out: Path) -> tuple[subprocess.CompletedProcess[str], dict, dict]:
    """Run the graceful-restart scenario on ``spec``: the process, its verdict record, its fault event."""
    proc = harness("run", "--target", str(spec), "--backend", "docker", "--suite", "restart", "--replicas", "1",
                   "--out", str(out), "--", "-k", "graceful")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [record] = json.loads((out / "verdicts.json").read_text())
    history = [json.loads(line) for line in next(out.glob("*.history.jsonl")).read_text().splitlines()]
    [event] = [e for e in history if e["type"] == "fault"]
    assert event["fault"] == "graceful-restart" and event["target"] == "app-0"
    return proc, record, event


@pytest.mark.docker
def test_a_graceful_restart_that_killed_the_app_says_so_in_every_report(images: None, tmp_path: Path) -> None:
    spec = tmp_path / "ignores-sigterm.yaml"
    spec.write_text(f"extends: {REFAPP / 'durable.yaml'}\nname: refapp-ignores-sigterm\n"
                    f"app:\n  stop_timeout: 2\n  command: [sh, -c, {json.dumps(IGNORING)}]\n")
    proc, record, event = graceful_restart(spec, tmp_path / "run")
    out = tmp_path / "run"

    waited = killed_after(FaultEvent(**{k: v for k, v in event.items() if k != "type"}))
    assert waited is not None and 2.0 <= waited < 10, event["detail"]  # the measured wait: the timeout, not more
    assert event["detail"].startswith(f"{KILLED_ON_STOP}: killed after {waited:.1f} s (stop_timeout 2 s)")
    assert "came back on 127.0.0.1:" in event["detail"]
    assert record["validity"] == "pass" and not record["violations"]  # a finding, never a failure
    [finding] = [f for f in record["findings"] if f["kind"] == KILLED]
    assert finding["message"].startswith(f"graceful-restart of app-0: the app ignored SIGTERM for {waited:g} s")
    assert "under an orchestrator this is a kill, so this scenario tested a crash" in finding["message"]

    [case] = [c for suite in JUnitXml.fromfile(str(out / "junit.xml")) for c in suite]
    assert case.is_passed and f"finding [faults_as_claimed/{KILLED}] on app-0" in case.system_out

    html = (out / "report.html").read_text()
    assert html.count('<g class="fault killed">') == 1 and "graceful-restart app-0 (killed)" in html
    assert f"finding ({KILLED})" in html

    terminal = " ".join(proc.stdout.split())
    assert f"finding ({KILLED}):" in terminal and "ignored SIGTERM" in terminal


@pytest.mark.docker
def test_an_app_that_exits_on_sigterm_gets_no_such_finding(images: None, tmp_path: Path) -> None:
    proc, record, event = graceful_restart(REFAPP / "durable.yaml", tmp_path / "run")
    assert event["detail"].startswith("exited on SIGTERM after "), event["detail"]
    assert KILLED_ON_STOP not in event["detail"]
    assert record["validity"] == "pass" and not [f for f in record["findings"] if f["kind"] == KILLED]
    assert 'class="fault killed"' not in (tmp_path / "run" / "report.html").read_text()
    assert KILLED not in proc.stdout


IGNORES_TERM = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"
EXITS_ON_TERM = "import time; print('ready', flush=True); time.sleep(60)"


def started(code: str, tmp_path: Path) -> Process:
    """A python child, leader of its process group, once it has said it is ready (its handler is set)."""
    log = tmp_path / "child.log"
    proc = Process([sys.executable, "-c", code], tmp_path, dict(os.environ), log)
    deadline = time.monotonic() + 20
    while "ready" not in log.read_text():
        assert proc.exit_status() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.02)
    return proc


@pytest.mark.local
def test_the_local_process_group_stop_reports_a_sigkill(tmp_path: Path) -> None:
    proc = started(IGNORES_TERM, tmp_path)
    began = time.monotonic()
    assert proc.stop(signal.SIGTERM, 0.5) is True  # ignored SIGTERM: killed after the timeout
    assert time.monotonic() - began >= 0.5 and proc.exit_status() == -signal.SIGKILL

    proc = started(EXITS_ON_TERM, tmp_path)
    assert proc.stop(signal.SIGTERM, 5.0) is False and proc.exit_status() == -signal.SIGTERM


# the reference app served from a thread (uvicorn then installs no signal handler) of a process that
# ignores SIGTERM: the whole process group gets SIGTERM on a graceful stop, and nothing in it obeys
SERVED_IGNORING = ("import signal, threading, uvicorn; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                   "server = threading.Thread(target=uvicorn.run, args=('refapp.main:app',), "
                   "kwargs=dict(host='127.0.0.1', port={port}, access_log=False)); server.start(); server.join()")


@pytest.mark.local
def test_a_local_graceful_restart_that_killed_the_app_says_so(tmp_path: Path) -> None:
    spec = load_spec(REFAPP / "durable.yaml")
    process = spec.app.process.model_copy(update={"command": ["python", "-c", SERVED_IGNORING], "preload": []})
    spec = spec.model_copy(update={"app": spec.app.model_copy(update={"stop_timeout": 1, "process": process})})
    with LocalDeployment(spec, replicas=1) as deployment:
        deployment.restart("app-0")
        deployment.wait_ready("app-0")
    [event] = deployment.history.faults()
    waited = killed_after(event)
    assert waited is not None and 1.0 <= waited < 10, event.detail  # the timeout, not more
    assert event.detail.startswith(f"{KILLED_ON_STOP}: killed after {waited:.1f} s (stop_timeout 1 s)")
    [finding] = fault_findings(deployment.history)
    assert finding.message.startswith(f"graceful-restart of app-0: the app ignored SIGTERM for {waited:g} s")
