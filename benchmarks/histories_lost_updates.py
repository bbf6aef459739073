"""Soak-sized histories for the lost-updates checker: records updated with versions, racing or not.

``CASES`` follows ``benchmarks/checker_throughput.py``'s protocol: name -> (checker,
make(n_ops, violating, seed)). A history is 1,000 records, each created once (version 1)
and then updated over and over with a version that counts the writes; updates of one
record overlap their neighbours a little, as a soak's clients do. A violating history has,
about once per hundred operations, two overlapping updates of one record acknowledged with
the same version (what ``RECORD_UPDATE=read-modify-write`` answers): one lost update each.

    .venv/bin/python benchmarks/histories_lost_updates.py [--ops 1000000] [--violating]
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from harness.checkers.base import Verdict  # noqa: E402
from harness.checkers.lost_updates import check_lost_updates  # noqa: E402
from harness.history import History, Outcome  # noqa: E402

RECORDS = 1_000
REPLICAS = ("app-0", "app-1", "app-2")
RACE_EVERY = 100


def make(n_ops: int, violating: bool = False, seed: int = 0) -> History:
    """``n_ops`` record operations; with ``violating``, a racing pair about every RACE_EVERY of them."""
    rng = random.Random(seed)
    history = History()
    version: dict[str, int] = {}
    t, i = 1000.0, 0
    while i < n_ops:
        rid = f"r{rng.randrange(RECORDS)}"
        replica = REPLICAS[i % len(REPLICAS)]
        if rid not in version:
            version[rid] = 1
            history.record_op(kind="records", name="create", replica=replica, start=t, end=t + 0.01,
                              outcome=Outcome.OK, args={"data": {"nonce": rid}}, value={"id": rid, "version": 1})
        elif violating and i % RACE_EVERY == 0 and i + 1 < n_ops:
            version[rid] += 1  # both read the same version and both write the next one
            for k in range(2):
                history.record_op(kind="records", name="update", replica=REPLICAS[k], start=t + k * 0.001,
                                  end=t + 0.02 + k * 0.001, outcome=Outcome.OK,
                                  args={"id": rid, "data": {"nonce": f"u{i}-{k}"}},
                                  value={"id": rid, "version": version[rid]})
            i += 1
        else:
            version[rid] += 1
            history.record_op(kind="records", name="update", replica=replica, start=t, end=t + 0.015,
                              outcome=Outcome.OK, args={"id": rid, "data": {"nonce": f"u{i}"}},
                              value={"id": rid, "version": version[rid]})
        t += 0.01  # the next operation starts before this one ends: neighbours overlap
        i += 1
    return history


CASES: dict[str, tuple[Callable[[History], Verdict], Callable[[int, bool, int], History]]] = {
    "lost-updates": (check_lost_updates, make),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=1_000_000)
    parser.add_argument("--violating", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    history = make(args.ops, args.violating, args.seed)
    t, cpu = time.perf_counter(), time.process_time()
    verdict = check_lost_updates(history)
    took, used = time.perf_counter() - t, time.process_time() - cpu
    print(f"lost-updates {len(history.operations()):>9,} ops  judged {took:6.2f} s (cpu {used:6.2f} s)  "
          f"{verdict.validity.value:7} {len(verdict.violations):>7,} violations  "
          f"peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:6.0f} MB", flush=True)


if __name__ == "__main__":
    main()
