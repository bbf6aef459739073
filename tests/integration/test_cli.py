"""The command line end to end: exit codes, the run folder, JUnit for CI, errors before any verdict."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from junitparser import Failure, JUnitXml

from tests.integration.suite_runs import ROOT

pytestmark = pytest.mark.docker
REFAPP = ROOT / "targets" / "refapp"


def harness(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "COLUMNS": "200"})


def test_run_on_a_failing_target_exits_1_with_reports_ci_can_read(images: None, tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = harness("run", "--target", str(REFAPP / "memory.yaml"), "--suite", "restart", "--out", str(out),
                   "--", "-k", "crash")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "running test_state_survives[crash]" in proc.stderr  # progress per scenario
    assert "fail" in proc.stdout  # the verdict table

    xml = JUnitXml.fromfile(str(out / "junit.xml"))
    cases = [case for suite in (xml if hasattr(xml, "__iter__") else [xml]) for case in suite]
    assert len(cases) == 1
    failures = [r for r in cases[0].result if isinstance(r, Failure)]
    assert failures and "lost" in (failures[0].text or "") + (failures[0].message or "")

    html = (out / "report.html").read_text()
    assert 'id="verdicts"' in html and "<svg" in html
    login = json.loads(next(out.glob("*.history.jsonl")).read_text().splitlines()[0])
    assert login["name"] == "login" and login["value"]["token"].startswith("‹secret:")  # a pseudonym, not the token


def test_a_spec_that_extracts_nothing_stops_the_run_with_exit_2(images: None, tmp_path: Path) -> None:
    spec = tmp_path / "wrong-token.yaml"
    spec.write_text(f"extends: {REFAPP / 'durable.yaml'}\nname: wrong-token\n"
                    "operations:\n  sessions:\n    login:\n      extract:\n        token: {json: session.token}\n")
    proc = harness("run", "--target", str(spec), "--suite", "restart", "--out", str(tmp_path / "run"),
                   "--", "-k", "crash")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    text = " ".join((proc.stdout + proc.stderr).split())
    assert "operations.sessions.login.extract.token" in text and str(spec) in text
    assert "JSON path 'session.token' found nothing" in text


def test_check_spec_reads_a_spec_back_and_rejects_a_bad_one(tmp_path: Path) -> None:
    good = harness("check-spec", str(ROOT / "targets" / "shop" / "persistent.yaml"))
    assert good.returncode == 0, good.stderr
    assert "POST /login with form body" in good.stdout and "limited [403]" in good.stdout
    assert "quotes: absent, not tested" in good.stdout

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\napp: {image: x, port: eighty}\noperations: {}\n")
    proc = harness("check-spec", str(bad))
    assert proc.returncode == 2
    assert str(bad) in proc.stderr and "app.port" in proc.stderr


def test_every_command_has_help() -> None:
    for command in ("run", "check-spec", "report", "images", "sweep", "replay"):
        proc = harness(command, "--help")
        assert proc.returncode == 0 and "usage: harness" in proc.stdout, command
