"""Wall time of each default suite against a target, repeated, with the violation count.

Runs ``pytest scenarios -m SUITE`` in a subprocess per suite, as a user would, and
prints the wall time per suite and run, and the total number of violations (for
``durable`` this must be 0 on every run: any other figure is a false alarm).

    .venv/bin/python benchmarks/suite_time.py [--runs 5] [--replicas 3] [--target targets/refapp/durable.yaml]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUITES = ("restart", "scale_out", "dependency")


def run_suite(suite: str, target: Path, replicas: int, seed: int, out: Path) -> tuple[float, int, int, int]:
    """Seconds, scenarios, violations, and pytest's exit code of one suite run."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", str(ROOT / "scenarios"), "-m", suite, "--target", str(target),
         "--replicas", str(replicas), "--seed", str(seed), "--harness-out", str(out), "-q", "-p", "no:cacheprovider",
         "--rootdir", str(ROOT)],
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
    args = parser.parse_args()

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


if __name__ == "__main__":
    sys.exit(main())
