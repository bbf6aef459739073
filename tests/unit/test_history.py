"""History: append order, ids, and a lossless JSON-lines round trip."""

from __future__ import annotations

from dataclasses import replace
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


def test_streamed_history_is_on_disk_as_events_are_recorded(tmp_path: Path) -> None:
    """``stream_to`` writes the events so far and each new one at once (redacted), so a killed run's history
    is on disk up to its last event; the file reads back as the same history."""

    class Upper:
        def event(self, event):  # a stand-in redactor: what is written is what it returns
            return event if isinstance(event, FaultEvent) else replace(event, args={"user": "***"})

    history = History()
    history.record_op(kind="sessions", name="login", replica="app-0", start=1.0, end=1.5, outcome=Outcome.OK,
                      args={"user": "alice"})
    path = tmp_path / "h.jsonl"
    history.stream_to(path, Upper())
    assert len(path.read_text().splitlines()) == 1  # the events before the stream began
    history.record_fault("crash", "app-0", 2.0, 2.2)
    assert len(path.read_text().splitlines()) == 2  # flushed as recorded, before any close
    history.close_stream()
    history.record_op(kind="counters", name="read", replica="app-1", start=3.0, end=3.1, outcome=Outcome.OK)
    again = History.from_jsonl(path)
    assert len(again) == 2 and "alice" not in path.read_text()
    assert again.operations()[0].args == {"user": "***"}


def test_indexes_answer_without_scanning_and_agree_with_the_events() -> None:
    """Operations by kind, fault events, kinds and lookups by id agree with the events in order, also for a
    history assembled from parts (ids that are not positions, as load records merge them)."""
    ops = [Operation(id=i * 2, kind="records" if i % 2 else "counters", name="read", replica="r", start=i, end=i,
                     outcome=Outcome.OK) for i in range(5)]
    history = History([*ops, FaultEvent(99, "crash", "r", 0.0, 1.0)])
    assert [o.id for o in history.operations("records")] == [2, 6]
    assert history.kinds() == {"records", "counters"}
    assert [f.id for f in history.faults()] == [99]
    assert history.operation(6) is ops[3] and history.operation(99) is None and history.operation(3) is None
    history.record_op(kind="files", name="upload", replica="r", start=9.0, end=9.5, outcome=Outcome.FAIL)
    assert history.operation(6) is ops[3] and history.operations("files")[0].id == 100  # above every id
