"""Synthetic soak histories for the limits checkers: rate limits, cooldowns, quotes and session expiry.

``CASES`` maps a case name to ``(checker, make)``; ``make(n_ops, violating, seed)``
builds a history as a soak records it: three replicas, concurrent clients (operations
overlap, each decided by the app at a random instant inside it), shared keys that
clients contend on, a fault every few thousand operations (crash, graceful restart,
scale to zero, pause, dependency restart, outage and network cut, each healed before
the next), about 1 % of operations of unknown outcome, and operations refused or
timed out while a replica is down or a dependency unreachable. The app behind it is
correct (one shared store), so a clean history must pass; with ``violating`` it
misbehaves about once per hundred operations, each time in a way the checker must
report as one violation (a window allowed twice over, a denial after a quiet spell,
a cooldown bypassed, a quote used twice or accepted after its expiry, a session
accepted after its expiry). ``checker_throughput`` runs them.
"""

from __future__ import annotations

import heapq
import math
import random
from bisect import bisect_right
from typing import Any, Callable

from benchmarks.checker_rate_limit import decider
from harness.checkers.base import Verdict
from harness.checkers.cooldowns import check_cooldowns
from harness.checkers.expiry import check_quotes, check_session_expiry
from harness.checkers.rate_limit import check_rate_limit
from harness.history import FaultEvent, History, Operation, Outcome
from harness.vocabulary import FaultName

REPLICAS = ("app-0", "app-1", "app-2")
DEPENDENCIES = ("postgres", "redis")
T0 = 1_800_000_000.0
#: operations per second over every client, about what a soak of 8 clients keeps up
RATE = 500.0
#: operations between two faults, on average
FAULT_EVERY = 5_000
LATENCIES = (0.002, 0.004, 0.008, 0.015, 0.03, 0.08)
UNKNOWN_SHARE = 0.01

Make = Callable[[int, bool, int], History]

# what became of one request: decided by the app (maybe unknown to the client), or never decided
OK, UNKNOWN_DONE, UNKNOWN_NOT, REFUSED, UNAVAILABLE = range(5)


class Faults:
    """A schedule of faults over the run, one at a time, and who was out of reach when."""

    def __init__(self, rng: random.Random, span: float) -> None:
        self.events: list[tuple[str, str, float, float, bool]] = []  # fault, target, start, end, heal
        self.spans: list[tuple[float, float, str, str]] = []  # start, end, "down"/"paused"/"outage", target
        gap = FAULT_EVERY / RATE
        t = T0 + rng.uniform(0.3, 1.0) * gap
        while t < T0 + span - 5:
            hold = rng.uniform(1.0, 4.0)
            fault = rng.choice(list(FaultName))
            replica = rng.choice(REPLICAS)
            dependency = rng.choice(DEPENDENCIES)
            if fault in (FaultName.CRASH, FaultName.GRACEFUL_RESTART, FaultName.REDEPLOY):
                self._pair(fault, replica, t, hold, "down")
            elif fault in (FaultName.ROLLING_RESTART, FaultName.SCALE, FaultName.SCALE_TO_ZERO):
                self._pair(fault, "all" if fault is FaultName.SCALE_TO_ZERO else replica, t, hold, "down")
            elif fault is FaultName.PAUSE:
                self.events.append((fault, replica, t, t + hold, False))
                self.spans.append((t, t + hold, "paused", replica))
            elif fault is FaultName.DEPENDENCY_RESTART:
                self.events.append((fault, dependency, t, t + hold, False))
                self.spans.append((t, t + hold, "outage", dependency))
            else:  # dependency outage, network cut: the heal ends it
                self._pair(fault, dependency, t, hold, "outage")
            t += hold + 2.0 + rng.expovariate(1 / gap)
        self._starts = [s[0] for s in self.spans]

    def _pair(self, fault: str, target: str, t: float, hold: float, what: str) -> None:
        self.events.append((fault, target, t, t + 0.05, False))
        self.events.append((fault, target, t + hold, t + hold + 0.5, True))
        self.spans.append((t, t + hold + 0.5, what, target))

    def at(self, replica: str, t: float) -> str | None:
        """What kept ``replica`` from answering at ``t``: down, paused, a dependency out; None when nothing."""
        i = bisect_right(self._starts, t) - 1
        if i < 0:
            return None
        start, end, what, target = self.spans[i]
        if t >= end or (what != "outage" and target not in (replica, "all")):
            return None
        return what


