"""JUnit XML as CI servers read it (parsed with junitparser): fail -> failure with the
evidence and the replay command, pass -> no result, unknown -> error of type unknown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from junitparser import Error, Failure, JUnitXml

from harness.report.junit import classname, replay_command, write_junit
from harness.redaction import Redactor


def _record(validity: str, **extra: Any) -> dict[str, Any]:
    base = {"nodeid": "scenarios/test_restart.py::test_sessions_survive_crash[memory]", "seed": 42,
            "spec": "targets/refapp/memory.yaml",
            "scenario": "sessions survive a crash", "target": "refapp-memory", "replicas": 2,
            "checker": "sessions", "validity": validity, "violations": [], "notes": [], "stats": {}}
    return {**base, **extra}


LOST = {"checker": "sessions", "kind": "lost", "replica": "app-0", "op_ids": [3, 9], "time": 1003.2,
        "message": "session of user 'bob' acknowledged by app-0 at +0.10s was rejected (HTTP 401) by app-0 at +1.20s",
        "evidence": {"login": 3, "read": 9, "status": 401, "user": "bob"}}
SECOND = {**LOST, "kind": "unexpected", "message": "app-1 accepted a token no login returned", "op_ids": [11],
          "evidence": {"read": 11}}


def _parse(tmp_path: Path, records: list[dict[str, Any]], **kwargs: Any) -> JUnitXml:
    path = write_junit(records, tmp_path / "junit.xml", **kwargs)
    return JUnitXml.fromfile(str(path))


def _cases(xml: JUnitXml) -> list[Any]:
    return [case for suite in xml for case in suite]


def test_a_failing_verdict_is_a_failure_with_all_evidence_and_the_replay(tmp_path: Path) -> None:
    record = _record("fail", violations=[LOST, SECOND], notes=["2 reads were indeterminate"])
    [case] = _cases(_parse(tmp_path, [record]))
    [failure] = case.result
    assert isinstance(failure, Failure)
    assert failure.message == LOST["message"] and failure.type == "lost"
    assert LOST["message"] in failure.text and SECOND["message"] in failure.text
    assert '"status": 401' in failure.text and '"user": "bob"' in failure.text
    assert "operations: 3, 9" in failure.text
    assert "note: 2 reads were indeterminate" in failure.text
    # the same command the terminal prints: it names the target spec, so it runs as it is
    replay = replay_command("scenarios/test_restart.py::test_sessions_survive_crash[memory]",
                            "targets/refapp/memory.yaml", 42)
    assert replay == ("replay: pytest 'scenarios/test_restart.py::test_sessions_survive_crash[memory]' "
                      "--target targets/refapp/memory.yaml --seed 42")
    assert replay in failure.text


def test_a_passing_verdict_has_no_result(tmp_path: Path) -> None:
    [case] = _cases(_parse(tmp_path, [_record("pass")]))
    assert case.is_passed and case.result == []


def test_an_unknown_verdict_is_an_error_of_type_unknown(tmp_path: Path) -> None:
    [case] = _cases(_parse(tmp_path, [_record("unknown", notes=["no final read answered"])]))
    [error] = case.result
    assert isinstance(error, Error) and error.type == "unknown"
    assert error.message == "no final read answered"


def test_one_suite_with_counts_names_classnames_and_properties(tmp_path: Path) -> None:
    records = [_record("fail", violations=[LOST]), _record("pass", scenario="files survive a redeploy"),
               _record("unknown", scenario="records survive an outage",
                       nodeid="scenarios/test_dependency.py::test_records_survive_outage")]
    xml = _parse(tmp_path, records, durations=[1.5, 2.0, None])
    [suite] = list(xml)
    assert (suite.tests, suite.failures, suite.errors) == (3, 1, 1)
    assert abs(suite.time - 3.5) < 1e-6
    cases = list(suite)
    assert [c.classname for c in cases] == ["scenarios.test_restart"] * 2 + ["scenarios.test_dependency"]
    assert [c.name for c in cases] == ["sessions survive a crash", "files survive a redeploy",
                                       "records survive an outage"]
    text = (tmp_path / "junit.xml").read_text()
    assert '<property name="target" value="refapp-memory" />' in text
    assert '<property name="replicas" value="2" />' in text


def test_equal_scenario_names_stay_distinct_testcases(tmp_path: Path) -> None:
    records = [_record("pass"), _record("pass", nodeid="scenarios/test_restart.py::test_sessions_survive_crash[durable]")]
    names = [c.name for c in _cases(_parse(tmp_path, records))]
    assert len(set(names)) == 2 and names[0] == "sessions survive a crash"


def test_text_xml_cannot_carry_is_replaced_and_secrets_redacted(tmp_path: Path) -> None:
    token = "tk-0123456789abcdef0123456789"
    bad = {**LOST, "message": f"got \x00\x1b[31m garbage for {token}", "evidence": {"token": token}}
    xml = _parse(tmp_path, [_record("fail", violations=[bad])], redactor=Redactor([token]))
    [failure] = _cases(xml)[0].result
    assert "garbage" in failure.text and "\x00" not in failure.text
    assert token not in (tmp_path / "junit.xml").read_text()


def test_classname_is_the_module_path() -> None:
    assert classname("scenarios/test_restart.py::test_x[a-b]") == "scenarios.test_restart"
    assert classname("") == "harness"


def test_an_installed_harness_replays_a_bundled_scenario_by_its_module(monkeypatch, tmp_path: Path) -> None:
    from harness import bundled

    monkeypatch.chdir(tmp_path)  # the user's folder: no scenarios/ in it
    monkeypatch.setattr(bundled, "SOURCE_TREE", None)
    assert replay_command("scenarios/test_restart.py::test_state_survives[crash]", "spec.yaml", 7) == (
        "replay: pytest --pyargs 'harness.scenarios.test_restart::test_state_survives[crash]' "
        "--target spec.yaml --seed 7")
    # a team's own scenario file is replayed by its path, as pytest named it
    assert replay_command("tests/test_mine.py::test_x", "spec.yaml", 7) == (
        "replay: pytest 'tests/test_mine.py::test_x' --target spec.yaml --seed 7")
