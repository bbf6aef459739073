"""The reference app's own rules (targets/refapp/rules*.yaml), judged by their invariants in the restart
suite's crash scenario, on the local backend (real PostgreSQL, real uvicorn replicas, real HTTP) and
in containers (the harness-refapp image, once it is built from these sources).

- ``rules.yaml`` (one UPDATE sets the default; a conditional UPDATE sells): both rules hold through
  the crash, on every replica, while "set default" and two simultaneous purchases keep running;
- ``rules-check-then-decrement.yaml``: two purchases of the last item, at the same instant on two
  replicas, both read stock 1 and both sell it: "stock never below zero" breaks with stock -1, on
  every run (the purchases are released together and the read-to-write gap is 0.2 s);
- ``rules-two-statements.yaml``: "set default" clears every default, commits, and sets the new one
  2 s later; the exercise keeps one in flight on each replica (97% of the time between its two
  statements), so the crash of app-0 lands between them (what the test checks as "cut": 10 of 10
  local runs), and readers see no default in between too: "one default address per user" breaks
  on every run, first seen by a probe before the crash (the window is there without one);
- ``rules-two-statements-crash.yaml`` / ``rules-crash.yaml`` (``parts/rules-crash.yaml``): the
  set-default runs on app-0 only and stops at the first fault, the rule is probed only before the
  exercise and after the heal (``probes: quiet``): the crash cuts the set-default in flight between
  its two statements and the rule is caught as ``broken`` with the crash named between the last
  good probe and the first bad one (benchmarks/invariant_crash_attribution.py: 10 of 10 local
  runs); one transaction passes.

The docs' custom-kind example (docs/extending.md) runs here too, as its page says: its scenario
file passes the correct app and fails the memory mode (addresses lost with the crashed process).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness import Outcome, Scenario, execute
from harness.backends import Deployer, docker_deployer
from harness.backends.local import LocalDeployment
from harness.checkers import STATE_CHECKERS
from harness.checkers.invariants import BROKEN
from harness.faults import Crash
from harness.history import History
from harness.spec import TargetSpec, load_spec
from harness.vocabulary import INVARIANTS
from harness.workloads import every_kind

from .test_local_backend import refapp_importable  # noqa: F401 - the same guard on the app's packages

ROOT = Path(__file__).resolve().parents[2]
REFAPP = ROOT / "targets" / "refapp"
DEFAULT_RULE = "one default address per user"
STOCK_RULE = "stock never below zero"


def deploy(spec: TargetSpec, replicas: int, history: History) -> LocalDeployment:
    return LocalDeployment(spec, replicas=replicas, history=history, dependencies="auto").up()


@pytest.fixture(params=[pytest.param("local", marks=pytest.mark.local),
                        pytest.param("docker", marks=pytest.mark.docker)])
def deployer(request: pytest.FixtureRequest) -> Deployer:
    """Local processes (the app from this source tree), or containers of the harness-refapp image as it is
    built (the docker form needs an image holding refapp/shop_routes.py)."""
    if request.param == "local":
        return deploy
    request.getfixturevalue("images")
    return docker_deployer


def crash_scenario(spec: str, deployer: Deployer = deploy):
    """The restart suite's crash scenario (scenarios/test_restart.py), with 2 replicas."""
    scenario = Scenario("state survives crash", every_kind(0), [Crash(replica=0)], STATE_CHECKERS)
    return execute(load_spec(REFAPP / spec), scenario, 2, deployer=deployer)


def broken_rules(result) -> dict[str, object]:
    return {v.evidence.get("rule", v.message): v for v in result.verdict.violations if v.checker == "invariants"}


def exercises(result, rule: str) -> list:
    return [op for op in result.history.operations(INVARIANTS) if op.name == "exercise" and op.args["rule"] == rule]


def probes(result, rule: str) -> list:
    return [op for op in result.history.operations(INVARIANTS)
            if op.name == "probe" and op.args["rule"] == rule and op.outcome is Outcome.OK]


def defaults(probe) -> int:
    return sum(1 for a in probe.value["json"]["addresses"] if a["is_default"])


def cut_by_the_crash(result) -> list:
    """Set-defaults on app-0 that had run their first statement (started 50 ms or more before the
    kill) and were still waiting for their second when app-0 was killed."""
    [crash] = [f for f in result.history.faults() if f.target == "app-0" and not f.heal]
    return [op for op in exercises(result, DEFAULT_RULE)
            if op.replica == "app-0" and op.outcome is Outcome.UNKNOWN and op.start <= crash.start - 0.05 <= op.end]


