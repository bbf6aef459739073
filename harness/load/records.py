"""Per-response records from the locust processes, merged into one history.

Each locust process writes its own file of tab-separated lines (see
``locustfile.py``): ``start end replica key status latency_ms error``. Here they are
read back, merged in time order, and turned into ``rate_limit``/``hit`` operations,
the exact operations ``check_rate_limit`` counts: args ``{key, limit, window}`` (and
``algorithm`` when the plan names one),
value ``{"allowed": bool}``.

Outcomes follow the one outcome table (``harness.outcome``), as the client's do:

- a limited status (429, or the spec's denial) -> ok, allowed False;
- an accepted status -> ok, allowed True;
- any other status by its class: a 4xx the spec does not list -> fail (refused);
  a 5xx, or a 2xx or 3xx the spec does not list -> unknown (the app may have
  counted the hit);
- no status: the exception's name, which is all that crosses from the locust
  process, goes through the same table: a refused connection provably sent
  nothing -> fail; anything else (reset, timeout, connection closed after
  sending) -> unknown.

Operations share their ``args`` and ``value`` dicts (one per key, two values), and
the latency is ``end - start`` rather than a field of its own: a two-minute run is
hundreds of thousands of operations, and the harness must stay small.
"""

from __future__ import annotations

import heapq
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from harness.history import Clock, FaultEvent, History, Operation, Outcome
from harness.outcome import error_name_outcome, status_outcome
from harness.vocabulary import StateKind

KIND, NAME = StateKind.RATE_LIMIT, "hit"
PHASE = "load"
PATTERN = "records-*.tsv"

ALLOWED = {"allowed": True}
DENIED = {"allowed": False}


@dataclass(frozen=True, slots=True)
class Record:
    """One response (or its absence) as a locust process saw it."""

    start: float
    end: float
    replica: str
    key: str
    status: int | None
    latency_ms: float
    error: str


_STATUSES: dict[str, int | None] = {"": None}


def parse_line(line: str) -> Record | None:
    """A record, or None for a line cut short (a process killed mid-write).

    Replica names, keys and statuses repeat on every line: they are shared, not copied.
    """
    parts = line.rstrip("\n").split("\t")
    if len(parts) != 7:
        return None
    try:
        status = _STATUSES.get(parts[4], 0)
        if status == 0:
            status = _STATUSES.setdefault(parts[4], int(parts[4]))
        return Record(float(parts[0]), float(parts[1]), sys.intern(parts[2]), sys.intern(parts[3]),
                      status, float(parts[5]), parts[6])
    except ValueError:
        return None


def record_files(folder: Path) -> list[Path]:
    return sorted(Path(folder).glob(PATTERN))


def read_file(path: Path) -> Iterator[Record]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            record = parse_line(line)
            if record is not None:
                yield record


def read_records(folder: Path) -> Iterator[Record]:
    """Every record of every process, merged by start time (each file is in completion order)."""
    streams = [sorted(read_file(p), key=lambda r: r.start) for p in record_files(folder)]
    return heapq.merge(*streams, key=lambda r: r.start)


def error_name(error: str) -> str:
    """The exception's class name in a recorded error (``ConnectionRefusedError: [Errno 111] ...``)."""
    return error.split(":", 1)[0].strip()


def outcome(record: Record, accepted: Iterable[int], limited: Iterable[int]) -> tuple[Outcome, dict | None]:
    """The outcome table (``harness.outcome``), applied to one record: (outcome, value)."""
    status = record.status
    if status is not None:
        if status in limited:
            return Outcome.OK, DENIED
        if status in accepted:
            return Outcome.OK, ALLOWED
        return status_outcome(status), None
    return error_name_outcome(error_name(record.error)), None


@dataclass
class Merged:
    """What a merge produced: the history, and counts to compare with the app and with locust."""

    history: History
    responses: int  # records read (every request locust sent)
    by_status: dict[str, int]
    first: float | None = None  # start of the first response
    last: float | None = None  # end of the last one

    @property
    def rate(self) -> float:
        """Responses per second over the load's span."""
        span = (self.last - self.first) if self.first is not None and self.last is not None else 0.0
        return self.responses / span if span > 0 else 0.0


def build_history(records: Iterable[Record], accepted: Iterable[int], limited: Iterable[int], limit: int,
                  window: float, faults: Iterable[FaultEvent] = (), clock: Clock | None = None,
                  algorithm: dict | None = None) -> Merged:
    """One history, in time order, of the load's operations and the faults done meanwhile.

    Ids follow start time (faults included), so the history reads in the order things
    happened even though the records arrive only after the load.
    """
    accepted, limited = frozenset(accepted), frozenset(limited)
    args_of: dict[str, dict] = {}
    statuses: dict[str, int] = {}
    pending = sorted(faults, key=lambda f: f.start)
    events: list[Operation | FaultEvent] = []
    fi = 0
    count = 0
    first: float | None = None
    last = 0.0
    for r in records:
        if first is None:
            first = r.start
        last = max(last, r.end)
        while fi < len(pending) and pending[fi].start <= r.start:
            events.append(replace(pending[fi], id=len(events)))
            fi += 1
        result, value = outcome(r, accepted, limited)
        args = args_of.get(r.key)
        if args is None:
            args = args_of[r.key] = {"key": r.key, "limit": limit, "window": window}
            if algorithm is not None:
                args["algorithm"] = algorithm
        label = str(r.status) if r.status is not None else (error_name(r.error) or "error")
        statuses[label] = statuses.get(label, 0) + 1
        events.append(Operation(id=len(events), kind=KIND, name=NAME, replica=r.replica, start=r.start,
                                end=r.end, outcome=result, args=args, value=value, status=r.status,
                                error=r.error or None, phase=PHASE))
        count += 1
    for f in pending[fi:]:
        events.append(replace(f, id=len(events)))
    return Merged(History(events, clock=clock), count, statuses, first, last if first is not None else None)
