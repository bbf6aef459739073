"""Errors never look green: each cause (deploy failure, readiness timeout, extraction error, load
failure) is a row of the verdict table, an <error> of junit.xml counted in tests, a card of
report.html, and exit 2; the console leads with the cause in words, the traceback only with --debug.

Runs ``harness run`` on the local backend (fast, no Docker), one scenario each.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from html import escape
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DURABLE = ROOT / "targets" / "refapp" / "durable.yaml"
#: a secret in the app's environment that its own output repeats: it must reach no output
API_KEY = "Zq8vR2mK9xW4pL7nT3bY6cH1"
pytestmark = pytest.mark.local


def spec(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"extends: {DURABLE}\nname: {name}\n{body}")
    return path


def harness_run(target: Path, out: Path, *args: str, env: dict[str, str] | None = None,
                select: tuple[str, ...] = ("--suite", "restart", "--", "-k", "crash and not pause")
                ) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "harness.cli", "run", "--backend", "local", "--target", str(target),
           "--out", str(out), *args, *select]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "220", **(env or {})})


def assert_error_everywhere(proc: subprocess.CompletedProcess[str], out: Path, cause: str, error_type: str) -> str:
    """Exit 2; an error row, an <error> counted in tests, an error card; no secret, no traceback. Returns the output."""
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output
    [record] = json.loads((out / "verdicts.json").read_text())
    assert record["validity"] == "error" and record["error"]["type"] == error_type, record
    assert record["error"]["cause"].startswith(cause), record["error"]
    table = proc.stdout
    assert "error" in table and cause in " ".join(table.split()), table

    suite = ET.parse(out / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "1" and suite.get("errors") == "1"
    error = suite.find("testcase/error")
    assert error is not None and error.get("type") == error_type and error.get("message", "").startswith(cause)

    html = (out / "report.html").read_text()
    assert "1 scenarios" in html and 'class="errorcard"' in html and escape(cause) in html

    assert "harness/plugin.py:" not in output and "Traceback" not in output, output  # no library traceback
    assert f"error: {record['nodeid']}: {cause}" in " ".join(proc.stderr.split()), proc.stderr
    for path in [*out.rglob("*")]:
        if path.is_file() and path.suffix in (".json", ".xml", ".html", ".jsonl"):
            assert API_KEY not in path.read_text(errors="replace"), path
    assert API_KEY not in output
    return output


def test_an_app_that_exits_at_once_is_a_deploy_error(tmp_path: Path) -> None:
    target = spec(tmp_path, "exits-at-once", f"""app:
  env: {{API_KEY: {API_KEY}}}
  process:
    command: [sh, -c, "echo starting with API_KEY=$API_KEY; exit 3"]
    preload: []
""")
    out = tmp_path / "run"
    proc = harness_run(target, out)
    output = assert_error_everywhere(proc, out, "deploy failed: ", "DeploymentError")
    assert "exited with code 3" in output and "starting with API_KEY=" in output  # the app's own last words

    debug = harness_run(target, tmp_path / "debug", "--debug")
    assert debug.returncode == 2
    assert "harness/plugin.py:" in debug.stdout  # the traceback, after the cause
    assert "error test_state_survives[crash]" in debug.stderr and "deploy failed: " in debug.stderr
    assert API_KEY not in debug.stdout + debug.stderr


def test_an_app_never_ready_is_a_readiness_error(tmp_path: Path) -> None:
    target = spec(tmp_path, "never-ready", """app:
  ready_timeout: 2
  process:
    command: [sh, -c, "echo still-warming-up; sleep 600"]
    preload: []
""")
    out = tmp_path / "run"
    output = assert_error_everywhere(harness_run(target, out), out, "readiness timeout: ", "ReadinessTimeout")
    assert "still-warming-up" in output


def test_a_missing_extract_path_is_an_extraction_error(tmp_path: Path) -> None:
    target = spec(tmp_path, "wrong-token", "operations:\n  sessions:\n    login:\n      extract:\n"
                                           "        token: {json: session.token}\n")
    out = tmp_path / "run"
    output = assert_error_everywhere(harness_run(target, out), out, "extraction error: ", "ExtractionError")
    assert "operations.sessions.login.extract.token" in " ".join(output.split())


def test_a_locust_failure_is_a_load_error_exit_2(tmp_path: Path) -> None:
    """Locust refuses its command line (a master port that is no number): LoadError, exit 2, not 1."""
    out = tmp_path / "run"
    env = {"HARNESS_LOAD_REMOTE_WORKERS": "1", "HARNESS_LOAD_MASTER_BIND": "127.0.0.1:no-port"}
    proc = harness_run(DURABLE, out, "--duration", "1", "--users", "2", env=env,
                       select=("--suite", "load", "--", "-k", "test_limit_holds_under_load"))
    assert_error_everywhere(proc, out, "load failed: locust exited with code", "LoadError")


def test_logout_scenario_on_a_target_without_sessions_has_nothing_to_check(tmp_path: Path) -> None:
    """Nothing checked is not a pass: unknown with "nothing to check" in the table, JUnit (skipped) and HTML."""
    import yaml

    refapp = DURABLE.parent
    base = yaml.safe_load((refapp / "base.yaml").read_text())
    operations = yaml.safe_load((refapp / "parts" / "operations.yaml").read_text())["operations"]
    base.pop("extends")
    base.update(name="no-sessions", operations={"records": operations["records"]})
    base["app"]["process"]["cwd"] = str(refapp)
    base["app"]["build"]["context"] = str(refapp)
    target = tmp_path / "no-sessions.yaml"
    target.write_text(yaml.safe_dump(base, sort_keys=False))
    out = tmp_path / "run"
    proc = harness_run(target, out, select=("--suite", "scale-out", "--", "-k", "logout"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [record] = json.loads((out / "verdicts.json").read_text())
    assert record["validity"] == "unknown" and record["nothing_to_check"] is True, record
    assert "unknown" in proc.stdout and "nothing to check" in proc.stdout
    assert "1 scenario(s) had nothing to check" in " ".join(proc.stderr.split())
    suite = ET.parse(out / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("skipped") == "1" and suite.get("errors") == "0"
    html = (out / "report.html").read_text()
    assert "badge unknown" in html and "nothing to check: no operation" in html
    history = (out / record["history"]).read_text()
    assert '"kind": "sessions"' not in history  # nothing was sent for a kind the target does not have


@pytest.mark.docker
def test_a_missing_image_is_a_deploy_error_on_docker(docker_engine: object, tmp_path: Path) -> None:
    """No registry here: an image neither present nor buildable fails the deploy, with the way out."""
    target = spec(tmp_path, "no-image", "app:\n  image: harness-no-such-image:1\n  build: null\n")
    out = tmp_path / "run"
    proc = harness_run(target, out, select=("--backend", "docker", "--suite", "restart", "--", "-k",
                                            "crash and not pause"))
    output = assert_error_everywhere(proc, out, "deploy failed: image 'harness-no-such-image:1'", "DeploymentError")
    assert "harness images" in " ".join(output.split())
