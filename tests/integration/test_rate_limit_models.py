"""Every rate-limit model of the reference app, on real processes and a real Redis, in both directions.

The reference app has a limiter per model (``RATE_LIMITER``) in a correct atomic form
and in broken forms (``RATE_LIMITER_FORM``); ``targets/refapp/limiter-*.yaml`` declare
each one's ``operations.rate_limit.algorithm`` with a 2 s window. On the local backend
(child processes, Redis and PostgreSQL from their installed programs):

- each correct limiter passes a run whose traffic goes on through several window resets
  (a crash, then steady hits for longer than a window) and ends with the over-denial
  probe, whose hits it must allow;
- memory forms are caught under scale-out, racy forms under the concurrent bursts, and
  split-expire (``INCR`` then a later ``EXPIRE``) by the over-denial check in the
  restart suite's crash scenario, which the correct first-hit limiter passes; once more
  on Docker, through ``pytest scenarios -m restart -k crash`` as a user runs it.

``benchmarks/rate_limit_stability.py`` repeats the correct runs to count passes.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from harness.backends import DependencyPool, local_kind
from harness.backends.local_servers import redis_server
from harness.checkers import STATE_CHECKERS, check_rate_limit
from harness.deployment import Deployment
from harness.faults import Crash, ScaleTo
from harness.history import Operation, Outcome
from harness.run import Result, Scenario, execute
from harness.spec import TargetSpec, load_spec
from harness.workloads import RateLimitWorkload, every_kind

from .suite_runs import run_suites
from .test_local_backend import children, refapp_importable, roots  # noqa: F401 - the same guard on the app's packages

TARGETS = Path(__file__).resolve().parents[2] / "targets" / "refapp"
MODELS = ("fixed-epoch", "fixed-first-hit", "fixed-offset", "sliding-log", "sliding-counter", "token-bucket")
#: broken form (spec limiter-<form>.yaml) -> the run that catches it
BROKEN = {
    "first-hit-memory": "scale-out",
    "token-bucket-memory": "scale-out",
    "first-hit-racy": "concurrent",
    "sliding-log-racy": "concurrent",
}
OVER_DENIAL = ("over-denied", "stuck")
SEED = 0
pytestmark = pytest.mark.local


@dataclass(frozen=True)
class Hold:
    """Not a fault: the run goes on for ``seconds`` while the runner keeps hitting the key.

    The runner writes while a fault is under way (``harness.run._WritesDuring``), so
    windows reset under steady traffic, at a phase that differs from run to run.
    """

    seconds: float
    name: str = "hold"

    def apply(self, deployment: Deployment) -> None:
        time.sleep(self.seconds)

    def heal(self, deployment: Deployment) -> None:
        """Nothing to heal."""


@pytest.fixture(scope="module")
def pool() -> Iterator[DependencyPool]:
    """Redis and PostgreSQL started once for the module, wiped between runs; nothing left behind afterwards.

    The limiters keep their state in Redis: its program must be installed.
    """
    if redis_server() is None:
        message = "no redis-server here: the limiters need Redis (apt-get install -y redis-server)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    shared = DependencyPool(local_kind())
    try:
        yield shared
    finally:
        shared.close()
    assert [c for c in children() if not _watchdog(c)] == [], "child processes left behind"
    assert roots() == [], "temporary roots left behind"


def _watchdog(child: str) -> bool:
    """The local backend's watchdog (harness/backends/watchdog.py) lives as long as this process, by design."""
    try:
        return b"watchdog.py" in Path(f"/proc/{child.split()[0]}/cmdline").read_bytes()
    except OSError:
        return False


def spec_of(name: str) -> TargetSpec:
    return load_spec(TARGETS / f"limiter-{name}.yaml")


def run(pool: DependencyPool, spec: TargetSpec, scenario: Scenario, replicas: int = 2) -> Result:
    return execute(spec, scenario, replicas, deployer=pool.deployer)


def hits(result: Result) -> list[Operation]:
    return sorted(result.history.operations("rate_limit"), key=lambda op: op.start)


def allowed(ops: list[Operation]) -> list[Operation]:
    return [op for op in ops if op.outcome is Outcome.OK and (op.value or {}).get("allowed")]


def probe(result: Result, workload: RateLimitWorkload) -> list[Operation]:
    """The over-denial probe: the final-phase hits after the final burst."""
    final = [op for op in hits(result) if op.phase == "final"]
    limit = int(final[0].args["limit"])
    return final[limit * workload.burst_factor:]


def explain(result: Result) -> str:
    ops = hits(result)
    t0 = ops[0].start if ops else 0.0
    timeline = " ".join(f"{op.start - t0:.2f}{'+' if (op.value or {}).get('allowed') else '-'}" for op in ops)
    return f"{result.scenario} on {result.target}: {result.verdict.explain(5)}\nhits (+ allowed, - denied): {timeline}"


