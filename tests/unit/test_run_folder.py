"""The run folder's layout, written and read through ``harness.run_folder`` alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness import run_folder
from harness.errors import HarnessError
from harness.history import History, Outcome


class Upper:
    """A stand-in redactor: upper-cases every string, so a test sees what went through it."""

    def value(self, data: Any) -> Any:
        if isinstance(data, str):
            return data.upper()
        if isinstance(data, dict):
            return {k: self.value(v) for k, v in data.items()}
        return [self.value(v) for v in data] if isinstance(data, list) else data

    def event(self, event: Any) -> Any:
        from dataclasses import replace

        return replace(event, args=self.value(event.args)) if hasattr(event, "args") else event


def test_a_scenario_is_saved_redacted_and_found_by_its_record(tmp_path: Path) -> None:
    history = History()
    history.record_op(kind="sessions", name="login", replica="app-0", start=1.0, end=1.1, outcome=Outcome.OK,
                      args={"user": "alice"}, value={"token": "t"}, status=200)
    name = run_folder.slug("scenarios/test_restart.py::test_state_survives[crash]")
    assert name == "scenarios_test_restart.py_test_state_survives_crash_"
    path = run_folder.save_scenario(tmp_path, name, history, {"scenario": "crash", "validity": "pass"}, Upper())
    assert path == tmp_path / f"{name}.history.jsonl"
    assert [e["args"] for e in run_folder.events(path)] == [{"user": "ALICE"}]
    verdict = run_folder.verdict_beside(path)
    assert json.loads(verdict.read_text()) == {"scenario": "CRASH", "validity": "PASS"}
    record = {"history": run_folder.relative(tmp_path, path)}
    assert run_folder.find_history(tmp_path, record) == path
    assert run_folder.find_history(tmp_path, {"history": f"/elsewhere/{path.name}"}) == path  # never that path
    assert run_folder.find_history(tmp_path, {"history": f"../{path.name}"}) == path
    assert run_folder.find_history(tmp_path, {}) is None


def test_worker_parts_are_merged_in_test_order_and_removed(tmp_path: Path) -> None:
    run_folder.write_part(tmp_path, "gw1", [{"nodeid": "t.py::b"}])
    run_folder.write_part(tmp_path, "gw0", [{"nodeid": "t.py::c"}])
    merged = run_folder.in_test_order([{"nodeid": "t.py::a"}, *run_folder.take_parts(tmp_path)])
    assert [r["nodeid"] for r in merged] == ["t.py::a", "t.py::b", "t.py::c"]
    assert list(tmp_path.glob("verdicts.*.json")) == []
    run_folder.write_verdicts(tmp_path, merged)
    assert run_folder.read_verdicts(tmp_path) == merged
    assert [p.name for p in tmp_path.iterdir()] == ["verdicts.json"]  # no temporary file left


def test_a_folder_without_verdicts_is_refused_by_name(tmp_path: Path) -> None:
    assert run_folder.read_verdicts_if_any(tmp_path) == []
    with pytest.raises(HarnessError, match=r"verdicts\.json not found: is .* a run folder"):
        run_folder.read_verdicts(tmp_path)
    (tmp_path / "verdicts.json").write_text('[{"nodeid": ')
    with pytest.raises(HarnessError, match="not valid JSON.*interrupted"):
        run_folder.read_verdicts(tmp_path)
    (tmp_path / "verdicts.json").write_text('{"nodeid": "x"}')
    with pytest.raises(HarnessError, match="expected a JSON list of records, found dict"):
        run_folder.read_verdicts(tmp_path)


def test_an_error_cause_is_read_from_its_field_only() -> None:
    class Report:
        user_properties = [("other", "x"), (run_folder.ERROR_PROPERTY, "load failed: locust exited with code 2")]
        longrepr = "harness.errors.DeploymentError: not this text"

    assert run_folder.error_cause(Report()) == "load failed: locust exited with code 2"
    Report.user_properties = []
    assert run_folder.error_cause(Report()) is None