class Recorder:
    """Requests in start order, decided by a model in the order the app saw them, recorded as they end."""

    def __init__(self, kind: str, n: int, seed: int) -> None:
        self.kind = kind
        self.rng = random.Random(seed)
        self.span = n / RATE
        self.faults = Faults(self.rng, self.span)
        self.records: list[tuple] = []
        self._pending: list[tuple] = []  # (effect, seq, record fields...) waiting for the app's decision
        self._seq = 0
        self.sent = 0

    def fate(self, replica: str, start: float) -> tuple[int, float, str | None, int | None]:
        """What became of a request sent at ``start``: its fate, end, error and status (those known now)."""
        rng = self.rng
        down = self.faults.at(replica, start)
        if down == "down":
            return REFUSED, start + 0.001, "connection refused", None
        if down == "paused":
            return UNKNOWN_NOT, start + 1.0, "timeout", None
        if down == "outage":
            return UNKNOWN_NOT, start + rng.choice(LATENCIES), None, 503
        end = start + rng.choice(LATENCIES)
        if rng.random() < UNKNOWN_SHARE:
            return (UNKNOWN_DONE if rng.random() < 0.5 else UNKNOWN_NOT), end + 1.0, "timeout", None
        return OK, end, None, None

    def send(self, start: float, name: str, replica: str, args: dict, decide: Callable[[float, tuple], Any],
             context: tuple = (), phase: str = "main") -> tuple[int, float]:
        """One request; ``decide(effect, context)`` gives the app's answer at the instant it took effect."""
        self.flush(start)
        self.sent += 1
        fate, end, error, status = self.fate(replica, start)
        if fate in (OK, UNKNOWN_DONE):
            effect = self.rng.uniform(start, min(end, start + 0.08))
            self._seq += 1
            heapq.heappush(self._pending, (effect, self._seq, fate, end, start, name, replica, args, error,
                                           status, decide, context, phase))
        else:
            outcome = Outcome.FAIL if fate == REFUSED else Outcome.UNKNOWN
            self.records.append((end, start, name, replica, outcome, args, None, status, error, phase))
        return fate, end

    def flush(self, before: float = math.inf) -> None:
        """Decide every request that took effect before ``before`` (no later request can precede it)."""
        pending = self._pending
        while pending and pending[0][0] < before:
            effect, _, fate, end, start, name, replica, args, error, status, decide, context, phase = \
                heapq.heappop(pending)
            value = decide(effect, context)
            if fate == OK:
                self.records.append((end, start, name, replica, Outcome.OK, args, value, 200, None, phase))
            else:
                self.records.append((end, start, name, replica, Outcome.UNKNOWN, args, None, None, error, phase))

    def history(self) -> History:
        """Every event in the order it was recorded (an operation when it ended), ids in that order."""
        self.flush()
        rows: list[tuple] = self.records
        rows += [(end, start, fault, target, heal) for fault, target, start, end, heal in self.faults.events]
        self.records = []
        rows.sort(key=lambda r: r[0])
        events: list[Operation | FaultEvent] = []
        kind = self.kind
        for i, row in enumerate(rows):
            if len(row) == 5:
                end, start, fault, target, heal = row
                events.append(FaultEvent(i, str(fault), target, start, end, heal=heal))
            else:
                end, start, name, replica, outcome, args, value, status, error, phase = row
                events.append(Operation(i, kind, name, replica, start, end, outcome, args, value, status, error, phase))
        rows.clear()
        return History(events)


def _starts(rng: random.Random, n: int) -> Any:
    t = T0
    for _ in range(n):
        t += rng.expovariate(RATE)
        yield t


# --- rate limits --------------------------------------------------------------------------------------

LIMIT, WINDOW = 5, 1.0
ALGORITHMS: tuple[dict[str, Any], ...] = (
    {"name": "fixed-window", "anchor": "epoch"},
    {"name": "fixed-window", "anchor": "offset"},
    {"name": "fixed-window", "anchor": "first-hit"},
    {"name": "fixed-window", "anchor": "any"},
    {"name": "sliding-window"},
    {"name": "sliding-window-counter"},
    {"name": "token-bucket", "burst": LIMIT, "rate": LIMIT / WINDOW},
)
RATE_KEYS = 35  # about three times the limit per key
QUIET_EVERY, QUIET_FOR = 20.0, 3.0


