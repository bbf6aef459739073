"""Passes per rate-limit model over N runs in a row: a correct limiter must pass every one.

Repeats the runs of ``tests/integration/test_rate_limit_models.py`` on the local backend
(Redis and PostgreSQL from their installed programs, started once and wiped between
runs): for each model's correct limiter (``targets/refapp/limiter-<model>.yaml``) a crash,
then steady hits for longer than a window, so window resets fall inside the run at a
different phase each time, then the over-denial probe; for each broken form its
catching scenario. Prints, per model, the runs that passed, the violations found, the
probes denied and the seconds per run; per broken form, the runs that caught it. Any
violation on a correct limiter is a false alarm; any broken run not caught is a miss.

    .venv/bin/python benchmarks/rate_limit_stability.py [--runs 20] [--models fixed-offset,token-bucket] [--no-broken]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.backends import DependencyPool, local_kind  # noqa: E402
from harness.checkers import STATE_CHECKERS, check_rate_limit  # noqa: E402
from harness.faults import Crash, ScaleTo  # noqa: E402
from harness.run import Scenario  # noqa: E402
from harness.workloads import RateLimitWorkload, every_kind  # noqa: E402
from tests.integration.test_rate_limit_models import (  # noqa: E402
    BROKEN, MODELS, OVER_DENIAL, SEED, across_resets, allowed, found, probe, run, spec_of)


def correct_runs(pool: DependencyPool, model: str, runs: int) -> None:
    passes, denied_probes, seconds = 0, 0, []
    kinds: Counter[str] = Counter()
    for _ in range(runs):
        start = time.perf_counter()
        scenario, workload = across_resets(model)
        result = run(pool, spec_of(model), scenario)
        seconds.append(time.perf_counter() - start)
        passes += result.verdict.ok
        kinds.update(v.kind for v in result.verdict.violations)
        denied_probes += len(probe(result, workload)) - len(allowed(probe(result, workload)))
    violations = ", ".join(f"{k} {n}" for k, n in kinds.items()) or "0"
    print(f"{model:<26} passed {passes}/{runs}   violations {violations:<12} probes denied {denied_probes}   "
          f"{sum(seconds) / len(seconds):.1f} s/run", flush=True)


def broken_runs(pool: DependencyPool, form: str, runs: int) -> None:
    caught = 0
    for i in range(runs):
        if BROKEN[form] == "scale-out":
            scenario = Scenario("state after scale-out 1 -> 3", RateLimitWorkload(seed=SEED + i), [ScaleTo(3)],
                                [check_rate_limit], replicas=1)
        else:
            scenario = Scenario("concurrent bursts", RateLimitWorkload(seed=SEED + i, threads=16), [],
                                [check_rate_limit])
        caught += bool(found(run(pool, spec_of(form), scenario), ("over-limit",)))
    print(f"{form:<26} caught {caught}/{runs} ({BROKEN[form]})", flush=True)


def split_expire_runs(pool: DependencyPool, runs: int) -> None:
    caught = 0
    for i in range(runs):
        scenario = Scenario("state survives crash", every_kind(SEED + i), [Crash(replica=0)], STATE_CHECKERS)
        caught += bool(found(run(pool, spec_of("first-hit-split-expire"), scenario), OVER_DENIAL))
    print(f"{'first-hit-split-expire':<26} caught {caught}/{runs} (restart suite's crash, over-denial)", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated, of: {', '.join(MODELS)}")
    parser.add_argument("--no-broken", action="store_true", help="only the correct limiters")
    args = parser.parse_args()
    models = [m for m in args.models.split(",") if m]
    unknown = sorted(set(models) - set(MODELS))
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}: expected some of {', '.join(MODELS)}")
    pool = DependencyPool(local_kind())
    try:
        print(f"{args.runs} run(s) per model on the local backend, window 2 s", flush=True)
        for model in models:
            correct_runs(pool, model, args.runs)
        if not args.no_broken:
            for form in BROKEN:
                broken_runs(pool, form, args.runs)
            split_expire_runs(pool, args.runs)
    finally:
        pool.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
