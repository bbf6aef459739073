"""The pytest plugin in real pytest sessions (subprocess): options, their errors, its report header."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DURABLE = ROOT / "targets" / "refapp" / "durable.yaml"

pytest_plugins = ["pytester"]


def test_report_header_names_target_replicas_and_seed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess("--target", str(DURABLE), "--replicas", "3", "--seed", "7")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["harness: target refapp-durable (*durable.yaml), replicas 3, seed 7"])


def test_bad_replicas_names_where_it_came_from(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess("--replicas", "zero")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*invalid harness_replicas 'zero' from --replicas: expected an integer*"])


def test_bad_ini_value_names_the_ini_key(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nharness_replicas = 0\n")
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*invalid harness_replicas 0 from ini harness_replicas: expected at least 1*"])


def test_bad_reuse_dependencies_says_what_is_expected(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess("--reuse-dependencies", "sometimes")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*invalid harness_reuse_dependencies 'sometimes' from --reuse-dependencies: "
                                 "expected yes or no*"])


def test_invalid_spec_is_a_usage_error_naming_file_and_field(pytester: pytest.Pytester) -> None:
    spec = pytester.path / "bad.yaml"
    spec.write_text("name: x\napp:\n  image: i\n  port: 99999\n")
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess("--target", str(spec))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*target spec from --target:*bad.yaml: invalid target spec*",
                                 "*field 'app.port': Input should be less than or equal to 65535*"])


def test_scenario_without_target_says_how_to_give_one(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_needs_target(harness):\n    pass\n")
    result = pytester.runpytest_subprocess()
    result.stdout.fnmatch_lines(["*no target spec: pass --target PATH or set harness_target*"])
    assert result.ret != 0


SCENARIO_ERRORS = '''
import pytest

@pytest.fixture
def harness():  # stands in for the plugin's: what makes a test a scenario
    return None

def test_scenario(harness):
    from harness.errors import DeploymentError
    raise DeploymentError("replica app-0 exited with code 3 before it became ready", "its last words")

def test_plain():
    raise TypeError("a bug in a plain test")
'''


def test_a_scenario_error_is_recorded_and_told_by_its_cause(pytester: pytest.Pytester) -> None:
    """An error before a verdict: a record in verdicts.json, the cause in words, no traceback; plain tests untouched."""
    import json

    pytester.makepyfile(SCENARIO_ERRORS)
    out = pytester.path / "run"
    result = pytester.runpytest_subprocess("--harness-out", str(out))
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["deploy failed: replica app-0 exited with code 3 before it became ready",
                                 "*its last words*"])
    text = result.stdout.str()
    assert "raise DeploymentError" not in text  # no traceback of the scenario's error ...
    assert "raise TypeError" in text and "internal error" not in text  # ... a plain test keeps its own
    [record] = json.loads((out / "verdicts.json").read_text())
    assert record["validity"] == "error" and record["scenario"] == "test_scenario"
    assert record["error"]["cause"] == "deploy failed: replica app-0 exited with code 3 before it became ready"

    verbose = pytester.runpytest_subprocess("--harness-out", str(pytester.path / "run-v"), "-v")
    assert "raise DeploymentError" in verbose.stdout.str()  # -v: the traceback too


CAPABILITY_SCENARIOS = '''
from harness.faults import NetworkCut
from harness.run import Scenario
from harness.workloads import every_kind

def test_cut_by_its_fault(harness):
    harness.run(Scenario("cut", every_kind(0), [NetworkCut("postgres")], []))
    raise AssertionError("a network cut ran on a backend without one")

def test_cut_asked_for(harness):
    harness.require_network_cut()
    raise AssertionError("not skipped")
'''


def test_a_scenario_needing_a_capability_the_backend_lacks_is_skipped_naming_it(pytester: pytest.Pytester) -> None:
    """Skipped before anything is deployed, by the deployment class's capabilities (harness.capabilities)."""
    pytester.makepyfile(CAPABILITY_SCENARIOS)
    result = pytester.runpytest_subprocess("--target", str(DURABLE), "--backend", "local",
                                           "--reuse-dependencies", "no", "-rs")
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines([
        "*local backend: fault network-cut needs the network-cut capability (cut the network between the "
        "replicas and a running dependency), which LocalDeployment lacks*",
        "*local backend: a network cut needs the network-cut capability*which LocalDeployment lacks*",
    ], consecutive=False)
