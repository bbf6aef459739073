"""The cause of a scenario's violations in every report: the terminal table, verdicts.json, JUnit and HTML;
and the kinds a target lacks said once, "not in the spec"."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Callable

import pytest
from rich.console import Console

from harness import run_folder
from harness.checkers import STATE_CHECKERS
from harness.checkers.base import judge
from harness.history import History
from harness.report.folder import write_reports
from harness.report.html import render_html
from harness.report.junit import junit_xml
from harness.redaction import Redactor
from harness.report.terminal import verdict_table
from harness.run import Result
from tests.unit.cause_histories import (crash_that_lost_nothing, dependency_restart_that_lost_writes,
                                        redeploy_that_lost_everything)

CASES: dict[str, tuple[Callable[[], History], str]] = {
    "crash-lost-nothing": (crash_that_lost_nothing, "crash of app-0: nothing lost on app-0; replicas do not share "
                                                    "sessions (2 never seen on another replica)"),
    "redeploy-lost-everything": (redeploy_that_lost_everything, "redeploy of app-0: lost 2 records and 1 file on app-0"),
    "dependency-restart": (dependency_restart_that_lost_writes,
                           "dependency-restart of postgres: lost 2 records on app-0 and app-1 after it"),
}


def record_of(history: History) -> dict:
    verdict = judge(history, STATE_CHECKERS)
    result = Result("state survives a fault", "refapp-memory", verdict, history, 2)
    return {"nodeid": "scenarios/test_restart.py::test_state_survives[crash]", "seed": 3,
            "spec": "targets/refapp/memory.yaml", **result.to_dict()}


@pytest.fixture(params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> tuple[History, str, dict]:
    build, summary = CASES[request.param]
    history = build()
    return history, summary, record_of(history)


def test_verdicts_json_carries_the_causes_and_the_absent_kinds(case: tuple[History, str, dict]) -> None:
    _, summary, record = case
    loaded = json.loads(json.dumps(record, default=str))  # as verdicts.json holds it
    assert loaded["causes"]["summary"] == summary
    group = next(iter(loaded["causes"]["groups"].values()))
    assert group["violations"] >= 1 and group["counts"] and group["first"]["message"]
    assert "sessions" not in loaded["checker"].split("+") or "sessions" not in loaded["not_in_spec"]
    assert "cooldowns" in loaded["not_in_spec"] and "cooldowns" not in loaded["checker"]


def last_column(table_text: str) -> str:
    """The text of the table's last column, its folded lines joined again."""
    return " ".join(" ".join(line.split("│")[-2].split()) for line in table_text.splitlines() if line.count("│") > 2)


def test_the_terminal_table_shows_the_cause(case: tuple[History, str, dict]) -> None:
    _, summary, record = case
    console = Console(width=400, record=True)
    console.print(verdict_table([record]))
    text = console.export_text()
    cell = last_column(text)
    assert cell.startswith(f"cause: {summary} ")  # folded over lines in its cell, above the first violation
    assert record["violations"][0]["message"][:40] in cell
    assert text.strip().splitlines()[-1].strip().startswith("not in the spec: cooldowns, counters")  # said once


def test_the_terminal_says_absent_kinds_per_row_when_targets_differ() -> None:
    records = [record_of(crash_that_lost_nothing()), {**record_of(redeploy_that_lost_everything()), "target": "other"}]
    console = Console(width=400, record=True)
    console.print(verdict_table(records))
    cells = last_column(console.export_text())
    assert cells.count("not in the spec:") == 2
    assert "not in the spec: cooldowns, counters, files, quotes, rate_limit, records" in cells
    assert "not in the spec: cooldowns, counters, quotes, rate_limit, sessions" in cells


def test_junit_failure_starts_with_the_cause(case: tuple[History, str, dict]) -> None:
    _, summary, record = case
    root = junit_xml([record]).getroot()
    failure = root.find(".//testcase/failure")
    assert failure is not None
    assert failure.get("message", "").startswith(summary)
    assert (failure.text or "").startswith(f"cause: {summary}\n")
    assert "replay: pytest 'scenarios/test_restart.py::test_state_survives[crash]'" in (failure.text or "")
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["not_in_spec"].startswith("cooldowns, counters")


def test_html_shows_the_summary_and_the_groups(case: tuple[History, str, dict]) -> None:
    history, summary, record = case
    html = render_html([record], [history])
    table = html.split('<table id="verdicts">')[1].split("</table>")[0]
    assert summary.replace("'", "&#x27;") in table
    section = html.split('id="scenario-0"')[1]
    assert 'class="causes"' in section and summary in section.replace("&#x27;", "'")
    for group in record["causes"]["groups"].values():
        assert group["title"] in section.replace("&#x27;", "'")
    assert "not in the spec: cooldowns, counters" in section
    if "not_shared" in record["causes"]["groups"]:  # replicas that share nothing: no fault is named its cause
        item = section.split('<li class="not_shared">')[1].split("</li>")[0]
        assert "after crash" not in item.split("<br>")[0]


def test_a_run_folder_keeps_the_causes_redacted(tmp_path: Path) -> None:
    history = crash_that_lost_nothing()
    record = record_of(history)
    redactor = Redactor().collect_history(history)
    run_folder.save_scenario(tmp_path, "crash", history, record, redactor)
    saved = json.loads(run_folder.verdict_path(tmp_path, "crash").read_text())
    run_folder.write_verdicts(tmp_path, [{**saved, "history": "crash.history.jsonl"}])
    paths = write_reports(tmp_path)
    for path in paths.values():
        text = Path(path).read_text()
        assert "tok-user-app-0" not in text  # the raw token never reaches a file
    [again] = json.loads(paths["verdicts"].read_text())
    assert again["causes"]["summary"] == CASES["crash-lost-nothing"][1]
    assert ET.parse(paths["junit"]).getroot().find(".//failure").get("message").startswith("crash of app-0")
    assert "replicas do not share sessions" in paths["html"].read_text()


def test_a_record_without_causes_renders_as_before() -> None:
    record = {"scenario": "s", "target": "t", "validity": "fail", "checker": "sessions",
              "violations": [{"checker": "sessions", "kind": "lost", "message": "session lost"}]}
    failure = junit_xml([record]).getroot().find(".//failure")
    assert failure is not None and failure.get("message") == "session lost"
    assert "cause:" not in render_html([record], [None]).split('<table id="verdicts">')[1].split("</table>")[0]
