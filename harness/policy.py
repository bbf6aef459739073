"""Policy: which faults each state kind must survive, and what happens to a violation it exempts.

Not every lost write is a bug. A team may decide that rate-limit counts live in a
Redis without persistence and may reset when Redis restarts; sessions may not. The
policy states, per state kind, the faults it is *exempt* from; a violation whose
only explanation is an exempt fault is reported as a note, not a failure.

A violation is exempt only when every fault between its first and last operation
(its evidence) is exempt for the state kind of those operations. A violation with
no fault in between (a race, a cache that ignores a logout) is never exempt: no
fault explains it. When an exempt and a non-exempt fault both lie in between, the
violation stands, since the harness cannot tell which one caused it.

Over-denial (a rate limit denying where its model must allow) is never exempt: a
fault that resets a limiter makes it allow more, never deny more.

Entries name a fault by its one name (``harness.vocabulary.FaultName``: the name in test
ids, recorded events and reports, e.g. ``crash``, ``graceful-restart``,
``dependency-restart``), optionally narrowed to a target: ``dependency-restart:redis``.
A fault's heal (the start after a crash, the end of an outage) belongs to its fault.

This module only states and validates a policy; applying it to a verdict is the
checkers' job (``harness.checkers.base.apply_policy``), so the spec can validate its
``policy`` section without depending on the checkers.
"""

from __future__ import annotations

from typing import Iterable, Mapping

from harness.vocabulary import FaultName, StateKind

#: every fault name a policy may use
FAULTS = frozenset(f.value for f in FaultName)

#: What users expect by default: everything survives every fault, except that rate-limit
#: counts may reset when their Redis restarts or is down (a common, deliberate choice).
DEFAULT_EXEMPT: Mapping[str, frozenset[str]] = {
    StateKind.RATE_LIMIT: frozenset({f"{FaultName.DEPENDENCY_RESTART}:redis", f"{FaultName.DEPENDENCY_OUTAGE}:redis"}),
}


#: Violations that say a state kind was kept too strictly, never that it was lost: a fault a policy names
#: (a reset, a restart) makes a limiter allow more, never deny more, so no exemption excuses these.
NEVER_EXEMPT: frozenset[tuple[str, str]] = frozenset({(StateKind.RATE_LIMIT, "over-denied"),
                                                       (StateKind.RATE_LIMIT, "stuck")})


def check_entry(entry: str) -> str:
    """Validate one exemption (``fault`` or ``fault:target``); the error says what is allowed."""
    fault = entry.split(":", 1)[0]
    if fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}; expected one of {', '.join(sorted(FAULTS))}, "
                         f"optionally with ':<target>' (e.g. 'dependency-restart:redis')")
    return entry


def effective(overrides: Mapping[str, Iterable[str]] | None = None) -> dict[str, frozenset[str]]:
    """The defaults with a target's overrides on top: an override replaces a kind's whole list."""
    merged = {str(kind): entries for kind, entries in DEFAULT_EXEMPT.items()}
    for kind, entries in (overrides or {}).items():
        merged[kind] = frozenset(entries)
    return merged


def exempts(entries: frozenset[str], fault: str, target: str) -> bool:
    """Whether a policy's entries for one state kind exempt a fault done to a target."""
    return fault in entries or f"{fault}:{target}" in entries
