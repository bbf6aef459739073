"""Intervals sorted by start with the latest end so far: "does this span meet one of them" in one bisection.

The rate-limit checkers ask it once per hit or denial (a broken limiter under a long soak brings
hundreds of thousands) about outages and already-reported overshoots (hundreds or thousands), so a
scan per question would make judging quadratic.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right


class IntervalIndex:
    def __init__(self, intervals: list[tuple[float, float]]) -> None:
        ordered = sorted(intervals)
        self.starts = [a for a, _ in ordered]
        self.latest_end: list[float] = []
        latest = -math.inf
        for _, b in ordered:
            latest = b if b > latest else latest
            self.latest_end.append(latest)

    def __bool__(self) -> bool:
        return bool(self.starts)

    def meets(self, lo: float, hi: float) -> bool:
        """Some closed interval ``[a, b]`` with ``a <= hi`` and ``lo <= b``."""
        began = bisect_right(self.starts, hi)
        return began > 0 and lo <= self.latest_end[began - 1]

    def overlaps(self, lo: float, hi: float) -> bool:
        """Some interval that begins before ``hi`` and ends after ``lo`` (touching ends do not count)."""
        began = bisect_left(self.starts, hi)
        return began > 0 and lo < self.latest_end[began - 1]
