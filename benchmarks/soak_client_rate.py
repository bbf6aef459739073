"""The soak client's sustained operation rate against a bare ``httpx`` loop doing the same requests, side by side.

One deployment of ``targets/refapp/durable.yaml`` (one replica, docker), then, in turns (``--rounds``
of each, alternating, so both see the same machine): a soak of one unpaced client restricted to
counters (70 % increments, 30 % reads of three shared counters, every call through the harness's
client: the adapter's rendering, the outcome table, the history) and a plain loop of the same
requests with one ``httpx.Client`` and nothing recorded. Prints operations per second of each and
their ratio (soak / bare).

    .venv/bin/python benchmarks/soak_client_rate.py [--seconds 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.backends import docker_deployer  # noqa: E402
from harness.deployment import Deployment  # noqa: E402
from harness.history import History  # noqa: E402
from harness.soak.driver import run_soak  # noqa: E402
from harness.soak.plan import SoakPlan  # noqa: E402
from harness.spec import load_spec  # noqa: E402

SPEC = ROOT / "targets" / "refapp" / "durable.yaml"


class Reuse:
    """A deployer that hands the soak the deployment already up (and leaves it up): only the clients are timed."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment

    def __call__(self, spec, replicas, history):  # noqa: ANN001 - the Deployer signature
        outer = self

        class Held:
            def __enter__(self) -> Deployment:
                outer.deployment.history = history
                return outer.deployment

            def __exit__(self, *exc: object) -> None:
                return None

        return Held()


def soak_rate(spec, deployment: Deployment, seconds: float, seed: int) -> float:
    plan = SoakPlan(seed=seed, duration=seconds, clients=1, replicas=1, rate=None, kinds=("counters",))
    result = run_soak(spec, plan, Reuse(deployment))
    main = [op for op in result.history.operations() if op.phase == "main"]
    return len(main) / (max(op.end for op in main) - min(op.start for op in main))


def bare_rate(url: str, seconds: float, seed: int) -> float:
    rng, names, done = random.Random(seed), [f"bare-{seed}-{i}" for i in range(3)], 0
    with httpx.Client(timeout=5.0) as http:
        began = time.monotonic()
        while time.monotonic() - began < seconds:
            name = rng.choice(names)
            if rng.random() < 0.7:
                http.post(f"{url}/counters/{name}/increment", json={"by": rng.randint(1, 5)}).json()
            else:
                http.get(f"{url}/counters/{name}").json()
            done += 1
        return done / (time.monotonic() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    spec = load_spec(SPEC)
    soak, bare = [], []
    with docker_deployer(spec, 1, History()) as deployment:
        url = deployment.endpoint(deployment.replicas[0])
        for k in range(args.rounds):
            soak.append(soak_rate(spec, deployment, args.seconds, seed=k))
            bare.append(bare_rate(url, args.seconds, seed=k))
            print(f"round {k + 1}: soak client {soak[-1]:,.0f} ops/s, bare httpx {bare[-1]:,.0f} ops/s", flush=True)
    s, b = statistics.median(soak), statistics.median(bare)
    print(f"median: soak client {s:,.0f} ops/s, bare httpx loop {b:,.0f} ops/s, ratio {s / b:.2f}")


if __name__ == "__main__":
    main()
