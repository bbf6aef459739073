"""Quotes (expiry and use-once) and session expiry, judged from the history alone.

The quote model: an acknowledged create returns an id and ``expires_at``. Until then
the quote exists on every replica; from then on every read or use must reject it; and
it can be used successfully at most once, across all replicas. The app's clock and
the client's may differ a little, so a moment counts as "after expiry" only from
``expires_at + tolerance`` and "before expiry" only until ``expires_at - tolerance``.

Violations:

- ``expired-but-accepted``: a read (found, not expired) or a successful use that
  started after expiry: expiry was forgotten (an in-memory timer, a restart);
- ``used-twice``: two successful uses of one quote, on any replicas, concurrent or
  not. A use of unknown outcome is only a *possible* use: it never makes another use a
  violation;
- ``lost``: an acknowledged, unexpired quote answered as not found; a use refused as
  "already used" when no use (ok or unknown) had been attempted; a read saying "not
  used" after a use was acknowledged. Each means the quote's state was lost or
  replaced;
- ``expired-early``: a read or use answered "expired" surely before ``expires_at``.

Session expiry (``check_session_expiry``) is the same rule for sessions: a whoami
accepted after the login's ``expires_at`` is ``expired-but-accepted``.

A pass means no such answer was observed; it does not prove expiry holds for quotes
that were never probed after their expiry, nor that a use could not succeed twice
under a different interleaving.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from harness.checkers.base import Validity, Verdict, Violation, describe_faults, faults_between, first_time
from harness.checkers.base import judges
from harness.history import History, Operation, Outcome
from harness.redaction import pseudonym

QUOTES = "quotes"
SESSIONS = "sessions"
TOLERANCE = 0.25


def _at(t: float, t0: float) -> str:
    return f"+{t - t0:.2f}s"


def _accepted_use(op: Operation) -> bool:
    return op.name == "use" and op.outcome is Outcome.OK and bool((op.value or {}).get("used"))


def _refusal(op: Operation) -> str | None:
    """Why the app refused a use, or what a read said: 'not-found', 'expired', 'already-used' or None."""
    value = op.value or {}
    if op.name == "use":
        return None if value.get("used") else str(value.get("reason"))
    if not value.get("found"):
        return "not-found"
    return "expired" if value.get("expired") else None


class _Quote:
    """One acknowledged quote and every operation that touched it."""

    def __init__(self, create: Operation, ops: list[Operation]) -> None:
        self.create = create
        self.id: str = create.value["id"]
        self.expires_at = float(create.value["expires_at"])
        self.ops = ops
        self.uses: list[Operation] = []
        self.accepted: list[Operation] = []  # acknowledged successful uses, in history order
        # when a use was first attempted (ok or unknown) and first acknowledged: asked of every read and use
        self.first_attempt = self.first_done = math.inf
        for op in ops:
            if op.name != "use" or op.outcome is Outcome.FAIL:
                continue
            self.uses.append(op)
            if op.outcome is Outcome.OK and (op.value or {}).get("used"):  # _accepted_use, inline: a hot loop
                self.accepted.append(op)
                self.first_done = min(self.first_done, op.end)
            elif op.outcome is not Outcome.UNKNOWN:
                continue
            self.first_attempt = min(self.first_attempt, op.start)

    def label(self, t0: float) -> str:
        return (f"quote {self.id} (amount {self.create.args.get('amount')}, created on {self.create.replica} "
                f"at {_at(self.create.end, t0)}, expires at {_at(self.expires_at, t0)})")


def _violation(kind: str, message: str, op: Operation, *others: Operation, **evidence: Any) -> Violation:
    return Violation(QUOTES, kind, message, replica=op.replica, op_ids=tuple(o.id for o in others) + (op.id,),
                     time=op.start, evidence={"read": op.id, "status": op.status, **evidence})


def _judge_expiry(q: _Quote, op: Operation, t0: float, tolerance: float, refusal: str | None) -> Violation | None:
    """Accepted after expiry, or refused as expired surely before it (``refusal``: ``_refusal(op)``)."""
    if op.start >= q.expires_at + tolerance and refusal is None:
        answer = "the use was accepted" if op.name == "use" else "it was answered as valid, not expired"
        return _violation("expired-but-accepted", f"{_what(q, op, t0)}, after its expiry, and {answer}",
                          op, q.create, write=q.create.id)
    if op.end < q.expires_at - tolerance and refusal == "expired":
        return _violation("expired-early", f"{_what(q, op, t0)}, before its expiry, and it was refused as expired",
                          op, q.create, write=q.create.id)
    return None


def _what(q: _Quote, op: Operation, t0: float) -> str:
    return f"{op.replica} {'used' if op.name == 'use' else 'read'} {q.label(t0)} at {_at(op.start, t0)}"


def _judge_state(history: History, q: _Quote, op: Operation, t0: float, tolerance: float,
                 refusal: str | None) -> Violation | None:
    """Lost quotes and lost use state: answers no history of writes explains (``refusal``: ``_refusal(op)``)."""
    if op.start < q.create.end or op.end >= q.expires_at - tolerance:
        return None  # concurrent with its creation, or perhaps expired: judged elsewhere
    # the messages and the uses around ``op`` are worked out only for a violation: most operations have none
    if refusal == "not-found":
        return _violation("lost", f"{q.label(t0)} was not found by {_when(op, t0)}; in between: "
                          f"{_in_between(history, q, op, t0)}", op, q.create, write=q.create.id)
    saw_used = refusal == "already-used" or (op.name == "read" and (op.value or {}).get("used") is True)
    if saw_used and not q.first_attempt < op.end:  # ``op`` is no such use: a read, or a use refused
        return _violation("lost", f"{q.label(t0)} was answered as already used by {_when(op, t0)}, but no use of "
                          f"it had been attempted: its state was lost or mixed up; in between: "
                          f"{_in_between(history, q, op, t0)}", op, q.create, write=q.create.id)
    if (op.name != "read" or refusal is not None or (op.value or {}).get("used") is not False
            or not q.first_done < op.start):
        return None
    done = [u for u in q.accepted if u.id != op.id and u.end < op.start]
    if done:
        when = _when(op, t0)
        use = done[0]
        return _violation("lost", f"{q.label(t0)} was used on {use.replica} at {_at(use.end, t0)}, but {when} "
                          f"answered it as not used; in between: "
                          f"{describe_faults(faults_between(history, use.end, op.start), t0)}",
                          op, use, write=use.id)
    return None


def _when(op: Operation, t0: float) -> str:
    return f"{op.replica} at {_at(op.start, t0)}{' (final read)' if op.phase == 'final' else ''}"


def _in_between(history: History, q: _Quote, op: Operation, t0: float) -> str:
    return describe_faults(faults_between(history, q.create.end, op.start), t0)


def _used_twice(q: _Quote, t0: float) -> list[Violation]:
    """Every successful use after the first one of a quote."""
    accepted = sorted(q.accepted, key=lambda u: u.start)
    if len(accepted) < 2:
        return []
    first = accepted[0]
    return [
        _violation("used-twice", f"{q.label(t0)} was used on {first.replica} at {_at(first.start, t0)} and "
                   f"used again on {u.replica} at {_at(u.start, t0)}: both uses were accepted", u, first,
                   first=first.id, second=u.id)
        for u in accepted[1:]
    ]


@judges("quotes", name=QUOTES)
def check_quotes(history: History, tolerance: float = TOLERANCE) -> Verdict:
    """Quotes accepted after expiry, used twice, or lost."""
    ops = history.operations(QUOTES)
    t0 = first_time(history)
    touching: dict[str, list[Operation]] = defaultdict(list)
    for op in ops:
        if op.name in ("read", "use") and "id" in op.args:
            touching[op.args["id"]].append(op)
    quotes = [
        _Quote(op, touching[op.value["id"]]) for op in ops
        if op.name == "create" and op.outcome is Outcome.OK and (op.value or {}).get("id")
        and (op.value or {}).get("expires_at") is not None
    ]

    violations: list[Violation] = []
    probes = 0
    final = False  # a final read (or use) answered
    ok = Outcome.OK
    for q in quotes:
        # each judge is asked only where it may find something (its own first test, here): a soak has millions
        late, early, created = q.expires_at + tolerance, q.expires_at - tolerance, q.create.end
        for op in q.ops:
            if op.outcome is not ok:
                continue  # a use or read that failed or timed out says nothing
            after = op.start >= late
            probes += after
            final = final or op.phase == "final"
            refusal = _refusal(op)
            if (after and refusal is None) or (refusal == "expired" and op.end < early):
                found = _judge_expiry(q, op, t0, tolerance, refusal)
                if found is not None:
                    violations.append(found)
            if created <= op.start and op.end < early:
                found = _judge_state(history, q, op, t0, tolerance, refusal)
                if found is not None:
                    violations.append(found)
        if len(q.accepted) > 1:
            violations += _used_twice(q, t0)

    accepted = refused = unknown = 0
    for op in ops:
        if op.name == "use":
            if op.outcome is ok:
                if (op.value or {}).get("used"):
                    accepted += 1
                else:
                    refused += 1
            elif op.outcome is Outcome.UNKNOWN:
                unknown += 1
    stats = {
        "acknowledged": len(quotes),
        "uses_accepted": accepted,
        "uses_refused": refused,
        "uses_unknown": unknown,
        "probed_after_expiry": probes,
        **{kind.replace("-", "_"): sum(v.kind == kind for v in violations)
           for kind in ("expired-but-accepted", "used-twice", "lost", "expired-early")},
    }
    notes = () if probes or not quotes else ("no quote was read or used after its expiry: expiry not probed",)
    if violations:
        return Verdict(QUOTES, Validity.FAIL, tuple(violations), notes, stats)
    if quotes and not final:
        return Verdict(QUOTES, Validity.UNKNOWN, notes=notes + ("no final read answered: durability not judged",),
                       stats=stats)
    return Verdict(QUOTES, Validity.PASS, notes=notes, stats=stats)


@judges("sessions", name="session-expiry")
def check_session_expiry(history: History, tolerance: float = TOLERANCE) -> Verdict:
    """Sessions accepted after their expiry; unknown when no session was read after it expired."""
    ops = history.operations(SESSIONS)
    t0 = first_time(history)
    logins = {
        op.value["token"]: op for op in ops
        if op.name == "login" and op.outcome is Outcome.OK and (op.value or {}).get("token")
        and op.value.get("expires_at") is not None
    }
    violations: list[Violation] = []
    probes = 0
    for read in ops:
        login = logins.get(read.args.get("token", ""))
        if read.name != "whoami" or read.outcome is not Outcome.OK or login is None:
            continue
        expires_at = float(login.value["expires_at"])
        if read.start < expires_at + tolerance:
            continue
        probes += 1
        if (read.value or {}).get("accepted"):
            token = read.args["token"]
            in_between = describe_faults(faults_between(history, login.end, read.start), t0)
            violations.append(Violation(
                "session-expiry", "expired-but-accepted",
                f"session of user '{login.value.get('user')}' (token {pseudonym(token)}) created on {login.replica} at "
                f"{_at(login.end, t0)} expired at {_at(expires_at, t0)}, but {read.replica} accepted it at "
                f"{_at(read.start, t0)}; in between: {in_between}",
                replica=read.replica, op_ids=(login.id, read.id), time=read.start,
                evidence={"login": login.id, "read": read.id, "expires_at": expires_at, "status": read.status},
            ))
    stats = {"sessions_with_expiry": len(logins), "probed_after_expiry": probes,
             "expired_but_accepted": len(violations)}
    if violations:
        return Verdict("session-expiry", Validity.FAIL, tuple(violations), stats=stats)
    if logins and not probes:
        return Verdict("session-expiry", Validity.UNKNOWN,
                       notes=("no session was read after its expiry: expiry not judged",), stats=stats)
    return Verdict("session-expiry", Validity.PASS, stats=stats)
