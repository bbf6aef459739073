"""``harness soak`` around the soak itself, with a stand-in soak on hand-written histories: what it prints
before and after, its exit status, the run folder and its reports, and shrinking a failure into repro.json.

The real soak (deployment, clients, faults) runs in tests/integration/test_soak_cli.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness import cli, run_folder
from harness.checkers import check_records
from harness.checkers.base import judge
from harness.history import History, Outcome
from harness.redaction import process_redactor
from harness.soak import driver, shrink
from harness.soak.driver import SoakProgress, SoakResult
from harness.soak.plan import SoakPlan

REFAPP = Path(__file__).resolve().parents[2] / "targets" / "refapp"


def _history(lost: bool) -> History:
    history = History()
    history.record_op(kind="records", name="create", replica="app-0", start=1000.0, end=1000.1, outcome=Outcome.OK,
                      args={"data": {"v": 1, "nonce": "n1"}}, value={"id": "r1"}, status=200)
    history.record_fault("crash", "app-0", 1001.0, 1001.1)
    history.record_op(kind="records", name="read", replica="app-1", start=1002.0, end=1002.1, outcome=Outcome.OK,
                      args={"id": "r1"}, value={"found": not lost, "data": None if lost else {"v": 1, "nonce": "n1"}},
                      status=200, phase="final")
    return history


class FakeSoak:
    """Stands in for ``run_soak``: records what it was given, writes the run folder as the driver does."""

    def __init__(self, lost: bool) -> None:
        self.lost = lost
        self.plans: list[SoakPlan] = []
        self.fail_fast: list[bool] = []

    def __call__(self, spec: Any, plan: SoakPlan, deployer: Any, out: Path | None = None, progress: Any = None,
                 fail_fast: bool = False) -> SoakResult:
        self.plans.append(plan)
        self.fail_fast.append(fail_fast)
        history = _history(self.lost)
        if progress is not None:
            progress(SoakProgress(1.0, plan.duration, 3, 1, int(self.lost), "crash of replica 0"))
        verdict = judge(history, [check_records])
        result = SoakResult(spec.name, plan, plan.schedule[:1], verdict, history, False, 42.0, 2.0)
        if out is not None:
            redactor = process_redactor().collect_history(history)
            history.to_jsonl(run_folder.soak_history_path(out), redactor)
            record = {"scenario": "soak", "target": spec.name, "replicas": plan.replicas, **verdict.to_dict(),
                      "history": run_folder.SOAK_HISTORY}
            run_folder.save_soak(out, record, result.to_dict(), redactor)  # type: ignore[arg-type]
        return result


def _soak(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake: FakeSoak, *extra: str) -> int:
    monkeypatch.setattr(driver, "run_soak", fake)
    args = cli.parser().parse_args(["soak", "--target", str(REFAPP / "durable.yaml"), "--backend", "local",
                                    "--duration", "60s", "--out", str(tmp_path / "soak"), *extra])
    return args.func(args)


def test_a_passing_soak_prints_its_seed_plan_verdict_and_figures_and_exits_0(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeSoak(lost=False)
    assert _soak(monkeypatch, tmp_path, fake, "--seed", "11", "--faults", "crash,pause", "--mean-gap", "10s") == 0
    said = " ".join(capsys.readouterr().err.split())
    plan = fake.plans[0]
    assert plan.seed == 11 and plan.duration == 60.0 and plan.clients == 4 and plan.replicas == 3
    assert plan.rate == 25.0 and {s.fault for s in plan.schedule} <= {"crash", "pause"}
    assert f"seed 11: {len(plan.schedule)} fault(s) drawn from crash, pause, one every 10s" in said
    assert plan.schedule[0].describe() in said  # the first steps
    assert "--seed 11" in said and "--faults crash,pause" in said  # the command that runs it again
    assert "verdict: pass" in said and "2 operations (" in said and "ops/s), 1 fault(s), peak RSS 42 MB; 2s in all" in said
    out = tmp_path / "soak"
    assert (out / "report.html").is_file() and (out / "junit.xml").is_file() and (out / "soak.json").is_file()
    assert fake.fail_fast == [False]


def test_the_same_seed_draws_the_same_plan_and_no_seed_draws_one_and_prints_it(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeSoak(lost=False)
    for k in range(2):
        _soak(monkeypatch, tmp_path / str(k), fake, "--seed", "5")
    assert fake.plans[0] == fake.plans[1]
    _soak(monkeypatch, tmp_path / "2", fake)
    drawn = fake.plans[2].seed
    assert f"--seed {drawn}" in capsys.readouterr().err


def test_a_failing_soak_prints_its_violations_shrinks_and_writes_the_reproducer(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeSoak(lost=True)
    shrunk_with: list[Any] = []

    def fake_shrink(plan: SoakPlan, run: Any, signature: Any, budget: float, **_: Any) -> shrink.Shrunk:
        shrunk_with.append((signature, budget))
        result = run(plan.with_schedule(plan.schedule[:1]))  # a candidate runs without a run folder
        return shrink.Shrunk(plan, result.plan, 1, 3.0, False, result.verdict.violations[0])

    monkeypatch.setattr(shrink, "shrink", fake_shrink)
    code = _soak(monkeypatch, tmp_path, fake, "--seed", "3", "--fail-fast", "--shrink-budget", "2m")
    said = " ".join(capsys.readouterr().err.split())
    assert code == 1 and fake.fail_fast[0] is True
    assert "verdict: fail" in said and "[records/lost] record r1" in said
    assert shrunk_with == [(frozenset({("records", "lost")}), 120.0)]
    repro = json.loads((tmp_path / "soak" / "repro.json").read_text())
    assert repro["plan"]["seed"] == 3 and repro["violation"]["kind"] == "lost"
    assert len(repro["plan"]["schedule"]) <= 1 and repro["backend"] == "local"
    assert f"harness replay {tmp_path / 'soak' / 'repro.json'}" in said
    record = json.loads((tmp_path / "soak" / "verdicts.json").read_text())[0]
    assert record["validity"] == "fail"
    notes = " ".join(record["notes"])  # report.html shows them: the original and the minimal schedule
    assert "original:" in notes and "minimal:" in notes and "reproduce: harness replay" in notes
    assert "original:" in (tmp_path / "soak" / "report.html").read_text()


def test_no_shrink_leaves_a_failure_as_it_is(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(shrink, "shrink", lambda *a, **k: pytest.fail("shrunk despite --no-shrink"))
    assert _soak(monkeypatch, tmp_path, FakeSoak(lost=True), "--no-shrink") == 1
    assert not (tmp_path / "soak" / "repro.json").exists()


def test_a_soak_a_signal_stops_leaves_a_marked_folder_with_its_history(monkeypatch: pytest.MonkeyPatch,
                                                                       tmp_path: Path) -> None:
    def stopped(spec: Any, plan: SoakPlan, deployer: Any, out: Path | None = None, **_: Any) -> SoakResult:
        assert out is not None
        _history(lost=False).to_jsonl(run_folder.soak_history_path(out))  # streamed so far
        raise KeyboardInterrupt("interrupted by SIGINT")

    with pytest.raises(KeyboardInterrupt):  # ``main`` turns it into exit status 130, as for ``run``
        _soak(monkeypatch, tmp_path, stopped)  # type: ignore[arg-type]
    out = tmp_path / "soak"
    records = json.loads((out / "verdicts.json").read_text())
    assert [r["validity"] for r in records] == ["interrupted"] and records[0]["interrupted"]["signal"] == "SIGINT"
    assert (out / "report.html").is_file() and (out / "history.jsonl").is_file()


def test_durations_and_fault_lists_read_as_the_help_says() -> None:
    import argparse

    from harness.preflight import duration
    from harness.vocabulary import FaultName

    assert [duration(t) for t in ("30s", "10m", "1h", "1h30m", "90", "2.5m")] == [30, 600, 3600, 5400, 90, 150]
    for bad in ("5x", "ten minutes", "0", "-1", "1h 30m", "inf", "m"):
        with pytest.raises(argparse.ArgumentTypeError, match="expected a length of time"):
            duration(bad)
    assert cli.fault_names("crash, scale-to-zero,crash") == [FaultName.CRASH, FaultName.SCALE_TO_ZERO]
    with pytest.raises(argparse.ArgumentTypeError, match="unknown fault 'explode'.*crash, graceful-restart"):
        cli.fault_names("crash,explode")


def test_a_signal_during_the_shrink_stops_it_and_the_soak_is_still_reported(monkeypatch: pytest.MonkeyPatch,
                                                                             tmp_path: Path) -> None:
    def interrupted(*_: Any, **__: Any) -> shrink.Shrunk:
        raise KeyboardInterrupt("interrupted by SIGTERM")

    monkeypatch.setattr(shrink, "shrink", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _soak(monkeypatch, tmp_path, FakeSoak(lost=True))
    out = tmp_path / "soak"
    assert json.loads((out / "verdicts.json").read_text())[0]["validity"] == "fail"
    assert (out / "report.html").is_file() and not (out / "repro.json").exists()
