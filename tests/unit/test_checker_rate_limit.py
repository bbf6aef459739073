"""The rate-limit checker on hand-written histories: per-replica counters, a shared one, straddlers.

These judge epoch-aligned fixed windows (the reference app's); every other model has
its own file, tests/unit/test_checker_rate_limit_models.py.
"""

from __future__ import annotations

from harness.checkers.base import Validity
from harness.checkers.rate_limit import check_rate_limit, window_of
from harness.history import Operation, Outcome
from tests.unit.histories import OK, UNKNOWN, HistoryBuilder

LIMIT, WINDOW = 3, 1.0
EPOCH = {"name": "fixed-window", "anchor": "epoch"}


class Hits(HistoryBuilder):
    def __init__(self) -> None:
        super().__init__("rate_limit", t=1000.0, step=0.01, duration=0.01)

    def hit(self, replica: str, allowed: bool, at: float, outcome: Outcome = OK, key: str = "login:alice",
            duration: float = 0.01) -> Operation:
        return self.op("hit", replica, outcome, {"key": key, "limit": LIMIT, "window": WINDOW, "algorithm": EPOCH},
                       {"allowed": allowed}, status=200 if allowed else 429, at=at, duration=duration)


def _burst(b: Hits, start: float, answers: dict[str, list[bool]]) -> None:
    """Hits spread over replicas inside one window, 0.02 s apart."""
    t = start
    for replica, allowed in answers.items():
        for a in allowed:
            b.hit(replica, a, at=t)
            t += 0.02


def test_memory_mode_allows_the_limit_on_every_replica() -> None:
    b = Hits()
    _burst(b, 1000.1, {r: [True] * LIMIT + [False] * 2 for r in ("app-0", "app-1", "app-2")})
    verdict = check_rate_limit(b.history)
    assert verdict.validity is Validity.FAIL
    [violation] = verdict.violations
    assert violation.kind == "over-limit"
    assert violation.replica == "app-1"  # the 4th allowed hit came from app-1
    assert "9 hits were allowed" in violation.message and "limit of 3" in violation.message
    assert "3.00x" in violation.message
    assert "app-0 allowed 3, app-1 allowed 3, app-2 allowed 3" in violation.message
    key = verdict.stats["keys"]["login:alice"]
    assert key["overshoot"] == 3.0 and key["worst_window_allowed"] == 9 and key["limit"] == LIMIT
    assert key["worst_window_start"] == 1000.0
    assert verdict.stats["max_overshoot"] == 3.0


def test_shared_counter_passes_with_overshoot_one() -> None:
    b = Hits()
    _burst(b, 1000.1, {"app-0": [True, True, False], "app-1": [True, False, False], "app-2": [False] * 3})
    _burst(b, 1001.1, {"app-2": [True, True, True, False]})  # next window: the count starts again
    verdict = check_rate_limit(b.history)
    assert verdict.ok, verdict.explain()
    key = verdict.stats["keys"]["login:alice"]
    assert key["overshoot"] == 1.0 and key["windows"] == 2 and key["denied"] == 7


def test_hits_straddling_a_window_boundary_are_not_over_counted() -> None:
    b = Hits()
    _burst(b, 1000.5, {"app-0": [True, True, True]})
    b.hit("app-1", True, at=1000.98, duration=0.05)  # may have been decided in the next window
    b.hit("app-2", True, at=1000.99, duration=0.05)
    b.hit("app-0", True, at=1001.97, duration=0.01)  # within the clock tolerance of the next boundary
    verdict = check_rate_limit(b.history)
    assert verdict.ok, verdict.explain()
    assert verdict.stats["keys"]["login:alice"]["ambiguous"] == 3
    assert verdict.stats["keys"]["login:alice"]["allowed"] == 3


def test_unknown_hits_are_never_counted_as_allowed() -> None:
    b = Hits()
    _burst(b, 1000.1, {"app-0": [True, True, True]})
    for i in range(3):
        b.hit("app-1", True, at=1000.5 + i * 0.02, outcome=UNKNOWN)
    verdict = check_rate_limit(b.history)
    assert verdict.ok
    assert verdict.stats["unknown"] == 3


def test_only_unknown_hits_is_unknown() -> None:
    b = Hits()
    b.hit("app-0", True, at=1000.1, outcome=UNKNOWN)
    assert check_rate_limit(b.history).validity is Validity.UNKNOWN


def test_keys_are_counted_separately() -> None:
    b = Hits()
    for key in ("a", "b"):
        for i in range(LIMIT):
            b.hit("app-0", True, at=1000.1 + i * 0.02, key=key)
    verdict = check_rate_limit(b.history)
    assert verdict.ok
    assert set(verdict.stats["keys"]) == {"a", "b"}


def test_window_of_uses_epoch_aligned_windows() -> None:
    b = Hits()
    inside = b.hit("app-0", True, at=1002.5)
    across = b.hit("app-0", True, at=1002.99, duration=0.02)
    assert window_of(inside, 1.0) == 1002
    assert window_of(inside, 10.0) == 100
    assert window_of(across, 1.0) is None
