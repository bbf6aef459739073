"""A soak as it runs: judging the part of its history that can no longer change, and the live line.

``check_prefix`` is what lets ``--fail-fast`` stop a soak at its first violation, and the
live line count violations while the soak goes on. It must never report a violation the
whole history would not have: a prefix lacks the operations still in flight and those yet
to come, and a checker reading a prefix may judge an operation against too little. So
the prefix is cut where it is complete, and only judgements that what comes later cannot
undo are taken from it.

**Where the prefix ends.** ``in_flight_since`` is the earliest start of any operation (or
fault action) still under way. Every event that started before it has ended and is
recorded; every event still to be recorded starts at or after it. The prefix is the
events that started before it, and a violation is taken only when every operation it
names ended more than ``SETTLE`` seconds before it: the rate-limit checker widens each
hit by a clock tolerance on both sides, so a hit yet to come may reach back that far.

**What is judged there.** Each checker below was read for what a later operation can
change about the judgement of an earlier one. The kinds listed in ``PREFIX_KINDS`` are
those where nothing can: their test reads only operations that started before the
operation judged ended (or a count that later hits can only raise), so a later event is
never among them. Everything else waits for the whole history:

- durability (records, files): ``lost`` and ``corrupt`` only. ``unexpected`` (data or a
  record no request wrote) is left out: the request that did write it may still be in
  flight, and the whole-history checker then excuses it;
- counters: both bounds read only increments that started before the read ended;
- sessions: ``lost`` and ``revoked-but-accepted``; ``unexpected`` (a token no login
  returned) waits, for the login that returns it may not be recorded yet;
- quotes and session expiry: every kind (each is a pure function of the quote's create, the
  operation, and uses that began before it; the first successful use of a quote is the same
  in every longer history);
- cooldowns: a refusal is explained only by starts that began before it ended;
- rate limits: ``over-limit`` where the model's test only counts (a count over a
  window can only grow), i.e. fixed windows anchored at the epoch, sliding logs, token
  buckets, and the two-windows test (bound ``2 x limit``) and first-hit test of the other
  fixed-window models and of sliding-window counters. Not the test of a span that is
  chosen as the best one (a longer history may choose another), nor the offset model's
  phase, chosen the same way. Under a policy that exempts faults for rate limits (the
  default one does, for Redis), a later hit in the window can stretch the violation over a
  later, exempt fault: then only epoch windows and sliding-log intervals that closed before
  the settled end are taken. ``stuck``, never ``over-denied``: a run of denials a later
  denial extends may turn from over-denied into stuck (and neither is ever exempt);
- fail-loud: never. It charges a loss to an outage only when writes outside every outage
  were lost less often, a comparison that more writes can turn either way;
- lost updates: never; a record is judged only when its whole history of versions
  behaves as a write counter, which a later update can disprove;
- invariants: a rule's first bad probe, and whether a fault came before it, do not change;
- a checker not named here is not run on a prefix.

An outage whose heal is not recorded yet is an outage to the end of time in the prefix,
and, in the whole history, one that ends after the prefix does: an operation of the
prefix overlaps both alike. The target's policy is applied as the final judgement applies
it: a violation kept names the same operations in the whole history (rate limits aside,
above), so the same faults lie between them and the same exemption holds. Two things the checkers assume of every history hold here
too: ids and tokens an app returns are unique within a run, and a reply never reflects a
request sent after it.

``LiveLine`` shows a running soak on one line (a TTY) or one plain line every ten seconds
(a CI log). It only prints counts and fault names: never a value, a token or a URL.
"""

from __future__ import annotations

import math
import time
from typing import Mapping, Protocol, Sequence

from rich.console import Console
from rich.live import Live
from rich.text import Text

from harness.checkers.base import Checker, Violation, judge
from harness.history import History


