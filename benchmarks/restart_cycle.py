"""Median time of the harness's crash + ready cycle against a bare docker SDK loop.

Both loops run in one process, interleaved, on the same image and the same
deployment (so the machine's noise hits both alike):

- harness: ``deployment.crash(replica)`` then ``deployment.start(replica)``, which
  records both fault events, re-reads the published port and polls ``/readyz``;
- bare: ``container.kill()``, ``container.start()``, ``reload()`` for the new port,
  then ``GET /readyz`` every 10 ms until the first 200.

Prints both medians and their ratio (target: at most 1.2).

    .venv/bin/python benchmarks/restart_cycle.py [--cycles 15]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.backends.docker import DockerDeployment, docker_client  # noqa: E402
from harness.images import build_images  # noqa: E402
from harness.spec import load_spec  # noqa: E402


def bare_cycle(container, port: int) -> float:
    start = time.perf_counter()
    container.kill(signal="SIGKILL")
    container.wait(timeout=10)
    container.start()
    container.reload()
    host_port = container.attrs["NetworkSettings"]["Ports"][f"{port}/tcp"][0]["HostPort"]
    url = f"http://127.0.0.1:{host_port}/readyz"
    with httpx.Client(timeout=httpx.Timeout(1.0, connect=0.5)) as http:
        while True:
            try:
                if http.get(url).status_code == 200:
                    return time.perf_counter() - start
            except httpx.HTTPError:
                pass
            time.sleep(0.01)


def harness_cycle(deployment: DockerDeployment, replica: str) -> float:
    start = time.perf_counter()
    deployment.crash(replica)
    deployment.start(replica)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=15)
    args = parser.parse_args()

    client = docker_client()
    spec = load_spec(ROOT / "targets" / "refapp" / "durable.yaml")
    build_images(client, specs=[spec])
    with DockerDeployment(spec, replicas=2, client=client) as deployment:
        bare_container = deployment._container("app-1")
        ours, bare = [], []
        for _ in range(args.cycles):
            ours.append(harness_cycle(deployment, "app-0"))
            bare.append(bare_cycle(bare_container, spec.app.port))
    m_ours, m_bare = statistics.median(ours), statistics.median(bare)
    print(f"cycles per loop:              {args.cycles}")
    print(f"harness crash+ready median:   {m_ours * 1000:7.1f} ms")
    print(f"bare kill+start+200 median:   {m_bare * 1000:7.1f} ms")
    print(f"ratio harness/bare:           {m_ours / m_bare:7.3f}  (target <= 1.2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
