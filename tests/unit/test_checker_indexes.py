"""The indexes that keep the limits checkers linear give the answers of the plain definitions.

Each index (cooldowns' ``_KeyIndex``, the rate-limit checker's ``Unreachable`` and
``IntervalIndex``, ``outages``' single pass) replaces a scan per question with a bisection; on
random small histories, ties and zero-length operations included, every answer must be
the scan's.
"""

from __future__ import annotations

import math
import random

import pytest

from harness.checkers.cooldowns import _bypassed, _explained, _KeyIndex, _sort_out, _surely_inside
from harness.checkers.outages import Outage, outages
from harness.checkers.intervals import IntervalIndex
from harness.checkers.rate_limit_denial import Unreachable, during
from harness.history import FaultEvent, Operation, Outcome
from harness.vocabulary import OUTAGE_FAULTS

TOLERANCE = 0.25


def _starts(rng: random.Random) -> list[Operation]:
    ops = []
    for i in range(rng.randint(1, 30)):
        start = round(rng.uniform(0, 10), 1)  # coarse: many ties
        end = start + rng.choice([0.0, 0.1, 0.3, 1.0])
        outcome = rng.choice([Outcome.OK] * 5 + [Outcome.UNKNOWN, Outcome.FAIL])
        value: dict = {"allowed": rng.random() < 0.4}
        if rng.random() < 0.7:
            value["until"] = start + rng.choice([0.5, 1.0, 2.0, 5.0])
        args = {"key": "k", **({"period": rng.choice([1.0, 2.0])} if rng.random() < 0.7 else {})}
        ops.append(Operation(i, "cooldowns", "start", f"app-{i % 3}", start, end, outcome, args,
                             value if outcome is Outcome.OK else None))
    return ops


@pytest.mark.parametrize("seed", range(300))
def test_cooldown_index_answers_as_the_definitions(seed: int) -> None:
    starts = _starts(random.Random(seed))
    allowed, refused, unknown = _sort_out(starts)
    allowed.sort(key=lambda op: op.start)
    index = _KeyIndex(allowed, unknown, TOLERANCE)
    for i, b in enumerate(allowed):
        assert index.bypassed(i) is next((a for a in allowed[:i] if _bypassed(a, b, TOLERANCE)), None)
    for r in refused:
        assert index.explained(r) == _explained(r, starts, TOLERANCE)
    for p in allowed + refused:
        assert index.probed(p) == any(a.id != p.id and a.end <= p.start and _surely_inside(a, p, TOLERANCE)
                                      for a in allowed)


@pytest.mark.parametrize("seed", range(100))
def test_outage_spans_and_reported_intervals_answer_as_a_scan(seed: int) -> None:
    rng = random.Random(seed)
    spans = [(a, a + rng.choice([0.0, 0.5, 3.0])) for a in (round(rng.uniform(0, 20), 1) for _ in range(rng.randint(0, 8)))]
    unreachable, taken = Unreachable(spans), IntervalIndex(spans)
    assert bool(unreachable) == bool(spans)
    for _ in range(50):
        lo = round(rng.uniform(-1, 22), 1)
        hi = lo + rng.choice([0.0, 0.2, 2.0])
        assert unreachable.during(lo, hi) == during(lo, hi, spans)
        assert taken.meets(lo, hi) == any(a <= hi and lo <= b for a, b in spans)


def _naive_outages(faults: list[FaultEvent]) -> list[Outage]:
    events = sorted(faults, key=lambda f: f.start)
    windows = []
    for i, f in enumerate(events):
        if f.heal or f.fault not in OUTAGE_FAULTS:
            continue
        if not OUTAGE_FAULTS[f.fault]:
            windows.append(Outage(f.target, f.fault, f.start, f.end))
            continue
        heal = next((h for h in events[i + 1:] if h.heal and h.fault == f.fault and h.target == f.target), None)
        windows.append(Outage(f.target, f.fault, f.start, heal.end if heal else math.inf))
    return windows


@pytest.mark.parametrize("seed", range(100))
def test_outages_pair_each_fault_with_its_next_heal(seed: int) -> None:
    rng = random.Random(seed)
    names = ["dependency-outage", "network-cut", "dependency-restart", "crash"]
    faults = []
    for i in range(rng.randint(0, 12)):
        start = round(rng.uniform(0, 20), 0)
        faults.append(FaultEvent(i, rng.choice(names), rng.choice(["redis", "postgres"]), start, start + 0.5,
                                 heal=rng.random() < 0.4))
    assert outages(faults) == _naive_outages(faults)
