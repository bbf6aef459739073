"""The harness judging the reference app, in both directions, through real pytest sessions.

Each case runs the scenario suites in a subprocess exactly as a user would
(``pytest scenarios --target ...``) and reads the verdicts it wrote.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.checkers.sessions import check_sessions
from harness.history import History

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.docker


def run_scenarios(target: str, tmp_path: Path, select: str | None = None) -> tuple[int, list[dict[str, Any]], str]:
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "pytest", str(ROOT / "scenarios"), "--target", str(ROOT / "targets" / "refapp" / target),
           "--harness-out", str(out), "-p", "no:cacheprovider", "-q", "--rootdir", str(ROOT)]
    if select:
        cmd += ["-k", select]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ})
    verdicts = json.loads((out / "verdicts.json").read_text()) if (out / "verdicts.json").exists() else []
    return proc.returncode, verdicts, proc.stdout + proc.stderr


def by_scenario(verdicts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {v["scenario"]: v for v in verdicts}


def test_durable_passes_every_scenario(images: None, tmp_path: Path) -> None:
    code, verdicts, output = run_scenarios("durable.yaml", tmp_path)
    assert code == 0, output
    assert len(verdicts) == 5, output
    for verdict in verdicts:
        assert verdict["validity"] == "pass", verdict
        assert verdict["stats"]["sessions"]["reads_judged"] > 0, verdict
        history = History.from_jsonl(Path(verdict["history"]))  # the stored history judges the same
        assert history.faults() or "logout" in verdict["scenario"]
        assert check_sessions(history).ok


def test_memory_loses_sessions_on_crash_and_scale_out(images: None, tmp_path: Path) -> None:
    code, verdicts, output = run_scenarios("memory.yaml", tmp_path, "crash or scale_out")
    assert code == 1, output
    results = by_scenario(verdicts)

    crash = results["sessions survive crash"]
    assert crash["validity"] == "fail"
    # A session written on app-0 and rejected by app-0 itself after its crash: lost to the restart.
    lost_to_crash = [v for v in crash["violations"]
                     if v["kind"] == "lost" and v["replica"] == "app-0" and "acknowledged by app-0" in v["message"]
                     and "crash of app-0" in v["message"]]
    assert lost_to_crash, crash["violations"]
    assert "user-0-" in lost_to_crash[0]["message"]

    scaled = results["sessions after scale-out 1 -> 3"]
    assert scaled["validity"] == "fail"
    rejecting = {v["replica"] for v in scaled["violations"] if v["kind"] == "lost"}
    assert rejecting == {"app-1", "app-2"}, scaled["violations"]
    assert "sessions survive crash" in output and "lost" in output  # the pytest failure explains itself


def test_stale_cache_accepts_revoked_tokens(images: None, tmp_path: Path) -> None:
    code, verdicts, output = run_scenarios("stale-cache.yaml", tmp_path, "logout")
    assert code == 1, output
    [verdict] = verdicts
    kinds = {v["kind"] for v in verdict["violations"]}
    assert kinds == {"revoked-but-accepted"}, verdict["violations"]
    assert all("logged out on" in v["message"] for v in verdict["violations"])
