"""How often the restart suite's crash is named for the two-statements default address, and how often the
correct form passes: ``targets/refapp/rules-two-statements-crash.yaml`` and ``rules-crash.yaml``
(``probes: quiet``, an exercise on app-0 only that stops at the first fault), each run N times
through the crash scenario on the local backend (real PostgreSQL, real uvicorn replicas).

Prints, per spec, the verdicts: for the broken form the runs caught as ``broken`` with the crash
of app-0 among ``faults_between``; for the correct form the runs that passed.

    .venv/bin/python benchmarks/invariant_crash_attribution.py [--runs 10] [--backend local|docker]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.backends import docker_deployer  # noqa: E402
from harness.backends.local import LocalDeployment  # noqa: E402
from harness.checkers import STATE_CHECKERS  # noqa: E402
from harness.checkers.invariants import BROKEN  # noqa: E402
from harness.faults import Crash  # noqa: E402
from harness.history import History  # noqa: E402
from harness.run import Scenario, execute  # noqa: E402
from harness.spec import TargetSpec, load_spec  # noqa: E402
from harness.workloads import every_kind  # noqa: E402

REFAPP = ROOT / "targets" / "refapp"
RULE = "one default address per user"


def local(spec: TargetSpec, replicas: int, history: History) -> LocalDeployment:
    return LocalDeployment(spec, replicas=replicas, history=history, dependencies="auto").up()


def one_run(spec: str, backend: str) -> str:
    """The run's verdict in a word: 'passed', 'caught' (broken, the crash named), or what else happened."""
    scenario = Scenario("state survives crash", every_kind(0), [Crash(replica=0)], STATE_CHECKERS)
    result = execute(load_spec(REFAPP / spec), scenario, 2, deployer=local if backend == "local" else docker_deployer)
    if result.verdict.ok:
        return "passed"
    rules = [v for v in result.verdict.violations if v.checker == "invariants" and v.evidence.get("rule") == RULE]
    others = sorted({f"{v.checker}/{v.kind}" for v in result.verdict.violations if v not in rules})
    if rules and rules[0].kind == BROKEN and any(
            f.startswith("crash") and f.endswith("of app-0") for f in rules[0].evidence["faults_between"]):
        return "caught" + (f" (and {', '.join(others)})" if others else "")
    return f"{rules[0].kind if rules else 'not caught'}" + (f" ({', '.join(others)})" if others else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--backend", choices=("local", "docker"), default="local")
    args = parser.parse_args()
    for spec in ("rules-two-statements-crash.yaml", "rules-crash.yaml"):
        verdicts = Counter(one_run(spec, args.backend) for _ in range(args.runs))
        print(f"{spec}: " + ", ".join(f"{n}/{args.runs} {v}" for v, n in verdicts.most_common()), flush=True)


if __name__ == "__main__":
    main()
