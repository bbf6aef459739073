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


@dataclass(frozen=True)
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


@dataclass(frozen=True)
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
    """Append-only, thread-safe list of events; ids are assigned in append order."""

    def __init__(self, events: Iterable[Event] = (), clock: Clock | None = None) -> None:
        self._events: list[Event] = list(events)
        self._lock = threading.Lock()
        self.clock = clock or Clock()

    def next_id(self) -> int:
        with self._lock:
            return len(self._events)

    def record_op(self, **fields: Any) -> Operation:
        with self._lock:
            op = Operation(id=len(self._events), **fields)
            self._events.append(op)
            return op

    def record_fault(self, fault: str, target: str, start: float, end: float, detail: str = "",
                     heal: bool = False) -> FaultEvent:
        with self._lock:
            event = FaultEvent(len(self._events), str(fault), target, start, end, detail, heal)
            self._events.append(event)
            return event

    def __iter__(self) -> Iterator[Event]:
        with self._lock:
            return iter(list(self._events))

    def __len__(self) -> int:
        return len(self._events)

    def operations(self, kind: str | None = None) -> list[Operation]:
        return [e for e in self if isinstance(e, Operation) and (kind is None or e.kind == kind)]

    def faults(self) -> list[FaultEvent]:
        return [e for e in self if isinstance(e, FaultEvent)]

    def to_jsonl(self, path: Path, redactor: "EventRedactor | None" = None) -> None:
        """Write one JSON line per event; with a ``redactor``, each event is redacted before it is
        written, so no secret is ever on disk, not even halfway through (an interrupt, a kill)."""
        with path.open("w") as fh:
            for event in self:
                if redactor is not None:
                    event = redactor.event(event)
                fh.write(json.dumps({"type": event.type, **asdict(event)}, default=str) + "\n")

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
