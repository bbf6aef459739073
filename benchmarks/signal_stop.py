"""How fast a signal stops `harness run`, and how fast nothing is left, per backend and stage.

For each backend and each stage (deploy: waiting for a replica that never gets ready;
mid-scenario: a scenario under way; report: as verdicts.json appears), a real `harness
run` of one tiny scenario is started in a subprocess and sent ``--signal`` (default
SIGTERM) once it reaches the stage, chosen as in tests/integration/test_signals.py.
Printed per case: the seconds from the signal to the process's exit (target: at most 5
for SIGINT, SIGTERM and SIGHUP), to the moment nothing of the run is left (no labelled
Docker object, no process of its tree or under its local roots; target: 15), and
the exit status (130 for a catchable signal). The median over ``--repeat`` runs.

    .venv/bin/python benchmarks/signal_stop.py [--backends docker,local] [--signal SIGTERM] [--repeat 1]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.test_signals import (  # noqa: E402 - the same runs and stage triggers as the test
    DURABLE, NEVER_READY, Run, descendants, labelled, local_roots, running, under_roots)

STAGES = ("deploy", "mid-scenario", "report")


def one(backend: str, stage: str, signame: str, client: object) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory(prefix="harness-signal-bench-") as tmp_name:
        tmp = Path(tmp_name)
        target = DURABLE
        if stage == "deploy":
            target = tmp / "never-ready.yaml"
            target.write_text(NEVER_READY.format(durable=DURABLE))
        run = Run(tmp, backend, target, hold=30.0 if stage == "mid-scenario" else 0.0)
        if stage == "deploy":
            run.wait_for("replica being waited for", lambda: run.replica_created(backend, client))
            time.sleep(0.5)
        elif stage == "mid-scenario":
            run.wait_for("scenario under way", run.mark.exists)
        else:
            run.wait_for("verdicts.json", (run.out / "verdicts.json").exists)
        tree = descendants(run.pid)
        os.kill(run.pid, signal.Signals[signame])
        start = time.monotonic()
        code = run.proc.wait(timeout=120)
        stopped = time.monotonic() - start
        while time.monotonic() - start < 60:
            if not (running(tree) or under_roots(run.pid) or local_roots(run.pid)
                    or (client is not None and labelled(client, run.pid))):
                break
            time.sleep(0.05)
        return stopped, time.monotonic() - start, code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="docker,local")
    parser.add_argument("--signal", default="SIGTERM", choices=["SIGINT", "SIGTERM", "SIGHUP", "SIGKILL"])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    print(f"{'backend':8} {'stage':13} {'exit after':>11} {'nothing left after':>19}  exit status ({args.signal})")
    for backend in args.backends.split(","):
        client = None
        if backend == "docker":
            from harness.backends.docker import docker_client

            client = docker_client()
        for stage in STAGES:
            results = [one(backend, stage, args.signal, client) for _ in range(args.repeat)]
            stopped = statistics.median(r[0] for r in results)
            clean = statistics.median(r[1] for r in results)
            codes = sorted({r[2] for r in results})
            print(f"{backend:8} {stage:13} {stopped:10.2f}s {clean:18.2f}s  {codes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
