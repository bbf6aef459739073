"""``harness soak`` end to end: bad input is refused before anything starts (exit 2, the flag named), and a
short soak against the reference app passes on ``durable`` and fails on ``memory`` with its run folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.suite_runs import ROOT

REFAPP = ROOT / "targets" / "refapp"


def harness(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "COLUMNS": "200"})


def _said(proc: subprocess.CompletedProcess[str]) -> str:
    return " ".join((proc.stdout + proc.stderr).split())


@pytest.mark.parametrize("value", ["5x", "ten minutes", "0", "-30s", "1h 30m"])
def test_a_bad_duration_exits_2_naming_the_flag_and_the_forms(value: str, tmp_path: Path) -> None:
    proc = harness("soak", f"--duration={value}", "--out", str(tmp_path / "run"))
    assert proc.returncode == 2, _said(proc)
    text = _said(proc)
    assert "argument --duration" in text and repr(value) in text
    assert "30s, 10m, 1h" in text or "above zero" in text
    assert not (tmp_path / "run").exists()  # refused before anything started


def test_an_unknown_fault_exits_2_listing_the_known_ones(tmp_path: Path) -> None:
    proc = harness("soak", "--duration", "30s", "--faults", "crash,explode", "--out", str(tmp_path / "run"))
    assert proc.returncode == 2
    text = _said(proc)
    assert "argument --faults" in text and "'explode'" in text
    assert "crash, graceful-restart" in text and "scale-to-zero" in text and "network-cut" in text


def test_a_fault_the_backend_cannot_do_exits_2_with_the_reason(tmp_path: Path) -> None:
    proc = harness("soak", "--duration", "30s", "--faults", "crash,network-cut", "--backend", "local",
                   "--out", str(tmp_path / "run"))
    assert proc.returncode == 2, _said(proc)
    text = _said(proc)
    assert "--faults:" in text and "network" in text and "local" in text
    assert not (tmp_path / "run").exists()


def test_a_missing_target_exits_2(tmp_path: Path) -> None:
    proc = harness("soak", "--duration", "30s", "--target", str(tmp_path / "nope.yaml"))
    assert proc.returncode == 2
    assert "--target" in _said(proc) and "no such file" in _said(proc)


def test_soak_has_help() -> None:
    proc = harness("soak", "--help")
    assert proc.returncode == 0 and "usage: harness soak" in proc.stdout
    assert "--fail-fast" in proc.stdout and "--shrink-budget" in proc.stdout and "exit status" in proc.stdout


@pytest.mark.docker
def test_a_short_soak_on_durable_passes_with_its_figures_and_run_folder(images: None, tmp_path: Path) -> None:
    out = tmp_path / "soak"
    proc = harness("soak", "--target", str(REFAPP / "durable.yaml"), "--duration", "20s", "--seed", "7",
                   "--clients", "2", "--replicas", "2", "--mean-gap", "6s", "--backend", "docker", "--out", str(out))
    text = _said(proc)
    assert proc.returncode == 0, text
    assert "seed 7:" in text and "--seed 7" in text  # the seed, and the command that runs this soak again
    assert "verdict: pass" in text and "operations (" in text and "ops/s)" in text and "peak RSS" in text
    soak = json.loads((out / "soak.json").read_text())
    assert soak["plan"]["seed"] == 7 and soak["figures"]["operations"] > 0
    assert (out / "history.jsonl").is_file() and (out / "report.html").is_file() and (out / "junit.xml").is_file()


@pytest.mark.docker
def test_a_short_soak_on_memory_fails_fast_with_its_violations(images: None, tmp_path: Path) -> None:
    out = tmp_path / "soak"
    proc = harness("soak", "--target", str(REFAPP / "memory.yaml"), "--duration", "40s", "--seed", "3",
                   "--clients", "2", "--replicas", "2", "--faults", "crash,graceful-restart,redeploy",
                   "--mean-gap", "5s", "--backend", "docker", "--fail-fast", "--no-shrink", "--out", str(out))
    text = _said(proc)
    assert proc.returncode == 1, text
    assert "verdict: fail (stopped at the first violation: --fail-fast)" in text and "lost" in text
    verdicts = json.loads((out / "verdicts.json").read_text())
    assert verdicts[0]["validity"] == "fail" and verdicts[0]["violations"]
    assert (out / "report.html").is_file()


@pytest.mark.docker
def test_the_soak_marker_runs_a_short_soak_in_pytest_and_fails_with_the_violations(images: None,
                                                                                   tmp_path: Path) -> None:
    """``pytest -m soak`` (what ``harness run --suite soak`` runs): the memory bug mode fails with its violations
    and the command that replays it; the passing form (durable) is the CLI test above."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", str(ROOT / "scenarios"), "-m", "soak", "--target", str(REFAPP / "memory.yaml"),
         "--soak-duration", "20", "--soak-clients", "2", "--seed", "3", "--harness-out", str(tmp_path / "run"),
         "-p", "no:cacheprovider", "-q"], cwd=ROOT, capture_output=True, text=True, timeout=900,
        env={**os.environ, "COLUMNS": "200"})
    text = _said(proc)
    assert proc.returncode == 1, text
    assert "1 failed" in text and "soak: 2 clients for 20s" in text and "/lost]" in text
    assert "--seed 3" in text  # how to replay it
    record = json.loads((tmp_path / "run" / "verdicts.json").read_text())[0]
    assert record["validity"] == "fail" and record["soak"]["plan"]["seed"] == 3
