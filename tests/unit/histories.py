"""Hand-written histories for checker tests: one operation per line of a test, any kind.

Time starts at 1000.0 and moves on by ``step`` after each operation unless the test
places it with ``at=``; every operation lasts ``duration`` unless told otherwise.
An operation keeps the value it is given whatever its outcome: a checker must ignore the
value of an unknown or failed operation itself, and a builder that blanked it would hide
a checker that does not.
"""

from __future__ import annotations

from typing import Any

from harness.history import FaultEvent, History, Operation, Outcome

OK, FAIL, UNKNOWN = Outcome.OK, Outcome.FAIL, Outcome.UNKNOWN


class HistoryBuilder:
    """Builds a history of one default kind; ``kind=`` on a call overrides it."""

    def __init__(self, kind: str, t: float = 1000.0, step: float = 0.1, duration: float = 0.01) -> None:
        self.history = History()
        self.kind = kind
        self.t = t
        self.step = step
        self.duration = duration

    def op(self, name: str, replica: str = "app-0", outcome: Outcome = OK, args: dict[str, Any] | None = None,
           value: Any = None, *, kind: str | None = None, status: int | None = None, phase: str = "main",
           at: float | None = None, duration: float | None = None) -> Operation:
        start = self.t if at is None else at
        end = start + (self.duration if duration is None else duration)
        if status is None and outcome is OK:
            status = 200
        op = self.history.record_op(kind=kind or self.kind, name=name, replica=replica, start=start, end=end,
                                    outcome=outcome, args=args or {}, value=value,
                                    status=status, phase=phase)
        if at is None:
            self.t = end + self.step
        return op

    def fault(self, name: str, target: str, duration: float = 0.5, heal: bool = False) -> FaultEvent:
        event = self.history.record_fault(name, target, self.t, self.t + duration, heal=heal)
        self.t += duration + 0.5
        return event

    def wait(self, seconds: float) -> None:
        self.t += seconds
