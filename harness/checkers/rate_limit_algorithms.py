"""The rate-limit algorithm a hit was judged against, read from the hit's own args.

A history must be enough to judge it, so every hit carries its algorithm (the spec's
``operations.rate_limit.algorithm`` in its long form, defaults filled in) beside its
key, limit and window. Hits without one (older histories, Python adapters that do not
declare it) are judged as a fixed window with anchor ``any``: the one fixed-window
model that assumes nothing about where windows start, so it is sound for every
fixed-window limiter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

FIXED, SLIDING, COUNTER, BUCKET = "fixed-window", "sliding-window", "sliding-window-counter", "token-bucket"
ANCHORS = ("epoch", "offset", "first-hit", "any")
DEFAULT: dict[str, Any] = {"name": FIXED, "anchor": "any"}


@dataclass(frozen=True)
class Algorithm:
    """One limiter model with its parameters; ``burst`` and ``rate`` only for a token bucket."""

    name: str = FIXED
    anchor: str = "any"
    burst: float | None = None
    rate: float | None = None
    declared: bool = True

    @property
    def label(self) -> str:
        """How messages name the model, e.g. ``fixed-window (anchor any)``."""
        if self.name == FIXED:
            return f"{FIXED} (anchor {self.anchor})"
        if self.name == BUCKET:
            return f"{BUCKET} (burst {self.burst:g}, rate {self.rate:g}/s)"
        return self.name

    def horizon(self, window: float) -> float:
        """How long after a key's last countable hit the model must allow again.

        A fixed window holding the hit closes within ``window``, and so does a sliding
        log's interval; a sliding-window counter still weighs the previous window for a
        second ``window``; a token bucket is full again after ``burst / rate``.
        """
        if self.name == COUNTER:
            return 2 * window
        if self.name == BUCKET:
            return float(self.burst) / float(self.rate)  # type: ignore[arg-type]
        return window


def algorithm_of(args: Mapping[str, Any]) -> Algorithm:
    """The algorithm of one hit; an unknown name or anchor is an error (the spec would have refused it)."""
    raw = args.get("algorithm")
    if raw is None:
        return Algorithm(declared=False)
    if isinstance(raw, str):
        raw = {"name": raw}
    name = raw.get("name", FIXED)
    limit, window = float(args["limit"]), float(args["window"])
    if name == FIXED:
        anchor = raw.get("anchor") or "any"
        if anchor not in ANCHORS:
            raise ValueError(f"hit args: algorithm anchor {anchor!r}, expected one of {', '.join(ANCHORS)}")
        return Algorithm(FIXED, anchor)
    if name == BUCKET:
        burst = float(raw.get("burst") or limit)
        rate = float(raw.get("rate") or limit / window)
        return Algorithm(BUCKET, "", burst, rate)
    if name in (SLIDING, COUNTER):
        return Algorithm(name, "")
    raise ValueError(f"hit args: algorithm {name!r}, expected one of {FIXED}, {SLIDING}, {COUNTER}, {BUCKET}")
