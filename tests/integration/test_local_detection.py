"""The detection matrix on the local-process backend: the same verdicts as on Docker.

The bundled suites' scenarios (``scenarios/``: same workloads, faults, checkers and
scenario names) are driven with ``harness.run.execute`` and the local deployer,
without pytest sessions or Docker. Faults only Docker can make (network cuts) are
left out; everything else runs, redeploy included (a fresh working directory).
Expected detections come from ``test_detection.MATRIX`` / ``SCENARIO_MATRIX``, the
Docker matrix itself, so the two cannot drift apart:

- ``durable`` passes every scenario (a false alarm is as bad as a miss);
- each bug mode is caught in its suite by the same checker with the same kind (its
  suite's scenarios run in order until every expected detection is made).

PostgreSQL and Redis run from their installed programs. Where they are missing, the
dependency suite cannot run (its faults need a real server) and is skipped; the
embedded SQLite file that stands in is judged separately (``embedded``).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

from harness.backends.local import LocalDeployment, postgres_bindir, redis_server
from harness.checkers import STATE_CHECKERS, check_fail_loud, check_sessions
from harness.faults import Crash, DependencyOutage, DependencyRestart, GracefulRestart, Pause, Redeploy, RollingRestart, \
    ScaleTo
from harness.history import History
from harness.run import Result, Scenario, execute
from harness.spec import TargetSpec, load_spec
from harness.workloads import SessionWorkload, every_kind

from .test_detection import MATRIX, SCENARIO_MATRIX
from .test_local_backend import children, refapp_importable, roots  # noqa: F401 - the same guard on the app's packages

TARGETS = Path(__file__).resolve().parents[2] / "targets" / "refapp"
REPLICAS = 2
SEED = 0
pytestmark = pytest.mark.local

SERVERS = postgres_bindir() is not None and redis_server() is not None


def suites(seed: int) -> dict[str, list[Scenario]]:
    """The bundled suites' scenarios minus the Docker-only network cuts, under the same names."""
    restart = [Scenario(f"state survives {f.name}", every_kind(seed), [f], STATE_CHECKERS)
               for f in (Crash(replica=0), GracefulRestart(replica=0), Redeploy(replica=0), RollingRestart(),
                         Pause(replica=0, seconds=1.0))]
    scale_out = [
        Scenario("state after scale-out 1 -> 3", every_kind(seed), [ScaleTo(3)], STATE_CHECKERS, replicas=1),
        Scenario("state after scale-in 3 -> 1", every_kind(seed), [ScaleTo(1)], STATE_CHECKERS, replicas=3),
        Scenario("logout on one replica, honoured by all", SessionWorkload(seed=seed, logout=True), [],
                 [check_sessions], replicas=3),
    ]
    dependency = [
        Scenario(f"state survives {f.name} of {f.dependency}", every_kind(seed), [f],
                 [*STATE_CHECKERS, check_fail_loud] if isinstance(f, DependencyOutage) else STATE_CHECKERS)
        for f in (DependencyRestart("postgres"), DependencyRestart("redis"), DependencyOutage("postgres", seconds=2.0))
    ]
    return {"restart": restart, "scale_out": scale_out, "dependency": dependency}


def deployer(dependencies: str) -> Callable[[TargetSpec, int, History], LocalDeployment]:
    def deploy(spec: TargetSpec, replicas: int, history: History) -> LocalDeployment:
        return LocalDeployment(spec, replicas=replicas, history=history, dependencies=dependencies).up()  # type: ignore[arg-type]

    return deploy


@dataclass
class SuiteRun:
    """One storage mode through one suite on the local backend."""

    mode: str
    suite: str
    results: list[Result]
    seconds: float

    def found(self, checker: str, kind: str, scenario: str | None = None) -> list[Any]:
        return [v for r in self.results if scenario in (None, r.scenario)
                for v in r.verdict.violations if v.checker == checker and v.kind == kind]

    def cell(self) -> str:
        """``pass``, or the violations per checker, like the Docker grid's cells."""
        per_checker = Counter(v.checker for r in self.results for v in r.verdict.violations)
        return ", ".join(f"{c} {n}" for c, n in sorted(per_checker.items(), key=lambda kv: (-kv[1], kv[0]))) or "pass"

    def explain(self) -> str:
        lines = [f"{self.mode} / {self.suite} on local processes ({self.seconds:.0f}s): {self.cell()}"]
        for result in self.results:
            kinds = Counter((v.checker, v.kind) for v in result.verdict.violations)
            lines.append(f"  {result.scenario}: {result.verdict.validity} {dict(kinds) or ''}")
            if not result.verdict.ok:
                lines.append("    " + result.verdict.explain(5).replace("\n", "\n    "))
        return "\n".join(lines)


