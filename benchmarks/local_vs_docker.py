"""Restart cycle and replica start-up of the local-process backend beside the Docker backend.

In one run, on the reference app's ``durable`` target:

- restart cycle: ``crash`` (SIGKILL) + ``start`` until ``/readyz`` answers 200, through
  the harness's verbs, the two backends' cycles interleaved (so the machine's noise
  hits both alike); the median of ``--cycles`` each;
- start-up: time until all of N new replicas are ready, for N in ``--counts``
  (dependencies already up: a scale-out from one replica by N, then back), the median
  of ``--repeat`` each; the ratio of the largest N to 1 shows how parallel the start
  is (target: 6 replicas in at most 2x the time of 1). Beside it, the CPU time one
  replica burns until it is ready (interpreter, imports, connections): N starts need
  N times that, shared by the machine's cores, so on a machine with fewer cores than
  replicas the ratio cannot fall below ``N x cpu / cores / time(1)``, printed as the floor
  (the harness's own CPU per start, forks and readiness polls, counted in);
- full deployment: ``up()`` from nothing (dependencies included) with 1 replica.

The Docker backend is skipped, with the reason, when no engine answers.

    .venv/bin/python benchmarks/local_vs_docker.py [--cycles 9] [--counts 1,3,6] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.deployment import Deployment  # noqa: E402
from harness.errors import EngineUnavailable  # noqa: E402
from harness.spec import TargetSpec, load_spec  # noqa: E402


def local_backend(spec: TargetSpec, replicas: int) -> Deployment:
    from harness.backends.local import LocalDeployment

    return LocalDeployment(spec, replicas=replicas).up()


def docker_backend(spec: TargetSpec) -> Callable[[TargetSpec, int], Deployment]:
    from harness.backends.docker import DockerDeployment, docker_client
    from harness.images import build_images

    client = docker_client()
    build_images(client, specs=[spec])

    def deploy(spec: TargetSpec, replicas: int) -> Deployment:
        return DockerDeployment(spec, replicas=replicas, client=client).up()

    return deploy


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def restart_cycle(deployment: Deployment) -> float:
    replica = deployment.replicas[0]
    return timed(lambda: (deployment.crash(replica), deployment.start(replica)))


def start_cpu(deployment: Deployment, replica: str) -> float:
    """CPU seconds (user + system) a running replica has used since it started."""
    if hasattr(deployment, "container"):  # docker: the container's cgroup counter
        stats = deployment.container(replica).stats(stream=False)
        return stats["cpu_stats"]["cpu_usage"]["total_usage"] / 1e9
    import psutil

    proc = psutil.Process(deployment._procs[replica].pid)  # type: ignore[attr-defined]
    times = proc.cpu_times()
    children = sum(c.cpu_times().user + c.cpu_times().system for c in proc.children(recursive=True))
    return times.user + times.system + children


def start_up(deployment: Deployment, count: int) -> tuple[float, float, float]:
    """Seconds until ``count`` new replicas are all ready, the CPU seconds the first new one used by
    then, and the CPU seconds the harness itself used per replica (forks, polls); the new replicas
    are removed again afterwards."""
    base = len(deployment.replicas)
    harness = time.process_time()
    seconds = timed(lambda: deployment.scale(base + count))
    harness = (time.process_time() - harness) / count
    cpu = start_cpu(deployment, deployment.replicas[base])
    deployment.scale(base)
    return seconds, cpu, harness


def bare_engine(spec: TargetSpec, count: int) -> float:
    """Seconds for the engine alone to create and start ``count`` containers of the app's image in
    parallel, running ``sleep`` instead of the app: what Docker costs before the app does anything."""
    import uuid
    from concurrent.futures import ThreadPoolExecutor

    from harness import cleanup
    from harness.backends.docker import docker_client

    client, run_id = docker_client(), uuid.uuid4().hex[:10]
    cleanup.register(client, run_id)
    try:
        def one(i: int) -> None:
            client.containers.run(spec.app.image, ["sleep", "60"], detach=True, labels=cleanup.labels(run_id),
                                  name=f"harness-{run_id}-bare-{i}", ports={f"{spec.app.port}/tcp": ("127.0.0.1", None)})

        with ThreadPoolExecutor(max_workers=count) as pool:
            return timed(lambda: list(pool.map(one, range(count))))
    finally:
        cleanup.remove_run(client, run_id)
        cleanup.unregister(run_id)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.0f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=9, help="restart cycles per backend (default 9)")
    parser.add_argument("--counts", default="1,3,6", help="replica counts to start (default 1,3,6)")
    parser.add_argument("--repeat", type=int, default=3, help="start-ups per count and backend (default 3)")
    parser.add_argument("--target", type=Path, default=ROOT / "targets" / "refapp" / "durable.yaml")
    args = parser.parse_args()
    counts = [int(n) for n in args.counts.split(",")]

    spec = load_spec(args.target)
    backends: dict[str, Callable[[TargetSpec, int], Deployment]] = {"local": local_backend}
    try:
        backends["docker"] = docker_backend(spec)
    except EngineUnavailable as exc:
        print(f"docker: skipped ({str(exc).splitlines()[0][:160]})")
    print(f"target {spec.name}; {os.cpu_count()} CPUs; {args.cycles} restart cycles, {args.repeat} start-ups "
          f"per count, per backend")

    full = {name: statistics.median(timed(lambda d=deploy: d(spec, 1).close()) for _ in range(args.repeat))
            for name, deploy in backends.items()}

    deployments = {name: deploy(spec, 1) for name, deploy in backends.items()}
    try:
        for deployment in deployments.values():
            print(f"  {deployment.description if hasattr(deployment, 'description') else type(deployment).__name__}")
        cycles: dict[str, list[float]] = {name: [] for name in deployments}
        for _ in range(args.cycles):
            for name, deployment in deployments.items():  # interleaved
                cycles[name].append(restart_cycle(deployment))
        starts: dict[str, dict[int, float]] = {name: {} for name in deployments}
        cpu: dict[str, float] = {}
        harness_cpu: dict[str, float] = {}
        for count in counts:
            samples: dict[str, list[tuple[float, float, float]]] = {name: [] for name in deployments}
            for _ in range(args.repeat):
                for name, deployment in deployments.items():
                    samples[name].append(start_up(deployment, count))
            for name in deployments:
                starts[name][count] = statistics.median(t for t, _, _ in samples[name])
                if count == counts[0]:
                    cpu[name] = statistics.median(c for _, c, _ in samples[name])
                harness_cpu[name] = statistics.median(h for _, _, h in samples[name])  # at the largest N
    finally:
        for deployment in deployments.values():
            deployment.close()

    names = list(deployments)
    print()
    print("restart cycle: crash (SIGKILL) + start until ready, median")
    for name in names:
        values = cycles[name]
        print(f"  {name:7} {ms(statistics.median(values))}   (min {ms(min(values)).strip()}, "
              f"max {ms(max(values)).strip()})")
    if len(names) == 2:
        print(f"  ratio local/docker: {statistics.median(cycles['local']) / statistics.median(cycles['docker']):.2f}")
    print()
    cores = os.cpu_count() or 1
    print("time to all-ready, N new replicas started in parallel (dependencies already up), median")
    print("  " + " " * 8 + "".join(f"{'N=' + str(n):>11}" for n in counts) + f"{f'{counts[-1]}/{counts[0]}':>10}"
          + f"{'floor':>8}   CPU per replica start: replica + harness")
    for name in names:
        row = starts[name]
        ratio = row[counts[-1]] / row[counts[0]]
        per_start = cpu[name] + harness_cpu[name]
        floor = max(1.0, counts[-1] * per_start / min(cores, counts[-1]) / row[counts[0]])
        print(f"  {name:7} " + "".join(f"{ms(row[n]):>11}" for n in counts) + f"{ratio:9.2f}x{floor:7.2f}x"
              + f"   {ms(cpu[name]).strip()} + {ms(harness_cpu[name]).strip()}"
              + ("   (target <= 2x)" if counts[-1] == 6 and counts[0] == 1 else ""))
    print(f"  floor: {counts[-1]} x the CPU of one start (replica + harness) on {min(cores, counts[-1])} core(s), "
          "over the time of one start; no parallel start can beat it (the dependencies' own CPU, e.g. a postgres "
          "backend per connection, comes on top)")
    if "docker" in names:
        bare = {n: statistics.median(bare_engine(spec, n) for _ in range(args.repeat)) for n in counts}
        print("  docker engine alone (containers running `sleep`, not the app): "
              + ", ".join(f"N={n} {ms(bare[n]).strip()}" for n in counts)
              + f", {bare[counts[-1]] / bare[counts[0]]:.2f}x")
    print()
    print("full deployment from nothing (dependencies + 1 replica ready), median")
    for name in names:
        print(f"  {name:7} {ms(full[name])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
