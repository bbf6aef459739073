"""How long ``check_prefix`` takes on a running soak's history: what ``--fail-fast`` costs every ~10 s.

Builds a soak-shaped history of every state kind (``benchmarks/histories_state.py``'s
``judge-all`` case: records, files, sessions, counters, invariants, faults), then judges
the prefix a running soak would have 90% of the way through (``in_flight_since`` the
start of the operation there) with every checker a soak uses, and, for comparison, the
whole history with the same checkers. Prints the operations, the seconds each took, the
violations found and the process's peak RSS.

    .venv/bin/python benchmarks/soak_prefix.py [--ops 200000] [--violating]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.histories_state import CASES  # noqa: E402
from harness.checkers import STATE_CHECKERS, check_fail_loud, check_invariants  # noqa: E402
from harness.checkers.base import judge  # noqa: E402
from harness.soak.progress import check_prefix  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=200_000)
    parser.add_argument("--violating", action="store_true", help="about one violation per hundred operations")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    _, make = CASES["judge-all"]
    history = make(args.ops, args.violating, args.seed)
    checkers = [*STATE_CHECKERS, check_fail_loud, check_invariants]
    starts = sorted(op.start for op in history.operations())
    cut = starts[int(len(starts) * 0.9)]
    t = time.perf_counter()
    found = check_prefix(history, checkers, cut)
    prefix_s = time.perf_counter() - t
    t = time.perf_counter()
    whole = judge(history, checkers)
    whole_s = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{len(starts):,} operations, {len(history.faults())} faults: check_prefix at 90% {prefix_s:.2f} s "
          f"({len(found):,} violations); whole history {whole_s:.2f} s ({len(whole.violations):,} violations, "
          f"{whole.validity.value}); peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
