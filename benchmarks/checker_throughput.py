"""Checker throughput: each checker's time and peak memory on a 1,000,000-operation soak history.

The cases come from ``benchmarks/histories_limits.py`` and ``benchmarks/histories_state.py``
(each a ``CASES`` dict: name -> (checker, make(n_ops, violating, seed)); a module that is
missing is skipped with a note). Every case runs twice, on a clean history (the verdict
must pass) and on one with about one violation per hundred operations (it must fail,
with about that many violations), each in a subprocess of its own so the peak RSS is
that case's alone (a module may also expose ``FOUND``: name -> verdict -> the violations
it holds, for a checker that reports one violation for many, with the count in its
stats). Only the checker call is timed; building the history is not. The
peak RSS is the whole process's while the checker runs, the history included (the
high-water mark is reset after the history is built where Linux allows it). The target
is at most 10 s and 1 GB per case. ``seconds`` is the wall time of the call, ``cpu`` the
process's CPU time during it (a checker is single-threaded): on an idle machine the two
agree, on a shared one the wall time also counts the neighbours' turns, so ``within``
judges the CPU time.

    .venv/bin/python benchmarks/checker_throughput.py [--ops 1000000] [--cases rate_limit,quotes] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import re
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from harness.checkers.base import Validity  # noqa: E402

MODULES = ("benchmarks.histories_limits", "benchmarks.histories_state", "benchmarks.histories_lost_updates")
SECONDS, MEGABYTES = 10.0, 1024.0
QUICK_OPS = 100_000
#: one violation per this many operations is planted in a violating history
PLANTED_EVERY = 100
_NOT_LISTED = re.compile(r"(\d+) more [\w-]+ violations not listed")


#: case name -> how to count the violations of its verdict, where the module says (``FOUND``)
COUNTERS: dict[str, Callable[[Any], int]] = {}


def cases(log: Callable[[str], None] = print) -> dict[str, tuple[Callable, Callable]]:
    """Every case of every generator module there is; a module not written yet is skipped, said once."""
    found: dict[str, tuple[Callable, Callable]] = {}
    for module in MODULES:
        try:
            loaded = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            log(f"note: {module.replace('.', '/')}.py is not there: its cases are skipped")
            continue
        found.update(loaded.CASES)
        COUNTERS.update(getattr(loaded, "FOUND", {}))
    return found


def violations_found(verdict: Any, case: str | None = None) -> int:
    """The violations a verdict lists, and those it only counts in a note (a checker caps what it lists);
    the case's own count where its module gives one."""
    if case in COUNTERS:
        return COUNTERS[case](verdict)
    hidden = sum(int(m.group(1)) for note in verdict.notes for m in _NOT_LISTED.finditer(note))
    return len(verdict.violations) + hidden


def judged_right(verdict: Any, violating: bool, n_ops: int, case: str | None = None) -> str | None:
    """Why a verdict is wrong for its history, or None: clean must pass, violating must fail with about n/100."""
    if not violating:
        if verdict.validity is Validity.PASS:
            return None
        first = verdict.violations[0].message[:300] if verdict.violations else "; ".join(verdict.notes)[:300]
        return f"a clean history judged {verdict.validity.value}: {first}"
    if verdict.validity is not Validity.FAIL:
        return f"a violating history judged {verdict.validity.value}"
    found, planted = violations_found(verdict, case), max(1, n_ops // PLANTED_EVERY)
    if not planted / 2 <= found <= planted * 2:
        return f"{found} violations found where about {planted} were planted"
    return None


def _reset_peak() -> None:
    """Forget the memory high-water mark of building the history (Linux; elsewhere the mark stays)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def measure(name: str, n_ops: int, violating: bool, seed: int = 1) -> dict[str, Any]:
    """Build one history, judge it once, and say how long and how much memory that took."""
    checker, make = cases(log=lambda _: None)[name]
    history = make(n_ops, violating, seed)
    ops = len(history.operations())
    gc.collect()
    _reset_peak()
    start, cpu = time.perf_counter(), time.process_time()
    verdict = checker(history)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"case": name, "ops": ops, "violating": violating, "verdict": verdict.validity.value,
            "violations": violations_found(verdict, name), "seconds": seconds, "cpu": cpu, "peak_mb": peak_mb,
            "wrong": judged_right(verdict, violating, ops, name)}


def _in_subprocess(name: str, n_ops: int, violating: bool, timeout: float) -> dict[str, Any]:
    command = [sys.executable, __file__, "--one", name, "--ops", str(n_ops)] + (["--violating"] if violating else [])
    try:
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"case": name, "ops": n_ops, "violating": violating,
                "error": f"not done within {timeout:g} s (building the history included)"}
    if done.returncode != 0:
        return {"case": name, "ops": n_ops, "violating": violating, "error": done.stderr.strip()[-600:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _within(r: dict[str, Any]) -> bool:
    return r["cpu"] <= SECONDS and r["peak_mb"] <= MEGABYTES


def _row(r: dict[str, Any]) -> str:
    label = f"{r['case']} ({'violating' if r['violating'] else 'clean'})"
    if "error" in r:
        return f"{label:<34} ERROR: {r['error']}"
    line = (f"{label:<34} {r['ops']:>10,} {r['violations']:>10,} {r['seconds']:>8.2f} {r['cpu']:>7.2f} "
            f"{r['ops'] / max(r['cpu'], 1e-9):>12,.0f} {r['peak_mb']:>8.0f}  {'yes' if _within(r) else 'NO'}")
    return line + (f"\n    WRONG: {r['wrong']}" if r["wrong"] else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", type=int, default=1_000_000, help="operations per history (default 1,000,000)")
    parser.add_argument("--cases", default="", help="comma-separated case names (default: every case)")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_OPS:,} operations, for a first look")
    parser.add_argument("--timeout", type=float, default=900, help="seconds a case may take in all (default 900)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # the subprocess of one case
    parser.add_argument("--violating", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    n_ops = QUICK_OPS if options.quick else options.ops
    if options.one:
        print(json.dumps(measure(options.one, n_ops, options.violating)))
        return 0
    available = cases()
    chosen = [c.strip() for c in options.cases.split(",") if c.strip()] or list(available)
    unknown = [c for c in chosen if c not in available]
    if unknown:
        parser.error(f"--cases: no case {', '.join(unknown)}; the cases are: {', '.join(available)}")
    print(f"checker time and peak RSS (whole process, history included) on {n_ops:,}-operation histories; "
          f"target: at most {SECONDS:g} s and {MEGABYTES:g} MB each")
    print(f"{'case':<34} {'ops':>10} {'violations':>10} {'seconds':>8} {'cpu s':>7} {'ops/cpu s':>12} "
          f"{'peak MB':>8}  within")
    bad = 0
    for name in chosen:
        for violating in (False, True):
            row = _in_subprocess(name, n_ops, violating, options.timeout)
            print(_row(row), flush=True)
            bad += bool("error" in row or row["wrong"] or not _within(row))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
