"""The server-rendered example target (targets/refapp/html-*.yaml), written in YAML only, judged both ways.

The reference app's HTML front end (``refapp/pages.py``) has the shape of the public
example apps users bring: register then log in through forms, a session cookie, a 303
to ``/html/login`` without a live session, and a new note's id only in a link of the
page that saved it. Its specs use only YAML (body extraction, ``Location``-aware status
rules, ``before`` steps); no Python adapter. On the very stores of the STORAGE mode:

- ``html-memory`` must be caught: sessions and notes lost to the crash of the replica
  that held them, and never seen by the replicas a scale-out adds; the messages name
  the users;
- ``html-durable`` must pass the same scenarios with no violation, its sessions and
  notes really read back.

The local backend runs them through ``harness.run.execute`` (as ``test_session_models``
does); Docker runs them as a user does, in a pytest session of the bundled suites.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.run import Result, execute
from harness.spec import load_spec

from .suite_runs import ROOT, SuiteRun, run_suites
from .test_local_backend import children, refapp_importable, roots  # noqa: F401 - the same guard on the app's packages
from .test_local_detection import REPLICAS, SEED, deployer, suites

TARGETS = ROOT / "targets" / "refapp"
MEMORY = TARGETS / "html-memory.yaml"
DURABLE = TARGETS / "html-durable.yaml"
CRASH = "state survives crash"
SCALE_OUT = "state after scale-out 1 -> 3"
SELECTED = ("-k", "test_state_survives and crash or test_state_valid_on_new_replicas")


def violations(result: Result, checker: str, kind: str) -> list[Any]:
    return [v for v in result.verdict.violations if v.checker == checker and v.kind == kind]


def run_local(spec_path: Path, suite: str, name: str) -> Result:
    scenario = next(s for s in suites(SEED)[suite] if s.name == name)
    return execute(load_spec(spec_path), scenario, REPLICAS, deployer=deployer("auto"))


def test_specs_are_yaml_only() -> None:
    """Both specs load, declare sessions and records by HTTP requests alone, and name no adapter."""
    for path in (MEMORY, DURABLE):
        spec = load_spec(path)
        assert spec.adapter is None
        assert spec.operations is not None and spec.operations.sessions is not None
        assert spec.operations.records is not None and spec.operations.files is None
        login = spec.operations.sessions.login
        assert [step.path for step in login.before] == ["/html/register"]
    assert load_spec(MEMORY).app.env["STORAGE"] == "memory" and load_spec(DURABLE).app.env["STORAGE"] == "durable"


@pytest.fixture(scope="module")
def left_nothing() -> Any:
    yield
    assert children() == [], "child processes left behind"
    assert roots() == [], "temporary roots left behind"


@pytest.mark.local
def test_memory_caught_on_local_processes(left_nothing: None) -> None:
    crash = run_local(MEMORY, "restart", CRASH)
    assert not crash.verdict.ok, crash.verdict.explain(5)
    lost_sessions = violations(crash, "sessions", "lost")
    assert lost_sessions and all("session of user 'user-" in v.message for v in lost_sessions), lost_sessions[:3]
    assert any("crash of app-0" in v.message for v in lost_sessions), lost_sessions[:3]
    lost_notes = violations(crash, "records", "lost")
    assert any(v.replica == "app-0" and "crash of app-0" in v.message for v in lost_notes), lost_notes[:3]

    scaled = run_local(MEMORY, "scale_out", SCALE_OUT)
    assert {v.replica for v in violations(scaled, "sessions", "lost")} >= {"app-1", "app-2"}, scaled.verdict.explain(5)
    assert violations(scaled, "records", "lost"), scaled.verdict.explain(5)


@pytest.mark.local
@pytest.mark.parametrize("suite, name", [("restart", CRASH), ("scale_out", SCALE_OUT)])
def test_durable_passes_on_local_processes(suite: str, name: str, left_nothing: None) -> None:
    result = run_local(DURABLE, suite, name)
    assert result.verdict.ok, result.verdict.explain(5)
    stats = result.verdict.stats
    assert stats["sessions"]["reads_judged"] > 0, stats["sessions"]
    assert stats["records"]["acknowledged"] > 0 and stats["records"]["observations_judged"] > 0, stats["records"]


class DockerRuns:
    """Runs each spec once, in one pytest session of the bundled suites, and keeps it for the tests."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.runs: dict[str, SuiteRun] = {}

    def __getitem__(self, spec: Path) -> SuiteRun:
        if spec.stem not in self.runs:
            run = run_suites(spec, self.out / spec.stem, "--backend", "docker", *SELECTED)
            print(f"\n{spec.stem}: exit {run.code} in {run.seconds:.0f}s, "
                  + ", ".join(f"{v['scenario']}: {v['validity']} ({len(v['violations'])})" for v in run.verdicts))
            self.runs[spec.stem] = run
        return self.runs[spec.stem]


@pytest.fixture(scope="module")
def docker_runs(docker_engine: Any, tmp_path_factory: pytest.TempPathFactory) -> DockerRuns:
    return DockerRuns(tmp_path_factory.mktemp("html"))


@pytest.mark.docker
def test_memory_caught_on_docker(docker_runs: DockerRuns) -> None:
    run = docker_runs[MEMORY]
    assert run.code == 1, run.tail()
    assert {v["scenario"] for v in run.verdicts} == {CRASH, SCALE_OUT}, run.tail()
    lost = run.violations(CRASH, "sessions", "lost")
    assert any(v["replica"] == "app-0" and "crash of app-0" in v["message"] for v in lost), lost[:3]
    assert all("session of user 'user-" in v["message"] for v in lost), lost[:3]   # the users' names, readable
    notes = run.violations(CRASH, "records", "lost")
    assert any(v["replica"] == "app-0" and "crash of app-0" in v["message"] for v in notes), notes[:3]
    rejecting = {v["replica"] for v in run.violations(SCALE_OUT, "sessions", "lost")}
    assert rejecting >= {"app-1", "app-2"}, run.scenario(SCALE_OUT)["violations"][:3]
    assert run.violations(SCALE_OUT, "records", "lost"), run.scenario(SCALE_OUT)["violations"][:3]


@pytest.mark.docker
def test_durable_passes_on_docker(docker_runs: DockerRuns) -> None:
    run = docker_runs[DURABLE]
    assert run.code == 0, run.tail()
    assert {v["scenario"] for v in run.verdicts} == {CRASH, SCALE_OUT}, run.tail()
    for verdict in run.verdicts:
        assert verdict["validity"] == "pass" and verdict["violations"] == [], verdict
        stats = verdict["stats"]
        assert stats["sessions"]["reads_judged"] > 0, stats["sessions"]
        assert stats["records"]["acknowledged"] > 0 and stats["records"]["observations_judged"] > 0, stats["records"]
