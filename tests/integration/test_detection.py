"""The harness judging the reference app, in both directions, through real pytest sessions.

Each storage mode runs every scenario suite (restart, scale-out, dependency) in ONE
pytest subprocess, exactly as a user would (``pytest scenarios --target ...``), and
the verdicts it wrote are read back. A mode is run once per test session and shared
by the tests below (``ModeRuns``), so ``-k durable`` runs only the durable target
while the grid test runs them all:

- ``durable`` must pass every scenario: a false alarm is as bad as a miss;
- each bug mode must be caught where DESIGN.md says (``MATRIX``, ``SCENARIO_MATRIX``);
- the detection grid (mode x suite, violations per checker) is printed to the
  terminal whatever the capture setting, and attached to the test report.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import pytest

from harness.checkers import STATE_CHECKERS
from harness.checkers.base import judge
from harness.history import History
from tests.integration.suite_runs import ROOT, SuiteRun, run_suites

pytestmark = pytest.mark.docker

SUITES = ("restart", "scale_out", "dependency")
#: scenarios per suite (its parametrized tests); every mode must reach a verdict in each
SCENARIOS = {"restart": 5, "scale_out": 3, "dependency": 5}

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

#: detections pinned to one scenario: (bug mode, scenario) -> (suite, checker, violation kind)
SCENARIO_MATRIX = {
    ("fallback", "state survives dependency-outage of postgres"):
        ("dependency", "fail_loud", "acknowledged-during-outage-then-lost"),
    ("fallback", "state survives network-cut of postgres"):
        ("dependency", "fail_loud", "acknowledged-during-outage-then-lost"),
}

MODES = ("durable", *MATRIX)


def suite_of(verdict: dict[str, Any]) -> str:
    """The suite of a verdict, from its test module: scenarios/test_scale_out.py -> scale_out."""
    return Path(verdict["nodeid"].split("::")[0]).stem.removeprefix("test_")


class ModeRun(SuiteRun):
    """One pytest session of every suite against one storage mode of the reference app."""

    @property
    def mode(self) -> str:
        return self.target

    def suite(self, name: str) -> list[dict[str, Any]]:
        return [v for v in self.verdicts if suite_of(v) == name]

    def found(self, verdicts: list[dict[str, Any]], checker: str, kind: str) -> list[dict[str, Any]]:
        return [x for v in verdicts for x in v["violations"] if x["checker"] == checker and x["kind"] == kind]

    def cell(self, suite: str) -> str:
        """``pass``, or the violations per checker, e.g. ``sessions 144, files 3``; then what is not a verdict."""
        verdicts = self.suite(suite)
        per_checker = Counter(x["checker"] for v in verdicts for x in v["violations"])
        parts = [f"{checker} {n}" for checker, n in sorted(per_checker.items(), key=lambda kv: (-kv[1], kv[0]))]
        unknown = sum(v["validity"] == "unknown" for v in verdicts)
        missing = SCENARIOS[suite] - len(verdicts)
        parts += [f"unknown {unknown}"] * bool(unknown) + [f"no verdict {missing}"] * bool(missing > 0)
        return ", ".join(parts) or "pass"


class ModeRuns:
    """Runs each mode's pytest session on first use and keeps it for the other tests."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.runs: dict[str, ModeRun] = {}

    def __getitem__(self, mode: str) -> ModeRun:
        if mode not in self.runs:
            self.runs[mode] = self._run(mode)
        return self.runs[mode]

    def _run(self, mode: str) -> ModeRun:
        run = run_suites(ROOT / "targets" / "refapp" / f"{mode}.yaml", self.out / mode, "-m", " or ".join(SUITES))
        return ModeRun(**vars(run))


@pytest.fixture(scope="module")
def runs(images: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModeRuns]:
    yield ModeRuns(tmp_path_factory.mktemp("detection"))


def designated(mode: str, suite: str) -> bool:
    """Whether the mode must be caught in this suite (by MATRIX or a pinned scenario)."""
    return (MATRIX.get(mode, ("",))[0] == suite
            or any(m == mode and expected[0] == suite for (m, _), expected in SCENARIO_MATRIX.items()))


def wrap(cell: str, width: int = 40) -> list[str]:
    """Split a cell at its commas into lines of at most ``width`` characters (one part may be longer)."""
    lines, line = [], ""
    for part in cell.split(", "):
        if line and len(line) + 2 + len(part) > width:
            lines.append(line + ",")
            line = part
        else:
            line = f"{line}, {part}" if line else part
    return [*lines, line]