def found(result: Result, kinds: tuple[str, ...]) -> list[Any]:
    return [v for v in result.verdict.violations if v.checker == "rate_limit" and v.kind in kinds]


def across_resets(model: str) -> tuple[Scenario, RateLimitWorkload]:
    """A crash, then hits for longer than a window (the runner's writes during a fault), then the probe."""
    workload = RateLimitWorkload(seed=SEED)
    return Scenario(f"{model} across window resets", workload, [Crash(replica=0), Hold(2.5)], [check_rate_limit]), \
        workload


@pytest.mark.parametrize("model", MODELS)
def test_correct_limiter_passes_across_window_resets(pool: DependencyPool, model: str) -> None:
    spec = spec_of(model)
    scenario, workload = across_resets(model)
    result = run(pool, spec, scenario)
    assert result.verdict.ok, explain(result)
    ops, window = hits(result), float(spec.operations.rate_limit.window)
    granted = allowed(ops)
    # the limit was reached, and allowed hits lie further apart than a window: resets fell inside the run
    assert any(op.outcome is Outcome.OK and not op.value["allowed"] for op in ops), explain(result)
    assert granted[-1].start - granted[0].end > 2 * window, explain(result)
    probed = probe(result, workload)
    assert probed and all(op in granted for op in probed), f"the probe was denied\n{explain(result)}"


@pytest.mark.parametrize("form", list(BROKEN))
def test_broken_form_over_admits(pool: DependencyPool, form: str) -> None:
    spec = spec_of(form)
    if BROKEN[form] == "scale-out":
        scenario = Scenario("state after scale-out 1 -> 3", RateLimitWorkload(seed=SEED), [ScaleTo(3)],
                            [check_rate_limit], replicas=1)
    else:  # concurrent bursts over two replicas, twice as many threads as the suites use
        scenario = Scenario("concurrent bursts", RateLimitWorkload(seed=SEED, threads=16), [],
                            [check_rate_limit])
    result = run(pool, spec, scenario)
    assert found(result, ("over-limit",)), explain(result)


@pytest.mark.parametrize("name, caught", [("fixed-first-hit", False), ("first-hit-split-expire", True)])
def test_split_expire_caught_by_over_denial_in_the_restart_suite(pool: DependencyPool, name: str,
                                                                  caught: bool) -> None:
    """The restart suite's crash scenario: a key whose EXPIRE died with the replica denies the probe."""
    workload = every_kind(SEED)
    result = run(pool, spec_of(name), Scenario("state survives crash", workload, [Crash(replica=0)], STATE_CHECKERS))
    rate_limit = next(w for w in workload.workloads if isinstance(w, RateLimitWorkload))
    probed = probe(result, rate_limit)
    assert probed, explain(result)
    if caught:
        assert not allowed(probed), f"the key recovered: the crash missed the EXPIRE's gap\n{explain(result)}"
        assert found(result, OVER_DENIAL), explain(result)
        assert not found(result, ("over-limit",)), explain(result)
    else:
        assert result.verdict.ok and allowed(probed) == probed, explain(result)


@pytest.mark.docker
def test_split_expire_caught_by_the_restart_suite_on_docker(images: None, tmp_path: Path) -> None:
    """The same through ``pytest scenarios -m restart -k crash``, as a user runs it, in containers."""
    suite = run_suites(TARGETS / "limiter-first-hit-split-expire.yaml", tmp_path / "out", "-m", "restart", "-k", "crash")
    found_kinds = {v["kind"] for v in suite.violations("state survives crash", "rate_limit")}
    assert suite.code == 1 and found_kinds and found_kinds <= set(OVER_DENIAL), suite.tail()


def test_bad_limiter_settings_stop_the_app_with_a_clear_error() -> None:
    """A wrong RATE_LIMITER / RATE_LIMITER_FORM never serves: the message names the setting and the choices."""
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(TARGETS), "RATE_LIMITER": "fixed-first-hit",
           "RATE_LIMITER_FORM": "split-expire", "RATE_WINDOW": "1", "RATE_EXPIRE_DELAY": "1"}
    for extra, message in (({"RATE_LIMITER": "leaky"}, "unknown RATE_LIMITER 'leaky': expected one of fixed-epoch"),
                           ({}, "RATE_EXPIRE_DELAY 1: must be shorter than RATE_WINDOW 1"),
                           ({"RATE_LIMITER": "token-bucket"}, "split-expire needs RATE_LIMITER fixed-first-hit")):
        proc = subprocess.run([sys.executable, "-c", "import refapp.main"], env={**env, **extra},
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr
