"""No false alarm, on many seeded histories of correct limiters of every model; per-replica limiters caught.

Each history is made by simulating a limiter as the model describes it: requests from
several replicas with random latencies; the limiter decides at a random instant inside
each request (the checker sees only start and end); some requests end with an unknown
outcome, of which some took effect and some never reached the limiter; some limiters
count denied hits too. Whatever the seed, a correct limiter must pass. A broken one,
one limiter per replica, must be caught in most seeds.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import pytest

from harness.checkers.rate_limit import check_rate_limit
from harness.history import History, Outcome

LIMIT, WINDOW = 4, 2.0


@dataclass
class Limiter:
    """One model's decision rule, fed hits in the order they take effect."""

    model: dict
    rng: random.Random
    counts_denied: bool = False
    state: dict = field(default_factory=dict)

    def decide(self, t: float) -> bool:
        name, anchor = self.model["name"], self.model.get("anchor")
        s = self.state
        if name == "fixed-window":
            if anchor in ("epoch", "offset"):
                phase = s.setdefault("phase", 0.0 if anchor == "epoch" else self.rng.uniform(0, WINDOW))
                window = math.floor((t - phase) / WINDOW)
                if s.get("window") != window:
                    s["window"], s["count"] = window, 0
            else:  # first-hit; "any" opens windows up to a window before the hit that opens it
                if "until" not in s or t >= s["until"]:
                    shift = self.rng.uniform(0, WINDOW) if anchor == "any" else 0.0
                    begin = max(t - shift, s.get("until", -math.inf))
                    s["until"], s["count"] = begin + WINDOW, 0
            allowed = s["count"] < LIMIT
            if allowed or self.counts_denied:
                s["count"] += 1
            return allowed
        if name == "sliding-window":
            log = [x for x in s.get("log", []) if x > t - WINDOW]
            allowed = len(log) < LIMIT
            if allowed or self.counts_denied:
                log.append(t)
            s["log"] = log
            return allowed
        if name == "sliding-window-counter":
            window = math.floor(t / WINDOW)
            counts = s.setdefault("counts", {})
            estimate = counts.get(window - 1, 0) * (1 - (t - window * WINDOW) / WINDOW) + counts.get(window, 0)
            allowed = estimate < LIMIT
            if allowed or self.counts_denied:
                counts[window] = counts.get(window, 0) + 1
            return allowed
        burst, rate = self.model["burst"], self.model["rate"]
        tokens = min(burst, s.get("tokens", burst) + rate * (t - s.get("at", t)))
        s["at"] = t
        allowed = tokens >= 1
        s["tokens"] = tokens - 1 if allowed else tokens
        return allowed


def simulate(model: dict, seed: int, per_replica: bool = False, replicas: int = 3, hits: int = 120,
             declare: dict | None | str = "model", latencies: tuple[float, ...] = (0.002, 0.01, 0.03, 0.2),
             unknown: float = 0.05) -> History:
    """A history of one key's hits against ``model`` (one limiter shared, or one per replica)."""
    rng = random.Random(seed)
    counts_denied = rng.random() < 0.5
    limiters = [Limiter(model, random.Random(seed * 7 + i), counts_denied) for i in range(replicas if per_replica else 1)]
    requests = []
    t = 1000.0 + rng.uniform(0, WINDOW)
    for i in range(hits):
        t += rng.choice([0.0, 0.01, 0.05, 0.3, 1.0, 2.5]) * rng.random()
        latency = rng.choice(latencies)
        effect = t + rng.uniform(0, latency)
        replica = i % replicas
        lost = rng.random() < unknown
        reached = not lost or rng.random() < 0.5
        requests.append((effect, t, t + latency, replica, lost, reached, i))
    history = History()
    decided = {}
    for effect, start, end, replica, lost, reached, i in sorted(requests):
        if reached:
            decided[i] = limiters[replica if per_replica else 0].decide(effect)
    args = {"key": "k", "limit": LIMIT, "window": WINDOW}
    if declare is not None:
        args["algorithm"] = model if declare == "model" else declare
    for effect, start, end, replica, lost, reached, i in sorted(requests, key=lambda r: r[1]):
        allowed = decided.get(i)
        outcome = Outcome.UNKNOWN if lost else Outcome.OK
        history.record_op(kind="rate_limit", name="hit", replica=f"app-{replica}", start=start, end=end,
                          outcome=outcome, args=args, value=None if lost else {"allowed": allowed},
                          status=None if lost else (200 if allowed else 429))
    return history


MODELS = {
    "epoch": {"name": "fixed-window", "anchor": "epoch"},
    "offset": {"name": "fixed-window", "anchor": "offset"},
    "first-hit": {"name": "fixed-window", "anchor": "first-hit"},
    "any": {"name": "fixed-window", "anchor": "any"},
    "sliding-window": {"name": "sliding-window"},
    "sliding-window-counter": {"name": "sliding-window-counter"},
    "token-bucket": {"name": "token-bucket", "burst": LIMIT, "rate": LIMIT / WINDOW},
}

#: what each correct limiter may also be judged as: every fixed window is an "any" one
LOOSER: dict[str, list[str]] = {"epoch": ["offset", "any"], "offset": ["any"], "first-hit": ["any"]}


@pytest.mark.parametrize("model", MODELS)
def test_a_correct_limiter_is_never_reported(model: str) -> None:
    for seed in range(150):
        for judged_as in [model, *LOOSER.get(model, [])]:
            verdict = check_rate_limit(simulate(MODELS[model], seed, declare=MODELS[judged_as]))
            assert not verdict.violations, (model, judged_as, seed, verdict.explain())


@pytest.mark.parametrize("model", MODELS)
def test_one_limiter_per_replica_is_caught(model: str) -> None:
    caught = sum(bool(check_rate_limit(simulate(MODELS[model], seed, per_replica=True)).violations)
                 for seed in range(40))
    assert caught >= 30, (model, caught)


def test_the_default_judges_a_correct_fixed_window_of_every_anchor_as_sound() -> None:
    for model in ("epoch", "offset", "first-hit", "any"):
        for seed in range(60):
            verdict = check_rate_limit(simulate(MODELS[model], seed, declare=None))
            assert not verdict.violations, (model, seed, verdict.explain())
            assert verdict.stats["keys"]["k"]["algorithm"] == "fixed-window (anchor any)"