def make_rate_limit(n: int, violating: bool, seed: int) -> History:
    """Hits on 35 shared keys over every algorithm model, each key quiet 3 s in every 20.

    Violations: a limiter that forgets its count for a window and a half (a burst allowed
    twice over) and a key denied on its first hit after a quiet spell (a count that
    lost its expiry).
    """
    rec = Recorder("rate_limit", n, seed)
    rng = rec.rng
    models = [ALGORITHMS[k % len(ALGORITHMS)] for k in range(RATE_KEYS)]
    limiters = [decider(m, rng, LIMIT, WINDOW) for m in models]
    args = [{"key": f"rl:{k}", "limit": LIMIT, "window": WINDOW, "algorithm": m} for k, m in enumerate(models)]
    phases = [rng.uniform(0, QUIET_EVERY) for _ in models]
    forget_until = [-math.inf] * RATE_KEYS
    last = [-math.inf] * RATE_KEYS
    allowed, denied = {"allowed": True}, {"allowed": False}
    # a quiet spell brings one planted denial per key per 20 s (~0.3 % of hits; a token bucket's denial after
    # one is not provable while its key runs at three times the rate); bursts bring the rest
    burst_chance = 0.008

    def decide(t: float, context: tuple) -> dict[str, bool]:
        k = context[0]
        quiet = t - last[k] > 2 * QUIET_FOR / 3
        last[k] = t
        if violating:
            if quiet:
                return denied  # no hit for seconds, yet denied: the count outlived its window
            if t >= forget_until[k] and rng.random() < burst_chance and models[k]["name"] != "token-bucket":
                forget_until[k] = _forget_end(models[k], t)
            if t < forget_until[k]:
                return allowed
        return allowed if limiters[k](t) else denied

    for start in _starts(rng, n):
        k = rng.randrange(RATE_KEYS)
        if (start - T0 + phases[k]) % QUIET_EVERY < QUIET_FOR:
            k = (k + 1) % RATE_KEYS
            if (start - T0 + phases[k]) % QUIET_EVERY < QUIET_FOR:
                continue  # both quiet: a client that found nothing to do (rare)
        rec.send(start, "hit", rng.choice(REPLICAS), args[k], decide, (k,))
    return rec.history()


def _forget_end(model: dict[str, Any], t: float) -> float:
    """Until when a forgetful limiter allows everything: the next whole window at a fixed phase, else 1.5 W."""
    if model.get("anchor") in ("epoch", "offset"):
        return (math.floor(t / WINDOW) + 2) * WINDOW
    return t + 1.5 * WINDOW


# --- cooldowns ----------------------------------------------------------------------------------------

COOLDOWN_KEYS, PERIOD = 20, 2.0


def make_cooldowns(n: int, violating: bool, seed: int) -> History:
    """Starts on 20 shared cooldown keys, about 50 per period each; violations: a start allowed while one ran."""
    rec = Recorder("cooldowns", n, seed)
    rng = rec.rng
    args = [{"key": f"cd:{k}", "period": PERIOD} for k in range(COOLDOWN_KEYS)]
    until = [-math.inf] * COOLDOWN_KEYS
    plant = 0.0102 * 1.02

    def decide(t: float, context: tuple) -> dict[str, Any]:
        k, end = context
        if t >= until[k]:
            until[k] = t + PERIOD
            return {"allowed": True, "until": until[k]}
        if violating and end < until[k] - 0.4 and rng.random() < plant:
            return {"allowed": True, "until": until[k]}  # forgotten for a moment (its until is the running one's)
        return {"allowed": False, "until": until[k]}

    for start in _starts(rng, n):
        k = rng.randrange(COOLDOWN_KEYS)
        replica = rng.choice(REPLICAS)
        context = [k, math.inf]
        _, context[1] = rec.send(start, "start", replica, args[k], decide, context)  # decided later: end known
    return rec.history()


# --- quotes -------------------------------------------------------------------------------------------

QUOTE_TTL = 5.0
#: after an acknowledged create: (seconds after it, operation); about 8 operations per quote
QUOTE_PLAN = (
    (0.5, "read"), (1.2, "use"), (1.25, "use"), (1.8, "read"), (2.6, "read"), (3.5, "read"),
    (QUOTE_TTL + 1.0, "read"), (QUOTE_TTL + 1.5, "use"),
)
FOUND = {"found": True, "expired": False, "used": False}
FOUND_USED = {"found": True, "expired": False, "used": True}
EXPIRED = {"found": True, "expired": True, "used": False}
EXPIRED_USED = {"found": True, "expired": True, "used": True}
USED = {"used": True}
ALREADY = {"used": False, "reason": "already-used"}
TOO_LATE = {"used": False, "reason": "expired"}


class _QuoteState:
    __slots__ = ("id", "expires_at", "used", "acknowledged_use")

    def __init__(self, quote_id: str) -> None:
        self.id = quote_id
        self.expires_at = math.inf
        self.used = False
        self.acknowledged_use = False


