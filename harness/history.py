"""The record of one run: every operation and every fault event, in order.

Everything is recorded first and judged afterwards (by the checkers), so a history
must be complete and self-describing: it round-trips through JSON lines and a
checker needs nothing else to reach its verdict.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Iterable, Iterator, Protocol


class Outcome(StrEnum):
    """How an operation completed.

    ``ok``: the app answered definitely (a write was acknowledged, a read returned a
    value, which may be a rejection). ``fail``: the operation provably did not take
    effect (the connection was refused, or the app refused it with a 4xx).
    ``unknown``: it may or may not have taken effect (timeout, reset, 5xx, a redirect or
    a success the operation does not declare). Which answer gives which outcome is one
    table, in ``harness.outcome``.
    """

    OK = "ok"
    FAIL = "fail"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Operation:
    """One client call against one replica, with its outcome."""

    id: int
    kind: str
    name: str
    replica: str
    start: float
    end: float
    outcome: Outcome
    args: dict[str, Any] = field(default_factory=dict)
    value: Any = None
    status: int | None = None
    error: str | None = None
    phase: str = "main"

    type = "op"


@dataclass(frozen=True, slots=True)
class FaultEvent:
    """A fault done to the deployment, from its start to its end."""

    id: int
    fault: str
    target: str
    start: float
    end: float
    detail: str = ""
    #: the step that undoes ``fault`` (the start after a crash, the end of an outage), recorded under its name
    heal: bool = False

    type = "fault"

    @property
    def label(self) -> str:
        """How reports name the event: the fault, and ``heal`` for the step that undoes it."""
        return f"{self.fault} heal" if self.heal else self.fault


Event = Operation | FaultEvent


class EventRedactor(Protocol):
    """What ``History.to_jsonl`` needs of a redactor (``harness.redaction.Redactor``, a layer above)."""

    def event(self, event: Event) -> Event: ...


class Clock:
    """Wall-clock seconds that never go backwards within one run.

    Wall time makes reports readable; the monotonic base keeps the order of events
    right even if the system clock is adjusted mid-run.
    """

    def __init__(self) -> None:
        self._wall0 = time.time()
        self._mono0 = time.monotonic()

    def now(self) -> float:
        return self._wall0 + (time.monotonic() - self._mono0)


class History:
    """Append-only, thread-safe list of events; ids are assigned in append order.

    Operations are also indexed by kind, and fault events kept apart, as they are
    appended: checkers ask for one kind, or for the faults around a violation, once per
    violation, and a soak's history holds a million operations, so neither may rescan
    the whole list. ``stream_to`` writes every event to disk as it is appended, so a
    long run's history is on disk even when the run is killed.
    """

    def __init__(self, events: Iterable[Event] = (), clock: Clock | None = None) -> None:
        self._events: list[Event] = []
        self._ops: list[Operation] = []
        self._by_kind: dict[str, list[Operation]] = {}
        self._faults: list[FaultEvent] = []
        self._lock = threading.Lock()
        self._sink: _Sink | None = None
        self._by_id: dict[int, Event] | None = None  # built only when ids are not positions
        self._next_id = 0  # above every id so far: a history assembled from parts may skip some
        self.clock = clock or Clock()
        for event in events:
            self._index(event)

    def _index(self, event: Event) -> None:
        if self._by_id is not None:
            self._by_id[event.id] = event
        elif event.id != len(self._events):  # a history assembled from parts: ids are not positions
            self._by_id = {e.id: e for e in self._events}
            self._by_id[event.id] = event
        self._events.append(event)
        self._next_id = max(self._next_id, event.id + 1)
        if isinstance(event, Operation):
            self._ops.append(event)
            self._by_kind.setdefault(event.kind, []).append(event)
        else:
            self._faults.append(event)
        if self._sink is not None:
            self._sink.write(event)

    def next_id(self) -> int:
        with self._lock:
            return self._next_id

    def record_op(self, **fields: Any) -> Operation:
        with self._lock:
            op = Operation(id=self._next_id, **fields)
            self._index(op)
            return op

    def record_fault(self, fault: str, target: str, start: float, end: float, detail: str = "",
                     heal: bool = False) -> FaultEvent:
        with self._lock:
            event = FaultEvent(self._next_id, str(fault), target, start, end, detail, heal)
            self._index(event)
            return event

    def __iter__(self) -> Iterator[Event]:
        with self._lock:
            return iter(list(self._events))

    def __len__(self) -> int:
        return len(self._events)

    def operations(self, kind: str | None = None) -> list[Operation]:
        with self._lock:
            return list(self._ops if kind is None else self._by_kind.get(kind, ()))

    def operation(self, op_id: int) -> Operation | None:
        """The operation with this id, or None; a lookup, not a scan."""
        with self._lock:
            if self._by_id is not None:
                event = self._by_id.get(op_id)
            else:
                event = self._events[op_id] if 0 <= op_id < len(self._events) else None
        return event if isinstance(event, Operation) else None

    def kinds(self) -> set[str]:
        """The kinds of operation the history holds."""
        with self._lock:
            return set(self._by_kind)

    def faults(self) -> list[FaultEvent]:
        with self._lock:
            return list(self._faults)

    def stream_to(self, path: Path, redactor: "EventRedactor | None" = None) -> None:
        """From now on, append every event to ``path`` as one JSON line (redacted first), the events
        so far included; each line is flushed as written. ``close_stream`` ends it."""
        with self._lock:
            self._sink = _Sink(path, redactor)
            for event in self._events:
                self._sink.write(event)

    def close_stream(self) -> None:
        with self._lock:
            if self._sink is not None:
                self._sink.close()
                self._sink = None

    def to_jsonl(self, path: Path, redactor: "EventRedactor | None" = None) -> None:
        """Write one JSON line per event; with a ``redactor``, each event is redacted before it is
        written, so no secret is ever on disk, not even halfway through (an interrupt, a kill)."""
        with path.open("w") as fh:
            for event in self:
                fh.write(_line(event, redactor))

    @classmethod
    def from_jsonl(cls, path: Path) -> "History":
        events: list[Event] = []
        with path.open() as lines:  # streamed: a load run's history is large
            for line in lines:
                if not line.strip():
                    continue
                raw = json.loads(line)
                kind = raw.pop("type")
                if kind == "op":
                    raw["outcome"] = Outcome(raw["outcome"])
                    events.append(Operation(**raw))
                else:
                    events.append(FaultEvent(**raw))
        return cls(events)


def _line(event: Event, redactor: "EventRedactor | None") -> str:
    if redactor is not None:
        event = redactor.event(event)
    return json.dumps({"type": event.type, **asdict(event)}, default=str) + "\n"


class _Sink:
    """A JSON-lines file a history appends to as events arrive (``History.stream_to``)."""

    def __init__(self, path: Path, redactor: "EventRedactor | None") -> None:
        self._fh = path.open("w", buffering=1)  # line-buffered: a killed run loses at most one line
        self._redactor = redactor

    def write(self, event: Event) -> None:
        self._fh.write(_line(event, self._redactor))

    def close(self) -> None:
        self._fh.close()