_runs: dict[tuple[str, str, str], SuiteRun] = {}


@pytest.fixture(scope="module", autouse=True)
def nothing_left_behind() -> Any:
    """After all these deployments: no child process of this process, no temporary root."""
    yield
    assert children() == [], "child processes left behind"
    assert roots() == [], "temporary roots left behind"


def expected(mode: str, suite: str) -> list[tuple[str | None, str, str]]:
    """(scenario or None for any, checker, kind) the Docker matrix expects of ``mode`` in ``suite``."""
    local = {s.name for s in suites(SEED)[suite]}
    found: list[tuple[str | None, str, str]] = []
    if mode in MATRIX and MATRIX[mode][0] == suite:
        found.append((None, *MATRIX[mode][1:]))
    for (pinned_mode, scenario), (pinned_suite, checker, kind) in SCENARIO_MATRIX.items():
        if pinned_mode == mode and pinned_suite == suite and scenario in local:  # network cuts are Docker-only
            found.append((scenario, checker, kind))
    return found


def run_suite(mode: str, suite: str, dependencies: str = "auto") -> SuiteRun:
    """The scenarios of ``suite`` against ``targets/refapp/<mode>.yaml``, in the suite's order.

    ``durable`` runs them all; a bug mode stops once every detection the Docker matrix
    expects of it in this suite has been made (the rest could only add more).
    """
    key = (mode, suite, dependencies)
    if key not in _runs:
        spec = load_spec(TARGETS / f"{mode}.yaml")
        start = time.monotonic()
        run = _runs[key] = SuiteRun(mode, suite, [], 0.0)
        wanted = expected(mode, suite) if mode != "durable" else []
        for scenario in suites(SEED)[suite]:
            run.results.append(execute(spec, scenario, REPLICAS, deployer=deployer(dependencies)))
            if wanted and all(run.found(checker, kind, name) for name, checker, kind in wanted):
                break
        run.seconds = time.monotonic() - start
    return _runs[key]


def needs_servers(suite: str) -> None:
    if suite == "dependency" and not SERVERS:
        pytest.skip("no PostgreSQL/Redis programs here: dependency faults need real servers "
                    "(apt-get install -y postgresql redis-server)")


@pytest.mark.parametrize("suite", ["restart", "scale_out", "dependency"])
def test_durable_passes_every_scenario(suite: str, record_property: Any) -> None:
    needs_servers(suite)
    run = run_suite("durable", suite)
    record_property("local_cell", run.explain())
    assert len(run.results) == len(suites(SEED)[suite])
    assert all(r.verdict.ok for r in run.results), run.explain()


@pytest.mark.parametrize("mode", list(MATRIX))
def test_bug_mode_caught_as_on_docker(mode: str, record_property: Any) -> None:
    suite = MATRIX[mode][0]
    needs_servers(suite)
    run = run_suite(mode, suite)
    record_property("local_cell", run.explain())
    for scenario, checker, kind in expected(mode, suite):
        where = f" in {scenario!r}" if scenario else f" in the {suite} suite"
        assert run.found(checker, kind, scenario), f"expected {checker}/{kind}{where} as on Docker\n{run.explain()}"


@pytest.mark.parametrize("mode, suite", [("durable", "restart"), ("durable", "scale_out"), ("racy-limit", "scale_out"),
                                         ("write-behind", "restart")])
def test_embedded_sqlite_judged_the_same(mode: str, suite: str, record_property: Any) -> None:
    """Without any server: durable on the shared SQLite file passes, and bugs are still caught."""
    run = run_suite(mode, suite, dependencies="embedded")
    record_property("local_cell", run.explain())
    if mode == "durable":
        assert all(r.verdict.ok for r in run.results), run.explain()
    else:
        assert MATRIX[mode][0] == suite
        for scenario, checker, kind in expected(mode, suite):
            assert run.found(checker, kind, scenario), f"expected {checker}/{kind}\n{run.explain()}"