class SoakProgress(Protocol):
    """What the live line reads of the driver's ``SoakProgress`` (named here, not imported: the driver
    imports this module)."""

    @property
    def elapsed(self) -> float: ...
    @property
    def duration(self) -> float: ...
    @property
    def ops(self) -> int: ...
    @property
    def faults(self) -> int: ...
    @property
    def violations(self) -> int: ...
    @property
    def current(self) -> str | None: ...


#: seconds an operation must have ended before the prefix's end to be judged: more than twice
#: any clock tolerance a checker widens operations by (``rate_limit.TOLERANCE``: 0.05 s)
SETTLE = 1.0

#: per checker, the violations a prefix may show, because no later event can undo them (module docstring)
PREFIX_KINDS: dict[str, frozenset[str]] = {
    "records": frozenset({"lost"}),
    "files": frozenset({"lost", "corrupt"}),
    "counters": frozenset({"lost-increments", "phantom-increments"}),
    "sessions": frozenset({"lost", "revoked-but-accepted"}),
    "session-expiry": frozenset({"expired-but-accepted"}),
    "quotes": frozenset({"expired-but-accepted", "used-twice", "lost", "expired-early"}),
    "cooldowns": frozenset({"cooldown-bypassed", "unexpected"}),
    "rate_limit": frozenset({"over-limit", "stuck"}),
    "invariants": frozenset({"broken", "broken-before-any-fault"}),
}

#: rate-limit models whose over-admission test only counts hits in fixed intervals (``rate_limit_admission``)
_COUNTING_MODELS = ("fixed-window (anchor epoch)", "sliding-window", "token-bucket")
#: models whose two-windows (and first-hit) test counts, while a further test picks a best span
_TWO_WINDOW_MODELS = ("fixed-window (anchor any)", "fixed-window (anchor first-hit)", "sliding-window-counter")


def checker_name(checker: Checker) -> str | None:
    """The name a checker's verdicts carry (``judges``); a ``functools.partial`` has its function's."""
    return getattr(getattr(checker, "func", checker), "checker_name", None)


def _margin(checkers: Sequence[Checker]) -> float:
    """``SETTLE``, or more when a checker is given a wider clock tolerance (a partial's ``tolerance``)."""
    widest = max((float(getattr(c, "keywords", {}).get("tolerance", 0.0)) for c in checkers), default=0.0)
    return max(SETTLE, 2 * widest + 0.1)


def _counting_over_limit(v: Violation, settled: float, policy: bool) -> bool:
    """An over-limit found by a test that only counts hits in intervals fixed before any hit is seen.

    Under a policy that exempts faults for rate limits (``policy``; the default one exempts a
    Redis restart or outage), a later hit in the same window widens the violation's span over a
    later fault, which may then exempt it: only a window or sliding interval that closed before
    ``settled`` is taken, since no later hit can fall in it.
    """
    model = str(v.evidence.get("algorithm", ""))
    if policy:
        end = v.evidence.get("interval_end")
        return (model in (_COUNTING_MODELS[0], _COUNTING_MODELS[1]) and isinstance(end, (int, float))
                and end < settled)
    if model == _COUNTING_MODELS[0] or model == _COUNTING_MODELS[1] or model.startswith(_COUNTING_MODELS[2]):
        return True
    bound, limit = v.evidence.get("bound"), v.evidence.get("limit")
    return (model in _TWO_WINDOW_MODELS and isinstance(bound, (int, float)) and isinstance(limit, (int, float))
            and bound <= 2 * limit)


def _settled(v: Violation, prefix: History, settled: float, policy: bool) -> bool:
    """A violation of a kind no later event undoes, about operations that all ended before ``settled``."""
    if v.kind not in PREFIX_KINDS.get(v.checker, ()):
        return False
    if not v.op_ids:
        return False  # not tied to operations: nothing says it is settled
    for op_id in v.op_ids:
        op = prefix.operation(op_id)
        if op is None or op.end >= settled:
            return False
    if v.checker == "rate_limit" and v.kind == "over-limit":
        return _counting_over_limit(v, settled, policy)
    return True


