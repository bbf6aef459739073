"""Invariants through a real scenario on the local backend, with the reference app's JSON record routes.

A setup request creates a record (``{run}`` in its data); the rule probes it on every replica
before, during and after a crash and expects its note. An exercise creates more records in
rounds of two at once, on two replicas. Shown:

- ``durable`` keeps the rule through the crash: the invariants checker (added by the run
  because the spec has invariants) passes, and every phase probed every replica;
- the same run with a planted wrong expectation fails as broken before any fault (the
  rule was never true: no fault is blamed);
- ``memory`` (state in the process) loses the record in the crash: the rule breaks after
  it, and the crash is named as what lay between the last good probe and the first bad one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.backends.local import LocalDeployment
from harness.checkers import check_counters
from harness.checkers.invariants import BROKEN, BROKEN_BEFORE_ANY_FAULT
from harness.faults import Crash
from harness.history import History, Outcome
from harness.run import Result, Scenario, execute
from harness.spec import TargetSpec, load_spec
from harness.vocabulary import INVARIANTS
from harness.workloads import CounterWorkload
from harness.workloads.base import Mixed

from .test_local_backend import refapp_importable  # noqa: F401 - the same guard on the app's packages

REFAPP = Path(__file__).resolve().parents[2] / "targets" / "refapp"
pytestmark = pytest.mark.local

SPEC = """\
extends: {base}
name: refapp-invariants-{mode}
invariants:
  setup:
    - method: POST
      path: /records
      json: {{data: {{note: kept, run: "{{run}}"}}}}
      accepted: [201]
      extract: {{id: {{json: id}}}}
  rules:
    - name: the setup record is kept
      exercise:
        request: {{method: POST, path: /records, json: {{data: {{note: more}}}}, accepted: [201]}}
        concurrency: 2
        every: 0.1
      probe: {{method: GET, path: "/records/{{id}}"}}
      expect:
        status: 200
        json: {{path: data.note, equals: {note}}}
"""


def spec(tmp_path: Path, mode: str, note: str = "kept") -> TargetSpec:
    path = tmp_path / f"{mode}-{note}.yaml"
    path.write_text(SPEC.format(base=REFAPP / f"{mode}.yaml", mode=mode, note=note))
    return load_spec(path)


def deploy(spec: TargetSpec, replicas: int, history: History) -> LocalDeployment:
    return LocalDeployment(spec, replicas=replicas, history=history, dependencies="auto").up()


def crash(target: TargetSpec, replicas: int = 2) -> Result:
    # a workload of another kind than the rule's records: the records checker would count the setup's and
    # the exercise's records, which no records workload wrote, as unexpected
    scenario = Scenario("state survives crash", Mixed([CounterWorkload()]), [Crash(replica=0)], [check_counters])
    return execute(target, scenario, replicas, deployer=deploy)


def invariant_violations(result: Result) -> list:
    return [v for v in result.verdict.violations if v.checker == "invariants"]


def test_durable_keeps_the_rule_through_a_crash(tmp_path: Path) -> None:
    result = crash(spec(tmp_path, "durable"))
    assert result.verdict.ok, result.verdict.explain()
    assert "invariants" in result.verdict.stats
    ops = result.history.operations(INVARIANTS)
    probes = [op for op in ops if op.name == "probe"]
    assert {(op.replica, op.phase) for op in probes} >= {("app-0", "main"), ("app-1", "main"),
                                                         ("app-0", "final"), ("app-1", "final")}
    # two rounds before the faults (after setup, after the writes), one at least by the writer during the crash
    assert len([op for op in probes if op.phase == "main"]) >= 3 * 2
    assert all(op.value["json"]["data"]["note"] == "kept" for op in probes if op.outcome is Outcome.OK)
    setup = [op for op in ops if op.name == "setup"]
    assert len(setup) == 1 and setup[0].outcome is Outcome.OK and setup[0].value["id"]
    exercises = [op for op in ops if op.name == "exercise"]
    assert exercises and {op.replica for op in exercises} == {"app-0", "app-1"}
    assert any(op.outcome is Outcome.OK for op in exercises)


def test_a_planted_wrong_expectation_fails_before_any_fault(tmp_path: Path) -> None:
    result = crash(spec(tmp_path, "durable", note="lost"))
    assert not result.verdict.ok
    (violation,) = invariant_violations(result)
    assert violation.kind == BROKEN_BEFORE_ANY_FAULT
    assert violation.evidence["problems"] == ['\'data.note\' is "kept", expected "lost"']
    assert result.to_dict()["causes"]["groups"]["other"]["counts"] == {BROKEN_BEFORE_ANY_FAULT: 1}


def test_memory_loses_the_record_in_the_crash_and_the_crash_is_named(tmp_path: Path) -> None:
    result = crash(spec(tmp_path, "memory"), replicas=1)
    (violation,) = invariant_violations(result)
    assert violation.kind == BROKEN, violation
    assert violation.evidence["status"] == 404
    assert any(name.startswith("crash") and name.endswith("of app-0") for name in violation.evidence["faults_between"])
    assert violation.evidence["still_broken_after_heal_on"] == ["app-0"]
