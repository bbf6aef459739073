"""The interrupted mark: a run a signal stopped says so in verdicts.json, JUnit, HTML and the table."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from rich.console import Console

from harness.report.folder import write_reports
from harness.report.interrupted import add_mark, interrupted_record, interruption
from harness.report.junit import junit_xml
from harness.report.terminal import print_verdicts

PASSED = {"nodeid": "scenarios/test_restart.py::test_state_survives[crash]", "scenario": "state survives crash",
          "target": "refapp-durable", "replicas": 1, "seed": 0, "validity": "pass", "violations": [], "notes": []}


def test_junit_counts_the_mark_as_an_error_of_type_interrupted() -> None:
    root = junit_xml([PASSED, interrupted_record("SIGTERM", 1, 3, target="refapp-durable")]).getroot()
    assert root.get("tests") == "2" and root.get("errors") == "1" and root.get("failures") == "0"
    error = root.find(".//testcase[@name='interrupted']/error")
    assert error is not None and error.get("type") == "interrupted"
    assert "SIGTERM: 1 of 3 scenario(s) finished" in (error.get("message") or "")


def test_a_complete_run_has_no_mark() -> None:
    root = junit_xml([PASSED]).getroot()
    assert root.get("errors") == "0" and root.find(".//error") is None
    assert interruption([PASSED]) is None


def test_a_marked_folder_renders_the_mark_everywhere(tmp_path: Path) -> None:
    (tmp_path / "verdicts.json").write_text(json.dumps([PASSED]))
    assert add_mark(tmp_path / "verdicts.json", "SIGHUP", target="refapp-durable")
    assert not add_mark(tmp_path / "verdicts.json", "SIGINT")  # once only: the first signal is the one
    paths = write_reports(tmp_path)
    records = json.loads(paths["verdicts"].read_text())
    assert [r["validity"] for r in records] == ["pass", "interrupted"]
    assert interruption(records)["signal"] == "SIGHUP" and interruption(records)["finished"] == 1
    html = paths["html"].read_text()
    assert "INTERRUPTED by SIGHUP" in html and "stopped by a signal here" in html
    assert ET.parse(paths["junit"]).getroot().find(".//error[@type='interrupted']") is not None


def test_an_unmarked_folder_renders_no_mark(tmp_path: Path) -> None:
    (tmp_path / "verdicts.json").write_text(json.dumps([PASSED]))
    assert "INTERRUPTED" not in write_reports(tmp_path)["html"].read_text()


def test_the_verdict_table_shows_the_mark_as_a_row() -> None:
    console = Console(record=True, width=200)
    print_verdicts([PASSED, interrupted_record("SIGINT", 1)], console)
    text = console.export_text()
    assert "interrupted" in text and "run interrupted by SIGINT" in text
