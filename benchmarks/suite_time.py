"""Wall time of each default suite against a target, repeated, with the violation count.

Runs ``pytest scenarios -m SUITE`` in a subprocess per suite, as a user would, and
prints the wall time per suite and run, and the total number of violations (for
``durable`` this must be 0 on every run: any other figure is a false alarm).

    .venv/bin/python benchmarks/suite_time.py [--runs 5] [--replicas 3] [--target targets/refapp/durable.yaml]
    .venv/bin/python benchmarks/suite_time.py --parallel 2     # 1 worker, then 2, side by side per run
"""

from __future__ import annotations

import argparse
import statistics
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUITES = ("restart", "scale_out", "dependency")


def run_suite(suite: str, target: Path, replicas: int, seed: int, out: Path,
              workers: int = 1) -> tuple[float, int, int, int]:
    """Seconds, scenarios, violations, and pytest's exit code of one suite run (``suite``: a marker expression)."""
    start = time.perf_counter()
    parallel = ["-n", str(workers)] if workers > 1 else []
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", str(ROOT / "scenarios"), "-m", suite, "--target", str(target),
         "--replicas", str(replicas), "--seed", str(seed), "--harness-out", str(out), "-q", "-p", "no:cacheprovider",
         "--rootdir", str(ROOT), *parallel],
        cwd=ROOT, capture_output=True, text=True,
    )
    seconds = time.perf_counter() - start
    verdicts = json.loads((out / "verdicts.json").read_text()) if (out / "verdicts.json").exists() else []
    if proc.returncode not in (0, 1):
        print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
    return seconds, len(verdicts), sum(len(v["violations"]) for v in verdicts), proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--target", type=Path, default=ROOT / "targets" / "refapp" / "durable.yaml")
    parser.add_argument("--parallel", type=int, default=1, metavar="N",
                        help="also run the whole default suite with N pytest-xdist workers and print the speed-up")
    args = parser.parse_args()
    if args.parallel > 1:
        return compare_parallel(args)

    total_violations = 0
    failed_runs = 0
    print(f"target {args.target.name}, {args.replicas} replicas, {args.runs} run(s)")
    for run in range(args.runs):
        times = {}
        with tempfile.TemporaryDirectory() as tmp:
            for suite in SUITES:
                seconds, scenarios, violations, code = run_suite(suite, args.target, args.replicas, run,
                                                                  Path(tmp) / suite)
                times[suite] = seconds
                total_violations += violations
                failed_runs += code != 0
                print(f"run {run + 1}: {suite:11} {seconds:6.1f} s  {scenarios} scenarios  {violations} violations"
                      f"  exit {code}")
        print(f"run {run + 1}: all suites {sum(times.values()):6.1f} s")
    print(f"runs: {args.runs}, violations in all runs: {total_violations}, suite runs that failed: {failed_runs}")
    return 0


def compare_parallel(args: argparse.Namespace) -> int:
    """The whole default suite with 1 worker and with N, alternating, in one process: a side-by-side ratio."""
    everything = " or ".join(SUITES)
    print(f"target {args.target.name}, {args.replicas} replicas, {args.runs} run(s), 1 vs {args.parallel} workers")
    ratios, violations = [], 0
    for run in range(args.runs):
        times = {}
        for workers in (1, args.parallel):
            with tempfile.TemporaryDirectory() as tmp:
                seconds, scenarios, found, code = run_suite(everything, args.target, args.replicas, run, Path(tmp),
                                                            workers)
            times[workers] = seconds
            violations += found
            print(f"run {run + 1}: {workers} worker(s) {seconds:6.1f} s  {scenarios} scenarios  {found} violations"
                  f"  exit {code}")
        ratios.append(times[1] / times[args.parallel])
        print(f"run {run + 1}: speed-up {ratios[-1]:.2f}x")
    print(f"speed-up with {args.parallel} workers: median {statistics.median(ratios):.2f}x "
          f"(target >= 1.5x); violations in all runs: {violations}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
