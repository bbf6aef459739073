"""How many replica exits the fork server fails to report in time, over many short-lived replicas.

Each round forks a replica from a bare fork server (``json`` preloaded) and ends it in
one of two ways, the two timings that once lost a SIGCHLD:

- ``kill``: SIGKILL the moment the fork server answers with its pid, while it goes back
  to waiting for the next request;
- ``exit``: the replica exits by itself at once and is polled as tightly as possible.

An exit counts as missed when its status is not written within ``--within`` seconds.
Prints missed / total and the exits per second for each way (a missed exit is waited
for, up to 10 s, before the next round). On a 2-core machine, 8,000 rounds of each: the
reaping SIGCHLD handler missed 9 (``kill``) and 4 (``exit``); the wake-up pipe 0 and 0.

    .venv/bin/python benchmarks/fork_server_exits.py [--rounds 20000] [--within 0.1]
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.backends.local_processes import ForkedProcess, ForkServer  # noqa: E402


def _killed(server: ForkServer, folder: Path) -> ForkedProcess:
    replica = server.spawn(["-c", "import time; time.sleep(60)"], folder, {}, folder / "logs" / "r.log")
    os.kill(replica.pid, signal.SIGKILL)
    return replica


def _exited(server: ForkServer, folder: Path) -> ForkedProcess:
    return server.spawn(["-c", "import sys; sys.exit(3)"], folder, {}, folder / "logs" / "r.log")


def measure(way: str, rounds: int, within: float) -> tuple[int, float]:
    """(missed, seconds) for ``rounds`` replicas ended ``way``."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "logs").mkdir()
        # the fork server of this tree, wherever the installed package points
        server = ForkServer(["json"], folder, {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)}, 30)
        end = _killed if way == "kill" else _exited
        missed, started = 0, time.perf_counter()
        try:
            for _ in range(rounds):
                replica = end(server, folder)
                deadline = time.monotonic() + within
                while replica.exit_status() is None and time.monotonic() < deadline:
                    pass  # as tight as it gets
                if replica.exit_status() is None:
                    missed += 1
                    replica.wait(10)  # let it be reported before the next round
        finally:
            server.close()
        return missed, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20000)
    parser.add_argument("--within", type=float, default=0.1, help="seconds an exit may take to be reported")
    args = parser.parse_args()
    for way in ("kill", "exit"):
        missed, seconds = measure(way, args.rounds, args.within)
        print(f"{way:5} missed {missed} of {args.rounds} exits within {args.within}s "
              f"({args.rounds / seconds:.0f} exits/s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
