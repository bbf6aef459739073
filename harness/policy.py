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

Entries name a fault as users think of it (``crash``, ``dependency-restart``, ...),
optionally narrowed to a target: ``dependency-restart:redis``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable, Mapping

from harness.checkers.base import Validity, Verdict, Violation, faults_between
from harness.history import FaultEvent, History

#: fault event recorded in a history -> the fault a policy names (a heal belongs to its fault)
FAULT_OF_EVENT: Mapping[str, str] = {
    "crash": "crash",
    "start": "crash",
    "restart": "restart",
    "redeploy": "redeploy",
    "scale": "scale",
    "pause": "pause",
    "resume": "pause",
    "restart-dependency": "dependency-restart",
    "stop-dependency": "dependency-outage",
    "start-dependency": "dependency-outage",
    "network-cut": "network-cut",
    "network-heal": "network-cut",
}

#: every fault name a policy may use
FAULTS = frozenset(FAULT_OF_EVENT.values())

STATE_KINDS = ("sessions", "files", "quotes", "rate_limit", "cooldowns", "records", "counters")

#: What users expect by default: everything survives every fault, except that rate-limit
#: counts may reset when their Redis restarts or is down (a common, deliberate choice).
DEFAULT_EXEMPT: Mapping[str, frozenset[str]] = {
    "rate_limit": frozenset({"dependency-restart:redis", "dependency-outage:redis"}),
}


#: Violations that say a state kind was kept too strictly, never that it was lost: a fault a policy names
#: (a reset, a restart) makes a limiter allow more, never deny more, so no exemption excuses these.
NEVER_EXEMPT: frozenset[tuple[str, str]] = frozenset({("rate_limit", "over-denied"), ("rate_limit", "stuck")})


def check_entry(entry: str) -> str:
    """Validate one exemption (``fault`` or ``fault:target``); the error says what is allowed."""
    fault = entry.split(":", 1)[0]
    if fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}; expected one of {', '.join(sorted(FAULTS))}, "
                         f"optionally with ':<target>' (e.g. 'dependency-restart:redis')")
    return entry


def effective(overrides: Mapping[str, Iterable[str]] | None = None) -> dict[str, frozenset[str]]:
    """The defaults with a target's overrides on top: an override replaces a kind's whole list."""
    merged = dict(DEFAULT_EXEMPT)
    for kind, entries in (overrides or {}).items():
        merged[kind] = frozenset(entries)
    return merged


def _exempt(event: FaultEvent, entries: frozenset[str]) -> bool:
    fault = FAULT_OF_EVENT.get(event.fault, event.fault)
    return fault in entries or f"{fault}:{event.target}" in entries


def exempting_faults(violation: Violation, history: History, exempt: Mapping[str, frozenset[str]]) -> list[FaultEvent]:
    """The faults that exempt a violation, or [] when it stands."""
    if (violation.checker, violation.kind) in NEVER_EXEMPT:
        return []
    by_id = {op.id: op for op in history.operations()}
    ops = [by_id[i] for i in violation.op_ids if i in by_id]
    if not ops:
        return []
    kinds = {op.kind for op in ops}
    between = faults_between(history, min(op.start for op in ops), max(op.end for op in ops))
    if between and all(_exempt(f, exempt.get(kind, frozenset())) for f in between for kind in kinds):
        return between
    return []


def apply_policy(verdict: Verdict, history: History, exempt: Mapping[str, frozenset[str]]) -> Verdict:
    """Move the violations the policy exempts into notes; a verdict left without violations passes."""
    standing: list[Violation] = []
    notes = list(verdict.notes)
    for v in verdict.violations:
        faults = exempting_faults(v, history, exempt)
        if not faults:
            standing.append(v)
            continue
        names = ", ".join(sorted({f"{FAULT_OF_EVENT.get(f.fault, f.fault)} of {f.target}" for f in faults}))
        notes.append(f"exempt by policy (need not survive {names}): [{v.checker}/{v.kind}] {v.message}")
    if len(standing) == len(verdict.violations):
        return verdict
    validity = verdict.validity
    if validity is Validity.FAIL and not standing:
        validity = Validity.PASS
    stats = {**verdict.stats, "exempt_by_policy": len(verdict.violations) - len(standing)}
    return replace(verdict, validity=validity, violations=tuple(standing), notes=tuple(notes), stats=stats)
