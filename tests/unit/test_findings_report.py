"""Findings of a declared model travel apart from violations: merged verdicts, policy, verdicts.json,
the verdict table, JUnit and HTML all show them, and none turns a pass into a failure."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from junitparser import Failure, JUnitXml
from rich.console import Console

from harness.checkers.base import Validity, judge
from harness.checkers.sessions import check_sessions
from harness.history import History, Outcome
from harness.policy import effective
from harness.report.folder import write_reports
from harness.report.terminal import print_verdicts
from harness.run import Result

TOKEN = "tok-client-side-0123456789"


def client_side_history(lose: bool = False) -> History:
    """A client-side session logged out on app-1, still accepted by app-0 and app-1; optionally one lost too."""
    h = History()
    t = [1000.0]

    def op(name: str, replica: str, args: dict[str, Any], value: Any, status: int = 200) -> None:
        h.record_op(kind="sessions", name=name, replica=replica, start=t[0], end=t[0] + 0.01, outcome=Outcome.OK,
                    args={**args, "model": "client-side"}, value=value, status=status, phase="final")
        t[0] += 0.1

    op("login", "app-0", {"user": "alice"}, {"token": TOKEN, "user": "alice", "expires_at": None})
    op("logout", "app-1", {"token": TOKEN}, {"revoked": True})
    op("whoami", "app-1", {"token": TOKEN}, {"accepted": True, "user": "alice"})
    op("whoami", "app-0", {"token": TOKEN}, {"accepted": True, "user": "alice"})
    if lose:
        op("login", "app-0", {"user": "bob"}, {"token": TOKEN + "-bob", "user": "bob", "expires_at": None})
        op("whoami", "app-1", {"token": TOKEN + "-bob"}, {"accepted": False}, status=401)
    return h


def test_findings_survive_merge_and_policy() -> None:
    verdict = judge(client_side_history(), [check_sessions], effective({"sessions": ["crash"]}))
    assert verdict.validity is Validity.PASS
    assert [f.kind for f in verdict.findings] == ["revocation"]
    assert verdict.to_dict()["findings"][0]["checker"] == "sessions"


def run_folder(tmp_path: Path, *histories: History) -> list[dict[str, Any]]:
    records = []
    for i, history in enumerate(histories):
        path = tmp_path / f"s{i}.history.jsonl"
        history.to_jsonl(path)
        result = Result(f"logout scenario {i}", "refapp-client-sessions", judge(history, [check_sessions]), history, 3)
        records.append({"nodeid": f"scenarios/test_scale_out.py::test_logout[{i}]", "seed": 0, **result.to_dict(),
                        "history": str(path)})
    (tmp_path / "verdicts.json").write_text(json.dumps(records, default=str))
    write_reports(tmp_path)
    return json.loads((tmp_path / "verdicts.json").read_text())


def test_every_report_shows_the_finding_and_its_reason(tmp_path: Path) -> None:
    records = run_folder(tmp_path, client_side_history(), client_side_history(lose=True))
    passing, failing = records
    assert passing["validity"] == "pass" and passing["violations"] == []
    assert [f["kind"] for f in passing["findings"]] == ["revocation"]
    assert failing["validity"] == "fail" and [v["kind"] for v in failing["violations"]] == ["lost"]
    assert [f["kind"] for f in failing["findings"]] == ["revocation"]  # beside the loss, not instead of it

    cases = [case for suite in JUnitXml.fromfile(str(tmp_path / "junit.xml")) for case in suite]
    props = [{p.get("name"): p.get("value") for p in case.iterfind("properties/property")}
             for case in ET.parse(tmp_path / "junit.xml").iter("testcase")]
    assert props[0]["findings"] == "1" and props[1]["findings"] == "1"
    assert cases[0].is_passed and "finding [sessions/revocation]" in cases[0].system_out
    assert "cannot revoke" in cases[0].system_out
    [failure] = cases[1].result
    assert isinstance(failure, Failure) and "finding [sessions/revocation]" in failure.text

    html = (tmp_path / "report.html").read_text()
    assert "<th>findings</th>" in html and "findings of the declared model" in html
    assert "finding (revocation)" in html  # the table's last column of the passing scenario

    console = Console(record=True, width=250)
    print_verdicts(records, console)
    table = console.export_text()
    assert "findings" in table and "finding (revocation):" in table

    for text in (json.dumps(records), (tmp_path / "junit.xml").read_text(), html, table):
        assert TOKEN not in text  # the finding's evidence names tokens by pseudonym only
