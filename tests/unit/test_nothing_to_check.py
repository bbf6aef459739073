"""Nothing checked is not a pass: a scenario whose checkers saw no operation of their kind is unknown,
"nothing to check", in the verdict and in every report (table, verdicts.json, JUnit, HTML)."""

from __future__ import annotations

import functools
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from rich.console import Console

from harness.checkers import STATE_CHECKERS, check_fail_loud, check_rate_limit, check_sessions
from harness.checkers.base import NOT_IN_SPEC, NOTHING_TO_CHECK, Validity, judge, judged_kinds, not_in_spec
from harness.history import History
from harness.report.folder import write_reports
from harness.report.html import render_html
from harness.report.junit import junit_xml
from harness.report.terminal import verdict_table
from tests.unit.histories import OK, HistoryBuilder


def records_history(lost: bool = False) -> History:
    b = HistoryBuilder("records")
    b.op("create", "app-0", OK, {"data": {"nonce": "n-1"}}, {"id": "r1", "version": 1})
    b.fault("crash", "app-0")
    b.op("read", "app-1", OK, {"id": "r1"}, {"found": not lost, "data": None if lost else {"nonce": "n-1"},
                                              "version": None if lost else 1}, phase="final")
    return b.history


def faults_only() -> History:
    """The logout scenario on a target without sessions: faults happened, no operation was made."""
    b = HistoryBuilder("sessions")
    b.fault("crash", "app-0")
    return b.history


def test_a_checker_with_nothing_of_its_kind_is_unknown_not_pass() -> None:
    verdict = judge(records_history(), [check_sessions])
    assert verdict.validity is Validity.UNKNOWN and not verdict.ok
    assert verdict.nothing_to_check
    assert verdict.notes[0].startswith(f"{NOTHING_TO_CHECK}: no operation of the kinds these checkers judge (sessions)")


def test_a_scenario_where_no_checker_saw_anything_is_unknown() -> None:
    verdict = judge(faults_only(), [*STATE_CHECKERS, check_fail_loud])
    assert verdict.validity is Validity.UNKNOWN and verdict.nothing_to_check
    assert "rate_limit" in verdict.notes[0] and "sessions" in verdict.notes[0]
    assert verdict.to_dict()["nothing_to_check"] is True  # what verdicts.json carries


def test_idle_checkers_beside_a_checking_one_only_add_a_note() -> None:
    passing = judge(records_history(), STATE_CHECKERS)
    assert passing.ok and not passing.nothing_to_check
    # said once, by kind; only the checkers that judged are named in the verdict's checker
    assert passing.notes[-1].startswith(f"{NOT_IN_SPEC}: cooldowns, counters, files, quotes, rate_limit, sessions (")
    assert passing.checker == "records+lost-updates" and not_in_spec(passing) == ["cooldowns", "counters", "files", "quotes",
                                                                     "rate_limit", "sessions"]
    failing = judge(records_history(lost=True), STATE_CHECKERS)
    assert failing.validity is Validity.FAIL and not failing.nothing_to_check  # idle checkers never hide a loss


def test_a_checker_that_declares_nothing_is_run_as_before() -> None:
    custom = lambda h: check_sessions(h)  # noqa: E731 - a user's checker, kinds not declared
    assert judged_kinds(custom) is None
    assert judge(records_history(), [custom]).ok  # it judged (and found nothing wrong): its own business
    assert judged_kinds(functools.partial(check_rate_limit, tolerance=0.1)) == {"rate_limit"}


def nothing_record() -> dict:
    verdict = judge(faults_only(), [check_sessions])
    return {"nodeid": "scenarios/test_scale_out.py::test_logout_honoured_by_every_replica", "seed": 0,
            "scenario": "logout on one replica, honoured by all", "target": "no-sessions", "replicas": 3,
            **verdict.to_dict()}


def test_every_report_says_nothing_to_check() -> None:
    record = nothing_record()
    console = Console(width=200, record=True)
    console.print(verdict_table([record]))
    row = console.export_text()
    assert "unknown" in row and "nothing to check: no operation" in row

    root = junit_xml([record]).getroot()
    suite = root.find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("skipped"), suite.get("errors")) == ("1", "1", "0")
    skipped = root.find(".//testcase/skipped")
    assert skipped is not None and skipped.get("message", "").startswith("nothing to check")
    assert root.find(".//testcase/failure") is None

    html = render_html([record], [History()])
    table = html.split('<table id="verdicts">')[1].split("</table>")[0]
    assert "badge unknown" in table and "nothing to check: no operation" in table


def test_nothing_to_check_in_a_run_folder(tmp_path: Path) -> None:
    (tmp_path / "verdicts.json").write_text(json.dumps([nothing_record()]))
    paths = write_reports(tmp_path)
    [record] = json.loads(paths["verdicts"].read_text())
    assert record["validity"] == "unknown" and record["nothing_to_check"] is True
    assert ET.parse(paths["junit"]).getroot().find(".//skipped") is not None
    assert "nothing to check" in paths["html"].read_text()


def test_assert_pass_skips_a_scenario_with_nothing_to_check() -> None:
    """The pytest outcome: skipped with the reason, not passed and not failed."""
    from harness.plugin import Harness
    from harness.run import Result

    verdict = judge(faults_only(), [check_sessions])
    harness = Harness.__new__(Harness)
    with pytest.raises(pytest.skip.Exception, match="nothing to check: no operation"):
        harness.assert_pass(Result("logout", "no-sessions", verdict, faults_only(), 3))