def grid(runs: ModeRuns) -> str:
    """Mode x suite, each cell the violations per checker; ``*`` marks where the mode must be caught."""
    rows = [[["mode"], *([s] for s in SUITES), ["seconds"]]]
    for mode in MODES:
        run = runs[mode]
        cells = [wrap(("* " if designated(mode, s) else "") + run.cell(s)) for s in SUITES]
        rows.append([[mode], *cells, [f"{run.seconds:.0f}"]])
    widths = [max(len(line) for row in rows for line in row[i]) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        for k in range(max(len(cell) for cell in row)):
            parts = [(cell[k] if k < len(cell) else "").ljust(w) for cell, w in zip(row, widths)]
            lines.append("  ".join(parts).rstrip())
    total = sum(runs[m].seconds for m in MODES)
    return "\n".join(["detection grid: violations per checker (* = the mode must be caught in this suite)",
                      *lines, f"total {total:.0f}s for {len(MODES)} modes x {len(SUITES)} suites, one pytest session per mode"])


def test_durable_passes_every_scenario(runs: ModeRuns) -> None:
    run = runs["durable"]
    assert run.code == 0, run.tail()
    assert {s: len(run.suite(s)) for s in SUITES} == SCENARIOS, run.tail()
    for verdict in run.verdicts:
        assert verdict["validity"] == "pass", verdict
        history = History.from_jsonl(run.out / verdict["history"])  # the stored history judges the same
        assert history.operations()
        assert judge(history, STATE_CHECKERS).ok or "logout" in verdict["scenario"]


def test_memory_loses_sessions_on_crash_and_scale_out(runs: ModeRuns) -> None:
    run = runs["memory"]
    assert run.code == 1, run.tail()

    crash = run.scenario("state survives crash")
    assert crash["validity"] == "fail"
    # A session written on app-0 and rejected by app-0 itself after its crash: lost to the restart.
    lost_to_crash = [v for v in crash["violations"]
                     if v["checker"] == "sessions" and v["kind"] == "lost" and v["replica"] == "app-0"
                     and "acknowledged by app-0" in v["message"] and "crash of app-0" in v["message"]]
    assert lost_to_crash, crash["violations"]
    assert "user-0-" in lost_to_crash[0]["message"]

    scaled = run.scenario("state after scale-out 1 -> 3")
    assert scaled["validity"] == "fail"
    rejecting = {v["replica"] for v in scaled["violations"]
                 if v["checker"] == "sessions" and v["kind"] == "lost" and "acknowledged by app-0" in v["message"]}
    assert rejecting == {"app-1", "app-2"}, scaled["violations"]
    assert "state survives crash" in run.output and "lost" in run.output  # the pytest failure explains itself


@pytest.mark.timeout(7200)
def test_detection_grid(runs: ModeRuns, capsys: pytest.CaptureFixture[str], record_testsuite_property: Any) -> None:
    """Every mode against every suite: durable passes everything, each bug is caught where it must be."""
    text = grid(runs)
    with capsys.disabled():  # shown with or without -s
        print("\n" + text)
    record_testsuite_property("detection_grid", text)  # in the JUnit XML (valid under xunit2, unlike record_property)
    (runs.out / "detection-grid.txt").write_text(text + "\n")  # next to each mode's verdicts and histories

    missed = []
    durable = runs["durable"]
    if durable.code != 0 or any(v["validity"] != "pass" for v in durable.verdicts):
        missed.append(f"durable: not every scenario passed {durable.tail()}")
    for mode in MATRIX:
        run = runs[mode]
        if run.code != 1:
            missed.append(f"{mode}: expected pytest exit 1 (violations found) {run.tail()}")
        counts = {s: len(run.suite(s)) for s in SUITES}
        if counts != SCENARIOS:
            missed.append(f"{mode}: verdicts per suite {counts}, expected {SCENARIOS} {run.tail()}")
    for mode, (suite, checker, kind) in MATRIX.items():
        if not runs[mode].found(runs[mode].suite(suite), checker, kind):
            missed.append(f"{mode}: expected {checker}/{kind} in suite {suite}, got {runs[mode].cell(suite)}")
    for (mode, scenario), (suite, checker, kind) in SCENARIO_MATRIX.items():
        verdicts = [v for v in runs[mode].suite(suite) if v["scenario"] == scenario]
        if not runs[mode].found(verdicts, checker, kind):
            got = [(x["checker"], x["kind"]) for v in verdicts for x in v["violations"]][:10]
            missed.append(f"{mode}: expected {checker}/{kind} in scenario {scenario!r}, got {got or 'no violation'}")
    assert not missed, "\n\n".join(missed)