def check_prefix(history: History, checkers: Sequence[Checker], in_flight_since: float | None,
                 exempt: Mapping[str, frozenset[str]] | None = None) -> list[Violation]:
    """The violations of ``history`` that its continuation cannot undo (module docstring).

    ``in_flight_since``: the earliest start of an operation (or fault action) still under way,
    taken *before* this call reads the history, an operation counting as under way from before
    its start time is taken until it is recorded. While clients run and none is under way, pass
    the time taken then (``history.clock.now()``): an operation may begin right after it. None only
    when no client runs (nothing starts while this runs): the whole history is judged.
    ``exempt``: the target's policy, as the final ``judge`` gets it (``spec.exempt``), so a
    violation a fault of the policy exempts is not reported here either. Checkers run on a copy: the history may grow meanwhile. A checker
    that crashes gives nothing (``judge``). Unknowns and nothing-to-check say nothing here.
    """
    cutoff = math.inf if in_flight_since is None else in_flight_since
    usable = [c for c in checkers if checker_name(c) in PREFIX_KINDS]
    if not usable:
        return []
    prefix = History(e for e in history if e.start < cutoff)  # complete: every event begun before it ended
    settled = cutoff - _margin(usable)
    if not any(op.end < settled for op in prefix.operations()):
        return []
    verdict = judge(prefix, usable, exempt)
    policy = bool(exempt and exempt.get("rate_limit"))
    return [v for v in verdict.violations if _settled(v, prefix, settled, policy)]


def clock(seconds: float) -> str:
    """``02:13``, or ``1:02:13`` from an hour on: how the live line shows time."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def line(p: SoakProgress) -> str:
    """``soak 02:13/30:00 · 41,210 ops (312/s) · 17 faults · 0 violations · now: crash of replica 1``."""
    rate = p.ops / p.elapsed if p.elapsed > 0 else 0.0
    violations = f"{p.violations} violation{'s' if p.violations != 1 else ''}"
    text = (f"soak {clock(p.elapsed)}/{clock(p.duration)} · {p.ops:,} ops ({rate:,.0f}/s) · "
            f"{p.faults} fault{'s' if p.faults != 1 else ''} · {violations}")
    return text + (f" · now: {p.current}" if p.current else "")


class LiveLine:
    """The soak's progress on one line: redrawn in place on a TTY, a plain line every ``every`` seconds
    otherwise (CI logs keep every line, so a redrawn one would flood them).

    Use as a context manager around the soak and pass it as ``run_soak``'s ``progress``; it
    shows only counts and fault names, so nothing in it needs redacting.
    """

    def __init__(self, console: Console | None = None, every: float = 10.0) -> None:
        self.console = console or Console(stderr=True)
        self.every = every
        self.last: SoakProgress | None = None
        self._live: Live | None = None
        self._printed_at: float | None = None
        self._printed: SoakProgress | None = None  # the state the plain log shows last

    def __enter__(self) -> "LiveLine":
        if self.console.is_terminal:
            self._live = Live(Text("soak starting"), console=self.console, refresh_per_second=4, transient=False)
            self._live.start()
        return self

    def __call__(self, progress: SoakProgress) -> None:
        self.last = progress
        style = "bold red" if progress.violations else ""
        if self._live is not None:
            self._live.update(Text(line(progress), style=style))
            return
        now = time.monotonic()
        if self._printed_at is None or now - self._printed_at >= self.every:
            self._printed_at = now
            self._printed = progress
            self.console.print(line(progress), markup=False, highlight=False)

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop redrawing; a plain log gets the last state once more, so it ends with the final figures."""
        if self._live is not None:
            self._live.stop()
            self._live = None
        elif self.last is not None and self.last is not self._printed:
            self.console.print(line(self.last), markup=False, highlight=False)
            self._printed = self.last


__all__ = ["PREFIX_KINDS", "SETTLE", "LiveLine", "check_prefix", "checker_name", "clock", "line"]
