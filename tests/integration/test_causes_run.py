"""The cause of a real run's losses, end to end: `harness run` against the in-memory reference app,
whose crash loses every session, record and counter of the crashed replica, and whose replicas
share nothing. verdicts.json, JUnit and the HTML report must say so, by cause."""

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


def test_a_crash_of_the_memory_target_is_explained_by_cause(images: None, tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--target", str(REFAPP / "memory.yaml"),
                           "--suite", "restart", "--out", str(out), "--", "-k", "crash"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "200"})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    [record] = json.loads((out / "verdicts.json").read_text())
    assert record["validity"] == "fail"
    causes = record["causes"]
    same = causes["groups"]["same_replica"]  # in-memory sessions are lost on the crashed replica itself
    assert same["counts"]["sessions"] >= 1 and same["replicas"] == ["app-0"]
    assert same["first"]["read_on"] == "app-0" and same["first"]["written_on"] == ["app-0"]
    assert causes["faults"] == ["crash of app-0"]
    assert causes["summary"].startswith("crash of app-0: lost ") and " on app-0" in causes["summary"]
    assert "sessions" in causes["summary"]
    # replicas of the memory target share nothing: shown by a cross-replica read with no fault in between
    assert causes["groups"]["not_shared"]["first"]["faults_between"] == []
    assert "replicas do not share" in causes["summary"]
    assert sum(g["violations"] for g in causes["groups"].values()) == len(record["violations"])

    assert "cause: crash of app-0: lost" in " ".join(proc.stdout.split())  # the terminal table
    [case] = [case for suite in JUnitXml.fromfile(str(out / "junit.xml")) for case in suite]
    [failure] = [r for r in case.result if isinstance(r, Failure)]
    assert (failure.message or "").startswith(causes["summary"])
    assert (failure.text or "").startswith(f"cause: {causes['summary']}")
    html = (out / "report.html").read_text()
    assert 'class="causes"' in html and "lost on the replica the fault hit" in html
