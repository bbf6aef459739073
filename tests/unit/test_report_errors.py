"""A scenario that errored before its verdict is a row, an <error>, a card; its texts are redacted;
and a copied run folder is reported from its own files, never the original's."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

from rich.console import Console

from harness.errors import DeploymentError, ExtractionError, ReadinessTimeout
from harness.load.runner import LoadError
from harness.report.errors import console_text, error_record, label
from harness.report.folder import write_reports
from harness.report.html import render_html
from harness.report.junit import junit_xml
from harness.report.terminal import verdict_table
from tests.unit.test_report_html import PASSWORD, write_sample_run

SECRET = "Zq8vR2mK9xW4pL7nT3bY6cH1"


def record(exc: Exception) -> dict:
    return error_record(exc, nodeid="scenarios/test_restart.py::test_state_survives[crash]",
                        scenario="state survives crash", target="refapp-durable", replicas=2, seed=0,
                        secrets=[SECRET], phase="call")


def readiness() -> ReadinessTimeout:
    return ReadinessTimeout("replica app-0 of refapp was not ready on /readyz after 2s",
                            f"still-warming-up\nAPI_KEY={SECRET}")


def test_each_cause_reads_in_words() -> None:
    assert label(readiness()) == "readiness timeout"
    assert label(DeploymentError("app-0 exited with code 2 before it became ready")) == "deploy failed"
    assert label(ExtractionError("field 'operations.sessions.login.extract.token': nothing")) == "extraction error"
    assert label(LoadError("locust exited with code 1")) == "load failed"
    assert label(TypeError("unsupported operand")) == "internal error (TypeError)"


def test_error_record_has_a_one_line_cause_and_the_full_text_redacted() -> None:
    r = record(readiness())
    assert r["validity"] == "error"
    entry = r["error"]
    assert entry["cause"] == "readiness timeout: replica app-0 of refapp was not ready on /readyz after 2s"
    assert "\n" not in entry["cause"] and entry["type"] == "ReadinessTimeout"
    assert "still-warming-up" in entry["detail"] and SECRET not in json.dumps(r)
    text = console_text(entry)
    assert text.splitlines()[0] == entry["cause"]  # the cause first, in words
    assert "still-warming-up" in text and "Traceback" not in text and SECRET not in text


def test_an_error_is_a_row_an_error_and_a_card() -> None:
    r = record(readiness())
    console = Console(width=220, record=True)
    console.print(verdict_table([r]))
    row = console.export_text()
    assert "state survives crash" in row and "error" in row and "readiness timeout: replica app-0" in row

    root = junit_xml([r]).getroot()
    suite = root.find("testsuite")
    assert suite is not None and suite.get("tests") == "1" and suite.get("errors") == "1"
    error = root.find(".//testcase/error")
    assert error is not None and error.get("type") == "ReadinessTimeout"
    assert error.get("message", "").startswith("readiness timeout: ")
    assert "still-warming-up" in (error.text or "") and SECRET not in (error.text or "")

    html = render_html([r], ["this record names no history"])
    assert "1 scenarios" in html and "1 error" in html
    assert 'badge error' in html and 'class="errorcard"' in html
    assert "readiness timeout: replica app-0" in html.split('<table id="verdicts">')[1].split("</table>")[0]
    assert "history not found" not in html and SECRET not in html


def test_a_run_folder_with_an_error_renders_without_a_history(tmp_path: Path) -> None:
    (tmp_path / "verdicts.json").write_text(json.dumps([record(LoadError("locust exited with code 1"))]))
    paths = write_reports(tmp_path)
    assert ET.parse(paths["junit"]).getroot().find(".//error[@type='LoadError']") is not None
    assert "load failed: locust exited with code 1" in paths["html"].read_text()


def test_report_of_a_copied_folder_reads_and_rewrites_the_copy_only(tmp_path: Path) -> None:
    """verdicts.json of older runs names histories by absolute path: the copy's own files are used."""
    original = tmp_path / "original"
    sample = write_sample_run(original)
    before = {p.name: p.read_bytes() for p in original.iterdir()}
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    paths = write_reports(copy, extra_secrets=[PASSWORD])
    assert {p.name: p.read_bytes() for p in original.iterdir()} == before  # the original was not touched
    for path in copy.iterdir():
        assert not [s for s in sample.secrets if s in path.read_text()], path.name
    html = paths["html"].read_text()
    assert html.count('<svg class="timeline"') == 3  # the copy's histories were found by name
    assert str(original) not in html


def test_history_paths_outside_the_folder_are_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.history.jsonl"
    outside.write_text('{"type": "op"}\n')
    run = tmp_path / "run"
    run.mkdir()
    records = [{"nodeid": "t::a", "scenario": "a", "validity": "pass", "history": "../elsewhere.history.jsonl"},
               {"nodeid": "t::b", "scenario": "b", "validity": "pass", "history": str(outside)}]
    (run / "verdicts.json").write_text(json.dumps(records))
    html = write_reports(run)["html"].read_text()
    assert html.count("history not found") == 2
    assert outside.read_text() == '{"type": "op"}\n'


def test_harness_report_on_a_copy_leaves_the_original_alone(tmp_path: Path) -> None:
    """The command end to end: ``harness report COPY`` exits 0, rewrites the copy, never the original."""
    import subprocess
    import sys

    original = tmp_path / "original"
    sample = write_sample_run(original)
    before = {p.name: p.read_bytes() for p in original.iterdir()}
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "report", str(copy)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert {p.name: p.read_bytes() for p in original.iterdir()} == before
    assert (copy / "report.html").is_file() and (copy / "junit.xml").is_file()
    records = json.loads((copy / "verdicts.json").read_text())
    # each history now named relative to the folder: the copy is self-contained from here on
    assert all(r["history"] == Path(r["history"]).name and (copy / r["history"]).is_file() for r in records[:3])
    assert not [s for s in sample.secrets if s in (copy / "verdicts.json").read_text()]