def make_quotes(n: int, violating: bool, seed: int) -> History:
    """Quotes created, read, used (twice at once by two clients), read and used after expiry, read back at the end.

    Violations: a quote used twice, or read as valid after its expiry.
    """
    rec = Recorder("quotes", n, seed)
    rng = rec.rng
    plant_late, plant_twice = 0.06, 0.06
    late: list[tuple[float, int, str, str, dict, _QuoteState]] = []  # scheduled follow-ups, a heap
    quotes: list[_QuoteState] = []

    def create(t: float, context: tuple) -> dict[str, Any]:
        q: _QuoteState = context[0]
        q.expires_at = t + QUOTE_TTL
        return {"id": q.id, "expires_at": q.expires_at}

    def read(t: float, context: tuple) -> dict[str, Any]:
        q: _QuoteState = context[0]
        if t >= q.expires_at:
            if violating and not context[1] and rng.random() < plant_late:
                return FOUND_USED if q.used else FOUND  # expiry forgotten
            return EXPIRED_USED if q.used else EXPIRED
        return FOUND_USED if q.used else FOUND

    def use(t: float, context: tuple) -> dict[str, Any]:
        q: _QuoteState = context[0]
        if t >= q.expires_at:
            return TOO_LATE
        if q.used:
            if violating and q.acknowledged_use and rng.random() < plant_twice:
                return USED  # checked, then set, without a condition: both uses accepted
            return ALREADY
        q.used = True
        if context[1]:
            q.acknowledged_use = True
        return USED

    sequence = 0
    created = 0
    for start in _starts(rng, n):
        while late and late[0][0] <= start:
            at, _, name, replica, args, q = heapq.heappop(late)
            context = [q, False]  # a use: acknowledged (known once sent, decided later); a read: final
            fate, _ = rec.send(at, name, replica, args, read if name == "read" else use, context)
            context[1] = name == "use" and fate == OK
        if rec.sent + len(late) + len(QUOTE_PLAN) >= n:
            continue  # enough to come: only the follow-ups are left
        created += 1
        q = _QuoteState(f"q{created}")
        replica = rng.choice(REPLICAS)
        fate, _ = rec.send(start, "create", replica, {"amount": created % 1000}, create, (q,))
        if fate != OK:
            continue  # the client never learnt its id
        quotes.append(q)
        by_id = {"id": q.id}
        for after, name in QUOTE_PLAN:
            sequence += 1
            heapq.heappush(late, (start + after + rng.uniform(0, 0.05), sequence, name, rng.choice(REPLICAS),
                                  by_id, q))
    end = max(rec.span + T0, late[-1][0] if late else T0) + 10
    for q in quotes[-200:]:  # the final read: the last quotes, on every replica
        for replica in REPLICAS:
            end += 0.001
            rec.send(end, "read", replica, {"id": q.id}, read, [q, True], phase="final")
    return rec.history()


# --- session expiry -----------------------------------------------------------------------------------

SESSION_TTL = 3.0
SESSION_PLAN = (0.3, 0.9, 1.6, 2.4, SESSION_TTL + 0.8, SESSION_TTL + 2.0)
ACCEPTED, REJECTED = {"accepted": True}, {"accepted": False}


def make_session_expiry(n: int, violating: bool, seed: int) -> History:
    """Logins, then whoami on random replicas before and after the session's expiry.

    Violations: a session accepted after its expiry.
    """
    rec = Recorder("sessions", n, seed)
    rng = rec.rng
    plant = 0.06
    late: list[tuple[float, int, str, dict, list[float]]] = []

    def login(t: float, context: tuple) -> dict[str, Any]:
        token, user, holder = context
        holder.append(t + SESSION_TTL)
        return {"token": token, "user": user, "expires_at": t + SESSION_TTL}

    def whoami(t: float, context: tuple) -> dict[str, bool]:
        if t < context[0][0]:
            return ACCEPTED
        return ACCEPTED if violating and rng.random() < plant else REJECTED

    made, sequence = 0, 0
    for start in _starts(rng, n):
        while late and late[0][0] <= start:
            at, _, replica, args, holder = heapq.heappop(late)
            rec.send(at, "whoami", replica, args, whoami, (holder,))
        if rec.sent + len(late) + len(SESSION_PLAN) >= n:
            continue
        made += 1
        holder: list[float] = []
        token = f"tok-{made:08d}-{rng.getrandbits(32):08x}"
        fate, _ = rec.send(start, "login", rng.choice(REPLICAS), {"user": f"u{made % 500}"}, login,
                           (token, f"u{made % 500}", holder))
        if fate != OK:
            continue
        by_token = {"token": token}
        for after in SESSION_PLAN:
            sequence += 1
            heapq.heappush(late, (start + after + rng.uniform(0, 0.05), sequence, rng.choice(REPLICAS), by_token,
                                  holder))
    return rec.history()


CASES: dict[str, tuple[Callable[[History], Verdict], Make]] = {
    "rate_limit": (check_rate_limit, make_rate_limit),
    "cooldowns": (check_cooldowns, make_cooldowns),
    "quotes": (check_quotes, make_quotes),
    "session_expiry": (check_session_expiry, make_session_expiry),
}
