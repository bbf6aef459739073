"""How often a soak finds each concurrency bug mode of the reference app, how soon, and whether the fixed
suites catch the same specs: the figures the soak's acceptance asks for, side by side in one run.

For every spec and every seed, one soak with ``--fail-fast`` (every fault the backend has, the default
rate and mean gap): found or not, and how long after the clients began the first violation's
operation happened. ``durable`` runs the same seeds and must pass every one. With ``--fixed``, the
restart and scale-out suites (``harness run``) run once per spec and seed too: caught or missed.

    .venv/bin/python benchmarks/soak_detection.py [--seeds 1,2,3,4,5] [--duration 10m] [--clients 4]
                                                  [--replicas 2] [--specs racy-counter,...] [--fixed]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.backends import choose_backend  # noqa: E402
from harness.preflight import duration  # noqa: E402
from harness.soak.driver import SoakResult, run_soak  # noqa: E402
from harness.soak.nemesis import dependencies_for, faults_for  # noqa: E402
from harness.soak.plan import DEFAULT_RATE, default_mean_gap, draw_plan  # noqa: E402
from harness.spec import load_spec  # noqa: E402

REFAPP = ROOT / "targets" / "refapp"
SPECS = ("racy-counter", "racy-quote-use", "racy-record-update", "limiter-first-hit-split-expire", "durable")


def first_found(result: SoakResult) -> float | None:
    """Seconds from the clients' first operation to the end of the first violation's last operation."""
    ops = result.history.operations()
    main = [op.start for op in ops if op.phase == "main"]
    if not result.failed or not main:
        return None
    times = []
    for v in result.verdict.violations:
        ends = [op.end for op in map(result.history.operation, v.op_ids) if op is not None]
        if ends:
            times.append(max(ends))
    return (min(times) - min(main)) if times else None


def soak(spec_name: str, seed: int, args: argparse.Namespace) -> str:
    spec = load_spec(REFAPP / f"{spec_name}.yaml")
    backend = choose_backend(args.backend, spec)
    plan = draw_plan(seed, args.duration, args.clients, args.replicas, faults_for(backend.kind, spec),
                     default_mean_gap(args.duration), dependencies_for(backend.kind, spec), DEFAULT_RATE)
    result = run_soak(spec, plan, backend.deploy, fail_fast=True)
    if not result.failed:
        return f"pass ({result.verdict.validity})" if result.verdict.validity != "pass" else "pass"
    kinds = ",".join(sorted({k for _, k in result.signature()}))
    at = first_found(result)
    return f"FOUND {kinds} at +{at:.0f}s" if at is not None else f"FOUND {kinds}"


def fixed(spec_name: str, seed: int, backend: str) -> str:
    with tempfile.TemporaryDirectory() as out:
        run = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--target", str(REFAPP / f"{spec_name}.yaml"),
                              "--suite", "restart", "--suite", "scale-out", "--seed", str(seed), "--backend", backend,
                              "--out", str(Path(out) / "run")], capture_output=True, text=True, cwd=ROOT)
    return {0: "missed", 1: "caught"}.get(run.returncode, f"error (exit {run.returncode})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="1,2,3,4,5")
    parser.add_argument("--duration", type=duration, default=duration("10m"))
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--specs", default=",".join(SPECS))
    parser.add_argument("--backend", default="docker")
    parser.add_argument("--fixed", action="store_true", help="also run the restart and scale-out suites per seed")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"soak: {args.duration:g}s at most (fail-fast), {args.clients} clients, {args.replicas} replicas, "
          f"{args.backend}; seeds {seeds}")
    for name in args.specs.split(","):
        found = 0
        for seed in seeds:
            verdict = soak(name, seed, args)
            found += verdict.startswith("FOUND")
            suites = f"; fixed suites: {fixed(name, seed, args.backend)}" if args.fixed else ""
            print(f"{name:34} seed {seed}: soak {verdict}{suites}", flush=True)
        print(f"{name:34} soak found it in {found} of {len(seeds)} seeds", flush=True)


if __name__ == "__main__":
    main()
