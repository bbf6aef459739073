"""Time the rate-limit checker takes to judge 1,000,000 hits, for every algorithm model.

For each model a history is synthesised: one key (the hardest case, every hit in one
sort), hits from three replicas at about three times the allowed rate, each lasting a
few milliseconds and decided by a correct shared limiter of that model at a random
instant inside it, 1 % of them of unknown outcome. Only ``check_rate_limit`` is timed
(building the history is not). The checker must pass every one of them; with
``--per-replica`` each replica keeps its own limiter (the memory bug) and every one
must fail.

    .venv/bin/python benchmarks/checker_rate_limit.py [--hits 1000000] [--models "token-bucket,sliding-window"]
                                                       [--per-replica]
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.checkers.rate_limit import check_rate_limit  # noqa: E402
from harness.history import History, Operation, Outcome  # noqa: E402

LIMIT, WINDOW = 100, 1.0

MODELS: dict[str, dict] = {
    "fixed-window epoch": {"name": "fixed-window", "anchor": "epoch"},
    "fixed-window offset": {"name": "fixed-window", "anchor": "offset"},
    "fixed-window first-hit": {"name": "fixed-window", "anchor": "first-hit"},
    "fixed-window any": {"name": "fixed-window", "anchor": "any"},
    "sliding-window": {"name": "sliding-window"},
    "sliding-window-counter": {"name": "sliding-window-counter"},
    "token-bucket": {"name": "token-bucket", "burst": LIMIT, "rate": LIMIT / WINDOW},
}


def decider(model: dict, rng: random.Random, limit: int = LIMIT, width: float = WINDOW):
    """A correct shared limiter of ``model`` allowing ``limit`` hits per ``width`` seconds: effect time -> allowed."""
    name, anchor = model["name"], model.get("anchor")
    state: dict = {"count": 0, "window": None, "until": -math.inf, "log": [], "head": 0, "counts": {},
                   "tokens": float(model.get("burst") or 0), "at": None}
    phase = rng.uniform(0, width) if anchor == "offset" else 0.0

    def fixed(t: float) -> bool:
        if anchor in ("epoch", "offset"):
            window = math.floor((t - phase) / width)
            if window != state["window"]:
                state["window"], state["count"] = window, 0
        elif t >= state["until"]:
            state["until"], state["count"] = t + width, 0
        state["count"] += 1
        return state["count"] <= limit

    def sliding(t: float) -> bool:
        log = state["log"]
        while state["head"] < len(log) and log[state["head"]] <= t - width:
            state["head"] += 1
        if len(log) - state["head"] < limit:
            log.append(t)
            return True
        return False

    def counter(t: float) -> bool:
        window = math.floor(t / width)
        counts = state["counts"]
        estimate = counts.get(window - 1, 0) * (1 - (t - window * width) / width) + counts.get(window, 0)
        if estimate < limit:
            counts[window] = counts.get(window, 0) + 1
            return True
        return False

    def bucket(t: float) -> bool:
        at = t if state["at"] is None else state["at"]
        tokens = min(model["burst"], state["tokens"] + model["rate"] * (t - at))
        state["at"] = t
        allowed = tokens >= 1
        state["tokens"] = tokens - 1 if allowed else tokens
        return allowed

    return {"fixed-window": fixed, "sliding-window": sliding, "sliding-window-counter": counter,
            "token-bucket": bucket}[name]


def synthesise(model: dict, hits: int, seed: int = 1, per_replica: bool = False) -> History:
    rng = random.Random(seed)
    deciders = [decider(model, rng) for _ in range(3 if per_replica else 1)]
    gap = WINDOW / (3 * LIMIT)  # three times the allowed rate
    t = 1_800_000_000.0
    requests = []
    for i in range(hits):
        t += rng.expovariate(1 / gap)
        latency = rng.choice((0.002, 0.004, 0.01))
        requests.append((t + rng.uniform(0, latency), t, t + latency, i))
    decided = {i: deciders[i % len(deciders)](effect) for effect, _, _, i in sorted(requests)}
    args = {"key": "k", "limit": LIMIT, "window": WINDOW, "algorithm": model}
    allowed, denied = {"allowed": True}, {"allowed": False}
    events = []
    for effect, start, end, i in requests:
        unknown = rng.random() < 0.01
        ok = decided[i]
        events.append(Operation(i, "rate_limit", "hit", f"app-{i % 3}", start, end,
                                Outcome.UNKNOWN if unknown else Outcome.OK, args,
                                None if unknown else (allowed if ok else denied), None if unknown else (200 if ok else 429)))
    return History(events)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hits", type=int, default=1_000_000)
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated, from: " + ", ".join(MODELS))
    parser.add_argument("--per-replica", action="store_true", help="one limiter per replica: every verdict must fail")
    options = parser.parse_args()
    kind = "one limiter per replica" if options.per_replica else "one shared limiter"
    print(f"check_rate_limit on {options.hits:,} hits of one key (limit {LIMIT} per {WINDOW:g}s, 3 replicas, {kind})")
    for label in options.models.split(","):
        history = synthesise(MODELS[label], options.hits, per_replica=options.per_replica)
        start = time.perf_counter()
        verdict = check_rate_limit(history)
        took = time.perf_counter() - start
        key = verdict.stats["keys"]["k"]
        print(f"  {label:<24} {took:6.2f} s  ({options.hits / took / 1e3:,.0f}k hits/s)  verdict {verdict.validity.value}, "
              f"overshoot {key['overshoot']:.2f}, {key['allowed']:,} allowed, {key['denied']:,} denied")
        if bool(verdict.violations) != options.per_replica:
            print("    unexpected verdict: " + (verdict.violations[0].message[:300] if verdict.violations else "pass"))


if __name__ == "__main__":
    main()
