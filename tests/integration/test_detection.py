"""The harness judging the reference app, in both directions, through real pytest sessions.

Each case runs the scenario suites in a subprocess exactly as a user would
(``pytest scenarios --target ...``) and reads the verdicts it wrote. The detection
matrix runs each bug mode against the suite DESIGN.md names for it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.checkers import STATE_CHECKERS
from harness.checkers.base import judge
from harness.history import History

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.docker

#: bug mode -> (suite marker, checker expected to report it, violation kind)
MATRIX = {
    "memory": ("restart", "sessions", "lost"),
    "fallback": ("dependency", "fail_loud", "acknowledged-during-outage-then-lost"),
    "local-disk": ("restart", "files", "lost"),
    "write-behind": ("restart", "records", "lost"),
    "racy-limit": ("scale_out", "rate_limit", "over-limit"),
    "stale-cache": ("scale_out", "sessions", "revoked-but-accepted"),
    "volatile-redis": ("dependency", "sessions", "lost"),
    "no-expiry": ("restart", "quotes", "expired-but-accepted"),
}


def run_scenarios(target: str, tmp_path: Path, *select: str) -> tuple[int, list[dict[str, Any]], str]:
    out = tmp_path / f"out-{target}"
    cmd = [sys.executable, "-m", "pytest", str(ROOT / "scenarios"), "--target", str(ROOT / "targets" / "refapp" / target),
           "--harness-out", str(out), "-p", "no:cacheprovider", "-q", "--rootdir", str(ROOT), *select]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900, env={**os.environ})
    verdicts = json.loads((out / "verdicts.json").read_text()) if (out / "verdicts.json").exists() else []
    return proc.returncode, verdicts, proc.stdout + proc.stderr


def by_scenario(verdicts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {v["scenario"]: v for v in verdicts}


def test_durable_passes_every_scenario(images: None, tmp_path: Path) -> None:
    code, verdicts, output = run_scenarios("durable.yaml", tmp_path)
    assert code == 0, output
    assert len(verdicts) == 10, output
    for verdict in verdicts:
        assert verdict["validity"] == "pass", verdict
        history = History.from_jsonl(Path(verdict["history"]))  # the stored history judges the same
        assert history.operations()
        assert judge(history, STATE_CHECKERS).ok or "logout" in verdict["scenario"]


def test_memory_loses_sessions_on_crash_and_scale_out(images: None, tmp_path: Path) -> None:
    code, verdicts, output = run_scenarios("memory.yaml", tmp_path, "-k", "crash or scale_out")
    assert code == 1, output
    results = by_scenario(verdicts)

    crash = results["state survives crash"]
    assert crash["validity"] == "fail"
    # A session written on app-0 and rejected by app-0 itself after its crash: lost to the restart.
    lost_to_crash = [v for v in crash["violations"]
                     if v["checker"] == "sessions" and v["kind"] == "lost" and v["replica"] == "app-0"
                     and "acknowledged by app-0" in v["message"] and "crash of app-0" in v["message"]]
    assert lost_to_crash, crash["violations"]
    assert "user-0-" in lost_to_crash[0]["message"]

    scaled = results["state after scale-out 1 -> 3"]
    assert scaled["validity"] == "fail"
    rejecting = {v["replica"] for v in scaled["violations"]
                 if v["checker"] == "sessions" and v["kind"] == "lost" and "acknowledged by app-0" in v["message"]}
    assert rejecting == {"app-1", "app-2"}, scaled["violations"]
    assert "state survives crash" in output and "lost" in output  # the pytest failure explains itself


def test_detection_matrix(images: None, tmp_path: Path) -> None:
    """Each bug mode, against the suite that must catch it, reports the expected violation."""
    rows = []
    missed = []
    for mode, (suite, checker, kind) in MATRIX.items():
        code, verdicts, output = run_scenarios(f"{mode}.yaml", tmp_path, "-m", suite)
        counts = {v["scenario"]: len(v["violations"]) for v in verdicts}
        found = [x for v in verdicts for x in v["violations"] if x["checker"] == checker and x["kind"] == kind]
        rows.append(f"{mode:15} {suite:11} {checker}/{kind}: {len(found):4} | " +
                    ", ".join(f"{name}={n}" for name, n in counts.items()))
        if code != 1 or not found:
            missed.append(f"{mode}: expected {checker}/{kind} from suite {suite} (exit {code})\n{output[-3000:]}")
    print("\ndetection matrix (mode, suite, expected finding: count | violations per scenario)")
    print("\n".join(rows))
    assert not missed, "\n\n".join(missed)