def test_the_correct_forms_keep_both_rules_through_a_crash(deployer: Deployer) -> None:
    result = crash_scenario("rules.yaml", deployer)
    assert result.verdict.ok, result.verdict.explain()
    assert broken_rules(result) == {}
    default_probes, stock_probes = probes(result, DEFAULT_RULE), probes(result, STOCK_RULE)
    assert {(p.replica, p.phase) for p in default_probes} >= {("app-0", "main"), ("app-1", "main"),
                                                              ("app-0", "final"), ("app-1", "final")}
    assert all(defaults(p) == 1 for p in default_probes)
    assert all(p.value["json"]["stock"] in (0, 1) for p in stock_probes)
    assert [p.value["json"]["stock"] for p in stock_probes if p.phase == "final"] == [0, 0]
    sold = [op for op in exercises(result, STOCK_RULE) if op.outcome is Outcome.OK]
    assert len(sold) == 1  # the last item sold once; every other purchase answered 409 sold out
    assert any(op.outcome is Outcome.OK for op in exercises(result, DEFAULT_RULE))


def test_check_then_decrement_sells_the_last_item_twice(deployer: Deployer) -> None:
    result = crash_scenario("rules-check-then-decrement.yaml", deployer)
    broken = broken_rules(result)
    assert set(broken) == {STOCK_RULE}, result.verdict.explain()
    assert broken[STOCK_RULE].evidence["returned"]["stock"] == -1
    first_round = [op for op in exercises(result, STOCK_RULE) if op.args["round"] == 0]
    assert {op.replica for op in first_round} == {"app-0", "app-1"}
    assert [op.outcome for op in first_round] == [Outcome.OK, Outcome.OK]  # both sold the one item


def test_two_statements_leave_a_user_without_a_default(deployer: Deployer) -> None:
    result = crash_scenario("rules-two-statements.yaml", deployer)
    broken = broken_rules(result)
    assert set(broken) == {DEFAULT_RULE}, result.verdict.explain()
    assert any(defaults(p) == 0 for p in probes(result, DEFAULT_RULE))
    assert cut_by_the_crash(result), "the crash did not land between the two statements of a set-default"


def test_a_crash_between_the_two_statements_is_blamed_on_the_crash(deployer: Deployer) -> None:
    result = crash_scenario("rules-two-statements-crash.yaml", deployer)
    broken = broken_rules(result)
    assert set(broken) == {DEFAULT_RULE}, result.verdict.explain()
    violation = broken[DEFAULT_RULE]
    assert violation.kind == BROKEN, violation.message
    assert any(f.startswith("crash") and f.endswith("of app-0") for f in violation.evidence["faults_between"])
    assert violation.evidence["still_broken_after_heal_on"] == ["app-0", "app-1"]
    quiet = probes(result, DEFAULT_RULE)  # the baseline (one default) and the heal's (none), nothing between
    assert [(p.phase, defaults(p)) for p in quiet] == [("main", 1), ("main", 1), ("final", 0), ("final", 0)]
    assert {op.replica for op in exercises(result, DEFAULT_RULE)} == {"app-0"}
    [crash] = [f for f in result.history.faults() if f.target == "app-0" and not f.heal]
    # no round starts once the fault begins (one checked just before may race it)
    assert len([op for op in exercises(result, DEFAULT_RULE) if op.start >= crash.start]) <= 1
    assert cut_by_the_crash(result), "the crash did not land between the two statements of a set-default"


def test_one_transaction_keeps_the_default_through_the_crash(deployer: Deployer) -> None:
    result = crash_scenario("rules-crash.yaml", deployer)
    assert result.verdict.ok, result.verdict.explain()
    assert [defaults(p) for p in probes(result, DEFAULT_RULE)] == [1, 1, 1, 1]
    assert any(op.outcome is Outcome.OK for op in exercises(result, DEFAULT_RULE))


# --- the docs' custom-kind example ------------------------------------------------------------------


def docs_example(folder: Path) -> Path:
    """docs/extending.md's files, saved as the page says."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "extending.md").read_text(), flags=re.S)
    folder.mkdir()
    (folder / "default_address.py").write_text(blocks[0] + "\n" + blocks[1])
    (folder / "test_default_address.py").write_text(blocks[3])
    return folder


def run_docs_example(folder: Path, spec: str, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "crash", str(folder),
         "--rootdir", str(folder), "--target", str(REFAPP / spec), "--backend", "local", "--harness-out", str(out)],
        capture_output=True, text=True, timeout=300, cwd=folder)


@pytest.mark.local
def test_the_docs_example_passes_the_correct_app_and_fails_a_planted_bug(tmp_path: Path) -> None:
    folder = docs_example(tmp_path / "persistence")
    passing = run_docs_example(folder, "durable.yaml", tmp_path / "durable")
    assert passing.returncode == 0, passing.stdout[-3000:] + passing.stderr[-2000:]
    assert "1 passed" in passing.stdout
    failing = run_docs_example(folder, "memory.yaml", tmp_path / "memory")
    assert failing.returncode == 1, failing.stdout[-3000:] + failing.stderr[-2000:]
    assert "default_address" in failing.stdout and "no default address" in failing.stdout
