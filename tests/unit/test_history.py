"""History: append order, ids, and a lossless JSON-lines round trip."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.history import FaultEvent, History, Operation, Outcome


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    history = History()
    history.record_op(kind="sessions", name="login", replica="app-0", start=1.0, end=1.5, outcome=Outcome.OK,
                      args={"user": "a"}, value={"token": "t"}, status=200)
    history.record_fault("crash", "app-0", 2.0, 2.2, "SIGKILL")
    history.record_op(kind="sessions", name="whoami", replica="app-1", start=3.0, end=3.1,
                      outcome=Outcome.UNKNOWN, args={"token": "t"}, error="ReadTimeout", phase="final")
    path = tmp_path / "h.jsonl"
    history.to_jsonl(path)
    again = History.from_jsonl(path)
    assert list(again) == list(history)
    assert [e.id for e in again] == [0, 1, 2]
    assert isinstance(list(again)[1], FaultEvent) and isinstance(list(again)[2], Operation)
    assert again.operations("sessions")[1].outcome is Outcome.UNKNOWN


def test_clock_never_goes_backwards(monkeypatch: pytest.MonkeyPatch) -> None:
    """The system clock is set back an hour mid-run (NTP, a VM resumed): stamps still move forward only."""
    import harness.history

    # wall time moves on with the monotonic clock, then is set back an hour after the fifth stamp
    wall = iter([5000.0 + i * 0.5 - (3600.0 if i > 5 else 0.0) for i in range(11)])
    mono = iter([10.0 + i * 0.5 for i in range(11)])
    monkeypatch.setattr(harness.history, "time", SimpleNamespace(time=lambda: next(wall), monotonic=lambda: next(mono)))
    clock = harness.history.Clock()
    stamps = [clock.now() for _ in range(10)]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert stamps[0] == 5000.5 and stamps[-1] == 5005.0  # wall time at the start, then monotonic steps
