"""The crash + replacement-ready cycle on the swarm backend beside the docker backend's, in one run.

One deployment of ``targets/refapp/durable.yaml`` with 2 replicas on each backend (chosen
with ``choose_backend``, deployed from nothing and timed: ``up()``), then ``--cycles`` cycles
of the harness's own verbs on the first replica:

- crash: ``deployment.crash(replica)``: SIGKILL to the replica's container (on swarm, the
  task's container; the gateway stops routing to it);
- ready: ``deployment.start(replica)`` until ``/readyz`` answers 200: docker starts the same
  container again; on swarm the orchestrator starts a new task in the slot by itself, and
  start waits for it, routes the gateway to it and polls it;
- cycle: both.

The backends take turns cycle by cycle (docker, swarm, then swarm, docker, ...) so the
machine's noise hits both alike. Prints median / p90 / min / max of each phase per backend
and the ratio swarm/docker of the median cycle. Needs a Docker engine that is an active swarm
manager (``scripts/swarm.sh ensure``).

    .venv/bin/python benchmarks/swarm_crash_cycle.py [--cycles 10]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Sequence

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.backends import choose_backend, docker_client  # noqa: E402
from harness.deployment import Deployment  # noqa: E402
from harness.history import History  # noqa: E402
from harness.spec import load_spec  # noqa: E402

BACKENDS = ("docker", "swarm")
PHASES = ("crash", "ready", "cycle")
REPLICAS = 2


def p90(values: Sequence[float]) -> float:
    """The nearest-rank 90th percentile (with few samples, the largest but the top tenth)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def one_cycle(deployment: Deployment) -> dict[str, float]:
    """Crash the first replica and start it until ready; seconds of each phase and of the whole."""
    replica = deployment.replicas[0]
    began = time.perf_counter()
    deployment.crash(replica)
    crashed = time.perf_counter()
    deployment.start(replica)
    ready = time.perf_counter()
    return {"crash": crashed - began, "ready": ready - crashed, "cycle": ready - began}


def ms(seconds: float) -> str:
    return f"{seconds * 1000:9.0f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=10, help="crash + ready cycles per backend (default 10)")
    parser.add_argument("--target", type=Path, default=ROOT / "targets" / "refapp" / "durable.yaml")
    args = parser.parse_args(argv)
    if args.cycles < 1:
        parser.error("--cycles must be at least 1")

    from harness.images import build_images

    spec = load_spec(args.target)
    client = docker_client()
    try:
        build_images(client, specs=[spec])
    finally:
        client.close()
    chosen = {name: choose_backend(name, spec) for name in BACKENDS}  # a BackendError says why swarm cannot run
    print(f"target {spec.name}; {REPLICAS} replicas per backend; {args.cycles} cycles per backend, interleaved; "
          f"{os.cpu_count()} CPUs", flush=True)

    deployments: dict[str, Deployment] = {}
    up: dict[str, float] = {}
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in BACKENDS}
    try:
        for name in BACKENDS:  # one after the other, so neither up() shares the machine with the other
            began = time.perf_counter()
            deployments[name] = chosen[name].deploy(spec, REPLICAS, History())
            up[name] = time.perf_counter() - began
        for k in range(args.cycles):
            for name in BACKENDS if k % 2 == 0 else reversed(BACKENDS):  # neither always goes first
                samples[name].append(one_cycle(deployments[name]))
    finally:
        for deployment in deployments.values():
            deployment.close()

    print()
    print(f"up(): deployment from nothing, dependencies included, {REPLICAS} replicas ready")
    for name in BACKENDS:
        print(f"  {name:7} {up[name]:7.1f} s")
    print()
    print("crash (SIGKILL) and ready (start until /readyz answers 200; on swarm the orchestrator's new task), ms")
    print(f"  {'backend':7} {'phase':6} {'median':>9} {'p90':>9} {'min':>9} {'max':>9}")
    for name in BACKENDS:
        for phase in PHASES:
            values = [s[phase] for s in samples[name]]
            print(f"  {name:7} {phase:6} {ms(statistics.median(values))} {ms(p90(values))} {ms(min(values))} "
                  f"{ms(max(values))}")
    medians = {name: statistics.median(s["cycle"] for s in samples[name]) for name in BACKENDS}
    print(f"  ratio swarm/docker, median cycle: {medians['swarm'] / medians['docker']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
