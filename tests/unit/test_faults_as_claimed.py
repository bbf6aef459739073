"""A graceful stop that ended in SIGKILL is reported as what it was: the stop's report reaches the
fault event's detail, a finding (never a failure) names it, and every report format shows it.

The findings come from hand-written histories (a killed stop and a clean one); the verbs'
details from a deployment whose primitives are stubs (no process is started here)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from junitparser import JUnitXml
from rich.console import Console

from harness.checkers.base import Validity, judge
from harness.checkers.faults_as_claimed import KILLED, fault_findings, killed_after, with_fault_findings
from harness.checkers.sessions import check_sessions
from harness.deployment import Deployment, Stopped
from harness.history import History, Outcome
from harness.report.folder import write_reports
from harness.report.html import timeline_svg
from harness.report.terminal import print_verdicts
from harness.run import Result
from harness.spec import load_spec
from harness.vocabulary import KILLED_ON_STOP

DURABLE = Path(__file__).resolve().parents[2] / "targets" / "refapp" / "durable.yaml"
KILLED_DETAIL = f"{KILLED_ON_STOP}: killed after 10.0 s (stop_timeout 10 s); came back on 127.0.0.1:32771 (was :32768)"
CLEAN_DETAIL = "exited on SIGTERM after 0.4 s; came back on 127.0.0.1:32771 (was :32768)"


def restarted_history(detail: str, fault: str = "graceful-restart") -> History:
    """A login on app-0, a graceful restart of app-0 (with ``detail``), the session read back on app-0."""
    h = History()
    h.record_op(kind="sessions", name="login", replica="app-0", start=100.0, end=100.01, outcome=Outcome.OK,
                args={"user": "alice"}, value={"token": "t-alice", "user": "alice", "expires_at": None}, status=200)
    h.record_fault(fault, "app-0", 100.1, 110.5, detail)
    h.record_op(kind="sessions", name="whoami", replica="app-0", start=111.0, end=111.01, outcome=Outcome.OK,
                args={"token": "t-alice"}, value={"accepted": True, "user": "alice"}, status=200, phase="final")
    return h


def test_a_killed_stop_is_a_finding_and_a_clean_one_is_not() -> None:
    [finding] = fault_findings(restarted_history(KILLED_DETAIL))
    assert finding.kind == KILLED and finding.replica == "app-0"
    assert finding.message.startswith("graceful-restart of app-0: the app ignored SIGTERM for 10 s and was killed; "
                                      "under an orchestrator this is a kill, so this scenario tested a crash")
    assert finding.evidence["detail"] == KILLED_DETAIL
    assert fault_findings(restarted_history(CLEAN_DETAIL)) == ()
    assert fault_findings(restarted_history("")) == ()  # a history recorded before stops were reported
    assert fault_findings(restarted_history("failed: ReadinessTimeout('not ready')")) == ()


def test_each_killed_stop_of_a_rolling_restart_is_its_own_finding() -> None:
    h = History()
    h.record_fault("rolling-restart", "app-0", 1.0, 2.0, "exited on SIGTERM after 0.3 s")
    h.record_fault("rolling-restart", "app-1", 2.0, 4.1, f"{KILLED_ON_STOP}: killed after 2.0 s (stop_timeout 2 s)")
    h.record_fault("scale", "1", 5.0, 7.1, f"app-2: {KILLED_ON_STOP}: killed after 2.0 s (stop_timeout 2 s)")
    findings = fault_findings(h)
    assert [(f.replica, f.message.split(":")[0]) for f in findings] == [
        ("app-1", "rolling-restart of app-1"), (None, "scale of 1")]
    assert [killed_after(e) for e in h.faults()] == [None, 2.0, 2.0]


def test_the_finding_never_turns_a_pass_into_a_fail() -> None:
    history = restarted_history(KILLED_DETAIL)
    verdict = with_fault_findings(judge(history, [check_sessions]), history)
    assert verdict.validity is Validity.PASS and not verdict.violations
    assert [f.kind for f in verdict.findings] == [KILLED]
    lost = restarted_history(KILLED_DETAIL)
    lost.record_op(kind="sessions", name="whoami", replica="app-0", start=112.0, end=112.01, outcome=Outcome.OK,
                   args={"token": "t-alice"}, value={"accepted": False}, status=401, phase="final")
    failing = with_fault_findings(judge(lost, [check_sessions]), lost)
    assert failing.validity is Validity.FAIL and [f.kind for f in failing.findings] == [KILLED]


def reports(tmp_path: Path, *histories: History) -> list[dict[str, Any]]:
    records = []
    for i, history in enumerate(histories):
        path = tmp_path / f"s{i}.history.jsonl"
        history.to_jsonl(path)
        verdict = with_fault_findings(judge(history, [check_sessions]), history)
        result = Result(f"state survives graceful-restart {i}", "refapp", verdict, history, 2)
        records.append({"nodeid": f"scenarios/test_restart.py::test_state_survives[graceful-restart-{i}]",
                        "seed": 0, **result.to_dict(), "history": str(path)})
    (tmp_path / "verdicts.json").write_text(json.dumps(records, default=str))
    write_reports(tmp_path)
    return json.loads((tmp_path / "verdicts.json").read_text())


def test_every_report_format_shows_the_killed_stop(tmp_path: Path) -> None:
    killed, clean = reports(tmp_path, restarted_history(KILLED_DETAIL), restarted_history(CLEAN_DETAIL))
    assert killed["validity"] == "pass" and [f["kind"] for f in killed["findings"]] == [KILLED]
    assert clean["validity"] == "pass" and clean["findings"] == []

    cases = [case for suite in JUnitXml.fromfile(str(tmp_path / "junit.xml")) for case in suite]
    assert cases[0].is_passed and f"finding [faults_as_claimed/{KILLED}] on app-0" in cases[0].system_out
    assert "ignored SIGTERM for 10 s" in cases[0].system_out
    props = [{p.get("name"): p.get("value") for p in case.iterfind("properties/property")}
             for case in ET.parse(tmp_path / "junit.xml").iter("testcase")]
    assert props[0]["findings"] == "1" and "findings" not in props[1]

    html = (tmp_path / "report.html").read_text()
    assert html.count('<g class="fault killed">') == 1 and html.count('<g class="fault">') == 1
    assert "graceful-restart app-0 (killed)" in html and "killed after 10.0 s" in html  # the mark, its tooltip
    assert f"finding ({KILLED})" in html

    console = Console(record=True, width=250)
    print_verdicts([killed, clean], console)
    table = console.export_text()
    assert f"finding ({KILLED}):" in table and "ignored SIGTERM" in table


def test_the_timeline_marks_only_the_killed_stop() -> None:
    assert 'class="fault killed"' in timeline_svg(restarted_history(KILLED_DETAIL))
    svg = timeline_svg(restarted_history(CLEAN_DETAIL))
    assert 'class="fault killed"' not in svg and "(killed)" not in svg and "exited on SIGTERM after 0.4 s" in svg


class Stub(Deployment):
    """The core verbs over stub primitives: each stop ends as ``stops`` says, each start moves the port."""

    def __init__(self, stops: list[Stopped | None], fail_ready: bool = False) -> None:
        super().__init__(load_spec(DURABLE))
        self.replicas = ["app-0", "app-1"]
        self.stops, self.fail_ready = stops, fail_ready
        self.ports = {"app-0": 32768, "app-1": 32769}

    def endpoint(self, replica: str) -> str:
        return f"http://127.0.0.1:{self.ports[replica]}"

    def _create_replica(self, replica: str) -> None: ...

    def _signal(self, replica: str, signal: str) -> None: ...

    def _stop(self, replica: str) -> Stopped | None:
        return self.stops.pop(0)

    def _start(self, replica: str) -> None:
        self.ports[replica] += 10

    def _exit_status(self, replica: str) -> int | None:
        return None

    def wait_ready(self, replica: str, timeout: float | None = None) -> float:
        if self.fail_ready:
            raise RuntimeError("not ready")
        return 0.0

    def logs(self, name: str, lines: int = 30) -> str:
        return ""

    def close(self) -> None: ...


def test_the_verbs_record_how_the_stop_ended_and_where_the_replica_came_back() -> None:
    stub = Stub([Stopped(killed=True, seconds=2.04, timeout=2), Stopped(killed=False, seconds=0.31, timeout=2), None])
    stub.restart("app-0")
    stub.rolling_restart()
    details = [f.detail for f in stub.history.faults()]
    assert details == [(f"{KILLED_ON_STOP}: killed after 2.0 s (stop_timeout 2 s); came back on 127.0.0.1:32778 "
                        "(was :32768)"),
                       "exited on SIGTERM after 0.3 s; came back on 127.0.0.1:32788 (was :32778)",
                       "came back on 127.0.0.1:32779 (was :32769)"]  # a backend that cannot tell says nothing
    assert [f.evidence["fault"] for f in fault_findings(stub.history)] == ["graceful-restart"]


def test_a_verb_that_fails_keeps_its_error_first_and_what_it_saw() -> None:
    stub = Stub([Stopped(killed=True, seconds=2.0, timeout=2)], fail_ready=True)
    with pytest.raises(RuntimeError):
        stub.restart("app-0")
    [event] = stub.history.faults()
    assert event.detail == f"failed: RuntimeError('not ready'); {KILLED_ON_STOP}: killed after 2.0 s (stop_timeout 2 s)"
